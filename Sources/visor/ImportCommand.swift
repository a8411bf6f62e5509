import ArgumentParser
import Foundation
import VisorCore
import VisorSession

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Build a session from a video, audio files and still photos (through FFmpeg), or convert a glasses recording (VRS).",
        discussion: """
        A .vrs file (a Project Aria recording) is converted whole: the RGB camera, the other
        cameras, the microphones (mixed, or --microphone N), the IMUs, magnetometer, barometer,
        eye gaze and pose, each on its own topic.

        Examples:
          visor import walk.mp4 -o walk.mcap --size 640x480 --fps 15 --duration 10
          visor import --photo sign.jpg@0:4 --audio hey.wav@1.5 -o sign.mcap
          visor import recording.vrs -o recording.mcap
        """
    )

    @Argument(help: "A video file (any format FFmpeg reads), or a VRS recording (.vrs). Optional when --photo is given.")
    var video: String?

    @Option(name: .shortAndLong, help: "The session file to write (MCAP).")
    var output: String

    @Option(help: "Frame size WxH in pixels (default: the video's, or 640x480).")
    var size: String?

    @Option(help: "Frames per second (default: the video's rate, or 15).")
    var fps: Double?

    @Option(help: "Seconds into the video to start from (default 0).")
    var start: Double = 0

    @Option(help: "Seconds of video to take (default: to its end).")
    var duration: Double?

    @Option(name: .customLong("audio"), help: ArgumentHelp("An audio file placed at a time in seconds; repeatable.", valueName: "FILE@SECONDS"))
    var audio: [String] = []

    @Option(name: .customLong("photo"), help: ArgumentHelp("A still photo shown from SECONDS for LENGTH seconds with a slow head movement; repeatable.", valueName: "IMAGE@SECONDS:LENGTH"))
    var photo: [String] = []

    @Flag(help: "Store frames as raw RGB (foxglove.RawImage) instead of JPEG.")
    var raw = false

    @Option(help: "JPEG quality, 1 to 100 (default 85).")
    var quality: Int = 85

    @Option(parsing: .unconditional, help: "A white-noise floor under the audio in dBFS, for example -46 (default: none).")
    var noiseFloor: Double?

    @Option(help: "Chunk compression: zstd, lz4 or none (default zstd).")
    var compression: String = "zstd"

    @Option(help: "A VRS recording's microphone: mix (all channels, the default) or a channel number.")
    var microphone: String = "mix"

    private var isVRS: Bool { video?.lowercased().hasSuffix(".vrs") ?? false }

    func validate() throws {
        if video == nil && photo.isEmpty { throw ValidationError("give a video, or at least one --photo") }
        if isVRS && !(photo.isEmpty && audio.isEmpty && size == nil && fps == nil && duration == nil && start == 0 && !raw && noiseFloor == nil) {
            throw ValidationError("a VRS recording is converted whole: --photo, --audio, --size, --fps, --start, --duration, --raw and --noise-floor do not apply")
        }
        if !VRSImporter.validMicrophone(microphone) { throw ValidationError("--microphone takes mix or a channel number; got \"\(microphone)\"") }
        if let size, parseSize(size) == nil { throw ValidationError("--size takes WxH with even numbers, for example 640x480; got \"\(size)\"") }
        if let fps, !(fps > 0 && fps <= 240) { throw ValidationError("--fps must be more than 0 and at most 240 frames per second") }
        if !(1...100).contains(quality) { throw ValidationError("--quality must be between 1 and 100") }
        if start < 0 { throw ValidationError("--start must not be negative") }
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive") }
        if compressionValue == nil { throw ValidationError("--compression takes zstd, lz4 or none") }
        do {
            _ = try audio.map(AudioPlacement.init(argument:))
            _ = try photo.map(PhotoPlacement.init(argument:))
        } catch let error as VisorError {
            throw ValidationError(error.message)
        }
    }

    private var compressionValue: MCAPCompression? {
        compression == "none" ? MCAPCompression.none : MCAPCompression(rawValue: compression)
    }

    private func parseSize(_ text: String) -> (Int, Int)? {
        let parts = text.lowercased().split(separator: "x")
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), w > 0, h > 0, w % 2 == 0, h % 2 == 0 else { return nil }
        return (w, h)
    }

    func run() throws {
        try reportingErrors(stoppable: true) {
            if isVRS, let video {
                try OutputFile.checkDistinct(outputs: [(role: "output", path: output)], inputs: [(role: "recording", path: video)])
                let summary: VRSImporter.Summary
                do {
                    summary = try VRSImporter.run(recording: video, outputPath: output, microphone: microphone, jpegQuality: max(quality, 90),
                                                  compression: compressionValue ?? .zstd, shouldStop: { StopSignal.requested })
                } catch is ImportStopped {
                    printError("import stopped by \(StopSignal.signalName ?? "a signal"); \(output) was left as it was")
                    throw ExitCode(StopSignal.exitStatus ?? 1)
                }
                let bytes = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
                let topics = summary.messages.keys.sorted().map { "\($0) \(summary.messages[$0]!)" }.joined(separator: ", ")
                print("wrote \(output): \(summary.model), \(formatSessionTime(summary.durationNanoseconds)), \(bytes / 1024) KiB; \(topics)")
                if !summary.skipped.isEmpty { print("not converted: \(summary.skipped.joined(separator: ", "))") }
                return
            }
            var plan = ImportPlan()
            plan.videoPath = video
            plan.videoStartSeconds = start
            plan.videoDurationSeconds = duration
            if let size, let (w, h) = parseSize(size) { plan.widthPixels = w; plan.heightPixels = h }
            plan.framesPerSecond = fps
            plan.audio = try audio.map(AudioPlacement.init(argument:))
            plan.photos = try photo.map(PhotoPlacement.init(argument:))
            plan.storage = raw ? .raw : .jpeg(quality: quality)
            plan.noiseFloorDBFS = noiseFloor
            plan.compression = compressionValue ?? .zstd
            var inputs = [(role: "video", path: video ?? "")].filter { !$0.path.isEmpty }
            inputs += plan.photos.map { (role: "photo", path: $0.path) } + plan.audio.map { (role: "audio file", path: $0.path) }
            try OutputFile.checkDistinct(outputs: [(role: "output", path: output)], inputs: inputs)
            let summary: ImportSummary
            do {
                summary = try SessionImporter.run(plan, outputPath: output, shouldStop: { StopSignal.requested })
            } catch is ImportStopped {
                printError("import stopped by \(StopSignal.signalName ?? "a signal"); \(output) was left as it was")
                throw ExitCode(StopSignal.exitStatus ?? 1)
            }
            let bytes = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
            print("wrote \(output): \(summary.frames) frames of \(summary.widthPixels)x\(summary.heightPixels) at \(summary.framesPerSecond) fps, \(summary.audioBlocks) audio blocks, \(formatSessionTime(summary.durationNanoseconds)), \(bytes / 1024) KiB")
        }
    }
}
