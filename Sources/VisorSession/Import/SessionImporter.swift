import Foundation
import Logging
import VisorCore
import VisorMedia

/// Builds a session from what a user has: a video, audio files placed at given times, and still
/// photos shown with a scripted slow head movement.
public enum SessionImporter {
    private static let logger = Logger(label: "visor.import")

    /// Writes the session to `outputPath`. Nothing is written if an input cannot be read, and
    /// what `outputPath` held stays until the new session is whole: it is built in a scratch file
    /// beside the file the path names (a symbolic link's target; a device or FIFO is written
    /// directly), then renamed over it.
    /// - Parameter shouldStop: polled between frames; when it says stop, the scratch file is
    ///   removed and `ImportStopped` thrown.
    public static func run(_ plan: ImportPlan, outputPath: String, shouldStop: () -> Bool = { false }) throws -> ImportSummary {
        let ffmpeg = FFmpeg()
        guard plan.videoPath != nil || !plan.photos.isEmpty else {
            throw VisorError("nothing to import: give a video, or at least one --photo")
        }
        for path in [plan.videoPath].compactMap({ $0 }) + plan.photos.map(\.path) + plan.audio.map(\.path)
        where !FileManager.default.fileExists(atPath: path) {
            throw VisorError("no such file: \(path)")
        }
        let video = try plan.videoPath.map { try ffmpeg.probeVideo($0) }
        let width = plan.widthPixels ?? video?.width ?? 640
        let height = plan.heightPixels ?? video?.height ?? 480
        let fps = plan.framesPerSecond ?? video?.framesPerSecond ?? 15
        guard width > 0, height > 0, width % 2 == 0, height % 2 == 0, width <= 4096, height <= 4096 else {
            throw VisorError("frame size \(width)x\(height) must be even and at most 4096x4096")
        }
        guard fps > 0, fps <= 240 else { throw VisorError("frame rate \(fps) must be between 0 and 240") }

        // Everything that can fail on input is read before the output file is created.
        let photos = try plan.photos.map { placement -> (PhotoPlacement, [UInt8], Int, Int) in
            let image = try ffmpeg.readImage(placement.path)
            return (placement, image.pixels, image.width, image.height)
        }
        let clips = try plan.audio.map { ($0, try ffmpeg.readAudio($0.path, sampleRate: plan.audioSampleRateHertz)) }
        var videoFrames = try plan.videoPath.map {
            try ffmpeg.startVideo($0, width: width, height: height, fps: fps, start: plan.videoStartSeconds, duration: plan.videoDurationSeconds)
        }
        var pendingVideoFrame = try videoFrames?.next()
        if plan.videoPath != nil && pendingVideoFrame == nil {
            throw VisorError("\(plan.videoPath!) has no frames in the range asked for")
        }

        try OutputFile.check(outputPath, role: "session")
        let target = try ScratchTarget(outputPath)
        let temporaryPath = target.scratchPath ?? outputPath
        let writer = try SessionWriter(path: temporaryPath, storage: plan.storage,
                                       options: { var o = MCAPWriter.Options(); o.compression = plan.compression; return o }())
        do {
            var metadata: [String: String] = [
                "size": "\(width)x\(height)", "fps": String(fps), "image_storage": plan.storage == .raw ? "raw rgb8" : "jpeg",
            ]
            if let videoPath = plan.videoPath { metadata["video"] = (videoPath as NSString).lastPathComponent }
            if !plan.photos.isEmpty {
                metadata["photos"] = plan.photos.map { "\(($0.path as NSString).lastPathComponent)@\($0.startSeconds):\($0.lengthSeconds)" }.joined(separator: " ")
            }
            if !plan.audio.isEmpty {
                metadata["audio_sample_rate"] = String(plan.audioSampleRateHertz)
                metadata["audio"] = plan.audio.map { "\(($0.path as NSString).lastPathComponent)@\($0.startSeconds)" }.joined(separator: " ")
            }
            try writer.addMetadata(name: "visor.import", metadata)

            let frameInterval = 1_000_000_000 / fps
            var photoScratch: [UInt8] = []
            var frameIndex = 0
            var frames = 0
            var lastFrameTime: UInt64 = 0
            let photoEnd = plan.photos.map { $0.startSeconds + $0.lengthSeconds }.max() ?? 0
            let audioEnd = clips.map { $0.0.startSeconds + Double($0.1.count) / Double(plan.audioSampleRateHertz) }.max() ?? 0

            var audio = AudioTimeline(clips: clips, sampleRate: plan.audioSampleRateHertz,
                                      blockMilliseconds: plan.audioBlockMilliseconds, noiseFloorDBFS: plan.noiseFloorDBFS)
            var audioBlocks = 0
            func writeAudio(upTo time: UInt64) throws {
                while let block = audio.nextBlock(before: time) { try writer.writeAudio(block); audioBlocks += 1 }
            }

            while true {
                if shouldStop() { throw ImportStopped() }
                let time = UInt64((Double(frameIndex) * frameInterval).rounded())
                let seconds = Double(time) / 1e9
                let videoFrame = pendingVideoFrame
                if videoFrame != nil { pendingVideoFrame = try videoFrames?.next() }
                if videoFrame == nil && seconds >= photoEnd { break }
                if let (placement, pixels, pw, ph) = photos.last(where: { seconds >= $0.0.startSeconds && seconds < $0.0.startSeconds + $0.0.lengthSeconds }) {
                    let crop = PhotoSweep.crop(photoWidth: pw, photoHeight: ph, outputWidth: width, outputHeight: height,
                                               progress: (seconds - placement.startSeconds) / placement.lengthSeconds, seconds: seconds)
                    Resampler.cropResize(pixels, sourceWidth: pw, sourceHeight: ph, crop: crop, width: width, height: height,
                                         background: PhotoSweep.background, into: &photoScratch)
                    try writeAudio(upTo: time)
                    try writer.writeFrame(Frame(widthPixels: width, heightPixels: height, pixels: photoScratch, captureTimeNanoseconds: time))
                    frames += 1; lastFrameTime = time
                } else if let videoFrame {
                    try writeAudio(upTo: time)
                    try writer.writeFrame(Frame(widthPixels: width, heightPixels: height, pixels: videoFrame, captureTimeNanoseconds: time))
                    frames += 1; lastFrameTime = time
                }
                frameIndex += 1
            }
            videoFrames = nil
            let end = max(UInt64(audioEnd * 1e9), lastFrameTime + UInt64(frameInterval))
            try writeAudio(upTo: end)
            try writer.finish()
            try target.commit()
            logger.info("imported \(frames) frames and \(audioBlocks) audio blocks into \(outputPath)")
            return ImportSummary(frames: frames, audioBlocks: audioBlocks, durationNanoseconds: end,
                                 widthPixels: width, heightPixels: height, framesPerSecond: fps)
        } catch {
            target.discard()
            throw error
        }
    }
}

