#!/usr/bin/env python3
"""Patches whisper.cpp's src/whisper.cpp so that decoding a batch in which only the last token
wants logits (the prompt and the start of transcript, before each transcription) projects that
token alone onto the vocabulary. whisper.cpp projects every token of the batch (51,865 rows of
512 for Whisper base, per token) and keeps the last row: for a prompt of 40 tokens, most of the
batch's cost. The other rows are never read; Visor's scoring asks for every row, and gets them.

Usage: tools/whisper/last-logits.py SRC/whisper.cpp (exits 1, changing nothing, when the code it
patches is not there: another whisper.cpp version)."""
import sys

GRAPH_OLD = """    //cur = ggml_view_2d(ctx0, cur, cur->ne[0], 1, cur->nb[1], (cur->ne[1] - 1)*cur->nb[1]);
"""
GRAPH_NEW = """    if (!worst_case && batch.n_tokens > 1) {
        bool earlier = false;
        for (int i = 0; i < batch.n_tokens - 1; ++i) earlier = earlier || batch.logits[i] != 0;
        if (!earlier) cur = ggml_view_2d(ctx0, cur, cur->ne[0], 1, cur->nb[1], (cur->ne[1] - 1)*cur->nb[1]);
    }
"""
COPY_OLD = """        ggml_backend_tensor_get(logits, logits_out.data() + (n_vocab*i), sizeof(float)*(n_vocab*i), sizeof(float)*n_vocab);
"""
COPY_NEW = """        const size_t row = logits->ne[1] == 1 ? 0 : (size_t) i;
        ggml_backend_tensor_get(logits, logits_out.data() + (n_vocab*i), sizeof(float)*(n_vocab*row), sizeof(float)*n_vocab);
"""


def main():
    path = sys.argv[1]
    with open(path) as f:
        text = f.read()
    for old in (GRAPH_OLD, COPY_OLD):
        if text.count(old) != 1:
            print("last-logits.py: %s does not hold the code this patch changes" % path, file=sys.stderr)
            return 1
    text = text.replace(GRAPH_OLD, GRAPH_NEW).replace(COPY_OLD, COPY_NEW)
    with open(path, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
