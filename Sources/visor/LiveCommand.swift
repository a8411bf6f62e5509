import ArgumentParser
import Dispatch
import Foundation
import VisorAssistant
import VisorCore
import VisorDevices
import VisorDisplay
import VisorRuntime

struct Live: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "live",
        abstract: "Run the glasses against a webcam and a microphone, drawing the view in the terminal as replay does.",
        discussion: """
        Capture times are the devices' own (the V4L2 buffer timestamps, the ALSA PCM timestamps) on the monotonic clock, so capture_to_hud is measured from the moment the camera took the frame. A sensor that fails is reported and the other keeps running.

        Examples:
          visor live --camera /dev/video0 --mic default --profile meta-ray-ban-display
          visor live --camera /tmp/cam/video0 --mic none --headless --duration 10 --report live.json
        """
    )

    @Flag(help: "Do not draw in the terminal. Implied when standard output is not a terminal.")
    var headless = false

    @Option(help: "Write the transcript (JSON Lines) to this file.")
    var transcript: String?

    @Option(help: "Write the latency report (JSON) to this file.")
    var report: String?

    @Option(help: ArgumentHelp("Every SECONDS, write a `stats` event to the transcript: frames, capture-to-done p50 and p99 over the interval, resident memory, open files (for long runs).", valueName: "SECONDS"))
    var statsEvery: Double?

    @Option(help: ArgumentHelp("The ALSA device the assistant speaks through, or none (default \"default\").", valueName: "PCM"))
    var speaker: String = "default"

    @OptionGroup var snapshots: SnapshotOptions

    @OptionGroup var sensors: SensorArguments

    @OptionGroup var display: DisplayOptions

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        if let statsEvery, !(statsEvery >= 1 && statsEvery.isFinite) { throw ValidationError("--stats-every takes 1 second or more") }
        if statsEvery != nil && transcript == nil { throw ValidationError("--stats-every writes to the transcript: give --transcript") }
        try display.validate()
        try snapshots.validate()
        try sensors.validate()
        try runtime.validate()
    }

    func run() throws {
        try reportingErrors(stoppable: true) {
            try checkOutputs([("transcript", transcript), ("report", report)], inputs: runtime.inputFiles + [("camera", sensors.options.cameraPath)])
            let profile = try runtime.loadProfile()
            let capture = try SensorCapture(sensors.options)
            let drawing = display.shouldDraw(headless: headless)
            let transcriptWriter = try transcript.map { try TranscriptWriter(path: $0) }
            var options = Pipeline.Options(profile: profile)
            options.workerThreads = runtime.workers
            options.transcript = transcriptWriter
            options.audioFromFile = false
            var fast: [FastStage] = [ConvertStage(schema: "", topic: ""), LightStage(), MotionStage(), HUDStage(), try DisplayStage(profile: profile)]
            if drawing {
                let stage = TerminalStage()
                stage.profileName = profile.name
                display.configure(stage.encoder)
                fast.append(stage)
            }
            let wearer = try runtime.loadWearer()
            if let assistant = try runtime.makeAssistant(profile: profile, wearerProfile: wearer) {
                var outputs = SpeechOutputs()
                if speaker != "none" {
                    do {
                        let device = try ALSASpeaker(device: speaker, sampleRateHertz: SpeechSynthesizer.sampleRateHertz)
                        outputs.play = { device.play($0) }
                        outputs.stop = { device.stopPlayback() }
                    } catch {
                        printError("note: no speaker (\(error)); answers are shown, not said")
                    }
                }
                options.assistant = AssistantStage(assistant: assistant, profile: profile, deterministic: false, outputs: outputs)
            }
            if let wakePhrases = runtime.wakePhrases(wearer: wearer), capture.microphone != nil {
                let memory = options.assistant?.assistant.memory
                options.speech = try SpeechStage(wakePhrases: wakePhrases, modelledLatencyNanoseconds: profile.modelledLatencyNanoseconds(SpeechStage.name),
                                                 contextWords: memory.map { m in { (try? m.vocabulary()) ?? [] } })
            }
            if let directory = snapshots.snapshotDir { try Snapshot.prepare(directory) }
            let pipeline = try Pipeline(fastStages: fast, slowStages: try runtime.makeSlowStages(), options: options)
            let screen = drawing ? TerminalScreen() : nil
            screen?.enter()
            let stats = IntervalStats()
            var lastCapture: UInt64?
            var usualInterval: UInt64 = 0
            var stalls: [String] = []
            let stop = stopCondition(duration: sensors.duration)
            let clock = SessionClock()
            var frames = 0
            let audio = AudioCounter()
            var failure: Error?
            let faults: [String], ended: [String]
            // A sensor that fails is shown at once (on the screen, or on stderr headless) and
            // written to the transcript on the session's clock; the other sensor goes on.
            let lost = LockedList()
            var alert: String?
            func reportLost(now: UInt64) {
                for fault in lost.drain() {
                    let line = "lost: \(fault)"
                    alert = line
                    if let screen { screen.alert(line) } else { printError("error: \(fault)") }
                    do {
                        try transcriptWriter?.event(timeNanoseconds: now &- clock.origin(now), TranscriptEvent(kind: "sensor_lost", fields: [("reason", .string(fault))]))
                    } catch { failure = error }
                }
            }
            func monotonicNow() -> UInt64 {
                // The sensors stamp their samples with CLOCK_MONOTONIC.
                var spec = timespec()
                clock_gettime(CLOCK_MONOTONIC, &spec)
                return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
            }
            do {
                defer { screen?.leave() }
                var lastHeardCheck: UInt64 = 0
                (faults, ended) = capture.run(shouldStop: {
                    failure != nil || stop() || (screen?.quitKeyPressed() ?? false)
                }, onFrame: { input, info in
                    let start = clock.origin(info.captureTimeNanoseconds)
                    reportLost(now: info.captureTimeNanoseconds)
                    let terminal = screen.map { s in (size: s.size(), write: { (bytes: UnsafeRawBufferPointer) in s.write(bytes) }) }
                    do {
                        try pipeline.process(input: input, sessionTime: info.captureTimeNanoseconds &- start, wallClock: nil,
                                             arrival: info.captureTimeNanoseconds, terminal: terminal)
                        // A camera that stops delivering for a while and comes back: say how long.
                        // A gap of over 1.5 s and over three of the camera's usual intervals.
                        if let last = lastCapture, info.captureTimeNanoseconds &- last > max(1_500_000_000, 3 * usualInterval) {
                            let gap = Double(info.captureTimeNanoseconds &- last) / 1e9
                            stalls.append(String(format: "the camera delivered no frames for %.1f s, from %@", gap, formatSessionTime(last &- start)))
                            try transcriptWriter?.event(timeNanoseconds: info.captureTimeNanoseconds &- start, TranscriptEvent(kind: "camera_stall", fields: [
                                ("from_ns", .int(Int64(last &- start))), ("seconds", .fixed(gap, decimals: 2)),
                            ]))
                        }
                        if let last = lastCapture {
                            let interval = info.captureTimeNanoseconds &- last
                            usualInterval = usualInterval == 0 ? interval : (usualInterval * 7 + min(interval, 2 * usualInterval)) / 8
                        }
                        lastCapture = info.captureTimeNanoseconds
                        if let every = statsEvery, let writer = transcriptWriter {
                            try stats.frame(capture: info.captureTimeNanoseconds, sessionTime: info.captureTimeNanoseconds &- start,
                                            everyNanoseconds: UInt64(every * 1e9), to: writer)
                        }
                    } catch { failure = error }
                    if let directory = snapshots.snapshotDir, failure == nil, frames % snapshots.snapshotEvery == 0 {
                        do { try Snapshot.write(pipeline.state.frame, display: pipeline.state.display, index: frames, to: directory) } catch { failure = error }
                    }
                    frames += 1
                }, onAudio: { block in
                    audio.add()
                    var block = block
                    block.captureTimeNanoseconds &-= clock.origin(block.captureTimeNanoseconds)
                    pipeline.process(audio: block)
                }, onFault: { fault in
                    lost.append(fault)
                }, whileNoCamera: {
                    // With no camera there are no frames to publish what was heard at: publish it
                    // here, ten times a second, on the microphone's clock.
                    let now = monotonicNow()
                    reportLost(now: now)
                    guard failure == nil, now &- lastHeardCheck > 100_000_000 else { return }
                    lastHeardCheck = now
                    do { try pipeline.publishHeard(sessionTime: now &- clock.origin(now)) } catch { failure = error }
                    // The view keeps the last frame, with the HUD and panel as they are now.
                    if let screen, frames > 0 {
                        pipeline.redraw(sessionTime: now &- clock.origin(now), terminal: (screen.size(), { screen.write($0) }))
                        if let alert { screen.alert(alert) }
                    }
                })
                reportLost(now: monotonicNow())
            }
            try pipeline.finish()
            try transcriptWriter?.close()
            for note in ended + stalls { printError("note: \(note)") }
            // Headless, each fault was printed when it happened.
            if drawing { for fault in faults { printError("error: \(fault)") } }
            if let failure { throw failure }
            let overruns = capture.microphone.map { $0.overruns > 0 ? ", \($0.overruns) microphone overrun\($0.overruns == 1 ? "" : "s") (audio lost)" : "" } ?? ""
            print("live: \(frames) frames and \(audio.count) audio blocks\(overruns)\(capture.camera.map { $0.droppedFrames > 0 ? ", \($0.droppedFrames) frames dropped by the camera" : "" } ?? "")")
            let result = ReplayResult(sessionPath: capture.camera?.path ?? "microphone", profile: profile, deterministic: false, frames: frames,
                                      audioBlocks: audio.count, lastSampleTimeNanoseconds: 0, metrics: pipeline.metrics, damage: nil,
                                      corruptChunks: [], stopped: true)
            print(result.latencyTable())
            if let report { try writeReport(result, to: report) }
            if !faults.isEmpty { throw ExitCode(2) }
        }
    }
}

