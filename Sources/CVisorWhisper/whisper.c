#include "visor_whisper.h"

#include <stdlib.h>
#include <string.h>
#include <whisper.h>

struct vw_model {
    struct whisper_context *context;
};

static void quiet(enum ggml_log_level level, const char *text, void *user) {
    (void)level; (void)text; (void)user;
}

vw_model *vw_load(const char *path) {
    // whisper.cpp logs to stderr by default; Visor logs through swift-log, so its log goes nowhere.
    whisper_log_set(quiet, NULL);
    struct whisper_context_params params = whisper_context_default_params();
    params.use_gpu = false;
    struct whisper_context *context = whisper_init_from_file_with_params(path, params);
    if (!context) return NULL;
    vw_model *model = (vw_model *)calloc(1, sizeof(vw_model));
    if (!model) { whisper_free(context); return NULL; }
    model->context = context;
    return model;
}

void vw_free(vw_model *model) {
    if (!model) return;
    whisper_free(model->context);
    free(model);
}

int vw_transcribe(vw_model *model, const float *samples, int count, const vw_options *options,
                  char *text, size_t capacity, vw_result *result) {
    struct whisper_full_params p = whisper_full_default_params(WHISPER_SAMPLING_GREEDY);
    p.n_threads = options->threads > 0 ? options->threads : 1;
    p.language = "en";
    p.translate = false;
    p.no_context = true;
    p.no_timestamps = true;
    p.single_segment = true;
    p.print_special = false;
    p.print_progress = false;
    p.print_realtime = false;
    p.print_timestamps = false;
    p.suppress_blank = true;
    p.suppress_nst = true;
    p.audio_ctx = options->audio_ctx;
    p.max_tokens = options->max_tokens;
    p.initial_prompt = options->prompt;
    if (!options->temperature_fallback) p.temperature_inc = 0.0f;
    if (capacity > 0) text[0] = 0;
    memset(result, 0, sizeof(*result));
    if (whisper_full(model->context, p, samples, count) != 0) return 1;
    size_t used = 0;
    double probability = 0;
    int tokens = 0;
    const int segments = whisper_full_n_segments(model->context);
    const int eot = whisper_token_eot(model->context);
    for (int s = 0; s < segments; s++) {
        const char *piece = whisper_full_get_segment_text(model->context, s);
        size_t length = strlen(piece);
        if (used + length + 1 > capacity) length = capacity > used + 1 ? capacity - used - 1 : 0;
        memcpy(text + used, piece, length);
        used += length;
        text[used] = 0;
        const int n = whisper_full_n_tokens(model->context, s);
        for (int t = 0; t < n; t++) {
            whisper_token_data data = whisper_full_get_token_data(model->context, s, t);
            if (data.id >= eot) continue;  // special and timestamp tokens
            probability += data.p;
            tokens++;
        }
        if (s == 0) result->no_speech_probability = whisper_full_get_segment_no_speech_prob(model->context, s);
    }
    result->tokens = tokens;
    result->mean_token_probability = tokens > 0 ? (float)(probability / tokens) : 0.0f;
    return 0;
}

/* Defined by the function tools/setup adds to whisper.cpp (tools/whisper/visor-scoring.cpp). */
int whisper_visor_token_logprobs(struct whisper_context *ctx, const whisper_token *tokens, int n_tokens,
                                 int n_past, int n_threads, float *logprobs);

enum { VW_MAX_TOKENS = 448 };

/* The tokens of `text`, appended at `at` in `out` (of VW_MAX_TOKENS); the new count, or -1. */
static int append_tokens(struct whisper_context *context, const char *text, whisper_token *out, int at) {
    if (!text || !*text) return at;
    int n = whisper_tokenize(context, text, out + at, VW_MAX_TOKENS - at);
    return n < 0 ? -1 : at + n;
}

int vw_score(vw_model *model, const char *prompt, const char *const *texts, int count, int threads,
             float *logprobs, int *tokens) {
    struct whisper_context *context = model->context;
    whisper_token prefix[VW_MAX_TOKENS];
    int n = 0;
    /* As whisper_full builds it: the previous-text marker and the prompt, then start of
       transcript, English, transcribe, no timestamps. */
    if (prompt && *prompt) {
        prefix[n++] = whisper_token_prev(context);
        n = append_tokens(context, prompt, prefix, n);
        if (n < 0 || n + 4 > VW_MAX_TOKENS) return 1;
    }
    prefix[n++] = whisper_token_sot(context);
    prefix[n++] = whisper_token_lang(context, whisper_lang_id("en"));
    prefix[n++] = whisper_token_transcribe(context);
    prefix[n++] = whisper_token_not(context);
    const int threads_used = threads > 0 ? threads : 1;
    /* The prefix once; each text then from its last token on, over the prefix's cache. */
    if (n > 1 && whisper_decode(context, prefix, n - 1, 0, threads_used) != 0) return 1;
    whisper_token sequence[VW_MAX_TOKENS];
    float scores[VW_MAX_TOKENS];
    for (int i = 0; i < count; i++) {
        sequence[0] = prefix[n - 1];
        /* Whisper writes a space before the first word. */
        char spaced[1024];
        const char *text = texts[i] ? texts[i] : "";
        if (strlen(text) + 2 > sizeof(spaced)) return 1;
        spaced[0] = ' ';
        strcpy(spaced + 1, text);
        int m = append_tokens(context, *text ? spaced : "", sequence, 1);
        if (m < 0 || m + 1 > VW_MAX_TOKENS - n) return 1;
        sequence[m++] = whisper_token_eot(context);
        if (whisper_visor_token_logprobs(context, sequence, m, n - 1, threads_used, scores) != 0) return 1;
        double sum = 0;
        for (int t = 0; t + 1 < m; t++) sum += scores[t];
        logprobs[i] = (float)sum;
        tokens[i] = m - 1;
    }
    return 0;
}

const char *vw_system_info(void) {
    return whisper_print_system_info();
}