/// An import stopped by a signal before it finished; the output was left as it was.
public struct ImportStopped: Error {}

/// Where an output that must appear whole is built: a scratch file in the folder of the file the
/// path names (following a symbolic link, so the link survives the rename), or nothing for a
/// device or FIFO, which is written directly.
struct ScratchTarget {
    let finalPath: String
    let scratchPath: String?

    init(_ path: String) throws {
        var info = stat()
        if stat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFREG {
            finalPath = path
            scratchPath = nil
            return
        }
        // The file a chain of links names, there or not yet.
        var resolved = path
        for _ in 0..<40 {
            guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: resolved) else { break }
            resolved = link.hasPrefix("/") ? link : ((resolved as NSString).deletingLastPathComponent as NSString).appendingPathComponent(link)
        }
        finalPath = resolved
        let folder = (finalPath as NSString).deletingLastPathComponent
        var template = Array(((folder.isEmpty ? "." : folder) + "/." + (finalPath as NSString).lastPathComponent + ".XXXXXX.partial").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemps($0.baseAddress!, 8) }
        guard fd >= 0 else { throw VisorError("cannot write session \(path): \(String(cString: strerror(errno)))") }
        close(fd)
        scratchPath = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func commit() throws {
        guard let scratchPath else { return }
        guard rename(scratchPath, finalPath) == 0 else {
            let code = errno
            discard()
            throw VisorError("cannot write session \(finalPath): \(String(cString: strerror(code)))")
        }
    }

    func discard() {
        if let scratchPath { unlink(scratchPath) }
    }
}

/// The scripted slow head movement over a still photo: a gentle zoom in, a pan across, and a
/// small two-frequency shake, all functions of time, so imports are reproducible.
enum PhotoSweep {
    static let background: (UInt8, UInt8, UInt8) = (58, 58, 62)

