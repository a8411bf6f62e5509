"""Runs a command and reports how it ended and its peak resident memory, as one JSON object.

Usage: python3 peak_rss.py COMMAND [ARGS...]
"""
import json
import resource
import subprocess
import sys

run = subprocess.run(sys.argv[1:], capture_output=True, text=True, errors="replace")
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"status": run.returncode, "peak_mb": peak_kb / 1024, "stderr": run.stderr, "stdout": run.stdout[-2000:]}))
