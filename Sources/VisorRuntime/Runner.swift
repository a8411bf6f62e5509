import Dispatch
import Foundation
import Logging
import Synchronization
import VisorAssistant
import VisorCore
import VisorDisplay
import VisorMedia
import VisorPerception
import VisorSession

/// Where a run's samples come from: a recorded session, the camera and microphone, later other
/// recordings. A source delivers frames (as they arrived: a message, a device buffer) and audio
/// blocks, stamped on the session's clock, to the runner; the runner does everything else.
public protocol SampleSource: AnyObject {
    /// What the run is of, for its result: a session's path, a camera's device.
    var runName: String { get }
    /// How the camera's messages are encoded (a session's schema and topic; empty for devices).
    var cameraSchema: String { get }
    var cameraTopic: String { get }
    /// How the camera's frames are turned to be shown upright (0 for a device).
    var cameraRotationClockwiseDegrees: Int { get }
    var hasMicrophone: Bool { get }
    /// The camera frames it holds, when it knows (the status line's "frame 12/300").
    var expectedFrames: Int? { get }
    /// True for devices: samples come in real time, audio on a thread of its own, and no pause.
    var isLive: Bool { get }
    /// The session time now, for a live source (what happens after its last sample is placed
    /// there); nil for a recording.
    var sessionTimeNow: UInt64? { get }
    /// Delivers samples to `sink` until the source ends or the sink says stop.
    func deliver(to sink: SampleSink) throws -> SourceEnd
}

/// How a source ended.
public struct SourceEnd {
    public var stopped = false
    /// A session that ends early: where reading stopped and why.
    public var damage: MCAPDamage?
    public var corruptChunks: [MCAPDamage] = []
    public var faults: [String] = []
    public var notes: [String] = []
    public init() {}
}

/// What a source hands the runner. `frame`, `idle` and `poll` are called on the run's thread;
/// `audio` and `lost` may come from a source's own thread when `isLive`.
public protocol SampleSink: AnyObject, Sendable {
    /// Set once the run should end (a signal, `q`, a failure): cheap, from any thread.
    var stopRequested: Bool { get }
    /// Whether audio blocks are wanted (a source may skip decoding them).
    var wantsAudio: Bool { get }
    /// Between samples: reads keys (pausing while paused, when the source can pause) and the
    /// stop condition. False when the run should end.
    func poll() -> Bool
    /// Waits until a paced sample is due: `sessionTime` divided by `factor` after the start, less
    /// time spent paused. False when the run should end meanwhile.
    func waitUntilDue(sessionTime: UInt64, factor: Double) -> Bool
    func frame(_ input: FrameInput, sessionTime: UInt64, wallClock: UInt64?, arrival: UInt64) throws
    func audio(_ block: AudioBlock) throws
    /// One IMU sample, its time on the session's clock (run's thread).
    func imu(_ sample: ImuSample) throws
    /// A touchpad gesture or button press, its time on the session's clock (run's thread).
    func input(_ event: InputEvent) throws
    /// Where the wearer looks, in the camera's image as stored (turned as the frames are), on
    /// the session's clock (run's thread).
    func gaze(x: Double, y: Double, confidence: Double, sessionTime: UInt64, rotationClockwiseDegrees: Int) throws
    /// An audio message left undecoded (`wantsAudio` was false): counted, and its time noted.
    func skippedAudio(sessionTime: UInt64)
    /// No frame to publish at (a microphone alone): publishes what was heard at `sessionTime`.
    func idle(sessionTime: UInt64) throws
    /// A sensor failed; reported on the run's thread at the next frame or idle call.
    func lost(_ fault: String)
    /// An error on a source's own path (a transcript that cannot be written): the run stops and
    /// `run()` throws it once everything is finished.
    func fail(_ error: Error)
}

// MARK: sessions

/// A recorded session as a source: its messages in log-time order, paced at `speed`, optionally
/// replayed `repeatCount` times back to back on one clock.
public final class SessionSamples: SampleSource {
    public let session: SessionSource
    public var speed: ReplaySpeed
    public var repeatCount: Int

    public init(_ session: SessionSource, speed: ReplaySpeed = .max, repeatCount: Int = 1) {
        self.session = session
        self.speed = speed
        self.repeatCount = repeatCount
    }

