import Foundation
import Logging
import VisorCore
import VisorMedia

/// Converts a VRS recording (Project Aria glasses) to a Visor session in MCAP. The recording is
/// read by `vrs_export.py` through the `vrs` package (pyvrs), with projectaria-tools for what
/// pyvrs does not decode (Gen 2's H.265 frames and OPUS audio, eye gaze in the central pupil
/// frame); this side writes what it streams on Foxglove's schemas and Visor's own.
///
/// The RGB camera becomes the session's camera (`/camera/image`): JPEG as recorded (Gen 1), or
/// H.265 frames decoded and stored as JPEG (Gen 2). Metadata `visor.camera` says how it is shown
/// (Gen 1's sensor is mounted turned: its frames are shown rotated 90 degrees clockwise). The
/// other cameras go on `/aria/slam/N` and `/aria/eye/N`; the microphones, mixed or one chosen,
/// on `/microphone/audio` at 16 kHz; IMUs on `/aria/imu/N` (`visor.Imu`), the magnetometer, the
/// barometer, eye gaze (`visor.Gaze`) and the on-device pose (`foxglove.PoseInFrame`) on their
/// own topics. Times are the device's capture times, one clock for every stream.
public enum VRSImporter {
    private static let logger = Logger(label: "visor.import")

    public struct Summary: Sendable {
        /// "Project Aria (Gen 1)" or "Project Aria Gen 2".
        public var model: String
        /// Messages written on each topic.
        public var messages: [String: Int]
        /// Data records in each converted stream, as the recording's index counts them.
        public var streamRecords: [String: Int]
        /// Streams left out (stream id and name).
        public var skipped: [String]
        public var durationNanoseconds: UInt64
    }

    /// The channels a microphone choice may name: `mix`, or a channel number.
    public static func validMicrophone(_ text: String) -> Bool { text == "mix" || (Int(text).map { $0 >= 0 && $0 < 64 } ?? false) }

    /// Writes the session to `outputPath`, built in a scratch file beside it and renamed over it
    /// when whole: a failure or a stop leaves what the path held.
    /// - Throws: `VisorError` (the reader's one-line error, a missing package), `ImportStopped`.
    public static func run(recording: String, outputPath: String, microphone: String = "mix", jpegQuality: Int = 90,
                           compression: MCAPCompression = .zstd, shouldStop: () -> Bool = { false }) throws -> Summary {
        guard validMicrophone(microphone) else { throw VisorError("--microphone takes mix or a channel number; got \(microphone)") }
        // The file must be there and readable: the reader's own error for a missing file is less plain.
        guard let handle = FileHandle(forReadingAtPath: recording) else {
            throw VisorError(FileManager.default.fileExists(atPath: recording) ? "cannot read recording \(recording)" : "no such file: \(recording)")
        }
        try? handle.close()
        guard let script = Bundle.module.path(forResource: "vrs_export", ofType: "py") else {
            throw VisorError("Visor's VRS reader (vrs_export.py) is missing from its installation")
        }
        try OutputFile.check(outputPath, role: "session")
        let stream = try ExportProcess(script: script, arguments: [recording, microphone])
        let target = try ScratchTarget(outputPath)
        var options = MCAPWriter.Options()
        options.compression = compression
        do {
            let writer = try SessionWriter(path: target.scratchPath ?? outputPath, options: options)
            let summary = try convert(stream, into: writer, recording: recording, jpegQuality: jpegQuality, shouldStop: shouldStop)
            try writer.finish()
            try target.commit()
            logger.info("imported \(summary.messages.values.reduce(0, +)) messages from \(recording) into \(outputPath)")
            return summary
        } catch {
            stream.stop()
            target.discard()
            throw error
        }
    }

