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
    private var frames = 0
    private var loudRun = 0
    /// Frames in a row without a loud one.
    public private(set) var quietRun = 0
    /// Whether the last frame was loud.
    public private(set) var lastFrameLoud = false

    public init() {}

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
        let rms = (sum / Double(max(1, frame.count))).squareRoot() / 32768
        level = max(-96, 20 * log10(max(rms, 1e-6)))
        if frames == 0 || level < noiseFloor { noiseFloor = max(-90, level) } else { noiseFloor += 0.03 }
        frames += 1
        let loud = level > noiseFloor + margin && level > -55
        lastFrameLoud = loud
        if loud { loudRun += 1; quietRun = 0 } else { loudRun = 0; quietRun += 1 }
        if !inVoice && loudRun >= 3 { inVoice = true; return .started }
        if inVoice && quietRun >= hangover { inVoice = false; return .ended }
        return .none
    }
}
