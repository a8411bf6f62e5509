"""Reads a VRS recording (Project Aria glasses) with the `vrs` package (pyvrs) and streams its
sensor records to `visor import`, which writes them as MCAP.

Run by Visor as `python3 vrs_export.py RECORDING.vrs MICROPHONE`, MICROPHONE being `mix` or a
channel number. Writes to its standard output, in the recording's time order, one record per
line of JSON, each followed by `size` bytes of payload when its `size` is over 0:

  {"type": "device", "tags": {...}, "device": {...}, "streams": [...]}
                                        first: the file's tags, a summary, every stream
  {"type": "image", "topic", "t", "frame", "format": "jpeg" | "raw", "encoding", "width",
   "height", "stride", "size"}                                 JPEG bytes or raw pixels
  {"type": "audio", "topic", "t", "rate", "channels": 1, "size"}   pcm-s16 samples
  {"type": "imu", "topic", "t", "frame", "sensor", "gyro": [x, y, z], "accel": [x, y, z]}
  {"type": "magnetometer", "topic", "t", "frame", "field": [x, y, z]}          tesla
  {"type": "barometer", "topic", "t", "frame", "pressure", "temperature"}
  {"type": "gaze", "topic", "t", "frame", "yaw", "pitch", "depth", "confidence"
   [, "image_frame", "image_x", "image_y"]}           the point in the RGB image as stored
  {"type": "pose", "topic", "t", "frame", "position": [x, y, z], "orientation": [x, y, z, w]}
  {"type": "end", "counts": {"1202-1": n, ...}}                 data records written per stream

Times `t` are the device's capture times in nanoseconds, one clock for every stream. Errors go
to standard error as one line, with a non-zero exit. The C++ library's own log lines are sent
to standard error too, so that they never mix with the records.
"""

import json
import math
import os
import sys

# Recordable type ids (VRS's RecordableTypeId) of the streams converted, and their topics.
RGB, SLAM, EYE, AUDIO, IMU, MAGNETOMETER, BAROMETER, POSE, GAZE = 214, 1201, 211, 231, 1202, 1203, 247, 371, 373
CAMERA_TOPIC = "/camera/image"
MICROPHONE_TOPIC = "/microphone/audio"


def fail(message):
    sys.stderr.write("vrs: %s\n" % message)
    sys.exit(2)


class Output:
    def __init__(self):
        # The records go to a copy of standard output; the process's own standard output (where
        # the VRS library logs) becomes standard error.
        self.file = os.fdopen(os.dup(1), "wb", buffering=1 << 20)
        os.dup2(2, 1)

    def write(self, header, payload=b""):
        header["size"] = len(payload)
        self.file.write(json.dumps(finite(header), separators=(",", ":"), allow_nan=False).encode() + b"\n")
        if payload:
            self.file.write(payload)


