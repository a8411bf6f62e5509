"""Reads MCAP files with the official Python readers and decodes every message against the
schema embedded in the file. Prints one JSON object per file; exits non-zero on any problem.

Usage: python3 read_with_official.py FILE...
"""
import json
import sys

from mcap.reader import NonSeekingReader, SeekingReader
from mcap_protobuf.decoder import DecoderFactory


def check(schema_name, proto):
    if schema_name == "foxglove.CompressedImage":
        assert proto.format in ("jpeg", "png"), proto.format
        assert len(proto.data) > 0
        magic = bytes(proto.data[:4])
        assert magic.startswith(b"\xff\xd8") or magic == b"\x89PNG", magic
    elif schema_name == "foxglove.RawImage":
        assert proto.width > 0 and proto.height > 0
        assert len(proto.data) == proto.step * proto.height, (len(proto.data), proto.step, proto.height)
    elif schema_name == "foxglove.RawAudio":
        assert proto.format == "pcm-s16", proto.format
        assert proto.sample_rate > 0 and proto.number_of_channels > 0
        assert len(proto.data) % (2 * proto.number_of_channels) == 0


def read(path):
    result = {"path": path, "channels": {}}
    with open(path, "rb") as f:
        reader = SeekingReader(f, validate_crcs=True, decoder_factories=[DecoderFactory()])
        summary = reader.get_summary()
        assert summary is not None and summary.statistics is not None, "no summary"
        result["statistics_message_count"] = summary.statistics.message_count
        result["chunk_count"] = len(summary.chunk_indexes)
        last_time = -1
        for schema, channel, message, proto in reader.iter_decoded_messages(log_time_order=True):
            check(schema.name, proto)
            assert message.log_time >= last_time, "messages out of order"
            last_time = message.log_time
            entry = result["channels"].setdefault(channel.topic, {"schema": schema.name, "count": 0})
            entry["count"] += 1
            if entry["count"] == 1:
                entry["first_stamp_ns"] = proto.timestamp.seconds * 10**9 + proto.timestamp.nanos
                entry["first_log_time"] = message.log_time
        result["metadata"] = {m.name: dict(m.metadata) for m in reader.iter_metadata()}
        result["attachments"] = [a.name for a in reader.iter_attachments()]
    # The streaming reader checks the record structure from start to end, chunk CRCs included.
    with open(path, "rb") as f:
        streamed = sum(1 for _ in NonSeekingReader(f, validate_crcs=True).iter_messages())
    assert streamed == result["statistics_message_count"], (streamed, result["statistics_message_count"])
    return result


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print(json.dumps(read(p), sort_keys=True))