    public var runName: String { session.reader.path }
    public var cameraSchema: String { session.cameraSchema }
    public var cameraTopic: String { session.cameraChannel.topic }
    public var cameraRotationClockwiseDegrees: Int { session.cameraRotationClockwiseDegrees }
    public var hasMicrophone: Bool { session.audioChannel != nil }
    public var expectedFrames: Int? { Int(session.cameraMessageCount) }
    public var isLive: Bool { false }
    public var sessionTimeNow: UInt64? { nil }

    public func deliver(to sink: SampleSink) throws -> SourceEnd {
        var end = SourceEnd()
        let start = session.startTimeNanoseconds
        let hasWallClock = start > 1_000_000_000 * 978_307_200  // after 2001: log times are Unix time
        let sessionLength = (session.reader.statistics.messageEndTime &- start) + 1_000_000
        replaying: for round in 0..<max(1, repeatCount) {
            let offset = UInt64(round) * sessionLength
            var messages = session.messages()
            while let message = messages.next() {
                guard sink.poll() else { end.stopped = true; break replaying }
                let sessionTime = (message.logTime &- start) + offset
                if case .times(let factor) = speed, !sink.waitUntilDue(sessionTime: sessionTime, factor: factor) {
                    end.stopped = true
                    break replaying
                }
                if message.channelID == session.imuChannel?.id {
                    let imu = try session.decodeImu(message)
                    let a = imu.linearAcceleration, w = imu.angularVelocity
                    try sink.imu(ImuSample(timeNanoseconds: sessionTime, gyro: (w.x, w.y, w.z), accel: (a.x, a.y, a.z)))
                    continue
                }
                if message.channelID == session.gazeChannel?.id {
                    let gaze = try GazeMessage.decode(message.data[...])
                    // A point in another camera's image (or none) is of no use to this view.
                    if !gaze.imageFrameID.isEmpty, gaze.imageFrameID == session.cameraFrameID || session.cameraFrameID == nil {
                        try sink.gaze(x: gaze.imageX, y: gaze.imageY, confidence: gaze.confidence, sessionTime: sessionTime,
                                      rotationClockwiseDegrees: session.cameraRotationClockwiseDegrees)
                    }
                    continue
                }
                if message.channelID == session.inputChannel?.id {
                    // A control Visor does not know is skipped (its transcript says nothing of it).
                    if let kind = try? session.decodeInput(message) {
                        try sink.input(InputEvent(timeNanoseconds: sessionTime, kind: kind, source: "session"))
                    }
                    continue
                }
                guard message.channelID == session.cameraChannel.id else {
                    if sink.wantsAudio, case .audio(var block) = try session.decode(message) {
                        block.captureTimeNanoseconds = sessionTime
                        try sink.audio(block)
                    } else {
                        sink.skippedAudio(sessionTime: sessionTime)
                    }
                    continue
                }
                try sink.frame(.message(message), sessionTime: sessionTime, wallClock: hasWallClock ? message.logTime : nil,
                               arrival: DispatchTime.now().uptimeNanoseconds)
            }
        }
        end.damage = session.reader.damage
        end.corruptChunks = session.reader.corruptChunks
        return end
    }
}

// MARK: devices

/// The camera and the microphone as a source. Session time starts at the first sample's capture
/// time (the devices' own, on the monotonic clock), whichever sensor gives one first.
public final class DeviceSamples: SampleSource {
    public let capture: SensorCapture
    private let origin = Locked<UInt64?>(nil)

    /// A virtual IMU: samples played in real time from the start of the run (times relative to
    /// the first), as `visor live --imu SESSION` plays a recorded IMU track.
    private let imuTrack: [ImuSample]
    private var nextImu = 0

    public init(_ capture: SensorCapture, imuTrack: [ImuSample] = []) {
        self.capture = capture
        self.imuTrack = imuTrack
    }

    /// The IMU track's samples due by now, on the run's thread.
    private func deliverImu(to sink: SampleSink) {
        guard nextImu < imuTrack.count, let now = sessionTimeNow else { return }
        while nextImu < imuTrack.count, imuTrack[nextImu].timeNanoseconds <= now {
            do { try sink.imu(imuTrack[nextImu]) } catch { sink.fail(error); nextImu = imuTrack.count; return }
            nextImu += 1
        }
    }

