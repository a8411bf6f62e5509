import Foundation
import VisorCore

/// Runs FFmpeg's command-line tools to read any video, image or audio file FFmpeg reads.
struct FFmpeg {
    var ffmpegPath = "ffmpeg"
    var ffprobePath = "ffprobe"

    struct VideoInfo { var width: Int; var height: Int; var framesPerSecond: Double }

    /// Size and frame rate of the first video stream.
    func probeVideo(_ path: String) throws -> VideoInfo {
        let output = try run(ffprobePath, ["-v", "error", "-select_streams", "v:0",
                                           "-show_entries", "stream=width,height,r_frame_rate", "-of", "csv=p=0", path],
                             what: path)
        let fields = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",")
        guard fields.count >= 3, let w = Int(fields[0]), let h = Int(fields[1]), w > 0, h > 0 else {
            throw VisorError("\(path) has no video stream that FFmpeg can read")
        }
        let rate = fields[2].split(separator: "/")
        var fps = 30.0
        if rate.count == 2, let n = Double(rate[0]), let d = Double(rate[1]), d > 0, n > 0 { fps = n / d }
        return VideoInfo(width: w, height: h, framesPerSecond: fps)
    }

    /// Decodes a whole file to mono S16 samples at `sampleRate`. `.raw`/`.pcm` files are taken
    /// as headerless 16 kHz mono S16LE, the form speech corpora ship in.
    func readAudio(_ path: String, sampleRate: Int) throws -> [Int16] {
        let ext = (path as NSString).pathExtension.lowercased()
        var args = ["-v", "error", "-nostdin"]
        if ext == "raw" || ext == "pcm" { args += ["-f", "s16le", "-ar", "16000", "-ac", "1"] }
        args += ["-i", path, "-f", "s16le", "-acodec", "pcm_s16le", "-ac", "1", "-ar", String(sampleRate), "-"]
        let bytes = try run(ffmpegPath, args, what: path)
        var samples = [Int16](repeating: 0, count: bytes.count / 2)
        samples.withUnsafeMutableBytes { dst in bytes.withUnsafeBytes { dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<dst.count])) } }
        return samples
    }

    /// Decodes an image to packed RGB.
    func readImage(_ path: String) throws -> (pixels: [UInt8], width: Int, height: Int) {
        let info = try probeVideo(path)
        let bytes = try run(ffmpegPath, ["-v", "error", "-nostdin", "-i", path, "-frames:v", "1",
                                         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], what: path)
        guard bytes.count == info.width * info.height * 3 else {
            throw VisorError("FFmpeg decoded \(bytes.count) bytes from \(path), expected \(info.width)x\(info.height) RGB")
        }
        return ([UInt8](bytes), info.width, info.height)
    }

    /// Starts decoding a video to packed RGB frames of `width` x `height` at `fps`, cropped to fill.
    func startVideo(_ path: String, width: Int, height: Int, fps: Double, start: Double, duration: Double?) throws -> VideoFrames {
        var args = ["-v", "error", "-nostdin"]
        if start > 0 { args += ["-ss", String(start)] }
        args += ["-i", path]
        if let duration { args += ["-t", String(duration)] }
        args += ["-an", "-vf", "fps=\(fps),scale=\(width):\(height):force_original_aspect_ratio=increase:flags=area,crop=\(width):\(height)",
                 "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
        return try VideoFrames(executable: ffmpegPath, arguments: args, frameBytes: width * height * 3, path: path)
    }

    private func run(_ executable: String, _ arguments: [String], what: String) throws -> Data {
        let process = Process()
        process.executableURL = try Self.locate(executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { throw VisorError("cannot run \(executable): \(error.localizedDescription)") }
        // With -v error FFmpeg writes at most a few lines to stderr, far below a pipe's buffer,
        // so reading stdout to its end first cannot deadlock.
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errorText = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw VisorError("FFmpeg cannot read \(what): \(Self.lastLine(errorText))")
        }
        return data
    }

    static func locate(_ executable: String) throws -> URL {
        if executable.contains("/") { return URL(fileURLWithPath: executable) }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(dir)/\(executable)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return URL(fileURLWithPath: candidate) }
        }
        throw VisorError("\(executable) is not installed (run tools/setup, or apt-get install ffmpeg)")
    }

    static func lastLine(_ data: Data) -> String {
        let text = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        return text.isEmpty ? "FFmpeg failed without a message" : text
    }
}

/// Frames streaming out of an FFmpeg process, one at a time.
final class VideoFrames {
    private let process = Process()
    private let output: FileHandle
    private let errorPipe = Pipe()
    private let frameBytes: Int
    private let path: String

    init(executable: String, arguments: [String], frameBytes: Int, path: String) throws {
        process.executableURL = try FFmpeg.locate(executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = errorPipe
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { throw VisorError("cannot run \(executable): \(error.localizedDescription)") }
        output = pipe.fileHandleForReading
        self.frameBytes = frameBytes
        self.path = path
    }

    /// The next frame's pixels, or nil at the end of the video.
    func next() throws -> [UInt8]? {
        var frame = Data()
        while frame.count < frameBytes {
            let piece = output.readData(ofLength: frameBytes - frame.count)
            if piece.isEmpty { break }
            frame.append(piece)
        }
        if frame.count == frameBytes { return [UInt8](frame) }
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            throw VisorError("FFmpeg cannot read \(path): \(FFmpeg.lastLine(errorPipe.fileHandleForReading.readDataToEndOfFile()))")
        }
        return nil
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}
