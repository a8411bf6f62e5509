"""What the `vrs` package (pyvrs) itself reports of a VRS file, to check a conversion against:
for each stream, its data records, and for audio streams the samples and their rate. Prints one
JSON object. Usage: python3 vrs_counts.py FILE.vrs
"""
import json
import os
import sys

# The library logs on standard output; keep it for the answer alone.
out = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
import pyvrs  # noqa: E402

reader = pyvrs.SyncVRSReader(sys.argv[1])
streams = {}
for stream_id in reader.stream_ids:
    info = reader.get_stream_info(stream_id)
    entry = {"name": info.get("device_name", ""), "data_records": int(info.get("data_records_count", 0))}
    if stream_id.startswith("231-"):
        samples, rate = 0, 0
        for record in reader.filtered_by_fields(stream_ids={stream_id}, record_types={"data"}):
            spec = record.audio_specs[0]
            samples += int(spec.sample_count)
            rate = int(spec.sample_rate)
        entry.update(samples=samples, sample_rate=rate)
    streams[stream_id] = entry
out.write(json.dumps({"file_tags": {"device_type": reader.file_tags.get("device_type", "")}, "streams": streams}) + "\n")
