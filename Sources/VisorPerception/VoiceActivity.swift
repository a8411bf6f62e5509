import Foundation

/// Audio level and voice activity, in Swift, on 10 ms frames of 16-bit audio.
///
/// The noise floor follows the quietest frames (down at once, up by 3 dB a second), so a steady
/// fan or street noise is not voice. A frame is loud when it is 12 dB over the floor and above
/// -55 dBFS; voice starts after 3 loud frames in a row (30 ms) and ends after `hangover`
/// frames without one, which also bridges the pauses between words.
public struct VoiceActivityDetector: Sendable {
    public static let frameSamples = 160

    /// Level of the last frame in dBFS (RMS).
    public private(set) var level: Double = -96
    public private(set) var noiseFloor: Double = -70
    public private(set) var inVoice = false
    /// Frames of silence that end voice (60 = 600 ms).
    public var hangover = 60
    /// How far over the noise floor (dB) a frame must be to be loud.
    public var margin = 12.0
    /// Frames whose power is averaged into the level compared with the floor (1: each frame
    /// alone). Babble's level swings from frame to frame; averaged over 200 ms it holds steady
    /// under a voice that is louder than it.
    public var smoothingFrames = 1
    /// When over 0, the floor is the lowest level of this many frames before (a sliding minimum)
    /// rather than one that follows the quietest frame and creeps up.
    public var floorFrames = 0
    /// When set, a frame is loud only within this many dB of the loudest recent level (which
    /// falls by 5 dB a second): the wearer's voice is near the microphone, the talk around
    /// them is not, and without this a room of talkers is one stretch of voice that never ends.
    public var peakDrop: Double?
    /// When set, the floor may fall but not rise: over a long stretch of speech (a note read out)
    /// the lowest level of the last `floorFrames` may be the speech's own quieter words, not the
    /// noise under it; the floor measured before it began stands.
    public var holdFloor = false
    /// The loudest recent level (dBFS).
    public private(set) var peak: Double = -96
    private var powers: [Double] = []
    private var recentLevels: [Double] = []
    private var frames = 0
    private var loudRun = 0
    /// Frames in a row without a loud one.
    public private(set) var quietRun = 0
    /// Whether the last frame was loud.
    public private(set) var lastFrameLoud = false
    /// Whether the last frame was loud on its own level, not the smoothed one: the voice's own
    /// sound, without the tail that averaging over `smoothingFrames` drags behind its end. The
    /// end of a word is the last such frame.
    public private(set) var lastFrameVoiced = false
    /// Whether the last frame's own level was over the floor by the margin (and above -70 dBFS),
    /// however far under the voice's peak: a word's quiet end, the "s" of "glasses", 20 dB under
    /// its vowels.
    public private(set) var lastFrameOverFloor = false

    public init() {}

    /// How far apart (dB) the highest and lowest of the last `frames` levels are (within
    /// `floorFrames`, and only when it is over 0): under 1 dB for a steady noise such as a fan's
    /// or white noise, several for babble.
    public func spread(ofLast frames: Int) -> Double {
        let recent = recentLevels.suffix(frames)
        guard let low = recent.min(), let high = recent.max() else { return 0 }
        return high - low
    }

    /// Ends the voice in progress now, keeping the noise floor: the rest of its pause then ends
    /// nothing (a listener that has already handled the voice).
    public mutating func endVoice() {
        inVoice = false
        loudRun = 0
        quietRun = 0
    }

    public enum Change: Sendable, Equatable { case none, started, ended }

    /// Reads one frame of 160 samples.
    public mutating func process(_ frame: UnsafeBufferPointer<Int16>) -> Change {
        var sum = 0.0
        for sample in frame { let v = Double(sample); sum += v * v }
        var power = sum / Double(max(1, frame.count)) / (32768 * 32768)
        let ownLevel = max(-96, 10 * log10(max(power, 1e-12)))
        if smoothingFrames > 1 {
            powers.append(power)
            if powers.count > smoothingFrames { powers.removeFirst() }
            power = powers.reduce(0, +) / Double(powers.count)
        }
        level = max(-96, 10 * log10(max(power, 1e-12)))
        if floorFrames > 0 {
            recentLevels.append(level)
            if recentLevels.count > floorFrames { recentLevels.removeFirst() }
            let lowest = max(-90, recentLevels.min() ?? level)
            noiseFloor = holdFloor ? min(noiseFloor, lowest) : lowest
        } else if frames == 0 || level < noiseFloor { noiseFloor = max(-90, level) } else { noiseFloor += 0.03 }
        frames += 1
        peak = max(level, peak - 0.05)
        func isLoud(_ level: Double) -> Bool { level > noiseFloor + margin && level > -55 && peakDrop.map { level > peak - $0 } ?? true }
        let loud = isLoud(level)
        lastFrameLoud = loud
        lastFrameVoiced = isLoud(ownLevel)
        lastFrameOverFloor = ownLevel > noiseFloor + margin && ownLevel > -70
        if loud { loudRun += 1; quietRun = 0 } else { loudRun = 0; quietRun += 1 }
        if !inVoice && loudRun >= 3 { inVoice = true; return .started }
        if inVoice && quietRun >= hangover { inVoice = false; return .ended }
        return .none
    }
}