    public var runName: String { capture.camera?.path ?? "microphone" }
    public var cameraSchema: String { "" }
    public var cameraTopic: String { "" }
    public var cameraRotationClockwiseDegrees: Int { 0 }
    public var hasMicrophone: Bool { capture.microphone != nil }
    public var expectedFrames: Int? { nil }
    public var isLive: Bool { true }
    public var sessionTimeNow: UInt64? {
        let now = Self.monotonicNow()
        return origin.withLock { start in start.map { now >= $0 ? now - $0 : 0 } }
    }

    private func sessionTime(_ capture: UInt64) -> UInt64 { Self.sessionTime(capture, origin: origin) }

    /// A sample's session time; the first sample sets the origin. A sample captured before it (a
    /// block whose first sample came before the other sensor's first frame arrived) is at 0.
    static func sessionTime(_ capture: UInt64, origin: Locked<UInt64?>) -> UInt64 {
        let start = origin.withLock { start in
            if let start { return start }
            start = capture
            return capture
        }
        return capture >= start ? capture - start : 0
    }

    static func monotonicNow() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    public func deliver(to sink: SampleSink) throws -> SourceEnd {
        var lastIdle: UInt64 = 0
        let origin = self.origin
        let (faults, ended) = capture.run(shouldStop: { sink.stopRequested }, poll: { _ = sink.poll(); self.deliverImu(to: sink) }, onFrame: { input, info in
            do {
                try sink.frame(input, sessionTime: self.sessionTime(info.captureTimeNanoseconds), wallClock: nil, arrival: info.captureTimeNanoseconds)
            } catch {
                sink.fail(error)
            }
        }, onAudio: { block in
            var block = block
            block.captureTimeNanoseconds = Self.sessionTime(block.captureTimeNanoseconds, origin: origin)
            try sink.audio(block)
        }, onFault: { fault in
            sink.lost(fault)
        }, whileNoCamera: {
            // With no camera there are no frames to publish what was heard at: publish it here,
            // ten times a second, on the microphone's clock.
            // Not before the first audio block has set the session's origin: "now" is later
            // than that block's capture time, and would put the origin after it.
            let now = Self.monotonicNow()
            guard now &- lastIdle > 100_000_000, let sessionTime = self.sessionTimeNow else { return }
            lastIdle = now
            do { try sink.idle(sessionTime: sessionTime) } catch { sink.fail(error) }
        })
        var end = SourceEnd()
        end.stopped = true
        end.faults = faults
        end.notes = ended
        return end
    }
}

// MARK: the runner

/// Runs the pipeline over a source: the fast stages (convert, light, motion, HUD, display,
/// terminal) on every frame on the calling thread, the slow stages on workers, speech and the
/// assistant; writes the transcript, the trace, an annotated session and snapshots; reports
/// sensors lost and camera stalls. Replay, live and bench are this runner, configured.
///
/// Threads: everything is the run's thread's but the stop flag, the audio count, the sensors lost
/// and the first failure (atomic or behind a `Mutex`), which a live source's microphone thread
/// also reaches, with `audio`, whose only other work is the scheduler's thread-safe `submit` to
/// the speech stage (a live run writes no output session). Hence `@unchecked Sendable`.
public final class Runner: SampleSink, @unchecked Sendable {
    private let source: SampleSource
    private let options: RunOptions
    private let logger = Logger(label: "visor.runner")

    // Shared with a live source's microphone thread.
    private let stopFlag = Atomic<Bool>(false)
    private let audioCount = Atomic<Int>(0)
    private let lostFaults = Mutex<[String]>([])
    private let firstFailure = Mutex<Error?>(nil)

