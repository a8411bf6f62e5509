"""Formats the JSON lines of `visor-benchmarks camera` for people."""
import json
import sys

for line in sys.stdin:
    r = json.loads(line)
    if r["benchmark"] == "camera-capture":
        print(f"capture: {r['frames']} YUYV frames of {r['width']}x{r['height']} from the virtual camera at "
              f"{r['fps']:.0f} frames/s, {r['cpu_ms_per_frame']:.3f} ms of CPU per frame (capture and conversion "
              f"to RGB), {r['dropped']} dropped")
    else:
        print(f"YUYV to RGB, 640x480, median of {r['frames']}: Visor {r['visor_median_ms']:.3f} ms, "
              f"libv4lconvert {r['libv4lconvert_median_ms']:.3f} ms: Visor is {r['speedup']:.2f}x as fast "
              f"(mean difference {r['mean_channel_difference']:.1f} levels a channel: libv4lconvert takes Y as full range, "
              f"Visor as BT.601's 16-235)")
