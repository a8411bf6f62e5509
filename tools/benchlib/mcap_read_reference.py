"""The reference for `visor-benchmarks mcap-read`: the official Python MCAP reader (PyPI `mcap`,
`mcap-protobuf-support`) reading the same file the same way: every message, chunk CRCs checked,
then every message decoded against its embedded schema. Prints the same JSON lines.

Usage: python3 mcap_read_reference.py FILE [PASSES]
"""
import json
import os
import sys
import time

from mcap.reader import SeekingReader
from mcap_protobuf.decoder import DecoderFactory

IMAGE_SCHEMAS = {"foxglove.CompressedImage", "foxglove.RawImage"}


def run(path, passes):
    size = os.path.getsize(path)
    for mode in ("messages", "decoded"):
        seconds = []
        for _ in range(passes):
            start = time.perf_counter()
            frames = messages = checksum = 0
            with open(path, "rb") as f:
                if mode == "messages":
                    reader = SeekingReader(f, validate_crcs=True)
                    for schema, channel, message in reader.iter_messages(log_time_order=True):
                        messages += 1
                        frames += schema.name in IMAGE_SCHEMAS
                        checksum += len(message.data)
                else:
                    reader = SeekingReader(f, validate_crcs=True, decoder_factories=[DecoderFactory()])
                    for schema, channel, message, proto in reader.iter_decoded_messages(log_time_order=True):
                        messages += 1
                        frames += schema.name in IMAGE_SCHEMAS
                        checksum += len(proto.data)
            seconds.append(time.perf_counter() - start)
            assert checksum > 0
        print(json.dumps({"reader": "python-mcap", "mode": mode, "bytes": size, "messages": messages,
                          "frames": frames, "seconds": seconds}))


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 10)
