import Foundation
import VisorCore

/// The latency report of a run: JSON for machines, a table for people.
extension ReplayResult {
    private struct SeriesJSON: Encodable {
        let count: UInt64, p50_ns: UInt64, p90_ns: UInt64, p99_ns: UInt64, p999_ns: UInt64, max_ns: UInt64
        let budget_ns: UInt64?, budget_misses: UInt64?
        init(_ s: LatencySummary, _ series: LatencySeries) {
            count = s.count; p50_ns = s.p50; p90_ns = s.p90; p99_ns = s.p99; p999_ns = s.p999; max_ns = s.max
            budget_ns = series.budgetNanoseconds
            budget_misses = series.budgetNanoseconds == nil ? nil : series.budgetMisses
        }
    }

    private struct StageJSON: Encodable {
        let kind: String
        let count: UInt64, p50_ns: UInt64, p90_ns: UInt64, p99_ns: UInt64, p999_ns: UInt64, max_ns: UInt64
        let budget_ns: UInt64?, budget_misses: UInt64?
        let drops: UInt64?, results: UInt64?, queue_wait: SeriesJSON?
    }

    private struct ReportJSON: Encodable {
        let session: String
        let profile: String
        let scheduling: String
        let frames: Int
        let audio_blocks: Int
        let duration_ns: UInt64
        let frame_budget_ns: UInt64
        let stages: [String: StageJSON]
        let end_to_end: [String: SeriesJSON?]
        let fits: Bool
        let verdict: String
        let truncated: Bool
        let corrupt_chunks: Int
        let undecodable_frames: UInt64
        let model: ModelJSON?
    }

    private struct ModelJSON: Encodable {
        let load_ns: UInt64?
        let answers: Int
        let prompt_tokens_per_second_p50: Double?
        let generated_tokens_per_second_p50: Double?
    }

    /// The report as JSON; its shape is documented in the README.
    public func reportJSON() throws -> Data {
        var stages: [String: StageJSON] = [:]
        for (name, series) in zip(metrics.fastStageNames, metrics.fastStages) {
            guard let s = series.summary else { continue }
            stages[name] = StageJSON(kind: "fast", count: s.count, p50_ns: s.p50, p90_ns: s.p90, p99_ns: s.p99, p999_ns: s.p999, max_ns: s.max,
                                     budget_ns: series.budgetNanoseconds, budget_misses: series.budgetMisses,
                                     drops: nil, results: nil, queue_wait: nil)
        }
        for slow in metrics.slowStages {
            let s = slow.latency.summary ?? LatencySummary(count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0)
            stages[slow.name] = StageJSON(kind: "slow", count: s.count, p50_ns: s.p50, p90_ns: s.p90, p99_ns: s.p99, p999_ns: s.p999, max_ns: s.max,
                                          budget_ns: slow.latency.budgetNanoseconds, budget_misses: slow.latency.budgetMisses,
                                          drops: slow.drops, results: slow.results,
                                          queue_wait: slow.queueWait.summary.map { SeriesJSON($0, slow.queueWait) })
        }
        if let s = metrics.speech.summary {
            stages[SpeechStage.name] = StageJSON(kind: "audio", count: s.count, p50_ns: s.p50, p90_ns: s.p90, p99_ns: s.p99, p999_ns: s.p999, max_ns: s.max,
                                                 budget_ns: metrics.speech.budgetNanoseconds, budget_misses: metrics.speech.budgetMisses,
                                                 drops: metrics.speechDrops, results: metrics.speechResults.summary?.count, queue_wait: nil)
        }
        if let s = metrics.speechResults.summary {
            stages["speech_results"] = StageJSON(kind: "audio", count: s.count, p50_ns: s.p50, p90_ns: s.p90, p99_ns: s.p99, p999_ns: s.p999, max_ns: s.max,
                                                 budget_ns: metrics.speechResults.budgetNanoseconds, budget_misses: metrics.speechResults.budgetMisses,
                                                 drops: nil, results: nil, queue_wait: nil)
        }
        func series(_ s: LatencySeries) -> SeriesJSON? { s.summary.map { SeriesJSON($0, s) } }
        let endToEnd: [String: SeriesJSON?] = [
            "capture_to_hud": series(metrics.captureToHUD), "capture_to_terminal": series(metrics.captureToTerminal),
            "wake_to_overlay": series(metrics.wakeToOverlay),
            "command_to_overlay": series(metrics.commandToOverlay), "command_to_speech": series(metrics.commandToSpeech),
        ]
        let model = metrics.modelLoadNanoseconds == nil && metrics.modelAnswers == 0 ? nil
            : ModelJSON(load_ns: metrics.modelLoadNanoseconds, answers: metrics.modelAnswers,
                        prompt_tokens_per_second_p50: median(metrics.promptTokensPerSecond),
                        generated_tokens_per_second_p50: median(metrics.generatedTokensPerSecond))
        let report = ReportJSON(session: sessionPath, profile: profile.name, scheduling: deterministic ? "deterministic" : "free-running",
                                frames: frames, audio_blocks: audioBlocks, duration_ns: lastSampleTimeNanoseconds,
                                frame_budget_ns: metrics.frameBudgetNanoseconds, stages: stages, end_to_end: endToEnd,
                                fits: verdict.fits, verdict: verdict.text, truncated: damage != nil, corrupt_chunks: corruptChunks.count,
                                undecodable_frames: metrics.undecodableFrames, model: model)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(report)
    }

