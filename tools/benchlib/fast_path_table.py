"""Formats the JSON lines of `visor-benchmarks fast-path` as a few lines for people.
Usage: visor-benchmarks fast-path FILE | python3 fast_path_table.py LABEL"""
import json
import sys

rows = [json.loads(line) for line in sys.stdin]
total = rows[0]
print(f"{sys.argv[1]}: {total['frames']} frames of {total['width']}x{total['height']}; fast path "
      f"p50 {total['p50_ms']:.3f} ms, p90 {total['p90_ms']:.3f} ms, p99 {total['p99_ms']:.3f} ms, "
      f"max {total['max_ms']:.3f} ms; {total['allocations_per_frame']:.2f} heap allocations per frame")
for r in rows[1:]:
    print(f"  {r['stage']:9} p50 {r['p50_ms']:.3f} ms  p99 {r['p99_ms']:.3f} ms  "
          f"{r['allocations_per_frame']:.2f} allocations per frame")