    private static func convert(_ stream: ExportProcess, into writer: SessionWriter, recording: String, jpegQuality: Int,
                                shouldStop: () -> Bool) throws -> Summary {
        let jpeg = JPEGCodec()
        var summary = Summary(model: "", messages: [:], streamRecords: [:], skipped: [], durationNanoseconds: 0)
        var first: UInt64?, last: UInt64 = 0
        var rgb: [UInt8] = []
        var ended = false
        var streamTopics: [String: String] = [:]
        while let (header, payload) = try stream.next() {
            if shouldStop() { throw ImportStopped() }
            let type = header["type"] as? String ?? ""
            if type == "device" {
                summary.model = try describeDevice(header, recording: recording, writer: writer, topics: &streamTopics, summary: &summary)
                continue
            }
            if type == "end" {
                let counts = header["counts"] as? [String: Any] ?? [:]
                for (stream, count) in counts { summary.streamRecords[stream] = (count as? NSNumber)?.intValue ?? 0 }
                ended = true
                continue
            }
            guard let topic = header["topic"] as? String, let time = (header["t"] as? NSNumber)?.uint64Value else {
                throw VisorError("the VRS reader sent a record without a topic or time: \(type)")
            }
            first = min(first ?? time, time)
            last = max(last, time)
            let stamp = FoxgloveTimestamp(nanoseconds: time)
            let frame = header["frame"] as? String ?? ""
            func vector(_ key: String) -> Vector3 {
                let v = (header[key] as? [NSNumber])?.map(\.doubleValue) ?? []
                return v.count == 3 ? Vector3(v[0], v[1], v[2]) : .zero
            }
            func number(_ key: String) -> Double { (header[key] as? NSNumber)?.doubleValue ?? 0 }
            switch type {
            case "image":
                var data = payload
                if header["format"] as? String == "raw" {
                    let width = Int(number("width")), height = Int(number("height"))
                    let encoding = header["encoding"] as? String ?? ""
                    guard width > 0, height > 0, payload.count == width * height * (encoding == "mono8" ? 1 : 3) else {
                        throw VisorError("the VRS reader sent a \(width)x\(height) \(encoding) image of \(payload.count) bytes on \(topic)")
                    }
                    if encoding == "mono8" {
                        rgb.removeAll(keepingCapacity: true)
                        rgb.reserveCapacity(payload.count * 3)
                        for v in payload { rgb.append(v); rgb.append(v); rgb.append(v) }
                        data = try jpeg.encode(rgb: rgb, widthPixels: width, heightPixels: height, quality: jpegQuality)
                    } else {
                        data = try jpeg.encode(rgb: payload, widthPixels: width, heightPixels: height, quality: jpegQuality)
                    }
                }
                try writer.write(topic: topic, schema: FoxgloveSchema.compressedImage.name, descriptor: FoxgloveSchema.compressedImage.fileDescriptorSet,
                                 logTime: time, payload: CompressedImageMessage(timestamp: stamp, frameID: frame, data: data[...], format: "jpeg").encoded())
            case "audio":
                let message = RawAudioMessage(timestamp: stamp, data: payload[...], format: "pcm-s16",
                                              sampleRate: UInt32(number("rate")), numberOfChannels: UInt32(max(1, number("channels"))))
                try writer.write(topic: topic, schema: FoxgloveSchema.rawAudio.name, descriptor: FoxgloveSchema.rawAudio.fileDescriptorSet,
                                 logTime: time, payload: message.encoded())
            case "imu":
                let message = ImuMessage(timestamp: stamp, frameID: frame, sensor: header["sensor"] as? String ?? "",
                                         angularVelocity: vector("gyro"), linearAcceleration: vector("accel"))
                try writer.write(topic: topic, schema: VisorSchema.imu.name, descriptor: VisorSchema.imu.fileDescriptorSet, logTime: time, payload: message.encoded())
            case "magnetometer":
                let message = MagneticFieldMessage(timestamp: stamp, frameID: frame, magneticField: vector("field"))
                try writer.write(topic: topic, schema: VisorSchema.magneticField.name, descriptor: VisorSchema.magneticField.fileDescriptorSet,
                                 logTime: time, payload: message.encoded())
            case "barometer":
                let message = PressureMessage(timestamp: stamp, frameID: frame, pressure: number("pressure"), temperature: number("temperature"))
                try writer.write(topic: topic, schema: VisorSchema.pressure.name, descriptor: VisorSchema.pressure.fileDescriptorSet,
                                 logTime: time, payload: message.encoded())
            case "gaze":
                let message = GazeMessage(timestamp: stamp, frameID: frame, yaw: number("yaw"), pitch: number("pitch"), depth: number("depth"),
                                          imageFrameID: header["image_frame"] as? String ?? "", imageX: number("image_x"), imageY: number("image_y"),
                                          confidence: number("confidence"))
                try writer.write(topic: topic, schema: VisorSchema.gaze.name, descriptor: VisorSchema.gaze.fileDescriptorSet, logTime: time, payload: message.encoded())
            case "pose":
                let q = (header["orientation"] as? [NSNumber])?.map(\.doubleValue) ?? []
                guard q.count == 4 else { throw VisorError("the VRS reader sent a pose without a quaternion on \(topic)") }
                let message = PoseInFrameMessage(timestamp: stamp, frameID: frame, position: vector("position"), orientation: (q[0], q[1], q[2], q[3]))
                try writer.write(topic: topic, schema: VisorSchema.poseInFrame.name, descriptor: VisorSchema.poseInFrame.fileDescriptorSet,
                                 logTime: time, payload: message.encoded())
            default:
                throw VisorError("the VRS reader sent a record of unknown type \(type)")
            }
            summary.messages[topic, default: 0] += 1
        }
        try stream.finish()
        guard ended else { throw VisorError("the VRS reader stopped before the end of \(recording)") }
        if let first { summary.durationNanoseconds = last - first }
        try writer.addMetadata(name: "visor.import", [
            "source": (recording as NSString).lastPathComponent,
            "reader": "vrs_export.py (vrs, projectaria-tools)",
            "streams": summary.streamRecords.keys.sorted().map { "\($0): \(summary.streamRecords[$0]!) on \(streamTopics[$0] ?? "?")" }.joined(separator: "; "),
            "skipped": summary.skipped.joined(separator: "; "),
        ])
        return summary
    }