    // The run's thread only.
    private var shouldStop: () -> Bool = { false }
    private var pipeline: Pipeline!
    private var terminalStage: TerminalStage?
    private var output: SessionWriter?
    private var redactor: FaceRedactor?
    private var transcript: TranscriptWriter?
    private var status: StatusLine!
    private var writeView: ((UnsafeRawBufferPointer) -> Void)?
    private var listening = false
    private var outputFrame = Frame(widthPixels: 0, heightPixels: 0, pixels: [], captureTimeNanoseconds: 0)
    private var frames = 0
    private var lastTime: UInt64 = 0
    private var wallStart: UInt64 = 0
    private var paused = false, stepping = false, pausedAt: UInt64 = 0, pausedFor: UInt64 = 0
    private var redrawNow = false, statusShowsPaused = false
    private var lastAlert: String?
    private var lastCapture: UInt64?
    private var usualInterval: UInt64 = 0
    private var stalls: [String] = []
    private var intervalLatencies: [UInt64] = []
    private var intervalStart: UInt64?
    private var nextInput = 0
    private var imuSamples = 0

    public init(source: SampleSource, options: RunOptions) {
        self.source = source
        self.options = options
    }

    /// A session, paced at `options.speed` and repeated `options.repeatCount` times.
    public convenience init(source: SessionSource, options: RunOptions) {
        self.init(source: SessionSamples(source, speed: options.speed, repeatCount: options.repeatCount), options: options)
    }

    /// The fast stages a run has, in order.
    public func fastStages() throws -> [FastStage] {
        var stages: [FastStage] = [ConvertStage(schema: source.cameraSchema, topic: source.cameraTopic, rotationClockwiseDegrees: source.cameraRotationClockwiseDegrees), LightStage(), MotionStage(),
                                   HUDStage(), try DisplayStage(profile: options.profile)]
        if let terminal = options.terminal {
            let stage = TerminalStage()
            stage.profileName = options.profile.name
            stage.encoder.mode = terminal.mode
            stage.encoder.colours = terminal.colours
            stage.encoder.diffing = terminal.diffing
            stages.append(stage)
        }
        return stages
    }