def finite(value):
    """The record with every non-finite number (a sensor's NaN) made 0, so that it is JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else 0.0
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


def type_of(stream_id):
    return int(stream_id.split("-")[0])


def index_of(stream_id):
    return int(stream_id.split("-")[1])


def first_metadata(record):
    return record.metadata_blocks[0] if len(record.metadata_blocks) else {}


class To16k:
    """Any rate to 16 kHz mono pcm-s16 in 20 ms blocks: a windowed-sinc low-pass at 7 kHz, then
    linear interpolation at the new rate (at a whole ratio, as 48 kHz is, plain decimation).
    State runs across records. A record that follows on from the last within 50 ms re-anchors
    the clock by the difference (the audio clock drifts against the device's), so that block
    times follow the device's clock without a break in the sound; a larger gap starts afresh
    at the record's own time."""

    BLOCK = 320

    def __init__(self, rate):
        import numpy as np
        self.np = np
        self.rate = rate
        if rate > 16000:
            # 4 ms of taps (193 at 48 kHz): the Blackman window's transition is about 1.4 kHz
            # wide, so the band passes to about 6.3 kHz and 8 kHz and above are down over 70 dB.
            n = 4 * rate // 1000 + 1
            k = np.arange(n) - (n - 1) / 2
            cutoff = 7000.0 / rate
            taps = 2 * cutoff * np.sinc(2 * cutoff * k) * np.blackman(n)
            self.taps = taps / taps.sum()
        else:
            self.taps = np.array([1.0])
        self.reset(0)

    def reset(self, time_ns):
        np = self.np
        self.start_ns = time_ns          # time of input sample 0 of this run
        self.history = np.zeros(len(self.taps) - 1)
        self.consumed = 0                # input samples seen in this run
        self.next_output = 0             # index of the next 16 kHz sample in this run
        self.pending = np.zeros(0)
        self.pending_start = 0           # index of pending[0] in this run's 16 kHz samples

    def process(self, mono, time_ns):
        np = self.np
        expected = self.start_ns + round(self.consumed * 1e9 / self.rate)
        if self.consumed == 0 or abs(time_ns - expected) > 50_000_000:
            for block in self.flush():
                yield block
            self.reset(time_ns)
        else:
            self.start_ns += time_ns - expected
        # Filtered input, aligned so that filtered[i] is input sample i - delay.
        buffer = np.concatenate([self.history, mono])
        filtered = np.convolve(buffer, self.taps, mode="valid")
        delay = (len(self.taps) - 1) // 2
        first_input = self.consumed - delay  # input index of filtered[0]
        self.history = buffer[len(buffer) - (len(self.taps) - 1):] if len(self.taps) > 1 else self.history
        self.consumed += len(mono)
        last_input = first_input + len(filtered) - 1
        # 16 kHz samples whose input position falls inside what has been filtered.
        positions = []
        j = self.next_output
        while True:
            position = j * self.rate / 16000.0
            if position > last_input:
                break
            positions.append(position)
            j += 1
        if positions:
            positions = np.array(positions)
            values = np.interp(positions - first_input, np.arange(len(filtered)), filtered)
            if self.pending.size == 0:
                self.pending_start = self.next_output
            self.pending = np.concatenate([self.pending, values])
            self.next_output = j
        while self.pending.size >= self.BLOCK:
            yield self.emit(self.BLOCK)

    def emit(self, count):
        np = self.np
        block, self.pending = self.pending[:count], self.pending[count:]
        time_ns = self.start_ns + round(self.pending_start * 1e9 / 16000)
        self.pending_start += count
        return time_ns, np.clip(np.round(block), -32768, 32767).astype("<i2").tobytes()

    def flush(self):
        if self.pending.size:
            yield self.emit(self.pending.size)


def main():
    if len(sys.argv) != 3:
        fail("usage: vrs_export.py RECORDING.vrs mix|CHANNEL")
    path, microphone = sys.argv[1], sys.argv[2]
    output = Output()
    try:
        global np, StreamId, get_gaze_vector_reprojection
        import numpy as np
        import pyvrs
    except ImportError as error:
        fail("the vrs package is not installed (run tools/setup): %s" % error)
    try:
        reader = pyvrs.SyncVRSReader(path)
    except Exception as error:  # pyvrs raises plain exceptions for a file that is not VRS
        fail("cannot read %s: %s" % (path, str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__))

    try:
        from projectaria_tools.core.mps.utils import get_gaze_vector_reprojection
        from projectaria_tools.core.stream_id import StreamId
    except ImportError:
        StreamId = get_gaze_vector_reprojection = None
    tags = {k: v for k, v in reader.file_tags.items()}
    streams = []
    topics = {}
    configs = {}
    for stream_id in sorted(reader.stream_ids, key=lambda s: (type_of(s), index_of(s))):
        info = reader.get_stream_info(stream_id)
        kind, topic = None, None
        flavor = info.get("flavor", "")
        t = type_of(stream_id)
        if t == RGB:
            kind, topic = "image", CAMERA_TOPIC
        elif t == SLAM:
            kind, topic = "image", "/aria/slam/%d" % index_of(stream_id)
        elif t == EYE:
            kind, topic = "image", "/aria/eye/%d" % index_of(stream_id)
        elif t == AUDIO:
            kind, topic = "audio", MICROPHONE_TOPIC
        elif t == IMU:
            kind, topic = "imu", "/aria/imu/%d" % index_of(stream_id)
        elif t == MAGNETOMETER:
            kind, topic = "magnetometer", "/aria/magnetometer"
        elif t == BAROMETER:
            kind, topic = "barometer", "/aria/barometer"
        elif t == GAZE:
            kind, topic = "gaze", "/aria/gaze"
        elif t == POSE and flavor.endswith("vio_high_frequency"):
            kind, topic = "pose", "/aria/pose"
        records = reader.filtered_by_fields(stream_ids={stream_id}, record_types={"configuration"})
        config = dict(first_metadata(records[0])) if len(records) else {}
        configs[stream_id] = config
        if kind:
            topics[stream_id] = (kind, topic)
        streams.append({
            "id": stream_id, "name": info.get("device_name", ""), "flavor": flavor,
            "data_records": int(info.get("data_records_count", 0)), "converted": kind is not None,
            "topic": topic or "", "sensor_model": str(config.get("sensor_model", config.get("sensor_model_name", ""))),
            "nominal_rate": float(config.get("nominal_rate", config.get("nominal_rate_hz", config.get("sample_rate", 0))) or 0),
        })
    audio_streams = [s for s, (k, _) in topics.items() if k == "audio"]
    rgb_streams = [s for s in topics if type_of(s) == RGB]
    if len(audio_streams) > 1:
        for s in audio_streams[1:]:
            topics[s] = ("audio", "/aria/audio/%d" % index_of(s))
    for s in rgb_streams[1:]:
        topics[s] = ("image", "/aria/rgb/%d" % index_of(s))
    for entry in streams:
        if entry["id"] in topics:
            entry["topic"] = topics[entry["id"]][1]
    # Aria Gen 1's RGB sensor is mounted turned: its images show the world rotated 90 degrees
    # anticlockwise, and are shown turned 90 degrees clockwise. Gen 2's are upright.
    device_type = tags.get("device_type", "")
    model = {"Aria": "Project Aria (Gen 1)", "Oatmeal": "Project Aria Gen 2"}.get(device_type, device_type or "unknown")
    device = {"model": model, "rgb_rotation_clockwise_deg": 90 if device_type == "Aria" else 0}
    try:
        calibration = json.loads(tags.get("calib_json", "") or "{}")
    except ValueError:
        calibration = {}
    if calibration:
        device["cameras"] = ", ".join("%s (%s)" % (c.get("Label", "?"), c.get("Projection", {}).get("Name", "?"))
                                      for c in calibration.get("CameraCalibrations", []))
        device["imus"] = ", ".join(c.get("Label", "?") for c in calibration.get("ImuCalibrations", []))
        device["microphones"] = str(sum(1 for c in calibration.get("MicCalibrations", []) if c.get("Label", "").startswith("mic")))
        device["calibration_source"] = str(calibration.get("CalibrationSource", ""))
        device["build"] = str(calibration.get("DeviceClassInfo", {}).get("BuildVersion", ""))
    output.write({"type": "device", "tags": tags, "device": device, "streams": streams})

    counts = {s: 0 for s in topics}
    converters = {}
    providers = []

    def aria(stream_id):
        """projectaria-tools' reader of the same file, for what pyvrs cannot decode."""
        if not providers:
            try:
                from projectaria_tools.core import data_provider
            except ImportError:
                data_provider = None
            if data_provider is None or StreamId is None or get_gaze_vector_reprojection is None:
                fail("stream %s needs projectaria-tools to decode (run tools/setup)" % stream_id)
            provider = data_provider.create_vrs_data_provider(path)
            if provider is None:
                fail("projectaria-tools cannot read %s" % path)
            providers.append(provider)
        return providers[0]
    def convert(record):
        stream_id = record.stream_id
        kind, topic = topics[stream_id]
        index = counts[stream_id]
        meta = first_metadata(record)
        # The device's capture time; the record's own time (the same clock) where there is none.
        t = int(meta["capture_timestamp_ns"]) if "capture_timestamp_ns" in meta else int(round(record.timestamp * 1e9))
        frame = stream_id
        if kind == "image":
            spec = record.image_specs[0]
            data = record.image_blocks[0]
            codec = str(spec).lower()
            header = {"type": "image", "topic": topic, "t": t, "frame": frame,
                      "width": int(spec.width), "height": int(spec.height)}
            if "h.265" in codec or "h265" in codec or "hevc" in codec:
                pixels = np.ascontiguousarray(aria(stream_id).get_image_data_by_index(StreamId(stream_id), index)[0].to_numpy_array())
                channels = 1 if pixels.ndim == 2 else pixels.shape[2]
                if pixels.dtype != np.uint8 or channels not in (1, 3):
                    fail("stream %s decodes to images of %s with %d channels, which Visor does not convert" % (stream_id, pixels.dtype, channels))
                header.update(format="raw", encoding={1: "mono8", 3: "rgb8"}[channels], width=int(pixels.shape[1]),
                              height=int(pixels.shape[0]), stride=int(pixels.shape[1]) * channels, source="h265")
                output.write(header, pixels.tobytes())
            elif codec.startswith("jpg") or codec.startswith("jpeg"):
                header.update(format="jpeg", encoding="", stride=0, source="jpeg")
                output.write(header, bytes(np.asarray(data).reshape(-1)))
            else:
                pixels = np.ascontiguousarray(np.asarray(data))
                channels = 1 if pixels.ndim == 2 else pixels.shape[2]
                encoding = {1: "mono8", 3: "rgb8"}.get(channels)
                if pixels.dtype != np.uint8 or encoding is None:
                    fail("stream %s has images of %s with %d channels, which Visor does not convert" % (stream_id, pixels.dtype, channels))
                header.update(format="raw", encoding=encoding, width=int(pixels.shape[1]), height=int(pixels.shape[0]),
                              stride=int(pixels.shape[1]) * channels, source="raw")
                output.write(header, pixels.tobytes())
        elif kind == "audio":
            spec = record.audio_specs[0]
            if "opus" in str(spec).lower():
                # pyvrs hands back the OPUS packet undecoded; projectaria-tools decodes it.
                decoded = aria(stream_id).get_audio_data_by_index(StreamId(stream_id), index)[0]
                samples = np.asarray(decoded.data, dtype=np.int64).reshape(-1, int(spec.channel_count))
                scale = 1.0
            else:
                samples = np.asarray(record.audio_blocks[0])
                scale = 1.0 / 65536.0 if samples.dtype == np.int32 else 1.0
            if samples.ndim == 1:
                samples = samples.reshape(-1, max(1, int(spec.channel_count)))
            if microphone == "mix":
                mono = samples.astype(np.float64).mean(axis=1) * scale
            else:
                channel = int(microphone)
                if channel >= samples.shape[1]:
                    fail("the recording's microphone has channels 0 to %d; --microphone %d is not one" % (samples.shape[1] - 1, channel))
                mono = samples[:, channel].astype(np.float64) * scale
            times = meta.get("capture_timestamps_ns")
            first = int(times[0]) if times is not None and len(times) else t
            converter = converters.setdefault(stream_id, To16k(int(spec.sample_rate)))
            for block_time, block in converter.process(mono, first):
                output.write({"type": "audio", "topic": topic, "t": block_time, "rate": 16000, "channels": 1}, block)
        elif kind == "imu":
            config = configs[stream_id]
            output.write({"type": "imu", "topic": topic, "t": t, "frame": frame,
                          "sensor": str(config.get("sensor_model", "")),
                          "gyro": [float(v) for v in meta["gyroscope"]], "accel": [float(v) for v in meta["accelerometer"]]})
        elif kind == "magnetometer":
            # Aria Gen 1's magnetometer gives microtesla, Gen 2's tesla.
            scale = 1e-6 if device_type == "Aria" else 1.0
            output.write({"type": "magnetometer", "topic": topic, "t": t, "frame": frame,
                          "field": [float(v) * scale for v in meta["magnetometer"]]})
        elif kind == "barometer":
            output.write({"type": "barometer", "topic": topic, "t": t, "frame": frame,
                          "pressure": float(meta["pressure"]), "temperature": float(meta["temperature"])})
        elif kind == "gaze":
            provider = aria(stream_id)
            gaze = provider.get_eye_gaze_data_by_index(StreamId(stream_id), index)
            header = {"type": "gaze", "topic": topic, "t": t, "frame": "cpf", "yaw": float(gaze.yaw), "pitch": float(gaze.pitch),
                      "depth": float(gaze.depth) if gaze.spatial_gaze_point_valid else 0.0,
                      "confidence": 1.0 if gaze.combined_gaze_valid else 0.0}
            calibration = provider.get_device_calibration()
            camera = calibration.get_camera_calib("camera-rgb") if calibration else None
            if camera is not None and rgb_streams:
                point = get_gaze_vector_reprojection(gaze, "camera-rgb", calibration, camera, float(gaze.depth) if gaze.depth > 0 else 1.0)
                if point is not None:
                    # The factory calibration may be for another resolution than the one recorded
                    # (a binned or cropped profile): scale the point to the stored image.
                    calibrated = camera.get_image_size()
                    stored = configs[rgb_streams[0]]
                    sx = float(stored.get("image_width", 0) or calibrated[0]) / float(calibrated[0])
                    sy = float(stored.get("image_height", 0) or calibrated[1]) / float(calibrated[1])
                    header.update(image_frame=rgb_streams[0], image_x=float(point[0]) * sx, image_y=float(point[1]) * sy)
            output.write(header)
        elif kind == "pose":
            output.write({"type": "pose", "topic": topic, "t": t, "frame": "odometry",
                          "position": [float(v) for v in meta["txyz_odometry_device"]],
                          "orientation": [float(v) for v in meta["qxyzw_odometry_device"]]})
        counts[stream_id] += 1

    selected = reader.filtered_by_fields(stream_ids=set(topics), record_types={"data"})
    for record in selected:
        try:
            convert(record)
        except SystemExit:
            raise
        except Exception as error:  # one line naming the record, not a traceback
            fail("stream %s, record %d: %s: %s" % (record.stream_id, counts.get(record.stream_id, 0), type(error).__name__, error))

    for stream_id, converter in converters.items():
        for block_time, block in converter.flush():
            output.write({"type": "audio", "topic": topics[stream_id][1], "t": block_time, "rate": 16000, "channels": 1}, block)
    output.write({"type": "end", "counts": counts})
    output.file.flush()


if __name__ == "__main__":
    main()
