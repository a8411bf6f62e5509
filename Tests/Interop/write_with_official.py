"""Writes sessions with the official Python MCAP writer and Foxglove's protobuf classes, from the
frames and audio of a Visor session, under topic names Visor has never used.

Usage: python3 write_with_official.py SOURCE.mcap RAW_SOURCE.mcap OUT_DIR
  SOURCE.mcap      a session with JPEG frames and audio
  RAW_SOURCE.mcap  a session with raw rgb8 frames
Writes OUT_DIR/official-jpeg-zstd.mcap, official-jpeg-lz4.mcap and official-raw-ENCODING.mcap.
"""
import os
import sys

import numpy as np
from foxglove_schemas_protobuf.CompressedImage_pb2 import CompressedImage
from foxglove_schemas_protobuf.RawAudio_pb2 import RawAudio
from foxglove_schemas_protobuf.RawImage_pb2 import RawImage
from mcap.reader import make_reader
from mcap.writer import CompressionType
from mcap_protobuf.decoder import DecoderFactory
from mcap_protobuf.writer import Writer

EPOCH_NS = 1_700_000_000 * 10**9  # wall-clock log times, as a real recorder writes


def decoded(path):
    with open(path, "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        for schema, channel, message, proto in reader.iter_decoded_messages():
            yield schema.name, message.log_time, proto


def stamp(msg, t):
    msg.timestamp.seconds = t // 10**9
    msg.timestamp.nanos = t % 10**9


def write_compressed(source, out, compression):
    with open(out, "wb") as f:
        writer = Writer(f, compression=compression)
        for schema, t, proto in decoded(source):
            t += EPOCH_NS
            if schema == "foxglove.CompressedImage":
                msg = CompressedImage(frame_id="front", data=proto.data, format=proto.format)
                stamp(msg, t)
                writer.write_message("/sensors/front_cam/compressed", msg, log_time=t, publish_time=t)
            elif schema == "foxglove.RawAudio":
                msg = RawAudio(data=proto.data, format="pcm-s16", sample_rate=proto.sample_rate,
                               number_of_channels=proto.number_of_channels)
                stamp(msg, t)
                writer.write_message("/headset/mic0", msg, log_time=t, publish_time=t)
        writer.finish()


def to_encoding(rgb, encoding):
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    if encoding == "rgb8":
        return rgb
    if encoding == "bgr8":
        return rgb[..., ::-1]
    y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
    if encoding == "mono8":
        return np.clip(np.rint(0.299 * r + 0.587 * g + 0.114 * b), 0, 255).astype(np.uint8)
    u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128 + 0.439 * r - 0.368 * g - 0.071 * b
    y = np.clip(np.rint(y), 0, 255).astype(np.uint8)
    u = np.clip(np.rint((u[:, 0::2] + u[:, 1::2]) / 2), 0, 255).astype(np.uint8)
    v = np.clip(np.rint((v[:, 0::2] + v[:, 1::2]) / 2), 0, 255).astype(np.uint8)
    h, w = y.shape
    out = np.empty((h, w * 2), dtype=np.uint8)
    if encoding == "yuyv":
        out[:, 0::4], out[:, 1::4], out[:, 2::4], out[:, 3::4] = y[:, 0::2], u, y[:, 1::2], v
    else:  # uyvy
        out[:, 0::4], out[:, 1::4], out[:, 2::4], out[:, 3::4] = u, y[:, 0::2], v, y[:, 1::2]
    return out


def write_raw(source, out, encoding):
    with open(out, "wb") as f:
        writer = Writer(f, compression=CompressionType.ZSTD)
        for schema, t, proto in decoded(source):
            if schema != "foxglove.RawImage":
                continue
            rgb = np.frombuffer(proto.data, dtype=np.uint8).reshape(proto.height, proto.width, 3)
            pixels = np.ascontiguousarray(to_encoding(rgb, encoding))
            msg = RawImage(frame_id="eye", width=proto.width, height=proto.height, encoding=encoding,
                           step=pixels.nbytes // proto.height, data=pixels.tobytes())
            stamp(msg, t)
            writer.write_message("/glasses/eye_cam/raw", msg, log_time=t, publish_time=t)
        writer.finish()


if __name__ == "__main__":
    source, raw_source, out_dir = sys.argv[1:4]
    write_compressed(source, os.path.join(out_dir, "official-jpeg-zstd.mcap"), CompressionType.ZSTD)
    write_compressed(source, os.path.join(out_dir, "official-jpeg-lz4.mcap"), CompressionType.LZ4)
    for encoding in ("rgb8", "bgr8", "mono8", "yuyv", "uyvy"):
        write_raw(raw_source, os.path.join(out_dir, f"official-raw-{encoding}.mcap"), encoding)
