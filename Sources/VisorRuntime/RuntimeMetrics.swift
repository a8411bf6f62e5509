import Histogram

/// Latency figures of one stage or path, in nanoseconds.
public struct LatencySummary: Equatable, Sendable {
    public var count: UInt64
    public var p50: UInt64
    public var p90: UInt64
    public var p99: UInt64
    public var p999: UInt64
    public var max: UInt64
}

/// One latency series: an HdrHistogram (3 significant digits, 1 ns to 60 s).
public struct LatencySeries {
    private var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000,
                                              numberOfSignificantValueDigits: .three)
    /// Samples over the budget this series is held to, if any.
    public private(set) var budgetMisses: UInt64 = 0
    public let budgetNanoseconds: UInt64?

    public init(budgetNanoseconds: UInt64? = nil) { self.budgetNanoseconds = budgetNanoseconds }

    public mutating func record(_ nanoseconds: UInt64) {
        _ = histogram.record(Swift.min(Swift.max(nanoseconds, 1), 60_000_000_000))
        if let budgetNanoseconds, nanoseconds > budgetNanoseconds { budgetMisses += 1 }
    }

    public var summary: LatencySummary? {
        guard histogram.totalCount > 0 else { return nil }
        return LatencySummary(count: histogram.totalCount, p50: histogram.valueAtPercentile(50), p90: histogram.valueAtPercentile(90),
                              p99: histogram.valueAtPercentile(99), p999: histogram.valueAtPercentile(99.9), max: histogram.max)
    }
}

/// Everything the runtime measures in a run. Stages never record here themselves.
public struct RuntimeMetrics {
    /// A slow stage's figures, as the scheduler keeps them.
    public typealias SlowStageMetrics = StageMetrics

    public var fastStageNames: [String]
    public var fastStages: [LatencySeries]
    public var slowStages: [SlowStageMetrics]
    /// Capture time to HUD composed.
    public var captureToHUD: LatencySeries
    /// Capture time to the terminal frame written (only when drawing).
    public var captureToTerminal: LatencySeries
    /// Voice latency, measured: the listener's delay from the end of the words to its decision
    /// (audio still to hear, then compute) plus the assistant's compute time. End of the wake
    /// phrase to its overlay; end of a command's words to the answer's first overlay, and to its
    /// first speech sample.
    public var wakeToOverlay = LatencySeries()
    public var commandToOverlay = LatencySeries()
    public var commandToSpeech = LatencySeries()
    /// The language model: load time, and tokens per second of prompt and of generation, one
    /// sample per answer.
    public var modelLoadNanoseconds: UInt64?
    public var promptTokensPerSecond: [Double] = []
    public var generatedTokensPerSecond: [Double] = []
    public var modelAnswers = 0
    /// Listening to one block of microphone audio (the speech stage), held to the block's length.
    public var speech = LatencySeries(budgetNanoseconds: 20_000_000)
    /// Listening to a block that completed a wake phrase, command or dictation (the decode at the
    /// end), held to the profile's modelled `speech` latency.
    public var speechResults = LatencySeries()
    /// Microphone blocks the speech stage dropped because it fell 10 s behind.
    public var speechDrops: UInt64 = 0
    public var frames: UInt64 = 0
    /// Camera messages that could not be decoded and were skipped, with the first one's capture
    /// time and reason.
    public var undecodableFrames: UInt64 = 0
    public var firstUndecodable: (sessionTimeNanoseconds: UInt64, reason: String)?
    public let frameBudgetNanoseconds: UInt64

    public init(fastStageNames: [String], slowStageNames: [String], slowStageBudgets: [UInt64], frameBudgetNanoseconds: UInt64) {
        self.fastStageNames = fastStageNames
        fastStages = fastStageNames.map { _ in LatencySeries(budgetNanoseconds: frameBudgetNanoseconds) }
        slowStages = zip(slowStageNames, slowStageBudgets).map { StageMetrics(name: $0, latency: LatencySeries(budgetNanoseconds: $1)) }
        captureToHUD = LatencySeries(budgetNanoseconds: frameBudgetNanoseconds)
        captureToTerminal = LatencySeries(budgetNanoseconds: frameBudgetNanoseconds)
        self.frameBudgetNanoseconds = frameBudgetNanoseconds
    }

    /// The series for a fast stage by name.
    public func fastStage(_ name: String) -> LatencySeries? {
        fastStageNames.firstIndex(of: name).map { fastStages[$0] }
    }
}
