"""BlazeFace through Google's own runtime (PyPI ai-edge-litert, one thread), decoded here
independently of Visor: MediaPipe's SSD anchors, sigmoid scores, weighted non-maximum suppression.

Usage: blazeface_reference.py MODEL INPUT.f32 SIZE OUT_PREFIX
Writes the raw outputs to OUT_PREFIX.N.f32 and prints the detections as JSON: boxes as x, y,
width, height in the model input's unit square, with their scores.
"""
import json, sys
import numpy as np
from ai_edge_litert.interpreter import Interpreter

model, input_path, size, prefix = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
interpreter = Interpreter(model_path=model, num_threads=1)
interpreter.allocate_tensors()
detail = interpreter.get_input_details()[0]
interpreter.set_tensor(detail["index"], np.fromfile(input_path, dtype=np.float32).reshape(detail["shape"]))
interpreter.invoke()
outputs = [interpreter.get_tensor(o["index"]).astype(np.float32) for o in interpreter.get_output_details()]
for n, output in enumerate(outputs):
    output.tofile(f"{prefix}.{n}.f32")
boxes = next(o for o in outputs if o.shape[-1] == 16).reshape(-1, 16)
logits = next(o for o in outputs if o.shape[-1] == 1).reshape(-1)

short = size == 128
strides, per_layer = ([8, 16, 16, 16], 2) if short else ([4], 1)
anchors = []
layer = 0
while layer < len(strides):
    last = layer
    while last < len(strides) and strides[last] == strides[layer]:
        last += 1
    cells = int(np.ceil(size / strides[layer]))
    for y in range(cells):
        for x in range(cells):
            anchors += [((x + 0.5) / cells, (y + 0.5) / cells)] * ((last - layer) * per_layer)
    layer = last
anchors = np.array(anchors)
scores = 1 / (1 + np.exp(-np.clip(logits, -100, 100)))
keep = scores >= (0.5 if short else 0.6)
raw = boxes[keep] / size
centre = raw[:, 0:2] + anchors[keep]
wh = raw[:, 2:4]
detections = np.concatenate([centre - wh / 2, wh], axis=1)
order = np.argsort(-scores[keep])
detections, kept_scores = detections[order], scores[keep][order]


def iou(a, b):
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


result = []
remaining = list(range(len(detections)))
while remaining:
    best = remaining[0]
    group = [i for i in remaining if iou(detections[best], detections[i]) > 0.3]
    weights = kept_scores[group]
    merged = (detections[group] * weights[:, None]).sum(axis=0) / weights.sum()
    result.append({"box": merged.tolist(), "score": float(kept_scores[best])})
    remaining = [i for i in remaining if i not in group]
print(json.dumps(result))
