"""One table of tools/bench's results, with the machine at the top.
Usage: report.py FOLDER (the JSON lines tools/bench wrote there)."""
import json
import os
import platform
import re
import statistics
import sys

folder = sys.argv[1]


def lines(name):
    path = os.path.join(folder, name)
    if not os.path.exists(path):
        return []
    return [json.loads(l) for l in open(path) if l.strip().startswith("{")]


cpuinfo = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
model = re.search(r"^model name\s*:\s*(.*)$", cpuinfo, re.M)
# x86 names its extensions on "flags" lines, arm64 on "Features" lines.
listed = re.search(r"^(?:flags|Features)\s*:\s*(.*)$", cpuinfo, re.M)
flags = set(listed.group(1).split()) if listed else set()
vector = [f for f in ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "amx_tile", "asimd") if f in flags]
print(f"CPU: {model.group(1) if model else platform.processor() or platform.machine()}, {os.cpu_count()} cores")
print(f"vector extensions: {' '.join(vector) or 'none listed'}")

rows = []
faces = lines("faces.jsonl")
if faces:
    print(f"Visor's kernels: {faces[0].get('kernels', '?')} (VISOR_KERNELS picks another)")
for r in faces:
    rows.append((f"faces: {r['model'].replace('face_detection_', '')}", f"{r['visor_median_ms']:.3f} ms", f"{r['reference_median_ms']:.3f} ms",
                 r["visor_over_reference"], "ai-edge-litert (XNNPACK), 1 thread; median of block ratios"))
for r in lines("terminal.jsonl"):
    rows.append((f"terminal: {r['symbols']}", f"{r['visor_median_ms']:.3f} ms", f"{r['chafa_median_ms']:.3f} ms",
                 r["visor_median_ms"] / r["chafa_median_ms"], "libchafa, 160x48 cells"))
for r in lines("camera.jsonl"):
    if r.get("benchmark") != "camera-capture":
        rows.append(("camera: YUYV to RGB", f"{r['visor_median_ms']:.3f} ms", f"{r['libv4lconvert_median_ms']:.3f} ms",
                     r["visor_median_ms"] / r["libv4lconvert_median_ms"], "libv4lconvert, 640x480"))
mcap = lines("mcap.jsonl")
for mode in ("messages", "decoded"):
    ours = [s for r in mcap if r["mode"] == mode and r["reader"] == "visor" for s in r["seconds"]]
    theirs = [s for r in mcap if r["mode"] == mode and r["reader"] == "python-mcap" for s in r["seconds"]]
    if ours and theirs:
        a, b = statistics.median(ours), statistics.median(theirs)
        rows.append((f"mcap-read: {mode}", f"{a * 1e3:.2f} ms", f"{b * 1e3:.2f} ms", a / b, "python mcap reader, street.mcap"))
for session in ("street", "walk"):
    path = os.path.join(folder, f"bench-{session}.json")
    if not os.path.exists(path):
        continue
    report = json.load(open(path))
    hud = report["end_to_end"]["capture_to_hud"]
    rows.append((f"capture to HUD p99: {session}", f"{hud['p99_ns'] / 1e6:.3f} ms", "3 ms goal", hud["p99_ns"] / 3e6,
                 f"every stage on, {hud['count']} frames, p50 {hud['p50_ns'] / 1e6:.3f} ms"))
    path = os.path.join(folder, f"faces-{session}.json")
    faces = json.load(open(path))["stages"].get("faces") if os.path.exists(path) else None
    if faces and faces["count"]:
        rows.append((f"faces stage p50: {session}", f"{faces['p50_ns'] / 1e6:.3f} ms", f"{faces['budget_ns'] / 1e6:.0f} ms model",
                     faces["p50_ns"] / faces["budget_ns"], f"--stages faces, the {report['profile']} profile's model, {faces['count']} analyses"))
for r in lines("whisper.jsonl"):
    for kind in ("float32", "int8"):
        rows.append((f"whisper: command ({kind})", f"{r['visor_median_ms']:.1f} ms", f"{r[f'faster_whisper_{kind}_median_ms']:.1f} ms",
                     r[f"visor_over_{kind}"], f"faster-whisper {kind}, 2 threads, {r['commands']} commands x {r['runs']}; "
                     f"whisper.cpp's own 30 s window {r['whisper_cpp_whole_window_median_ms']:.0f} ms"))

print()
print(f"{'benchmark':26} {'Visor':>12} {'reference':>12} {'ratio':>7}  against")
for name, ours, theirs, ratio, note in rows:
    print(f"{name:26} {ours:>12} {theirs:>12} {ratio:7.2f}  {note}")
for r in lines("assistant.jsonl"):
    if r.get("benchmark") == "language-model":
        print(f"{'assistant: model, quiet':26} {r['answer_median_ms']:>9.0f} ms {'':>12} {'':>7}  "
              f"{r['model']}, {r['threads']} threads: {r['prompt_tokens_per_second_median']:.0f} prompt and "
              f"{r['generated_tokens_per_second_median']:.0f} generated tokens/s")
    if r.get("benchmark") == "language-model-contended":
        print(f"{'assistant: 1 core burned':26} {r['answer_median_ms']:>9.0f} ms {'quiet speed':>12} {r['generated_over_quiet']:7.2f}  "
              f"{r['threads_policy']} threads ({r['threads']}): {r['prompt_tokens_per_second_median']:.0f} prompt "
              f"({r['prompt_over_quiet']:.2f} of quiet) and {r['generated_tokens_per_second_median']:.0f} generated tokens/s")
print("\nratio: Visor's time over the reference's (below 1: Visor is faster); for the model with a core burned,\n"
      "its generation speed over its quiet speed (the goal: at least 0.5); medians")