    /// Runs until the source ends (every round of a session) or `shouldStop` returns true. A
    /// runner runs once: its counts and clocks are the run's.
    /// - Throws: `VisorError` when a message cannot be decoded or an output cannot be written.
    public func run(shouldStop: @escaping () -> Bool = { false }) throws -> RunResult {
        precondition(pipeline == nil, "a Runner runs once; make another for another run")
        self.shouldStop = shouldStop
        let reading = (source as? SessionSamples)?.session.reader.path
        output = try options.outputPath.map { path -> SessionWriter in
            guard path != reading else { throw VisorError("the output session would overwrite the one replayed: \(path)") }
            guard !source.isLive else { throw VisorError("an annotated output session is written from a replay, not a live run") }
            return try SessionWriter(path: path)
        }
        redactor = options.redactFaces ? try FaceRedactor() : nil
        transcript = options.transcriptPath != nil || output != nil ? try TranscriptWriter(path: options.transcriptPath) : nil
        if let output, let reading {
            try output.addMetadata(name: "visor.replay", ["source": (reading as NSString).lastPathComponent,
                                                            "redact": options.redactFaces ? "faces" : "none", "profile": options.profile.name])
            transcript?.mirror = { time, json in try output.writeEvent(json: json, logTime: time) }
        }
        defer { try? transcript?.close() }
        wallStart = DispatchTime.now().uptimeNanoseconds
        let trace = options.tracePath.map { _ in TraceRecorder(origin: wallStart) }
        var pipelineOptions = Pipeline.Options(profile: options.profile)
        pipelineOptions.mode = options.deterministic ? .deterministic : .freeRunning
        pipelineOptions.workerThreads = options.workerThreads
        pipelineOptions.transcript = transcript
        pipelineOptions.trace = trace
        pipelineOptions.audioFromFile = !source.isLive
        if let wakePhrases = options.wakePhrases, source.hasMicrophone {
            let memory = options.assistant?.memory
            pipelineOptions.speech = try SpeechStage(wakePhrases: wakePhrases, recognition: options.recognition,
                                                     modelledLatencyNanoseconds: options.profile.modelledLatencyNanoseconds(options.recognition.latencyKey),
                                                     contextWords: memory.map { m in { (try? m.vocabulary()) ?? [] } })
        }
        if let assistant = options.assistant {
            var outputs = options.speechPlayback
            outputs.wavPath = options.speechOutputPath
            if let output { outputs.record = { try output.writeSpeech($0) } }
            pipelineOptions.assistant = AssistantStage(assistant: assistant, profile: options.profile, deterministic: options.deterministic, outputs: outputs)
        }
        listening = pipelineOptions.speech != nil
        let stages = try fastStages()
        terminalStage = stages.last as? TerminalStage
        pipeline = try Pipeline(fastStages: stages, slowStages: options.slowStages, options: pipelineOptions)
        if let directory = options.snapshotDirectory { try Snapshot.prepare(directory) }
        // Made once: a closure capturing per-frame values would be allocated on every frame.
        let status = StatusLine(total: source.expectedFrames ?? 0)
        self.status = status
        writeView = options.terminal.map { terminal in
            { bytes in
                terminal.write(bytes)
                if terminal.showsStatus { status.write(to: terminal) }
            }
        }

        // The frame path runs on this thread: a short slice lets it preempt the slow stages'
        // workers (started above, with the default slice) as soon as a frame arrives. The
        // thread goes back to the default one after: threads its caller starts later inherit it.
        WorkerThread.requestShortSlice()
        defer { WorkerThread.restoreDefaultSlice() }
        var end = try source.deliver(to: self)
        reportLost(at: source.sessionTimeNow)
        // Input events past the last sample still act (the answers are published as the run finishes).
        if !stopFlag.load(ordering: .relaxed) { try deliverInputs(upTo: .max) }
        if stopFlag.load(ordering: .relaxed) { end.stopped = true }
        try pipeline.finish()
        if let damage = end.damage, !end.stopped {
            try transcript?.event(timeNanoseconds: lastTime, TranscriptEvent(kind: .truncated, fields: [("offset", .int(Int64(damage.offset)))]))
        }
        try transcript?.close()
        try output?.finish()
        if let trace, let path = options.tracePath { try trace.write(to: path) }
        if let failure = firstFailure.withLock({ $0 }) { throw failure }
        let audioBlocks = audioCount.load(ordering: .relaxed)
        logger.info("ran \(frames) frames, \(audioBlocks) audio blocks\(imuSamples > 0 ? ", \(imuSamples) IMU samples" : "") of \(source.runName)")
        var result = RunResult(sessionPath: source.runName, profile: options.profile, deterministic: options.deterministic,
                               frames: frames, audioBlocks: audioBlocks, lastSampleTimeNanoseconds: lastTime,
                               metrics: pipeline.metrics, damage: end.damage, corruptChunks: end.corruptChunks, stopped: end.stopped)
        result.faults = end.faults
        result.notes = end.notes + stalls
        return result
    }

    // MARK: SampleSink

    public var stopRequested: Bool { stopFlag.load(ordering: .relaxed) }

    public var wantsAudio: Bool { listening || output != nil }

    private func requestStop() { stopFlag.store(true, ordering: .relaxed) }

    public func poll() -> Bool {
        if stopRequested { return false }
        // Keys: space pauses, the right arrow steps a frame, h and d toggle, q quits. A live run
        // cannot pause: the world goes on.
        while true {
            for key in options.terminal?.keys() ?? [] {
                switch key {
                case .pause where !source.isLive:
                    paused.toggle()
                    if paused { pausedAt = DispatchTime.now().uptimeNanoseconds } else { pausedFor += DispatchTime.now().uptimeNanoseconds - pausedAt }
                case .step where !source.isLive: if paused { stepping = true }
                case .pause, .step: break
                case .input(let kind):
                    // A control pressed now: at the live clock, or at the replay's last sample.
                    let event = InputEvent(timeNanoseconds: source.sessionTimeNow ?? lastTime, kind: kind, source: "keyboard")
                    do { try pipeline.handle(event) } catch { fail(error); return false }
                case .toggleHUD: terminalStage?.encoder.showsHUD.toggle(); redrawNow = true
                case .toggleDetections: terminalStage?.encoder.showsDetections.toggle(); redrawNow = true
                case .quit: requestStop(); return false
                }
            }
            status.paused = paused
            // Paused, a key that changes what is shown shows it now, not at the next frame.
            if redrawNow || paused != statusShowsPaused, frames > 0, let terminal = options.terminal, let writeView {
                pipeline.redraw(terminal: (terminal.size(), writeView))
                statusShowsPaused = paused
            }
            redrawNow = false
            if shouldStop() { requestStop(); return false }
            if !paused || stepping { return true }
            usleep(20_000)
        }
    }

