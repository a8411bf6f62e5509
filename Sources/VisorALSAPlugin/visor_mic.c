#include <alsa/asoundlib.h>
#include <alsa/pcm_external.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    snd_pcm_ioplug_t io;
    int16_t *samples;           /* interleaved */
    snd_pcm_uframes_t frames;   /* in the file */
    unsigned int rate;
    unsigned int channels;
    int timer_fd;
    struct timespec start;      /* when frame 0 would have been captured */
    snd_pcm_uframes_t captured; /* frames the hardware pointer has passed */
    snd_pcm_uframes_t cursor;   /* frames handed to the application */
    double disconnect_after;    /* seconds of capture before the device "vanishes"; 0: never */
    int loop;                   /* play the recording again and again (soak tests) */
    double overrun_at;          /* a fault for tests: seconds of capture at which the reader falls behind once; 0: never */
    int overrun_done;
} visor_mic;

static uint32_t le32(const unsigned char *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }

/* Reads a 16-bit PCM WAV file, or a headerless S16LE file when it has no RIFF header. */
static int load_audio(visor_mic *mic, const char *path, unsigned int raw_rate, unsigned int raw_channels) {
    FILE *f = fopen(path, "rb");
    if (!f) { SNDERR("visor: cannot open %s: %s", path, strerror(errno)); return -errno; }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (size < 0 || size > (1L << 31)) { fclose(f); SNDERR("visor: %s is too large", path); return -EFBIG; }
    unsigned char *data = malloc(size > 0 ? (size_t)size : 1);
    if (!data) { fclose(f); return -ENOMEM; }
    if (fread(data, 1, (size_t)size, f) != (size_t)size) { free(data); fclose(f); return -EIO; }
    fclose(f);
    const unsigned char *pcm = data;
    size_t pcm_bytes = (size_t)size;
    mic->rate = raw_rate;
    mic->channels = raw_channels;
    if (size >= 12 && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "WAVE", 4) == 0) {
        size_t at = 12;
        int have_format = 0;
        pcm = NULL;
        while (at + 8 <= (size_t)size) {
            uint32_t chunk = le32(data + at + 4);
            const unsigned char *body = data + at + 8;
            if (chunk > (size_t)size - at - 8) chunk = (uint32_t)((size_t)size - at - 8);
            if (memcmp(data + at, "fmt ", 4) == 0 && chunk >= 16) {
                uint16_t format = le16(body), bits = le16(body + 14);
                if ((format != 1 && format != 0xFFFE) || bits != 16) {
                    free(data);
                    SNDERR("visor: %s is not 16-bit PCM", path);
                    return -EINVAL;
                }
                mic->channels = le16(body + 2);
                mic->rate = le32(body + 4);
                have_format = 1;
            } else if (memcmp(data + at, "data", 4) == 0) {
                pcm = body;
                pcm_bytes = chunk;
            }
            at += 8 + chunk + (chunk & 1);
        }
        if (!have_format || !pcm || mic->channels == 0 || mic->rate == 0) {
            free(data);
            SNDERR("visor: %s has no 16-bit PCM data", path);
            return -EINVAL;
        }
    }
    mic->frames = pcm_bytes / (2 * mic->channels);
    mic->samples = malloc(mic->frames * mic->channels * 2 + 2);
    if (!mic->samples) { free(data); return -ENOMEM; }
    memcpy(mic->samples, pcm, mic->frames * mic->channels * 2);
    free(data);
    return 0;
}

/* The clock runs one period past the end, in silence, so that a reader gets the last partial
   period of the recording. */
static snd_pcm_uframes_t frames_since_start(visor_mic *mic, snd_pcm_uframes_t period) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double seconds = (double)(now.tv_sec - mic->start.tv_sec) + (double)(now.tv_nsec - mic->start.tv_nsec) / 1e9;
    if (seconds < 0) return 0;
    snd_pcm_uframes_t frames = (snd_pcm_uframes_t)(seconds * mic->rate);
    if (mic->loop) return frames;
    return frames > mic->frames + period ? mic->frames + period : frames;
}

static int mic_start(snd_pcm_ioplug_t *io) {
    visor_mic *mic = io->private_data;
    /* A reader that recovers and starts again after the end (or the unplugging) learns it once more. */
    if (!mic->loop && mic->cursor >= mic->frames) return -ENODATA;
    if (mic->disconnect_after > 0 && (double)mic->captured / mic->rate >= mic->disconnect_after) return -ENODEV;
    /* Capture resumes where it stopped: frame `captured` is due now. */
    clock_gettime(CLOCK_MONOTONIC, &mic->start);
    double back = (double)mic->captured / mic->rate;
    mic->start.tv_sec -= (time_t)back;
    mic->start.tv_nsec -= (long)((back - (double)(time_t)back) * 1e9);
    if (mic->start.tv_nsec < 0) { mic->start.tv_nsec += 1000000000L; mic->start.tv_sec -= 1; }
    struct itimerspec period = {0};
    long ns = (long)((double)io->period_size * 1e9 / mic->rate);
    period.it_interval.tv_sec = ns / 1000000000L;
    period.it_interval.tv_nsec = ns % 1000000000L;
    period.it_value = period.it_interval;
    return timerfd_settime(mic->timer_fd, 0, &period, NULL) == 0 ? 0 : -errno;
}

