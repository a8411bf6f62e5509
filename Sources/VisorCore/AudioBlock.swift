/// A block of microphone audio: interleaved signed 16-bit samples.
public struct AudioBlock: Sendable {
    public var sampleRateHertz: Int
    public var channelCount: Int
    public var samples: [Int16]
    /// Capture time of the first sample, on the session's monotonic clock.
    public var captureTimeNanoseconds: UInt64

    public init(sampleRateHertz: Int, channelCount: Int, samples: [Int16], captureTimeNanoseconds: UInt64) {
        self.sampleRateHertz = sampleRateHertz
        self.channelCount = channelCount
        self.samples = samples
        self.captureTimeNanoseconds = captureTimeNanoseconds
    }

    /// Length of the block in nanoseconds.
    public var durationNanoseconds: UInt64 {
        guard sampleRateHertz > 0, channelCount > 0 else { return 0 }
        return UInt64(samples.count / channelCount) * 1_000_000_000 / UInt64(sampleRateHertz)
    }
}
