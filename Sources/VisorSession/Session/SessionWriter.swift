import VisorCore
import VisorMedia

/// Writes a Visor session: camera frames (JPEG `CompressedImage`, or `RawImage` rgb8) and
/// microphone audio (`RawAudio` pcm-s16) on Foxglove's schemas, plus metadata records.
public final class SessionWriter {
    public static let cameraTopic = "/camera/image"
    public static let microphoneTopic = "/microphone/audio"

    public enum ImageStorage: Sendable, Equatable {
        case jpeg(quality: Int)
        case raw
    }

    private let writer: MCAPWriter
    private let storage: ImageStorage
    private let jpeg = JPEGCodec()
    private var cameraChannel: UInt16?
    private var audioChannel: UInt16?
    private var cameraSequence: UInt32 = 0
    private var audioSequence: UInt32 = 0
    public let frameID: String

    public init(path: String, storage: ImageStorage = .jpeg(quality: 85), frameID: String = "camera",
                options: MCAPWriter.Options = MCAPWriter.Options()) throws {
        var options = options
        if options.profile.isEmpty { options.profile = "" }
        if options.library == "visor" { options.library = "visor \(visorVersion)" }
        writer = try MCAPWriter(path: path, options: options)
        self.storage = storage
        self.frameID = frameID
    }

    public static let eventsTopic = "/visor/events"
    private var eventsChannel: UInt16?
    private var eventsSequence: UInt32 = 0

    /// Writes one of the runtime's events (a JSON object) on `/visor/events`, schemaless JSON.
    public func writeEvent(json: String, logTime: UInt64) throws {
        if eventsChannel == nil {
            eventsChannel = try writer.addChannel(topic: Self.eventsTopic, messageEncoding: "json", schemaID: 0)
        }
        try writer.write(channelID: eventsChannel!, logTime: logTime, sequence: eventsSequence, data: Array(json.utf8))
        eventsSequence &+= 1
    }

    /// Writes one camera frame at its capture time.
    public func writeFrame(_ frame: Frame) throws {
        if cameraChannel == nil {
            let schema: FoxgloveSchema = storage == .raw ? .rawImage : .compressedImage
            let schemaID = try writer.addSchema(name: schema.name, encoding: "protobuf", data: schema.fileDescriptorSet)
            cameraChannel = try writer.addChannel(topic: Self.cameraTopic, messageEncoding: "protobuf", schemaID: schemaID)
        }
        let stamp = FoxgloveTimestamp(nanoseconds: frame.captureTimeNanoseconds)
        let payload: [UInt8]
        switch storage {
        case .jpeg(let quality):
            let data = try jpeg.encode(rgb: frame.pixels, widthPixels: frame.widthPixels, heightPixels: frame.heightPixels, quality: quality)
            payload = CompressedImageMessage(timestamp: stamp, frameID: frameID, data: data[...], format: "jpeg").encoded()
        case .raw:
            payload = RawImageMessage(timestamp: stamp, frameID: frameID, width: UInt32(frame.widthPixels),
                                      height: UInt32(frame.heightPixels), encoding: "rgb8",
                                      step: UInt32(frame.widthPixels * 3), data: frame.pixels[...]).encoded()
        }
        try writer.write(channelID: cameraChannel!, logTime: frame.captureTimeNanoseconds, sequence: cameraSequence, data: payload)
        cameraSequence &+= 1
    }

    /// Writes a frame exactly as a camera delivered it: JPEG bytes as a `CompressedImage`, or raw
    /// pixels (`yuyv`, `uyvy`, ...) as a `RawImage`, with no conversion.
    public func writeCameraBuffer(_ bytes: UnsafeRawBufferPointer, jpeg: Bool, encoding: String, widthPixels: Int, heightPixels: Int,
                                  stepBytes: Int, captureTimeNanoseconds: UInt64) throws {
        if cameraChannel == nil {
            let schema: FoxgloveSchema = jpeg ? .compressedImage : .rawImage
            let schemaID = try writer.addSchema(name: schema.name, encoding: "protobuf", data: schema.fileDescriptorSet)
            cameraChannel = try writer.addChannel(topic: Self.cameraTopic, messageEncoding: "protobuf", schemaID: schemaID)
        }
        let stamp = FoxgloveTimestamp(nanoseconds: captureTimeNanoseconds)
        let data = Array(bytes)[...]
        let payload = jpeg
            ? CompressedImageMessage(timestamp: stamp, frameID: frameID, data: data, format: "jpeg").encoded()
            : RawImageMessage(timestamp: stamp, frameID: frameID, width: UInt32(widthPixels), height: UInt32(heightPixels),
                              encoding: encoding, step: UInt32(stepBytes), data: data).encoded()
        try writer.write(channelID: cameraChannel!, logTime: captureTimeNanoseconds, sequence: cameraSequence, data: payload)
        cameraSequence &+= 1
    }

