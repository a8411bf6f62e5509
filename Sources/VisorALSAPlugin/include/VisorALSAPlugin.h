/* Visor's ALSA capture plugin: `type visor` plays a WAV (or raw S16LE) file as a microphone,
   paced in real time, and reports the end of the recording: reads fail with -ENODATA. For tests, `disconnect_after SECONDS`
   makes it vanish (reads fail with -ENODEV) as an unplugged microphone does. Loaded by alsa-lib as
   libasound_module_pcm_visor.so; it has no API of its own. */
