#include "visor_whisper.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/* Where the sentence that ends at `end` (exclusive; its last character is its end mark) starts
   in `text`, past the spaces before it. */
static size_t sentence_start(const char *text, size_t end) {
    size_t start = end - 1;
    while (start > 0 && !strchr(".?!", text[start - 1])) start--;
    while (start < end && isspace((unsigned char)text[start])) start++;
    return start;
}

/* Whether `text` ends in a loop: the same sentence twice in a row ("What time is it? What time
   is it?"), or the same run of one to eight words three times in a row ("take a photo take a
   photo take a photo"), words as written, as WhisperListener.withoutRepeats compares them (which
   keeps such a run once). Only words a space has ended count: the last may still be growing
   ("pho" of "photo"). */
static int ends_in_loop(const char *text, size_t used) {
    if (used >= 2 && strchr(".?!", text[used - 1])) {
        const size_t last = sentence_start(text, used);
        size_t previousEnd = last;
        while (previousEnd > 0 && isspace((unsigned char)text[previousEnd - 1])) previousEnd--;
        if (last >= 2 && previousEnd > 0 && strchr(".?!", text[previousEnd - 1])) {
            const size_t previous = sentence_start(text, previousEnd);
            int letters = 0;  /* a sentence is words: "..." twice is a hesitation, not a loop */
            for (size_t i = last; i < used; i++) letters += isalnum((unsigned char)text[i]) != 0;
            if (letters > 0 && previousEnd - previous == used - last &&
                strncasecmp(text + previous, text + last, used - last) == 0) return 1;
        }
    }
    /* The last 24 words a space has ended (three runs of eight), last first. */
    enum { MAX_WORDS = 24, WORD = 32 };
    char words[MAX_WORDS][WORD];
    int count = 0;
    size_t end = used;
    while (end > 0 && !isspace((unsigned char)text[end - 1])) end--;  /* the word still growing */
    while (count < MAX_WORDS) {
        while (end > 0 && isspace((unsigned char)text[end - 1])) end--;
        if (end == 0) break;
        size_t start = end;
        while (start > 0 && !isspace((unsigned char)text[start - 1])) start--;
        const size_t length = end - start < WORD - 1 ? end - start : WORD - 1;
        memcpy(words[count], text + start, length);
        words[count][length] = 0;
        count++;
        end = start;
    }
    for (int n = 1; n <= 8 && 3 * n <= count; n++) {
        int same = 1;
        for (int k = 0; k < n && same; k++) {
            same = strcmp(words[k], words[n + k]) == 0 && strcmp(words[k], words[2 * n + k]) == 0;
        }
        if (same) return 1;
    }
    return 0;
}

/* Ends decoding once the text loops (`ends_in_loop`): greedy decoding loops so on short
   commands, and every token of the loop costs a decoder pass. What the loop repeats, Visor keeps
   once anyway. Called by whisper.cpp before each token is chosen, with the tokens so far; it
   leaves only the end of text possible. */
static void stop_on_repeat(struct whisper_context *ctx, struct whisper_state *state, const whisper_token_data *tokens,
                           int n_tokens, float *logits, void *user) {
    (void)state; (void)user;
    const whisper_token eot = whisper_token_eot(ctx);
    char text[1024];
    size_t used = 0;
    for (int i = 0; i < n_tokens; i++) {
        if (tokens[i].id >= eot) continue;
        const char *piece = whisper_token_to_str(ctx, tokens[i].id);
        const size_t length = strlen(piece);
        if (used + length + 1 > sizeof(text)) return;
        memcpy(text + used, piece, length);
        used += length;
    }
    text[used] = 0;
    if (!ends_in_loop(text, used)) return;
    const int vocabulary = whisper_n_vocab(ctx);
    for (int j = 0; j < vocabulary; j++) {
        if (j != eot) logits[j] = -INFINITY;
    }
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
    p.logits_filter_callback = stop_on_repeat;
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
