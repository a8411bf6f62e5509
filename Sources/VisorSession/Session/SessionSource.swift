import VisorCore
import VisorMedia

/// One sample of a session, decoded: a camera frame or a block of audio.
public enum SessionSample {
    case frame(Frame)
    case audio(AudioBlock)
}

/// A recorded session as a source of samples: picks the camera and microphone channels by their
/// schema (whatever their topics), or by the topics asked for, and decodes their messages. Log
/// times are capture times.
public final class SessionSource {
    public let reader: MCAPReader
    public let cameraChannel: MCAPChannel
    public let audioChannel: MCAPChannel?
    /// The head's IMU (`visor.Imu`): the busiest such channel, or the topic asked for.
    public let imuChannel: MCAPChannel?
    /// Touchpad and button events (`visor.Input`).
    public let inputChannel: MCAPChannel?
    /// Eye gaze (`visor.Gaze`), used when its point is in the camera's image.
    public let gazeChannel: MCAPChannel?
    /// The camera's frame id (from `visor.camera`), which a gaze point names.
    public let cameraFrameID: String?
    /// Log time of the session's first message: transcripts count time from here.
    public let startTimeNanoseconds: UInt64

    private let decoder = FrameDecoder()
    /// How the camera's frames are turned to be shown upright: 0, 90, 180 or 270 degrees
    /// clockwise, from the session's `visor.camera` metadata (Aria Gen 1's RGB sensor is
    /// mounted turned by 90). Frames are decoded turned.
    public let cameraRotationClockwiseDegrees: Int

    /// The camera channel's schema name.
    public var cameraSchema: String { reader.schemas[cameraChannel.schemaID]?.name ?? "" }

    public static let imageSchemas: Set<String> = [FoxgloveSchema.compressedImage.name, FoxgloveSchema.rawImage.name]
    public static let audioSchemas: Set<String> = [FoxgloveSchema.rawAudio.name]

    /// - Throws: `VisorError` when the session has no camera channel, or a topic asked for is missing.
    public init(reader: MCAPReader, cameraTopic: String? = nil, audioTopic: String? = nil, imuTopic: String? = nil) throws {
        self.reader = reader
        let channels = reader.channels.values.sorted { $0.id < $1.id }
        func schemaName(_ c: MCAPChannel) -> String { reader.schemas[c.schemaID]?.name ?? "" }
        let named = (try? reader.metadata())?.first { $0.name == "visor.camera" }?.metadata["topic"]
        let preferred = ["camera": [named, SessionWriter.cameraTopic].compactMap { $0 }, "microphone": [SessionWriter.microphoneTopic]]
        func pick(_ topic: String?, _ schemas: Set<String>, _ what: String) throws -> MCAPChannel? {
            if let topic {
                guard let channel = channels.first(where: { $0.topic == topic }) else {
                    throw VisorError("\(reader.path) has no topic \(topic) (topics: \(channels.map(\.topic).joined(separator: ", ")))")
                }
                guard schemas.contains(schemaName(channel)) else {
                    throw VisorError("topic \(topic) carries \(schemaName(channel).isEmpty ? "no schema" : schemaName(channel)), not a \(what) schema (\(schemas.sorted().joined(separator: " or ")))")
                }
                return channel
            }
            let candidates = channels.filter { schemas.contains(schemaName($0)) }
            // The topic the session names for the sensor, then Visor's own topic; else, of
            // several, the busiest one is the sensor (ties go to the lowest id).
            for topic in preferred[what] ?? [] {
                if let named = candidates.first(where: { $0.topic == topic }) { return named }
            }
            return candidates.max { a, b in
                let ca = reader.statistics.channelMessageCounts[a.id] ?? 0, cb = reader.statistics.channelMessageCounts[b.id] ?? 0
                return ca != cb ? ca < cb : a.id > b.id
            }
        }
        guard let camera = try pick(cameraTopic, Self.imageSchemas, "camera") else {
            let found = channels.map { "\($0.topic) (\(schemaName($0).isEmpty ? "no schema" : schemaName($0)))" }
            throw VisorError("\(reader.path) has no camera channel (foxglove.CompressedImage or foxglove.RawImage); it has \(found.isEmpty ? "no channels" : found.joined(separator: ", "))")
        }
        for channel in [camera] where channel.messageEncoding != "protobuf" {
            throw VisorError("camera topic \(channel.topic) is encoded as \(channel.messageEncoding); Visor reads protobuf")
        }
        cameraChannel = camera
        let audio = try pick(audioTopic, Self.audioSchemas, "microphone")
        audioChannel = audio?.messageEncoding == "protobuf" ? audio : nil
        let imu = try pick(imuTopic, [VisorSchema.imu.name], "IMU")
        imuChannel = imu?.messageEncoding == "protobuf" ? imu : nil
        let input = try pick(nil, [VisorSchema.input.name], "input")
        inputChannel = input?.messageEncoding == "protobuf" ? input : nil
        let gaze = try pick(nil, [VisorSchema.gaze.name], "gaze")
        gazeChannel = gaze?.messageEncoding == "protobuf" ? gaze : nil
        startTimeNanoseconds = reader.statistics.messageStartTime
        let described = (try? reader.metadata())?.first { $0.name == "visor.camera" && ($0.metadata["topic"] ?? camera.topic) == camera.topic }
        let rotation = described.flatMap { Int($0.metadata["rotation_clockwise_deg"] ?? "") } ?? 0
        cameraFrameID = described?.metadata["frame_id"]
        cameraRotationClockwiseDegrees = [0, 90, 180, 270].contains(rotation) ? rotation : 0
        decoder.rotationClockwiseDegrees = cameraRotationClockwiseDegrees
    }

