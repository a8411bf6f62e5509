#ifndef VISOR_WHISPER_H
#define VISOR_WHISPER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// whisper.cpp behind a narrow interface. Its own header includes its own ggml headers, which
/// are another version than llama.cpp's: Swift sees only this file, so the two never meet in one
/// module.
typedef struct vw_model vw_model;

/// Loads a model in whisper.cpp's format; NULL when the file cannot be read as one.
vw_model *vw_load(const char *path);
void vw_free(vw_model *model);

typedef struct vw_options {
    int threads;
    /// Encoder positions to use (50 a second; 0 for the whole 30 s window).
    int audio_ctx;
    /// The most tokens to decode (0 for no limit).
    int max_tokens;
    /// Text the decoder takes as what came before (biases spelling and vocabulary), or NULL.
    const char *prompt;
    /// Fall back to sampling at higher temperatures when greedy decoding fails its checks.
    int temperature_fallback;
} vw_options;

typedef struct vw_result {
    /// The mean probability of the text's tokens.
    float mean_token_probability;
    /// The model's probability that the audio holds no speech.
    float no_speech_probability;
    int tokens;
} vw_result;

/// Transcribes English speech (16 kHz mono, -1...1). Writes the UTF-8 text, NUL-terminated and
/// cut to `capacity`, into `text`. Returns 0, or non-zero when whisper.cpp failed.
int vw_transcribe(vw_model *model, const float *samples, int count, const vw_options *options,
                  char *text, size_t capacity, vw_result *result);

/// Scores texts against the audio of the last `vw_transcribe` on this model: for each of `count`
/// texts, the sum of its tokens' log probabilities (end of text included), after `prompt` (or
/// none) as `vw_transcribe` puts it, into `logprobs`, and its token count into `tokens`. Returns
/// 0, or non-zero when whisper.cpp failed or a text is too long.
int vw_score(vw_model *model, const char *prompt, const char *const *texts, int count, int threads,
             float *logprobs, int *tokens);

/// whisper.cpp's build: its version and the CPU features its ggml was compiled for.
const char *vw_system_info(void);

#ifdef __cplusplus
}
#endif

#endif
