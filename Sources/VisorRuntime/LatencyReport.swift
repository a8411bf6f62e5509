import Foundation
import VisorCore

/// The latency report of a run: JSON for machines, a table for people.
extension ReplayResult {
    private struct StageJSON: Encodable {
        let count: UInt64, p50_ns: UInt64, p90_ns: UInt64, p99_ns: UInt64, max_ns: UInt64
        init(_ s: LatencySummary) { count = s.count; p50_ns = s.p50; p90_ns = s.p90; p99_ns = s.p99; max_ns = s.max }
    }

    private struct ReportJSON: Encodable {
        let session: String
        let frames: Int
        let audio_blocks: Int
        let duration_ns: UInt64
        let stages: [String: StageJSON]
        let end_to_end: [String: StageJSON]
        let truncated: Bool
        let corrupt_chunks: Int
    }

    public static let endToEndNames = ["capture_to_hud"]

    /// The report as JSON: `frames`, `stages` (by name: `count`, `p50_ns`, `p90_ns`, `p99_ns`,
    /// `max_ns`) and `end_to_end` (`capture_to_hud`, the same keys).
    public func reportJSON() throws -> Data {
        var stages: [String: StageJSON] = [:]
        for name in ReplayRunner.stageNames { if let s = metrics.summary(name) { stages[name] = StageJSON(s) } }
        var endToEnd: [String: StageJSON] = [:]
        for name in Self.endToEndNames { if let s = metrics.summary(name) { endToEnd[name] = StageJSON(s) } }
        let report = ReportJSON(session: sessionPath, frames: frames, audio_blocks: audioBlocks,
                                duration_ns: lastSampleTimeNanoseconds, stages: stages, end_to_end: endToEnd,
                                truncated: damage != nil, corrupt_chunks: corruptChunks.count)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(report)
    }

    /// A table of every stage and end-to-end path: count, p50, p90, p99 and max in milliseconds.
    public func latencyTable() -> String {
        func ms(_ ns: UInt64) -> String {
            let v = Double(ns) / 1e6
            return TranscriptWriter.fixed(v, decimals: v < 10 ? 3 : 1)
        }
        func pad(_ s: String, _ n: Int, left: Bool = false) -> String {
            let space = String(repeating: " ", count: max(0, n - s.count))
            return left ? s + space : space + s
        }
        var lines = [pad("stage", 16, left: true) + pad("count", 8) + pad("p50 ms", 10) + pad("p90 ms", 10) + pad("p99 ms", 10) + pad("max ms", 10)]
        for name in ReplayRunner.stageNames + Self.endToEndNames {
            guard let s = metrics.summary(name) else { continue }
            lines.append(pad(name, 16, left: true) + pad(String(s.count), 8) + pad(ms(s.p50), 10) + pad(ms(s.p90), 10) + pad(ms(s.p99), 10) + pad(ms(s.max), 10))
        }
        return lines.joined(separator: "\n")
    }
}