    /// Writes the device's metadata (`visor.device`, `visor.camera`, the file's tags under
    /// `vrs.tags`) and its factory calibration as an attachment; returns the model.
    private static func describeDevice(_ header: [String: Any], recording: String, writer: SessionWriter,
                                       topics: inout [String: String], summary: inout Summary) throws -> String {
        let tags = header["tags"] as? [String: Any] ?? [:]
        let device = header["device"] as? [String: Any] ?? [:]
        func text(_ value: Any?) -> String {
            switch value {
            case let s as String: return s
            case let n as NSNumber: return n.stringValue
            default: return ""
            }
        }
        let model = text(device["model"])
        var deviceMetadata: [String: String] = ["model": model]
        for key in ["build", "cameras", "imus", "microphones", "calibration_source"] where !text(device[key]).isEmpty {
            deviceMetadata[key] = text(device[key])
        }
        for key in ["device_serial", "firmware_version", "hardware_version", "recording_profile", "capture_time_epoch", "device_type"]
        where !text(tags[key]).isEmpty {
            deviceMetadata[key] = text(tags[key])
        }
        let streams = header["streams"] as? [[String: Any]] ?? []
        var rates: [String] = []
        for stream in streams {
            let id = text(stream["id"]), name = text(stream["name"])
            if (stream["converted"] as? Bool) == true {
                topics[id] = text(stream["topic"])
                let rate = (stream["nominal_rate"] as? NSNumber)?.doubleValue ?? 0
                if rate > 0 { rates.append("\(id) \(name.isEmpty ? "" : name + " ")\(text(stream["sensor_model"])) \(rate) Hz") }
            } else {
                summary.skipped.append("\(id) \(name)")
            }
        }
        deviceMetadata["nominal_rates"] = rates.joined(separator: "; ")
        try writer.addMetadata(name: "visor.device", deviceMetadata)
        if let rgb = streams.first(where: { text($0["topic"]) == SessionWriter.cameraTopic }) {
            try writer.addMetadata(name: "visor.camera", [
                "topic": SessionWriter.cameraTopic, "frame_id": text(rgb["id"]),
                "rotation_clockwise_deg": text(device["rgb_rotation_clockwise_deg"]).isEmpty ? "0" : text(device["rgb_rotation_clockwise_deg"]),
            ])
        }
        // The file's short tags as metadata; every tag, whole, as an attachment (the lens-shading
        // tables and JSON blobs would bury the rest), and the factory calibration as its own.
        var small: [String: String] = [:]
        for (key, value) in tags where text(value).utf8.count <= 200 { small[key] = text(value) }
        try writer.addMetadata(name: "vrs.tags", small)
        if let calibration = tags["calib_json"] as? String, !calibration.isEmpty {
            try writer.addAttachment(MCAPAttachment(logTime: 0, createTime: 0, name: "calibration.json", mediaType: "application/json",
                                                    data: Array(calibration.utf8)))
        }
        let everything = tags.mapValues { text($0) }
        if let json = try? JSONSerialization.data(withJSONObject: everything, options: [.sortedKeys]) {
            try writer.addAttachment(MCAPAttachment(logTime: 0, createTime: 0, name: "vrs-tags.json", mediaType: "application/json", data: Array(json)))
        }
        return model
    }
}

