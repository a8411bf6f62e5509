import ArgumentParser
import Foundation
import VisorCore
import VisorDisplay
import VisorRuntime
import VisorSession

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure per-frame latency on a session: every stage, end to end, against a device profile's frame budget.",
        discussion: """
        Replays the session as fast as it goes, drawing into a virtual terminal of 160x48 cells (encoded, then discarded), with the slow stages on workers in free-running scheduling (or --deterministic). Prints count, p50, p90, p99, p99.9 and max per stage, drops, budget misses, the end-to-end figures and whether the pipeline fits the device.

        Examples:
          visor bench Fixtures/street.mcap
          visor bench Fixtures/codes.mcap --profile even-g1 --repeat 5 --json bench.json --trace bench.trace.json
          visor bench Fixtures/commands.mcap --speed 1    # voice latency as a wearer meets it: in real time

        The voice rows: wake_to_overlay is the end of a wake phrase to its overlay; command_to_overlay and command_to_speech are the end of a command's last word to the answer's first overlay and to its first speech sample. Each is the listener's wait (audio still to hear, then compute) plus the assistant's compute time.
        """
    )

    @Argument(help: "The session file (MCAP).")
    var session: String

    @Option(help: "Write the report as JSON to this file.")
    var json: String?

    @Option(help: "Write a Chrome trace-event file (Perfetto, chrome://tracing): one track per stage and worker.")
    var trace: String?

    @Option(help: "Pace the replay against recorded time: a factor (1 is real time: what a wearer meets, the slow stages competing as they would live) or max, as fast as it goes (default max).")
    var speed: String?

    @Option(help: "Replay the session this many times back to back (default 1).")
    var `repeat`: Int = 1

    @Flag(help: "Schedule slow stages on the virtual clock, as `replay --deterministic` does.")
    var deterministic = false

    @OptionGroup var runtime: RuntimeOptions

    @OptionGroup var topics: TopicOptions

    func validate() throws {
        try runtime.validate()
        guard (1...1000).contains(self.repeat) else { throw ValidationError("--repeat must be between 1 and 1000") }
        if let speed, speed != "max", !(Double(speed).map { $0 > 0 && $0.isFinite } ?? false) {
            throw ValidationError("--speed takes a positive factor (1, 2, 4, ...) or max; got \"\(speed)\"")
        }
    }

    func run() throws {
        try reportingErrors(stoppable: true) {
            try checkOutputs([("report", json), ("trace", trace)], inputs: runtime.inputFiles + [("session measured", session)])
            let profile = try runtime.loadProfile()
            let source = try SessionSource(path: session, cameraTopic: topics.cameraTopic, audioTopic: topics.audioTopic)
            warnAboutSummary(source.reader)
            var options = ReplayOptions(profile: profile)
            options.speed = speed.flatMap(Double.init).map { .times($0) } ?? .max
            options.deterministic = deterministic
            options.workerThreads = runtime.workers
            options.slowStages = try runtime.makeSlowStages()
            let wearer = try runtime.loadWearer()
            options.wakePhrases = runtime.wakePhrases(wearer: wearer)
            options.recognition = runtime.recognition
            // A benchmark's notes and photos go to a scratch folder unless --memory or --gallery say otherwise.
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("visor-bench-\(getpid())").path
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            var assistantOptions = runtime
            if assistantOptions.memory == nil { assistantOptions.memory = scratch + "/memory.sqlite" }
            if assistantOptions.gallery == nil { assistantOptions.gallery = scratch + "/gallery" }
            options.assistant = try assistantOptions.makeAssistant(profile: profile, wearerProfile: wearer, deterministic: deterministic)
            options.tracePath = trace
            options.repeatCount = self.repeat
            options.terminal = ReplayTerminal(size: { TerminalSize(columns: 160, rows: 49) }, write: { _ in }, showsStatus: false)
            let result = try ReplayRunner(source: source, options: options).run(shouldStop: { StopSignal.requested })
            print("\(session): \(result.frames) frames on \(profile.name) (\(profile.title)), frame budget \(String(format: "%.1f", profile.frameBudgetMilliseconds)) ms, \(runtime.workers) worker(s), \(deterministic ? "deterministic" : "free-running") scheduling")
            print(result.latencyTable())
            if let json { try writeReport(result, to: json) }
            if let status = StopSignal.exitStatus {
                printError("stopped by \(StopSignal.signalName ?? "a signal") after \(result.frames) frames; the figures cover those")
                throw ExitCode(status)
            }
            if result.damage != nil || !result.corruptChunks.isEmpty {
                printError("session is damaged; measured \(result.frames) frames")
                throw ExitCode(2)
            }
        }
    }
}