static int mic_stop(snd_pcm_ioplug_t *io) {
    visor_mic *mic = io->private_data;
    struct itimerspec off = {0};
    timerfd_settime(mic->timer_fd, 0, &off, NULL);
    return 0;
}

static snd_pcm_sframes_t mic_pointer(snd_pcm_ioplug_t *io) {
    visor_mic *mic = io->private_data;
    /* A fault for tests: the microphone is unplugged after a while. */
    if (mic->disconnect_after > 0 && (double)mic->captured / mic->rate >= mic->disconnect_after) return -ENODEV;
    /* Everything handed over: the recording has ended (unless it loops). */
    if (!mic->loop && mic->cursor >= mic->frames) return -ENODATA;
    snd_pcm_uframes_t now = frames_since_start(mic, io->period_size);
    if (now > mic->captured) mic->captured = now;
    /* The fault: as if the reader had been away for two buffers' worth of time. */
    if (mic->overrun_at > 0 && !mic->overrun_done && (double)mic->captured / mic->rate >= mic->overrun_at) {
        mic->overrun_done = 1;
        mic->captured += 2 * io->buffer_size;
        struct timespec back = mic->start;
        double shift = (double)(2 * io->buffer_size) / mic->rate;
        back.tv_sec -= (time_t)shift;
        back.tv_nsec -= (long)((shift - (double)(time_t)shift) * 1e9);
        if (back.tv_nsec < 0) { back.tv_nsec += 1000000000L; back.tv_sec -= 1; }
        mic->start = back;
        return -EPIPE;  /* ioplug marks the stream as overrun, as a driver would */
    }
    return (snd_pcm_sframes_t)(mic->captured % io->buffer_size);
}

static snd_pcm_sframes_t mic_transfer(snd_pcm_ioplug_t *io, const snd_pcm_channel_area_t *areas,
                                      snd_pcm_uframes_t offset, snd_pcm_uframes_t size) {
    visor_mic *mic = io->private_data;
    int16_t *out = (int16_t *)((char *)areas[0].addr + (areas[0].first + areas[0].step * offset) / 8);
    if (mic->loop && mic->frames > 0) {
        for (snd_pcm_uframes_t done = 0; done < size;) {
            snd_pcm_uframes_t at = (mic->cursor + done) % mic->frames;
            snd_pcm_uframes_t n = mic->frames - at < size - done ? mic->frames - at : size - done;
            memcpy(out + done * mic->channels, mic->samples + at * mic->channels, n * mic->channels * 2);
            done += n;
        }
        mic->cursor += size;
        return (snd_pcm_sframes_t)size;
    }
    snd_pcm_uframes_t available = mic->cursor < mic->frames ? mic->frames - mic->cursor : 0;
    snd_pcm_uframes_t copy = size < available ? size : available;
    memcpy(out, mic->samples + mic->cursor * mic->channels, copy * mic->channels * 2);
    if (copy < size) memset(out + copy * mic->channels, 0, (size - copy) * mic->channels * 2);
    mic->cursor += size;
    return (snd_pcm_sframes_t)size;
}

static int mic_prepare(snd_pcm_ioplug_t *io) {
    visor_mic *mic = io->private_data;
    /* After an overrun the frames that were not read are lost, as with a real microphone. */
    if (mic->captured > mic->cursor) mic->cursor = mic->captured;
    return 0;
}

static int mic_poll_descriptors_count(snd_pcm_ioplug_t *io) { (void)io; return 1; }

static int mic_poll_descriptors(snd_pcm_ioplug_t *io, struct pollfd *pfd, unsigned int space) {
    visor_mic *mic = io->private_data;
    if (space < 1) return -EINVAL;
    pfd[0].fd = mic->timer_fd;
    pfd[0].events = POLLIN;
    pfd[0].revents = 0;
    return 1;
}

/* Must not call snd_pcm_avail_update: the caller holds the PCM's lock. */
static int mic_poll_revents(snd_pcm_ioplug_t *io, struct pollfd *pfd, unsigned int nfds, unsigned short *revents) {
    (void)io;
    if (nfds < 1) return -EINVAL;
    uint64_t expirations;
    if (pfd[0].revents & POLLIN) {
        ssize_t ignored = read(pfd[0].fd, &expirations, sizeof expirations);
        (void)ignored;
    }
    *revents = pfd[0].revents & POLLIN ? POLLIN : 0;
    return 0;
}

static int mic_close(snd_pcm_ioplug_t *io) {
    visor_mic *mic = io->private_data;
    close(mic->timer_fd);
    free(mic->samples);
    free(mic);
    return 0;
}

