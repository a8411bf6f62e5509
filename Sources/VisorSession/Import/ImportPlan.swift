import Foundation
import VisorCore

/// An audio file placed on the session's timeline: `FILE@SECONDS`.
public struct AudioPlacement: Equatable, Sendable {
    public var path: String
    public var startSeconds: Double

    public init(path: String, startSeconds: Double) { self.path = path; self.startSeconds = startSeconds }

    /// Parses `FILE@SECONDS` (the last `@` splits, so file names may contain one).
    public init(argument: String) throws {
        guard let at = argument.lastIndex(of: "@"), let seconds = Double(argument[argument.index(after: at)...]),
              seconds >= 0, seconds.isFinite, at != argument.startIndex
        else { throw VisorError("--audio takes FILE@SECONDS (for example speech.wav@2.5), got \"\(argument)\"") }
        self.init(path: String(argument[..<at]), startSeconds: seconds)
    }
}

/// A still photo shown with a scripted slow head movement: `IMAGE@SECONDS:LENGTH`.
public struct PhotoPlacement: Equatable, Sendable {
    public var path: String
    public var startSeconds: Double
    public var lengthSeconds: Double

    public init(path: String, startSeconds: Double, lengthSeconds: Double) {
        self.path = path; self.startSeconds = startSeconds; self.lengthSeconds = lengthSeconds
    }

    /// The latest a photo may end, in seconds from the session's start.
    public static let longestSeconds: Double = 3600

    /// Parses `IMAGE@SECONDS:LENGTH`.
    public init(argument: String) throws {
        let usage = "--photo takes IMAGE@SECONDS:LENGTH (for example sign.jpg@0:4), got \"\(argument)\""
        guard let at = argument.lastIndex(of: "@"), at != argument.startIndex else { throw VisorError(usage) }
        let times = argument[argument.index(after: at)...].split(separator: ":", omittingEmptySubsequences: false)
        guard times.count == 2, let start = Double(times[0]), let length = Double(times[1]),
              start >= 0, length > 0, start.isFinite, length.isFinite
        else { throw VisorError(usage) }
        // A still shown for longer than this is a typo (1e9 for 1e1), and would fill the disk.
        guard start + length <= PhotoPlacement.longestSeconds else {
            throw VisorError("--photo \(argument): a photo must end within \(Int(PhotoPlacement.longestSeconds)) s (one hour) of the session's start")
        }
        self.init(path: String(argument[..<at]), startSeconds: start, lengthSeconds: length)
    }
}

/// What `visor import` builds a session from.
public struct ImportPlan: Sendable {
    public var videoPath: String?
    /// Where in the video to start, and how much of it to take (nil: to its end).
    public var videoStartSeconds: Double = 0
    public var videoDurationSeconds: Double?
    public var audio: [AudioPlacement] = []
    public var photos: [PhotoPlacement] = []
    /// Output frame size; nil takes the video's size, or 640x480 without a video.
    public var widthPixels: Int?
    public var heightPixels: Int?
    /// Output frame rate; nil takes the video's rate, or 15 without a video.
    public var framesPerSecond: Double?
    public var storage: SessionWriter.ImageStorage = .jpeg(quality: 85)
    public var audioSampleRateHertz = 16_000
    /// Length of each audio message.
    public var audioBlockMilliseconds = 20
    /// A white-noise floor under the audio, in dBFS (a real microphone is never digitally silent).
    public var noiseFloorDBFS: Double?
    public var compression: MCAPCompression = .zstd

    public init() {}
}

/// What an import wrote.
public struct ImportSummary: Sendable {
    public var frames: Int
    public var audioBlocks: Int
    public var durationNanoseconds: UInt64
    public var widthPixels: Int
    public var heightPixels: Int
    public var framesPerSecond: Double
}
