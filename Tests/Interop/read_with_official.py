"""Reads MCAP files with the official Python readers and decodes every message against the
schema embedded in the file. Prints one JSON object per file; exits non-zero on any problem.

Usage: python3 read_with_official.py FILE...
"""
import json
import math
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
    elif schema_name == "visor.Imu":
        a, w = proto.linear_acceleration, proto.angular_velocity
        # m/s^2 with gravity in: a head never reads 0 or 10 g; rad/s under 35 (2000 degrees a second).
        assert 2 < math.sqrt(a.x * a.x + a.y * a.y + a.z * a.z) < 100, (a.x, a.y, a.z)
        assert math.sqrt(w.x * w.x + w.y * w.y + w.z * w.z) < 35, (w.x, w.y, w.z)
        assert proto.frame_id, "no frame"
    elif schema_name == "visor.Gaze":
        assert abs(proto.yaw) < math.pi / 2 and abs(proto.pitch) < math.pi / 2, (proto.yaw, proto.pitch)
        assert 0 <= proto.confidence <= 1 and proto.depth >= 0
    elif schema_name == "visor.MagneticField":
        m = proto.magnetic_field
        assert 1e-6 < math.sqrt(m.x * m.x + m.y * m.y + m.z * m.z) < 1e-3, (m.x, m.y, m.z)  # tesla; the Earth's is 25-65 uT
    elif schema_name == "visor.Pressure":
        assert 3e4 < proto.pressure < 1.2e5, proto.pressure  # pascal, sea level to high mountains
    elif schema_name == "foxglove.PoseInFrame":
        q = proto.pose.orientation
        assert abs(q.x * q.x + q.y * q.y + q.z * q.z + q.w * q.w - 1) < 1e-3
    elif schema_name == "visor.Input":
        assert proto.kind in ("tap", "double_tap", "long_press", "swipe_forward", "swipe_back", "capture"), proto.kind


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
            if schema.name == "foxglove.RawAudio":
                entry["samples"] = entry.get("samples", 0) + len(proto.data) // (2 * proto.number_of_channels)
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