/// `vrs_export.py` running: its records, one line of JSON and a payload each, read as they come.
private final class ExportProcess {
    private let process = Process()
    private let output: FileHandle
    private let errorPath: String
    private var buffer: [UInt8] = []
    private var position = 0
    private var atEnd = false

    init(script: String, arguments: [String]) throws {
        do { process.executableURL = try FFmpeg.locate("python3") } catch { throw VisorError("python3 is needed to read VRS recordings; it is not on PATH") }
        errorPath = NSTemporaryDirectory() + "visor-vrs-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        guard FileManager.default.createFile(atPath: errorPath, contents: nil), let errors = FileHandle(forWritingAtPath: errorPath) else {
            throw VisorError("cannot create a scratch file in \(NSTemporaryDirectory())")
        }
        process.arguments = [script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        // A file, not a pipe: the library's log lines could fill a pipe nobody reads yet.
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            try? errors.close()
            unlink(errorPath)
            throw VisorError("cannot run python3: \(error.localizedDescription)")
        }
        try? errors.close()
        output = pipe.fileHandleForReading
    }

    deinit {
        stop()
        unlink(errorPath)
    }

    func stop() {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
    }

    /// The next record, or nil at the end of the stream.
    func next() throws -> ([String: Any], [UInt8])? {
        guard let line = try readLine() else { return nil }
        guard let header = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] else {
            throw VisorError("the VRS reader sent a line that is not JSON")
        }
        let size = (header["size"] as? NSNumber)?.intValue ?? 0
        guard size >= 0, size <= 1 << 28 else { throw VisorError("the VRS reader sent a record of \(size) bytes") }
        let payload = try read(size)
        return (header, payload)
    }

    /// Waits for the reader to exit; a failure is its last line of error.
    func finish() throws {
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw VisorError(lastError()) }
    }

    private func lastError() -> String {
        let text = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
        // The library colours its log lines: take the escapes out before reading them.
        let lines = text.split(separator: "\n").map { Self.withoutEscapes(String($0)) }
        if let own = lines.last(where: { $0.hasPrefix("vrs: ") }) { return String(own.dropFirst(5)) }
        if let last = lines.last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            return "the VRS reader failed: \(last)"
        }
        return "the VRS reader failed (exit status \(process.terminationStatus)) without a message"
    }

    /// The line without its ANSI escape sequences (ESC [ ... letter).
    static func withoutEscapes(_ line: String) -> String {
        var out = "", escaping = false, sawBracket = false
        for scalar in line.unicodeScalars {
            if escaping {
                if !sawBracket { sawBracket = scalar == "[" ; if !sawBracket { escaping = false } ; continue }
                if (0x40...0x7E).contains(scalar.value) { escaping = false }
                continue
            }
            if scalar == "\u{1B}" { escaping = true; sawBracket = false; continue }
            out.unicodeScalars.append(scalar)
        }
        return out
    }

    private func fill() -> Bool {
        if atEnd { return false }
        if position > 0 && (position == buffer.count || position > 1 << 20) { buffer.removeFirst(position); position = 0 }
        let chunk = output.availableData
        if chunk.isEmpty { atEnd = true; return false }
        buffer.append(contentsOf: chunk)
        return true
    }

    private func readLine() throws -> ArraySlice<UInt8>? {
        var scanned = 0  // bytes after `position` known to hold no newline (`fill` may move `position`)
        while true {
            if let newline = buffer[(position + scanned)...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[position..<newline]
                position = newline + 1
                return line
            }
            scanned = buffer.count - position
            if !fill() {
                if position < buffer.count { throw VisorError(endedEarly()) }
                try finish()
                return nil
            }
        }
    }

    private func read(_ count: Int) throws -> [UInt8] {
        while buffer.count - position < count {
            if !fill() { throw VisorError(endedEarly()) }
        }
        let bytes = Array(buffer[position..<position + count])
        position += count
        return bytes
    }

    private func endedEarly() -> String {
        process.waitUntilExit()
        return process.terminationStatus == 0 ? "the VRS reader's output ended inside a record" : lastError()
    }
}