static const snd_pcm_ioplug_callback_t mic_callbacks = {
    .start = mic_start,
    .stop = mic_stop,
    .pointer = mic_pointer,
    .transfer = mic_transfer,
    .prepare = mic_prepare,
    .close = mic_close,
    .poll_descriptors_count = mic_poll_descriptors_count,
    .poll_descriptors = mic_poll_descriptors,
    .poll_revents = mic_poll_revents,
};

SND_PCM_PLUGIN_DEFINE_FUNC(visor) {
    snd_config_iterator_t i, next;
    const char *file = NULL;
    long rate = 16000, channels = 1;
    double disconnect_after = 0;
    int mic_loop = 0;
    double overrun_at = 0;
    (void)root;
    snd_config_for_each(i, next, conf) {
        snd_config_t *n = snd_config_iterator_entry(i);
        const char *id;
        if (snd_config_get_id(n, &id) < 0) continue;
        if (strcmp(id, "comment") == 0 || strcmp(id, "type") == 0 || strcmp(id, "hint") == 0) continue;
        if (strcmp(id, "file") == 0) { if (snd_config_get_string(n, &file) < 0) { SNDERR("visor: file must be a string"); return -EINVAL; } continue; }
        if (strcmp(id, "rate") == 0) { if (snd_config_get_integer(n, &rate) < 0) { SNDERR("visor: rate must be an integer"); return -EINVAL; } continue; }
        if (strcmp(id, "disconnect_after") == 0) {
            if (snd_config_get_ireal(n, &disconnect_after) < 0) { SNDERR("visor: disconnect_after must be a number of seconds"); return -EINVAL; }
            continue;
        }
        if (strcmp(id, "overrun_at") == 0) {
            if (snd_config_get_ireal(n, &overrun_at) < 0) { SNDERR("visor: overrun_at must be a number of seconds"); return -EINVAL; }
            continue;
        }
        if (strcmp(id, "loop") == 0) {
            if ((mic_loop = snd_config_get_bool(n)) < 0) { SNDERR("visor: loop must be true or false"); return -EINVAL; }
            continue;
        }
        if (strcmp(id, "channels") == 0) { if (snd_config_get_integer(n, &channels) < 0) { SNDERR("visor: channels must be an integer"); return -EINVAL; } continue; }
        SNDERR("visor: unknown field %s", id);
        return -EINVAL;
    }
    if (!file) { SNDERR("visor: no file given (file \"recording.wav\")"); return -EINVAL; }
    if (stream != SND_PCM_STREAM_CAPTURE) { SNDERR("visor: the visor plugin is a microphone: capture only"); return -EINVAL; }

    visor_mic *mic = calloc(1, sizeof *mic);
    if (!mic) return -ENOMEM;
    int err = load_audio(mic, file, (unsigned int)rate, (unsigned int)channels);
    if (err < 0) { free(mic); return err; }
    mic->disconnect_after = disconnect_after;
    mic->loop = mic_loop;
    mic->overrun_at = overrun_at;
    mic->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (mic->timer_fd < 0) { err = -errno; free(mic->samples); free(mic); return err; }

    mic->io.version = SND_PCM_IOPLUG_VERSION;
    mic->io.name = "Visor virtual microphone";
    mic->io.callback = &mic_callbacks;
    mic->io.private_data = mic;
    mic->io.poll_fd = mic->timer_fd;
    mic->io.poll_events = POLLIN;
    mic->io.mmap_rw = 0;
    err = snd_pcm_ioplug_create(&mic->io, name, stream, mode);
    if (err < 0) { close(mic->timer_fd); free(mic->samples); free(mic); return err; }

    static const unsigned int accesses[] = { SND_PCM_ACCESS_RW_INTERLEAVED, SND_PCM_ACCESS_MMAP_INTERLEAVED };
    static const unsigned int formats[] = { SND_PCM_FORMAT_S16_LE };
    if ((err = snd_pcm_ioplug_set_param_list(&mic->io, SND_PCM_IOPLUG_HW_ACCESS, 2, accesses)) < 0 ||
        (err = snd_pcm_ioplug_set_param_list(&mic->io, SND_PCM_IOPLUG_HW_FORMAT, 1, formats)) < 0 ||
        (err = snd_pcm_ioplug_set_param_minmax(&mic->io, SND_PCM_IOPLUG_HW_CHANNELS, mic->channels, mic->channels)) < 0 ||
        (err = snd_pcm_ioplug_set_param_minmax(&mic->io, SND_PCM_IOPLUG_HW_RATE, mic->rate, mic->rate)) < 0 ||
        (err = snd_pcm_ioplug_set_param_minmax(&mic->io, SND_PCM_IOPLUG_HW_PERIOD_BYTES, 64, 1 << 20)) < 0 ||
        (err = snd_pcm_ioplug_set_param_minmax(&mic->io, SND_PCM_IOPLUG_HW_PERIODS, 2, 1024)) < 0) {
        snd_pcm_ioplug_delete(&mic->io);
        return err;
    }
    *pcmp = mic->io.pcm;
    return 0;
}

SND_PCM_PLUGIN_SYMBOL(visor);
