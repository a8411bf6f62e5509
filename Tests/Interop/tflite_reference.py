"""Runs a TFLite model through Google's own runtime (PyPI ai-edge-litert), one thread.

Usage: tflite_reference.py MODEL INPUT.f32 OUT_PREFIX [--time N | --serve]
INPUT.f32 holds the input tensor as raw little-endian float32; each output is written to
OUT_PREFIX.N.f32 in the model's output order. With --time N, also prints the median of N
invocations in milliseconds as JSON. With --serve, prints "ready" and then, for each line
holding a number N read from standard input, times N invocations and prints their times in
milliseconds as one JSON list (so that a caller can interleave its own runs with these).
"""
import json, sys, time
import numpy as np
from ai_edge_litert.interpreter import Interpreter

model, input_path, prefix = sys.argv[1:4]
interpreter = Interpreter(model_path=model, num_threads=1)
interpreter.allocate_tensors()
detail = interpreter.get_input_details()[0]
tensor = np.fromfile(input_path, dtype=np.float32).reshape(detail["shape"])
interpreter.set_tensor(detail["index"], tensor)
interpreter.invoke()
for n, output in enumerate(interpreter.get_output_details()):
    interpreter.get_tensor(output["index"]).astype(np.float32).tofile(f"{prefix}.{n}.f32")
if "--time" in sys.argv:
    runs = int(sys.argv[sys.argv.index("--time") + 1])
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        interpreter.invoke()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    print(json.dumps({"median_ms": times[len(times) // 2], "runs": runs}))
if "--serve" in sys.argv:
    print("ready", flush=True)
    for line in sys.stdin:
        times = []
        for _ in range(int(line)):
            start = time.perf_counter()
            interpreter.invoke()
            times.append((time.perf_counter() - start) * 1000)
        print(json.dumps(times), flush=True)
