import ArgumentParser
import Dispatch
import Foundation
import VisorAssistant
import VisorCore
import VisorDevices
import VisorDisplay
import VisorPerception
import VisorRuntime
import VisorSession

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

    @Option(help: ArgumentHelp("A virtual IMU: play the busiest visor.Imu channel of this session in real time from the start of the run (a laptop has no IMU).", valueName: "SESSION.mcap"))
    var imu: String?

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
            try checkOutputs([("transcript", transcript), ("report", report)], inputs: runtime.inputFiles + [("camera", sensors.options.cameraPath), (role: "IMU session", path: imu)])
            let profile = try runtime.loadProfile()
            let imuTrack = try imu.map { path in
                try ImuTrack.read(path).map { ImuSample(timeNanoseconds: $0.timeNanoseconds, gyro: ($0.gyro.x, $0.gyro.y, $0.gyro.z), accel: ($0.accel.x, $0.accel.y, $0.accel.z)) }
            } ?? []
            let capture = try SensorCapture(sensors.options)
            let drawing = display.shouldDraw(headless: headless)
            var options = RunOptions(profile: profile)
            options.workerThreads = runtime.workers
            options.transcriptPath = transcript
            options.slowStages = try runtime.makeSlowStages()
            let wearer = try runtime.loadWearer()
            options.wakePhrases = runtime.wakePhrases(wearer: wearer)
            options.recognition = runtime.recognition
            options.assistant = try runtime.makeAssistant(profile: profile, wearerProfile: wearer, deterministic: false)
            if options.assistant != nil, speaker != "none" {
                do {
                    let device = try ALSASpeaker(device: speaker, sampleRateHertz: SpeechSynthesizer.sampleRateHertz)
                    options.speechPlayback.play = { device.play($0) }
                    options.speechPlayback.stop = { device.stopPlayback() }
                } catch {
                    printError("note: no speaker (\(error)); answers are shown, not said")
                }
            }
            options.statsEveryNanoseconds = statsEvery.map { UInt64($0 * 1e9) }
            options.snapshotDirectory = snapshots.snapshotDir
            options.snapshotEvery = snapshots.snapshotEvery
            let screen = drawing ? TerminalScreen() : nil
            if let screen {
                var terminal = ReplayTerminal(size: { screen.size() }, write: { screen.write($0) }, keys: { screen.keys() }, showsStatus: false)
                terminal.alert = { screen.alert($0) }
                display.configure(&terminal)
                options.terminal = terminal
            } else {
                // A sensor that fails is shown at once: on the screen, or here headless.
                options.sensorLost = { printError("error: \($0)") }
            }
            let runner = Runner(source: DeviceSamples(capture, imuTrack: imuTrack), options: options)
            screen?.enter()
            let result: RunResult
            do {
                defer { screen?.leave() }
                result = try runner.run(shouldStop: stopCondition(duration: sensors.duration))
            }
            for note in result.notes { printError("note: \(note)") }
            // Headless, each fault was printed when it happened.
            if drawing { for fault in result.faults { printError("error: \(fault)") } }
            let overruns = capture.microphone.map { $0.overruns > 0 ? ", \($0.overruns) microphone overrun\($0.overruns == 1 ? "" : "s") (audio lost)" : "" } ?? ""
            print("live: \(result.frames) frames and \(result.audioBlocks) audio blocks\(overruns)\(capture.camera.map { $0.droppedFrames > 0 ? ", \($0.droppedFrames) frames dropped by the camera" : "" } ?? "")")
            print(result.latencyTable())
            if let report { try writeReport(result, to: report) }
            if !result.faults.isEmpty { throw ExitCode(2) }
        }
    }
}

