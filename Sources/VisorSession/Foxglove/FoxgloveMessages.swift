import VisorCore

/// `google.protobuf.Timestamp`, as Foxglove messages carry it.
public struct FoxgloveTimestamp: Equatable, Sendable {
    public var seconds: Int64
    public var nanos: Int32

    public init(nanoseconds: UInt64) {
        seconds = Int64(nanoseconds / 1_000_000_000)
        nanos = Int32(nanoseconds % 1_000_000_000)
    }

    public var nanoseconds: UInt64 { UInt64(max(seconds, 0)) * 1_000_000_000 + UInt64(max(nanos, 0)) }

    func encode(_ w: inout ProtobufWriter) { w.int64(1, seconds); w.int32(2, nanos) }

    static func decode(_ data: ArraySlice<UInt8>) throws -> FoxgloveTimestamp {
        var t = FoxgloveTimestamp(nanoseconds: 0)
        var r = ProtobufReader(data)
        while let (field, value) = try r.next() {
            switch field {
            case 1: t.seconds = Int64(bitPattern: value.uint64Value ?? 0)
            case 2: t.nanos = Int32(truncatingIfNeeded: Int64(bitPattern: value.uint64Value ?? 0))
            default: break
            }
        }
        return t
    }
}

/// `foxglove.CompressedImage`: a JPEG or PNG camera frame.
public struct CompressedImageMessage: Sendable {
    public var timestamp: FoxgloveTimestamp
    public var frameID: String
    public var data: ArraySlice<UInt8>
    /// "jpeg" or "png" (Foxglove also accepts "webp" and "avif", which Visor does not decode).
    public var format: String

    public init(timestamp: FoxgloveTimestamp, frameID: String, data: ArraySlice<UInt8>, format: String) {
        self.timestamp = timestamp; self.frameID = frameID; self.data = data; self.format = format
    }

    public func encoded() -> [UInt8] {
        var w = ProtobufWriter(capacity: data.count + 64)
        w.message(1, always: true) { timestamp.encode(&$0) }
        w.bytes(2, data)
        w.string(3, format)
        w.string(4, frameID)
        return w.bytes
    }

    public static func decode(_ bytes: ArraySlice<UInt8>) throws -> CompressedImageMessage {
        var m = CompressedImageMessage(timestamp: FoxgloveTimestamp(nanoseconds: 0), frameID: "", data: [], format: "")
        var r = ProtobufReader(bytes)
        while let (field, value) = try r.next() {
            switch field {
            case 1: m.timestamp = try FoxgloveTimestamp.decode(value.bytesValue ?? [])
            case 2: m.data = value.bytesValue ?? []
            case 3: m.format = value.stringValue ?? ""
            case 4: m.frameID = value.stringValue ?? ""
            default: break
            }
        }
        return m
    }
}

/// `foxglove.RawImage`: uncompressed camera pixels.
public struct RawImageMessage: Sendable {
    public var timestamp: FoxgloveTimestamp
    public var frameID: String
    public var width: UInt32
    public var height: UInt32
    /// Foxglove's encoding name: rgb8, bgr8, mono8, yuyv, uyvy, ...
    public var encoding: String
    /// Bytes from one row to the next.
    public var step: UInt32
    public var data: ArraySlice<UInt8>

    public init(timestamp: FoxgloveTimestamp, frameID: String, width: UInt32, height: UInt32,
                encoding: String, step: UInt32, data: ArraySlice<UInt8>) {
        self.timestamp = timestamp; self.frameID = frameID; self.width = width; self.height = height
        self.encoding = encoding; self.step = step; self.data = data
    }

    public func encoded() -> [UInt8] {
        var w = ProtobufWriter(capacity: data.count + 64)
        w.message(1, always: true) { timestamp.encode(&$0) }
        w.fixed32(2, width)
        w.fixed32(3, height)
        w.string(4, encoding)
        w.fixed32(5, step)
        w.bytes(6, data)
        w.string(7, frameID)
        return w.bytes
    }

    public static func decode(_ bytes: ArraySlice<UInt8>) throws -> RawImageMessage {
        var m = RawImageMessage(timestamp: FoxgloveTimestamp(nanoseconds: 0), frameID: "", width: 0, height: 0,
                                encoding: "", step: 0, data: [])
        var r = ProtobufReader(bytes)
        while let (field, value) = try r.next() {
            switch field {
            case 1: m.timestamp = try FoxgloveTimestamp.decode(value.bytesValue ?? [])
            case 2: m.width = UInt32(truncatingIfNeeded: value.uint64Value ?? 0)
            case 3: m.height = UInt32(truncatingIfNeeded: value.uint64Value ?? 0)
            case 4: m.encoding = value.stringValue ?? ""
            case 5: m.step = UInt32(truncatingIfNeeded: value.uint64Value ?? 0)
            case 6: m.data = value.bytesValue ?? []
            case 7: m.frameID = value.stringValue ?? ""
            default: break
            }
        }
        return m
    }
}

/// `foxglove.RawAudio`: a block of PCM audio ("pcm-s16": interleaved signed 16-bit little-endian).
public struct RawAudioMessage: Sendable {
    public var timestamp: FoxgloveTimestamp
    public var data: ArraySlice<UInt8>
    public var format: String
    public var sampleRate: UInt32
    public var numberOfChannels: UInt32

    public init(timestamp: FoxgloveTimestamp, data: ArraySlice<UInt8>, format: String, sampleRate: UInt32, numberOfChannels: UInt32) {
        self.timestamp = timestamp; self.data = data; self.format = format
        self.sampleRate = sampleRate; self.numberOfChannels = numberOfChannels
    }

    public func encoded() -> [UInt8] {
        var w = ProtobufWriter(capacity: data.count + 48)
        w.message(1, always: true) { timestamp.encode(&$0) }
        w.bytes(2, data)
        w.string(3, format)
        w.fixed32(4, sampleRate)
        w.fixed32(5, numberOfChannels)
        return w.bytes
    }

    public static func decode(_ bytes: ArraySlice<UInt8>) throws -> RawAudioMessage {
        var m = RawAudioMessage(timestamp: FoxgloveTimestamp(nanoseconds: 0), data: [], format: "", sampleRate: 0, numberOfChannels: 0)
        var r = ProtobufReader(bytes)
        while let (field, value) = try r.next() {
            switch field {
            case 1: m.timestamp = try FoxgloveTimestamp.decode(value.bytesValue ?? [])
            case 2: m.data = value.bytesValue ?? []
            case 3: m.format = value.stringValue ?? ""
            case 4: m.sampleRate = UInt32(truncatingIfNeeded: value.uint64Value ?? 0)
            case 5: m.numberOfChannels = UInt32(truncatingIfNeeded: value.uint64Value ?? 0)
            default: break
            }
        }
        return m
    }
}