    public func waitUntilDue(sessionTime: UInt64, factor: Double) -> Bool {
        if stepping { pausedFor = DispatchTime.now().uptimeNanoseconds &- wallStart &- UInt64(Double(sessionTime) / factor) }
        let due = wallStart + pausedFor + UInt64(Double(sessionTime) / factor)
        while DispatchTime.now().uptimeNanoseconds < due {
            if shouldStop() { requestStop(); return false }
            usleep(UInt32(min(10_000, (due &- DispatchTime.now().uptimeNanoseconds) / 1000 + 1)))
        }
        return true
    }

    public func audio(_ block: AudioBlock) throws {
        audioCount.add(1, ordering: .relaxed)
        // A live source calls from its microphone's thread: only the thread-safe parts.
        if !source.isLive {
            lastTime = max(lastTime, block.captureTimeNanoseconds)
            // A tap in the input file wakes the listener before the audio that follows it.
            try deliverInputs(upTo: block.captureTimeNanoseconds)
        }
        if listening { pipeline.process(audio: block) }
        try output?.writeAudio(block)
    }

    public func skippedAudio(sessionTime: UInt64) {
        audioCount.add(1, ordering: .relaxed)
        lastTime = max(lastTime, sessionTime)
    }

    public func frame(_ input: FrameInput, sessionTime: UInt64, wallClock: UInt64?, arrival: UInt64) throws {
        lastTime = max(lastTime, sessionTime)
        reportLost(at: sessionTime)
        try deliverInputs(upTo: sessionTime)
        var drawing: (size: TerminalSize, write: (UnsafeRawBufferPointer) -> Void)?
        if let terminal = options.terminal, let writeView {
            status.frame = frames + 1
            status.sessionTimeNanoseconds = sessionTime
            drawing = (terminal.size(), writeView)
        }
        let decoded = try pipeline.process(input: input, sessionTime: sessionTime, wallClock: wallClock, arrival: arrival, terminal: drawing)
        if stepping { stepping = false; pausedAt = DispatchTime.now().uptimeNanoseconds }
        if source.isLive { try noteStall(capture: arrival, sessionTime: sessionTime) }
        if let every = options.statsEveryNanoseconds { try intervalStats(arrival: arrival, sessionTime: sessionTime, every: every) }
        guard decoded else { return }
        let snapshot = options.snapshotDirectory != nil && frames % max(1, options.snapshotEvery) == 0
        if output != nil || snapshot {
            outputFrame = pipeline.state.frame
            outputFrame.captureTimeNanoseconds = sessionTime
            redactor?.redact(&outputFrame)
            try output?.writeFrame(outputFrame)
            if snapshot, let directory = options.snapshotDirectory {
                try Snapshot.write(outputFrame, display: pipeline.state.display, index: frames, to: directory)
            }
        }
        frames += 1
    }

    public func imu(_ sample: ImuSample) throws {
        lastTime = max(lastTime, sample.timeNanoseconds)
        imuSamples += 1
        try deliverInputs(upTo: sample.timeNanoseconds)
        pipeline.process(imu: sample)
    }

    public func gaze(x: Double, y: Double, confidence: Double, sessionTime: UInt64, rotationClockwiseDegrees: Int) throws {
        lastTime = max(lastTime, sessionTime)
        pipeline.process(gazeX: x, y: y, confidence: confidence, at: sessionTime, rotationClockwiseDegrees: rotationClockwiseDegrees)
    }

    public func input(_ event: InputEvent) throws {
        lastTime = max(lastTime, event.timeNanoseconds)
        try deliverInputs(upTo: event.timeNanoseconds)
        try pipeline.handle(event)
    }

    /// The input file's events due by `sessionTime`, in order.
    private func deliverInputs(upTo sessionTime: UInt64) throws {
        while nextInput < options.inputEvents.count, options.inputEvents[nextInput].timeNanoseconds <= sessionTime {
            try pipeline.handle(options.inputEvents[nextInput])
            nextInput += 1
        }
    }