    private var rawAudioSchemaID: UInt16?
    private func rawAudioSchema() throws -> UInt16 {
        if let id = rawAudioSchemaID { return id }
        let schema = FoxgloveSchema.rawAudio
        let id = try writer.addSchema(name: schema.name, encoding: "protobuf", data: schema.fileDescriptorSet)
        rawAudioSchemaID = id
        return id
    }

    public static let speechTopic = "/visor/speech"
    private var speechChannel: UInt16?
    private var speechSequence: UInt32 = 0

    /// Writes what the assistant said (`RawAudio` pcm-s16 on `/visor/speech`) at the time its
    /// first sample plays.
    public func writeSpeech(_ block: AudioBlock) throws {
        if speechChannel == nil {
            speechChannel = try writer.addChannel(topic: Self.speechTopic, messageEncoding: "protobuf", schemaID: try rawAudioSchema())
        }
        try writeRawAudio(block, channel: speechChannel!, sequence: speechSequence)
        speechSequence &+= 1
    }

    /// Writes one block of microphone audio at the capture time of its first sample.
    public func writeAudio(_ block: AudioBlock) throws {
        if audioChannel == nil {
            audioChannel = try writer.addChannel(topic: Self.microphoneTopic, messageEncoding: "protobuf", schemaID: try rawAudioSchema())
        }
        try writeRawAudio(block, channel: audioChannel!, sequence: audioSequence)
        audioSequence &+= 1
    }

    private func writeRawAudio(_ block: AudioBlock, channel: UInt16, sequence: UInt32) throws {
        var pcm = [UInt8](repeating: 0, count: block.samples.count * 2)
        pcm.withUnsafeMutableBytes { dst in
            block.samples.withUnsafeBytes { src in
                // pcm-s16 is little-endian, as is every machine Visor runs on.
                dst.copyMemory(from: src)
            }
        }
        let message = RawAudioMessage(timestamp: FoxgloveTimestamp(nanoseconds: block.captureTimeNanoseconds), data: pcm[...],
                                      format: "pcm-s16", sampleRate: UInt32(block.sampleRateHertz),
                                      numberOfChannels: UInt32(block.channelCount))
        try writer.write(channelID: channel, logTime: block.captureTimeNanoseconds, sequence: sequence, data: message.encoded())
    }

    private var topicChannels: [String: (id: UInt16, sequence: UInt32)] = [:]
    private var schemaIDs: [String: UInt16] = [:]

    /// Writes one protobuf message on `topic` under the schema named `schema`, whose
    /// `FileDescriptorSet` `descriptor` gives (asked for once, when the schema is first used).
    public func write(topic: String, schema: String, descriptor: @autoclosure () -> [UInt8], logTime: UInt64, payload: [UInt8]) throws {
        var channel: (id: UInt16, sequence: UInt32)
        if let known = topicChannels[topic] {
            channel = known
        } else {
            let schemaID: UInt16
            if let id = schemaIDs[schema] {
                schemaID = id
            } else {
                schemaID = try writer.addSchema(name: schema, encoding: "protobuf", data: descriptor())
                schemaIDs[schema] = schemaID
            }
            channel = (try writer.addChannel(topic: topic, messageEncoding: "protobuf", schemaID: schemaID), 0)
        }
        try writer.write(channelID: channel.id, logTime: logTime, sequence: channel.sequence, data: payload)
        channel.sequence &+= 1
        topicChannels[topic] = channel
    }

    public static let inputTopic = "/input"

    /// Writes a touchpad gesture or button press (`visor.Input` on `/input`) at its time.
    public func writeInput(_ kind: InputKind, source: String, timeNanoseconds: UInt64) throws {
        let message = InputMessage(timestamp: FoxgloveTimestamp(nanoseconds: timeNanoseconds), kind: kind.rawValue, source: source)
        try write(topic: Self.inputTopic, schema: VisorSchema.input.name, descriptor: VisorSchema.input.fileDescriptorSet,
                  logTime: timeNanoseconds, payload: message.encoded())
    }

    public func addMetadata(name: String, _ metadata: [String: String]) throws {
        try writer.addMetadata(name: name, metadata: metadata)
    }

    public func addAttachment(_ attachment: MCAPAttachment) throws {
        try writer.addAttachment(attachment)
    }

    /// Writes the summary and closes the file.
    public func finish() throws { try writer.finish() }
}

/// Visor's version, written into every session it records.
public let visorVersion = "0.1.0"
