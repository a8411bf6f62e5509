import ArgumentParser
import Foundation
import VisorCore
import VisorDisplay
import VisorRuntime
import VisorSession

struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a recorded session: the wearer's view with the HUD in the terminal, then a latency summary.",
        discussion: """
        Exit status: 0 when the whole session was replayed; 1 on an error; 2 when the session was damaged (truncated, or with corrupt chunks) and was replayed up to where it could be read.

        Examples:
          visor replay Fixtures/street.mcap --profile meta-ray-ban-display
          visor replay Fixtures/codes.mcap --headless --deterministic --transcript out.jsonl --report report.json
        """
    )

    @Argument(help: "The session file (MCAP).")
    var session: String

    @Flag(help: "Do not draw in the terminal (for CI). Implied when standard output is not a terminal.")
    var headless = false

    @Option(help: "Replay speed against recorded time: 1, 2, 4 (or any factor) or max (default: 1 in a terminal, max headless).")
    var speed: String?

    @Option(help: "Write the transcript (JSON Lines) to this file.")
    var transcript: String?

    @Option(help: "Write the latency report (JSON) to this file.")
    var report: String?

    @Flag(help: "Schedule slow stages on the session's virtual clock: byte-identical transcripts on any machine, whatever its load (the default headless, unless --speed or --free-running is given).")
    var deterministic = false

    @Flag(help: "Let slow stages finish when they finish, skipping frames while busy, even headless (what a live run does; answers may miss what a skipped stage would have seen).")
    var freeRunning = false

    @Option(help: "Write a Chrome trace-event file (Perfetto, chrome://tracing) of every stage and worker.")
    var trace: String?

    @OptionGroup var snapshots: SnapshotOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the replay as an annotated session: frames, audio, and the events on /visor/events.", valueName: "OUT.mcap"))
    var output: String?

    @Option(help: ArgumentHelp("Redact bystanders: faces blurred in the output session and the snapshots.", valueName: "faces"))
    var redact: String?

    @Option(help: ArgumentHelp("Write everything the assistant says into this WAV file (16 kHz mono), at the times it says it.", valueName: "FILE.wav"))
    var speechOut: String?

    @Option(help: ArgumentHelp("Inject touchpad and button events: JSON Lines of {\"t\": SECONDS, \"kind\": \"tap\"} (kinds: \(InputKind.allCases.map(\.rawValue).joined(separator: ", "))).", valueName: "FILE.jsonl"))
    var input: String?

    @OptionGroup var display: DisplayOptions

    @OptionGroup var runtime: RuntimeOptions

    @OptionGroup var topics: TopicOptions

    func validate() throws {
        try runtime.validate()
        try display.validate()
        try snapshots.validate()
        if let redact, redact != "faces" { throw ValidationError("--redact takes faces; got \"\(redact)\"") }
        if redact != nil && output == nil && snapshots.snapshotDir == nil { throw ValidationError("--redact needs --output or --snapshot-dir: it blurs what is written") }
        if deterministic && freeRunning { throw ValidationError("--deterministic and --free-running contradict each other") }
        if let speed, parseSpeed(speed) == nil {
            throw ValidationError("--speed takes a positive factor (1, 2, 4, ...) or max; got \"\(speed)\"")
        }
    }

    private func parseSpeed(_ text: String) -> ReplaySpeed? {
        if text == "max" { return .max }
        guard let factor = Double(text.hasSuffix("x") ? String(text.dropLast()) : text), factor > 0, factor.isFinite else { return nil }
        return .times(factor)
    }

    func run() throws {
        try reportingErrors(stoppable: true) {
            try checkOutputs([("transcript", transcript), ("report", report), ("trace", trace), ("output session", output), ("speech file", speechOut)],
                             inputs: runtime.inputFiles + [("session replayed", session), (role: "input file", path: input)])
            let profile = try runtime.loadProfile()
            let inputEvents = try input.map { try InputEvent.readLines(InputFile.read($0, role: "input file", limitBytes: 16 << 20), source: $0) } ?? []
            let source = try SessionSource(path: session, cameraTopic: topics.cameraTopic, audioTopic: topics.audioTopic, imuTopic: topics.imuTopic)
            warnAboutSummary(source.reader)
            let drawing = display.shouldDraw(headless: headless)
            var options = ReplayOptions(profile: profile)
            options.speed = speed.flatMap(parseSpeed) ?? (drawing ? .times(1) : .max)
            options.transcriptPath = transcript
            options.tracePath = trace
            options.inputEvents = inputEvents
            // Headless and as fast as it goes, free-running scheduling would skip the slow stages'
            // work and the assistant would answer from a scene nobody looked at: such a run is on
            // the virtual clock unless asked otherwise.
            options.deterministic = deterministic || (!freeRunning && !drawing && speed == nil)
            options.workerThreads = runtime.workers
            options.slowStages = try runtime.makeSlowStages()
            let wearer = try runtime.loadWearer()
            options.wakePhrases = runtime.wakePhrases(wearer: wearer)
            options.recognition = runtime.recognition
            options.assistant = try runtime.makeAssistant(profile: profile, wearerProfile: wearer, deterministic: options.deterministic)
            options.speechOutputPath = speechOut
            options.snapshotDirectory = snapshots.snapshotDir
            options.snapshotEvery = snapshots.snapshotEvery
            options.outputPath = output
            options.redactFaces = redact == "faces"
            let screen = drawing ? TerminalScreen() : nil
            if let screen {
                var terminal = ReplayTerminal(size: { screen.size() }, write: { screen.write($0) }, keys: { screen.keys() })
                display.configure(&terminal)
                options.terminal = terminal
                screen.enter()
            }
            let result: ReplayResult
            do {
                defer { screen?.leave() }
                result = try ReplayRunner(source: source, options: options).run(shouldStop: {
                    StopSignal.requested
                })
            }
            if let report { try writeReport(result, to: report) }
            print("replayed \(result.frames) frames and \(result.audioBlocks) audio blocks of \(session) (\(formatSessionTime(result.lastSampleTimeNanoseconds)), \(options.deterministic ? "deterministic" : "free-running") scheduling)\(result.stopped ? ", stopped early" : "")")
            print(result.latencyTable())
            if let status = StopSignal.exitStatus {
                printError("stopped by \(StopSignal.signalName ?? "a signal") at \(formatSessionTime(result.lastSampleTimeNanoseconds)); every output is complete up to there")
                throw ExitCode(status)
            }
            if let damage = result.damage {
                printError("session truncated \(damage); replayed \(result.frames) frames up to \(formatSessionTime(result.lastSampleTimeNanoseconds))")
                throw ExitCode(2)
            }
            if let first = result.metrics.firstUndecodable, result.frames == 0 {
                // Not one frame: the session's images are not something Visor reads at all.
                throw VisorError(first.reason)
            }
            if let first = result.metrics.firstUndecodable {
                printError("\(result.metrics.undecodableFrames) frame(s) could not be decoded and were skipped (the first at \(formatSessionTime(first.sessionTimeNanoseconds)): \(first.reason)); replayed \(result.frames) frames")
                throw ExitCode(2)
            }
            if let first = result.corruptChunks.first {
                printError("session has \(result.corruptChunks.count) corrupt chunk(s), skipped (first \(first)); replayed \(result.frames) frames")
                throw ExitCode(2)
            }
        }
    }
}

func writeReport(_ result: ReplayResult, to path: String) throws {
    let json: Data
    do { json = try result.reportJSON() } catch { throw VisorError("cannot write report \(path): \(error.localizedDescription)") }
    try OutputFile.write([UInt8](json), to: path, role: "report")
}