    public func idle(sessionTime: UInt64) throws {
        lastTime = max(lastTime, sessionTime)
        reportLost(at: sessionTime)
        try deliverInputs(upTo: sessionTime)
        try pipeline.publishHeard(sessionTime: sessionTime)
        // The view keeps the last frame, with the HUD and panel as they are now.
        if let terminal = options.terminal, let writeView, frames > 0 {
            pipeline.redraw(sessionTime: sessionTime, terminal: (terminal.size(), writeView))
            if let lastAlert { terminal.alert?(lastAlert) }
        }
    }

    public func lost(_ fault: String) { lostFaults.withLock { $0.append(fault) } }

    public func fail(_ error: Error) {
        firstFailure.withLock { if $0 == nil { $0 = error } }
        requestStop()
    }

    // MARK: what a live run reports

    /// Shows each sensor lost since the last call and writes it to the transcript.
    private func reportLost(at sessionTime: UInt64? = nil) {
        let faults = lostFaults.withLock { list -> [String] in
            let taken = list
            list.removeAll()
            return taken
        }
        for fault in faults {
            let line = "lost: \(fault)"
            lastAlert = line
            options.terminal?.alert?(line)
            options.sensorLost?(fault)
            do {
                try transcript?.event(timeNanoseconds: sessionTime ?? lastTime, TranscriptEvent(kind: .sensorLost, fields: [("reason", .string(fault))]))
            } catch { fail(error) }
        }
    }

    /// A camera that stops delivering for a while and comes back: how long, in the transcript and
    /// the result's notes. A gap of over 1.5 s and over three of the camera's usual intervals.
    private func noteStall(capture: UInt64, sessionTime: UInt64) throws {
        if let last = lastCapture, capture &- last > max(1_500_000_000, 3 * usualInterval) {
            let gap = Double(capture &- last) / 1e9
            let from = sessionTime &- (capture &- last)
            stalls.append(String(format: "the camera delivered no frames for %.1f s, from %@", gap, formatSessionTime(from)))
            try transcript?.event(timeNanoseconds: sessionTime, TranscriptEvent(kind: .cameraStall, fields: [
                ("from_ns", .int(Int64(from))), ("seconds", .fixed(gap, decimals: 2)),
            ]))
        }
        if let last = lastCapture {
            let interval = capture &- last
            usualInterval = usualInterval == 0 ? interval : (usualInterval * 7 + min(interval, 2 * usualInterval)) / 8
        }
        lastCapture = capture
    }

    /// A long run's health, an interval at a time: frames, arrival-to-done latency percentiles,
    /// resident memory and open file descriptors, as `stats` events in the transcript.
    private func intervalStats(arrival: UInt64, sessionTime: UInt64, every: UInt64) throws {
        guard let transcript else { return }
        // On the clock `arrival` is on: the devices' monotonic clock, or the replay's own.
        let now = source.isLive ? DeviceSamples.monotonicNow() : DispatchTime.now().uptimeNanoseconds
        intervalLatencies.append(now &- arrival)
        let start = intervalStart ?? sessionTime
        intervalStart = start
        guard sessionTime &- start >= every else { return }
        intervalLatencies.sort()
        let l = intervalLatencies
        func percentile(_ p: Double) -> Double { Double(l[min(l.count - 1, Int(Double(l.count) * p))]) / 1e6 }
        try transcript.event(timeNanoseconds: sessionTime, TranscriptEvent(kind: .stats, fields: [
            ("frames", .int(Int64(l.count))),
            ("capture_to_done_p50_ms", .fixed(percentile(0.5), decimals: 2)), ("capture_to_done_p99_ms", .fixed(percentile(0.99), decimals: 2)),
            ("rss_mb", .fixed(ProcessHealth.residentMegabytes(), decimals: 1)), ("fds", .int(Int64(ProcessHealth.openFiles()))),
        ]))
        intervalLatencies.removeAll(keepingCapacity: true)
        intervalStart = sessionTime
    }
}

public typealias ReplayRunner = Runner

/// What a long run watches of its own process.
public enum ProcessHealth {
    public static func residentMegabytes() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }

    public static func openFiles() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0 }
}
