// Appended to whisper.cpp's src/whisper.cpp by tools/setup, so that it sees whisper.cpp's own
// internals. whisper_decode() keeps the logits of a batch's last token only; scoring a given
// text needs every position's. This decodes a batch with all of them kept and writes, for each
// token after the first, its log probability given those before it. The encoder's output is the
// one left by the last whisper_full() on this context.
extern "C" __attribute__((visibility("default")))
int whisper_visor_token_logprobs(struct whisper_context * ctx, const whisper_token * tokens, int n_tokens,
                                 int n_past, int n_threads, float * logprobs) {
    whisper_state * state = ctx->state;
    if (state == nullptr || n_tokens < 2 || n_past < 0 || n_past + n_tokens > ctx->model.hparams.n_text_ctx) {
        return 1;
    }
    whisper_batch_prep_legacy(state->batch, tokens, n_tokens, n_past, 0);
    for (int i = 0; i < n_tokens; ++i) {
        state->batch.logits[i] = 1;
    }
    whisper_kv_cache_seq_rm(state->kv_self, 0, n_past, -1);
    if (!whisper_decode_internal(*ctx, *state, state->batch, n_threads, false, nullptr, nullptr)) {
        return 1;
    }
    const int n_vocab = ctx->model.hparams.n_vocab;
    for (int i = 0; i + 1 < n_tokens; ++i) {
        const float * row = state->logits.data() + (size_t) i * n_vocab;
        float top = row[0];
        for (int j = 1; j < n_vocab; ++j) {
            top = std::max(top, row[j]);
        }
        double sum = 0;
        for (int j = 0; j < n_vocab; ++j) {
            sum += std::exp((double) (row[j] - top));
        }
        logprobs[i] = (float) ((double) (row[tokens[i + 1]] - top) - std::log(sum));
    }
    return 0;
}
