import Histogram

/// Latency figures of one stage or end-to-end path, in nanoseconds.
public struct LatencySummary: Equatable, Sendable {
    public var count: UInt64
    public var p50: UInt64
    public var p90: UInt64
    public var p99: UInt64
    public var max: UInt64
}

/// Records latencies in HdrHistograms (3 significant digits, 1 ns to 60 s), keyed by name and
/// kept in the order first seen. Recorded by the runtime, never by the stages.
public struct LatencyMetrics {
    private var histograms: [String: Histogram<UInt64>] = [:]
    public private(set) var names: [String] = []

    public init() {}

    public mutating func record(_ name: String, nanoseconds: UInt64) {
        if histograms[name] == nil {
            histograms[name] = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000,
                                                 numberOfSignificantValueDigits: .three)
            names.append(name)
        }
        _ = histograms[name]!.record(Swift.min(Swift.max(nanoseconds, 1), 60_000_000_000))
    }

    public func summary(_ name: String) -> LatencySummary? {
        guard let h = histograms[name], h.totalCount > 0 else { return nil }
        return LatencySummary(count: h.totalCount, p50: h.valueAtPercentile(50), p90: h.valueAtPercentile(90),
                              p99: h.valueAtPercentile(99), max: h.max)
    }
}