/// The session's time origin: the capture time of the first sample, camera or microphone,
/// whichever thread sees one first.
final class SessionClock: @unchecked Sendable {
    private let lock = NSLock()
    private var start: UInt64?
    func origin(_ capture: UInt64) -> UInt64 {
        lock.lock(); defer { lock.unlock() }
        if let start { return start }
        start = capture
        return capture
    }
}

final class AudioCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func add() { lock.lock(); value += 1; lock.unlock() }
    var count: Int { lock.lock(); defer { lock.unlock() }; return value }
}

/// A long run's health, an interval at a time: frames, capture-to-done latency percentiles,
/// resident memory and open file descriptors, as `stats` events in the transcript.
final class IntervalStats {
    private var latencies: [UInt64] = []
    private var intervalStart: UInt64?

    func frame(capture: UInt64, sessionTime: UInt64, everyNanoseconds: UInt64, to writer: TranscriptWriter) throws {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        let now = UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
        latencies.append(now &- capture)
        let start = intervalStart ?? sessionTime
        intervalStart = start
        guard sessionTime &- start >= everyNanoseconds else { return }
        latencies.sort()
        func percentile(_ p: Double) -> Double { Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]) / 1e6 }
        try writer.event(timeNanoseconds: sessionTime, TranscriptEvent(kind: "stats", fields: [
            ("frames", .int(Int64(latencies.count))),
            ("capture_to_done_p50_ms", .fixed(percentile(0.5), decimals: 2)), ("capture_to_done_p99_ms", .fixed(percentile(0.99), decimals: 2)),
            ("rss_mb", .fixed(Self.residentMegabytes(), decimals: 1)), ("fds", .int(Int64(Self.openFiles()))),
        ]))
        latencies.removeAll(keepingCapacity: true)
        intervalStart = sessionTime
    }

    static func residentMegabytes() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }

    static func openFiles() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0 }
}