    /// Whether the pipeline fits the device: the fast path's p99 within the frame budget, and each
    /// slow stage's p50 within its modelled latency.
    public var verdict: (fits: Bool, text: String) {
        let path = metrics.captureToTerminal.summary != nil ? metrics.captureToTerminal : metrics.captureToHUD
        let budget = Double(metrics.frameBudgetNanoseconds) / 1e6
        guard let fast = path.summary else { return (false, "no frames were processed") }
        var problems: [String] = []
        if fast.p99 > metrics.frameBudgetNanoseconds {
            problems.append(String(format: "the fast path's p99 of %.2f ms exceeds the %.1f ms frame budget", Double(fast.p99) / 1e6, budget))
        }
        for (name, series) in metrics.slowStages.map({ ($0.name, $0.latency) }) + [(SpeechStage.name, metrics.speechResults)] {
            if let s = series.summary, let modelled = series.budgetNanoseconds, s.p50 > modelled {
                problems.append(String(format: "%@ takes %.1f ms at p50, over the %.0f ms the profile models", name, Double(s.p50) / 1e6, Double(modelled) / 1e6))
            }
        }
        if problems.isEmpty {
            return (true, String(format: "fits %@: the fast path's p99 of %.2f ms is within the %.1f ms frame budget (%llu misses in %llu frames)%@",
                                 profile.name, Double(fast.p99) / 1e6, budget, path.budgetMisses, fast.count,
                                 metrics.slowStages.isEmpty ? "" : ", and every slow stage keeps to its modelled latency"))
        }
        return (false, "does not fit \(profile.name): " + problems.joined(separator: "; "))
    }

    /// A table of every stage and end-to-end path: count, p50, p90, p99, p99.9 and max in
    /// milliseconds, drops, and misses of the frame budget (fast), the modelled latency (slow) or
    /// the block's length (audio).
    public func latencyTable() -> String {
        func ms(_ ns: UInt64) -> String {
            let v = Double(ns) / 1e6
            return String(format: v < 10 ? "%.3f" : "%.1f", v)
        }
        func pad(_ s: String, _ n: Int, left: Bool = false) -> String {
            let space = String(repeating: " ", count: max(0, n - s.count))
            return left ? s + space : space + s
        }
        func row(_ name: String, _ kind: String, _ s: LatencySummary, drops: String, misses: String) -> String {
            pad(name, 20, left: true) + pad(kind, 5, left: true) + pad(String(s.count), 7) + pad(ms(s.p50), 9) + pad(ms(s.p90), 9)
                + pad(ms(s.p99), 9) + pad(ms(s.p999), 9) + pad(ms(s.max), 9) + pad(drops, 7) + pad(misses, 8)
        }
        var lines = [pad("stage", 20, left: true) + pad("", 5, left: true) + pad("count", 7) + pad("p50 ms", 9) + pad("p90 ms", 9)
            + pad("p99 ms", 9) + pad("p99.9 ms", 9) + pad("max ms", 9) + pad("drops", 7) + pad("misses", 8)]
        for (name, series) in zip(metrics.fastStageNames, metrics.fastStages) {
            guard let s = series.summary else { continue }
            lines.append(row(name, "fast", s, drops: "-", misses: String(series.budgetMisses)))
        }
        for slow in metrics.slowStages {
            guard let s = slow.latency.summary else {
                lines.append(pad(slow.name, 20, left: true) + pad("slow", 5, left: true) + pad("0", 7) + pad(String(slow.drops), 52))
                continue
            }
            lines.append(row(slow.name, "slow", s, drops: String(slow.drops), misses: String(slow.latency.budgetMisses)))
            if let q = slow.queueWait.summary { lines.append(row("  queue wait", "", q, drops: "", misses: "")) }
        }
        if let s = metrics.speech.summary {
            lines.append(row(SpeechStage.name, "audio", s, drops: String(metrics.speechDrops), misses: String(metrics.speech.budgetMisses)))
        }
        if let s = metrics.speechResults.summary {
            lines.append(row("  heard", "", s, drops: "", misses: String(metrics.speechResults.budgetMisses)))
        }
        for (name, series) in [("capture_to_hud", metrics.captureToHUD), ("capture_to_terminal", metrics.captureToTerminal),
                               ("wake_to_overlay", metrics.wakeToOverlay), ("command_to_overlay", metrics.commandToOverlay),
                               ("command_to_speech", metrics.commandToSpeech)] {
            guard let s = series.summary else { continue }
            lines.append(row(name, "e2e", s, drops: "-", misses: series.budgetNanoseconds == nil ? "-" : String(series.budgetMisses)))
        }
        if metrics.modelLoadNanoseconds != nil || metrics.modelAnswers > 0 {
            var text = "language model:"
            if let load = metrics.modelLoadNanoseconds { text += String(format: " loaded in %.0f ms;", Double(load) / 1e6) }
            text += " \(metrics.modelAnswers) answers"
            if let p = median(metrics.promptTokensPerSecond) { text += String(format: ", prompt %.0f tokens/s", p) }
            if let g = median(metrics.generatedTokensPerSecond) { text += String(format: ", generation %.0f tokens/s (p50)", g) }
            lines.append(text)
        }
        lines.append(verdict.text)
        return lines.joined(separator: "\n")
    }
}

private func median(_ values: [Double]) -> Double? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}