    static func crop(photoWidth: Int, photoHeight: Int, outputWidth: Int, outputHeight: Int,
                     progress: Double, seconds: Double) -> CropRect {
        let pw = Double(photoWidth), ph = Double(photoHeight)
        let outputAspect = Double(outputWidth) / Double(outputHeight)
        let photoAspect = pw / ph
        // Fill the view when the shapes are close; otherwise show the whole photo on a background,
        // so that nothing at its edges (a code's quiet zone, a sign's last word) is cut away.
        let close = max(photoAspect, outputAspect) / min(photoAspect, outputAspect) < 1.15
        var baseWidth: Double, baseHeight: Double
        if (photoAspect > outputAspect) == close {
            baseHeight = ph; baseWidth = ph * outputAspect
        } else {
            baseWidth = pw; baseHeight = pw / outputAspect
        }
        if !close { baseWidth *= 1.12; baseHeight *= 1.12 }
        let p = min(max(progress, 0), 1)
        let ease = p * p * (3 - 2 * p)
        let zoom = 0.97 - 0.07 * ease
        let w = baseWidth * zoom, h = baseHeight * zoom
        let panRangeX = max(abs(pw - w) / 2, pw * 0.03), panRangeY = max(abs(ph - h) / 2, ph * 0.02)
        let shakeX = w * (0.004 * sin(2 * .pi * 1.7 * seconds) + 0.003 * sin(2 * .pi * 3.1 * seconds + 1))
        let shakeY = h * (0.004 * sin(2 * .pi * 1.3 * seconds + 2) + 0.002 * sin(2 * .pi * 2.9 * seconds))
        let cx = pw / 2 + panRangeX * 0.5 * (2 * ease - 1) + shakeX
        let cy = ph / 2 - panRangeY * 0.3 * sin(.pi * p) + shakeY
        return CropRect(x: cx - w / 2, y: cy - h / 2, width: w, height: h)
    }
}

/// Continuous microphone audio: the clips at their times over silence or a noise floor, cut into
/// fixed blocks, for as long as the session asks.
struct AudioTimeline {
    private let clips: [Int32]
    private let sampleRate: Int
    private let blockSamples: Int
    private let noiseAmplitude: Double?
    private var noiseState: UInt64 = 0x9E37_79B9_7F4A_7C15
    private var position = 0

    let hasAudio: Bool

    init(clips: [(AudioPlacement, [Int16])], sampleRate: Int, blockMilliseconds: Int, noiseFloorDBFS: Double?) {
        self.sampleRate = sampleRate
        blockSamples = max(1, sampleRate * blockMilliseconds / 1000)
        hasAudio = !clips.isEmpty
        // Uniform white noise has an RMS of amplitude / sqrt(3).
        noiseAmplitude = noiseFloorDBFS.map { 32767 * pow(10, $0 / 20) * 3.0.squareRoot() }
        let total = clips.map { Int($0.0.startSeconds * Double(sampleRate)) + $0.1.count }.max() ?? 0
        var mix = [Int32](repeating: 0, count: total)
        for (placement, clip) in clips {
            let start = Int(placement.startSeconds * Double(sampleRate))
            for (i, s) in clip.enumerated() { mix[start + i] += Int32(s) }
        }
        self.clips = mix
    }

    /// The next block whose first sample is captured before `time`, or nil.
    mutating func nextBlock(before time: UInt64) -> AudioBlock? {
        guard hasAudio else { return nil }
        let start = UInt64(position) * 1_000_000_000 / UInt64(sampleRate)
        guard start < time else { return nil }
        var samples = [Int16](repeating: 0, count: blockSamples)
        for i in 0..<blockSamples {
            var value = position + i < clips.count ? clips[position + i] : 0
            if let noiseAmplitude {
                // A fixed-seed generator: the same import twice gives the same file.
                noiseState = noiseState &* 6364136223846793005 &+ 1442695040888963407
                let unit = Double(noiseState >> 11) / Double(UInt64(1) << 53) * 2 - 1
                value += Int32((unit * noiseAmplitude).rounded())
            }
            samples[i] = Int16(clamping: value)
        }
        position += blockSamples
        return AudioBlock(sampleRateHertz: sampleRate, channelCount: 1, samples: samples, captureTimeNanoseconds: start)
    }
}