    public convenience init(path: String, cameraTopic: String? = nil, audioTopic: String? = nil, imuTopic: String? = nil) throws {
        try self.init(reader: MCAPReader(path: path), cameraTopic: cameraTopic, audioTopic: audioTopic, imuTopic: imuTopic)
    }

    /// Number of camera messages the session holds (from its statistics or scan).
    public var cameraMessageCount: UInt64 { reader.statistics.channelMessageCounts[cameraChannel.id] ?? 0 }

    /// Samples in capture-time order. Each call to `next()` decodes one message; decode errors
    /// (an unknown image encoding, a corrupt image) are thrown from `next()`.
    public func samples() -> Samples {
        Samples(source: self, messages: messages())
    }

    /// The camera, microphone, IMU and input messages, undecoded, in capture-time order.
    public func messages() -> MCAPMessageIterator {
        var ids: Set<UInt16> = [cameraChannel.id]
        for channel in [audioChannel, imuChannel, inputChannel, gazeChannel].compactMap({ $0 }) { ids.insert(channel.id) }
        return reader.messages(channelIDs: ids)
    }

    /// An IMU message's sample, at its log time.
    public func decodeImu(_ message: MCAPMessage) throws -> ImuMessage { try ImuMessage.decode(message.data[...]) }

    /// An input message.
    /// - Throws: `VisorError` for a kind Visor does not know.
    public func decodeInput(_ message: MCAPMessage) throws -> InputKind {
        let input = try InputMessage.decode(message.data[...])
        guard let kind = InputKind(rawValue: input.kind) else {
            throw VisorError("unknown input \"\(input.kind)\" on \(inputChannel?.topic ?? "")")
        }
        return kind
    }

    /// Decodes one camera or microphone message: images to the working pixel format.
    /// - Throws: `VisorError` for an unknown image encoding or a corrupt image.
    public func decode(_ message: MCAPMessage) throws -> SessionSample {
        if message.channelID == cameraChannel.id {
            let schema = reader.schemas[cameraChannel.schemaID]?.name ?? ""
            return .frame(try decoder.decode(message, schema: schema, topic: cameraChannel.topic))
        }
        return .audio(try FrameDecoder.decodeAudio(message, topic: audioChannel?.topic ?? ""))
    }

    public struct Samples {
        let source: SessionSource
        var messages: MCAPMessageIterator

        public mutating func next() throws -> SessionSample? {
            while let message = messages.next() {
                // The camera and the microphone; the IMU and inputs are the runner's.
                guard message.channelID == source.cameraChannel.id || message.channelID == source.audioChannel?.id else { continue }
                return try source.decode(message)
            }
            return nil
        }
    }
}

/// Decodes camera messages to frames in the working pixel format. Holds its JPEG handles across
/// frames, and decodes into the caller's frame buffer, which is reused while the size holds.
public final class FrameDecoder {
    private let jpeg = JPEGCodec()
    /// Frames are turned this many degrees clockwise after decoding (0, 90, 180 or 270).
    public var rotationClockwiseDegrees = 0
    private var unturned: [UInt8] = []

    public init() {}

    func decode(_ message: MCAPMessage, schema: String, topic: String) throws -> Frame {
        var frame = Frame(widthPixels: 0, heightPixels: 0, pixels: [], captureTimeNanoseconds: 0)
        try decode(message, schema: schema, topic: topic, into: &frame)
        return frame
    }

