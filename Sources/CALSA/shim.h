#include <alsa/asoundlib.h>

/* alsa-lib prints its own errors to stderr; Visor reports them itself, once, on one line. */
static void visor_alsa_ignore_error(const char *file, int line, const char *function, int err, const char *fmt, ...) {
    (void)file; (void)line; (void)function; (void)err; (void)fmt;
}
static inline void visor_alsa_silence_errors(void) { snd_lib_error_set_handler(visor_alsa_ignore_error); }