    /// Decodes `message` (a `CompressedImage` or `RawImage`, as `schema` says) into `frame`.
    /// - Throws: `VisorError` for an unknown encoding or a corrupt image.
    public func decode(_ message: MCAPMessage, schema: String, topic: String, into frame: inout Frame) throws {
        let width: Int, height: Int
        if schema == FoxgloveSchema.compressedImage.name {
            let image = try CompressedImageMessage.decode(message.data)
            switch image.format.lowercased() {
            case "jpeg", "jpg":
                (width, height) = try image.data.withUnsafeBytes { try jpeg.decode($0, into: &frame.pixels) }
            case "png":
                (width, height) = try image.data.withUnsafeBytes { try PNGCodec.decode($0, into: &frame.pixels) }
            default:
                throw VisorError("unknown image encoding \"\(image.format)\" on \(topic) (Visor reads jpeg and png compressed images)")
            }
        } else {
            let image = try RawImageMessage.decode(message.data)
            guard let encoding = RawPixelEncoding(foxgloveName: image.encoding) else {
                throw VisorError("unknown image encoding \"\(image.encoding)\" on \(topic) (Visor reads raw \(RawPixelEncoding.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            width = Int(image.width); height = Int(image.height)
            guard width > 0, height > 0, width <= 16384, height <= 16384 else {
                throw VisorError("raw image on \(topic) has an impossible size \(width)x\(height)")
            }
            try image.data.withUnsafeBytes {
                try PixelConverter.convertToRGB($0, encoding: encoding, widthPixels: width, heightPixels: height,
                                                stepBytes: Int(image.step), into: &frame.pixels)
            }
        }
        frame.widthPixels = width
        frame.heightPixels = height
        frame.captureTimeNanoseconds = message.logTime
        if rotationClockwiseDegrees != 0 {
            swap(&unturned, &frame.pixels)
            (frame.widthPixels, frame.heightPixels) = PixelConverter.rotateRGB(unturned, widthPixels: width, heightPixels: height,
                                                                              clockwiseDegrees: rotationClockwiseDegrees, into: &frame.pixels)
        }
    }

    static func decodeAudio(_ message: MCAPMessage, topic: String) throws -> AudioBlock {
        let audio = try RawAudioMessage.decode(message.data)
        guard audio.format == "pcm-s16" else {
            throw VisorError("unknown audio format \"\(audio.format)\" on \(topic) (Visor reads pcm-s16)")
        }
        guard audio.sampleRate > 0, audio.numberOfChannels > 0 else {
            throw VisorError("audio on \(topic) has sample rate \(audio.sampleRate) and \(audio.numberOfChannels) channels")
        }
        var samples = [Int16](repeating: 0, count: audio.data.count / 2)
        samples.withUnsafeMutableBytes { dst in
            audio.data.withUnsafeBytes { src in dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[0..<dst.count])) }
        }
        return AudioBlock(sampleRateHertz: Int(audio.sampleRate), channelCount: Int(audio.numberOfChannels),
                          samples: samples, captureTimeNanoseconds: message.logTime)
    }
}

/// A session's IMU track, read whole: the busiest `visor.Imu` channel's samples as (time since
/// its first sample, gyroscope rad/s, accelerometer m/s^2).
public enum ImuTrack {
    /// - Throws: `VisorError` when the session cannot be read or has no IMU channel.
    public static func read(_ path: String) throws -> [(timeNanoseconds: UInt64, gyro: Vector3, accel: Vector3)] {
        let reader = try MCAPReader(path: path)
        let channels = reader.channels.values.filter { reader.schemas[$0.schemaID]?.name == VisorSchema.imu.name && $0.messageEncoding == "protobuf" }
        guard let channel = channels.max(by: { (reader.statistics.channelMessageCounts[$0.id] ?? 0, $1.id) < (reader.statistics.channelMessageCounts[$1.id] ?? 0, $0.id) }) else {
            throw VisorError("\(path) has no IMU channel (visor.Imu)")
        }
        var samples: [(timeNanoseconds: UInt64, gyro: Vector3, accel: Vector3)] = []
        var first: UInt64?
        for message in reader.messages(channelIDs: [channel.id]) {
            let imu = try ImuMessage.decode(message.data[...])
            let start = first ?? message.logTime
            first = start
            samples.append((message.logTime - start, imu.angularVelocity, imu.linearAcceleration))
        }
        return samples
    }
}
