import Dispatch
import Foundation
import Logging
import VisorAssistant
import VisorCore
import VisorDisplay
import VisorPerception
import VisorSession

/// The runtime's pipeline: fast stages on every frame in order on the calling thread; the
/// asynchronous stages (the slow perception stages, speech, the assistant) on the one
/// `StageScheduler`; the scene context updated from their results, and every stage timed by the
/// runtime.
public final class Pipeline {
    /// Nice values of the asynchronous stages' threads, relative to the frame thread's: the slow
    /// perception stages +15 (they drop frames when late, by design), listening +8 (it needs a
    /// fortieth of a core), the assistant and its model +10. Linux shares a core by weight (nice 0
    /// weighs 1024, 8 weighs 172, 10 weighs 110, 15 weighs 36), so the frame thread keeps most of
    /// a core it shares; at +2 and +5, listening and the model took up to two fifths of it (the
    /// street's capture-to-HUD p99 with every stage: 3.6-4.9 ms, against 3.4-3.6 at these values,
    /// on an AMD EPYC with AVX2, 2 cores; see the README).
    /// Linux's idle policy for the slow stages was tried: it did not lower that p99, and it would
    /// starve them while another process keeps the other core busy.
    public static let niceness: (slowStages: Int32, speech: Int32, assistant: Int32) = (15, 8, 10)

    public struct Options {
        public var profile: DeviceProfile
        public var mode: SchedulingMode = .freeRunning
        public var workerThreads = 2
        public var transcript: TranscriptWriter?
        public var trace: TraceRecorder?
        /// Listens to the microphone, when the session or device has one and speech is wanted.
        public var speech: SpeechStage?
        /// Audio comes from a file: wait for the listener rather than drop audio (false live).
        public var audioFromFile = true
        /// Answers what is heard and raises proactive cues.
        public var assistant: AssistantStage?
        public init(profile: DeviceProfile) { self.profile = profile }
    }

    public let fastStages: [FastStage]
    public let slowStages: [SlowStage]
    /// What the run measured: the fast path's figures, and the asynchronous stages' from the scheduler.
    public var metrics: RuntimeMetrics {
        var m = ownMetrics
        for i in slowStages.indices { m.slowStages[i] = scheduler.metrics(i) }
        if let speechLane {
            let speech = scheduler.metrics(speechLane)
            m.speech = speech.latency
            m.speechDrops = speech.drops
        }
        return m
    }
    private var ownMetrics: RuntimeMetrics
    public private(set) var state = FrameState()
    private let options: Options
    private let scheduler: StageScheduler
    /// The scheduler's lanes: the slow stages first (lane i is slow stage i), then speech and the
    /// assistant when there are.
    private let speechLane: Int?
    private let assistantLane: Int?
    private var ready: [StageJob] = []
    private var assistantEvents: [(UInt64, TranscriptEvent)] = []
    private var frameIndex = 0
    private var fastTraceNames: [Int32] = []
    private var fastTraceTracks: [Int32] = []
    private let logger = Logger(label: "visor.pipeline")

    /// - Throws: `VisorError` when a stage reads something that neither the input nor an earlier
    ///   stage provides, or two stages share a name.
    public init(fastStages: [FastStage], slowStages: [SlowStage], options: Options) throws {
        var available: Set<ContextKey> = [.encodedFrame]
        for stage in fastStages {
            let missing = stage.reads.subtracting(available)
            guard missing.isEmpty else {
                throw VisorError("stage \(stage.name) reads \(missing.map(\.rawValue).sorted().joined(separator: ", ")), which no earlier stage writes")
            }
            available.formUnion(stage.writes)
        }
        for stage in slowStages where !stage.reads.isSubset(of: available) {
            throw VisorError("slow stage \(stage.name) reads \(stage.reads.subtracting(available).map(\.rawValue).sorted().joined(separator: ", ")), which no fast stage writes")
        }
        let names = fastStages.map(\.name) + slowStages.map(\.name)
        guard Set(names).count == names.count else { throw VisorError("two stages share a name: \(names.joined(separator: ", "))") }

        self.fastStages = fastStages
        self.slowStages = slowStages
        self.options = options
        let latencies = slowStages.map { options.profile.modelledLatencyNanoseconds($0.name) }
        ownMetrics = RuntimeMetrics(fastStageNames: fastStages.map(\.name), slowStageNames: slowStages.map(\.name),
                                    slowStageBudgets: latencies, frameBudgetNanoseconds: options.profile.frameBudgetNanoseconds)
        ownMetrics.speechResults = LatencySeries(budgetNanoseconds: options.speech?.modelledLatency ?? options.profile.modelledLatencyNanoseconds(SpeechStage.name))
        ownMetrics.modelLoadNanoseconds = (options.assistant?.assistant.model as? LanguageModel)?.loadNanoseconds
        // Three worker groups, so that none waits behind another: the slow stages' pool, the
        // listener's thread, the assistant's thread. On a machine with few cores they share the
        // frame thread's core: the frame path comes first (the slow stages drop frames when
        // late, by design), then listening, then the assistant's model (whose own threads inherit
        // its nice value); see `Pipeline.niceness`.
        var lanes = zip(slowStages, latencies).map { $0.lane(modelledLatencyNanoseconds: $1, group: 0) }
        speechLane = options.speech.map { speech in lanes.append(speech.lane(group: 1)); return lanes.count - 1 }
        assistantLane = options.assistant.map { assistant in lanes.append(assistant.lane(group: 2)); return lanes.count - 1 }
        let groups = [
            WorkerGroup(threads: max(1, options.workerThreads), threadName: { "visor-worker-\($0 + 1)" }, traceTrack: { "worker \($0 + 1)" },
                        niceness: Self.niceness.slowStages),
            WorkerGroup(threads: 1, threadName: { _ in "visor-speech" }, traceTrack: { _ in "speech" }, niceness: Self.niceness.speech),
            WorkerGroup(threads: 1, threadName: { _ in "visor-assistant" }, traceTrack: { _ in "assistant" }, niceness: Self.niceness.assistant),
        ]
        scheduler = StageScheduler(lanes: lanes, groups: groups, mode: options.mode, inline: options.workerThreads == 0, trace: options.trace)
        state.stats.stageNames = fastStages.map(\.name) + slowStages.map(\.name) + [SpeechStage.name]
        state.stats.latestNanoseconds = Array(repeating: 0, count: state.stats.stageNames.count)
        state.stats.drops = Array(repeating: 0, count: state.stats.stageNames.count)
        ready.reserveCapacity(8)
        if let trace = options.trace {
            fastTraceNames = fastStages.map { trace.nameIndex($0.name) }
            fastTraceTracks = fastStages.map { trace.trackIndex("fast: \($0.name)") }
        }
    }

    deinit { scheduler.shutdown() }

    /// Processes one camera frame.
    /// - Parameters:
    ///   - message: the encoded camera message.
    ///   - sessionTime: its capture time since the session began (the virtual clock in deterministic mode).
    ///   - wallClock: its capture time as Unix time, if the session has one.
    ///   - arrival: monotonic time at which the frame was due (paced or live) or read (as fast as possible).
    ///   - terminal: where to draw, or nil when headless; `write` is timed as part of the frame.
    @discardableResult
    public func process(_ message: MCAPMessage, sessionTime: UInt64, wallClock: UInt64?, arrival: UInt64,
                        terminal: (size: TerminalSize, write: (UnsafeRawBufferPointer) -> Void)? = nil) throws -> Bool {
        try process(input: .message(message), sessionTime: sessionTime, wallClock: wallClock, arrival: arrival, terminal: terminal)
    }

    /// Hands one block of microphone audio, its capture time on the session's clock, to the
    /// speech stage (if any).
    public func process(audio block: AudioBlock) {
        guard let speech = options.speech, let speechLane else { return }
        scheduler.submit(speech.job(lane: speechLane, block), inputTime: block.captureTimeNanoseconds + block.durationNanoseconds,
                         now: DispatchTime.now().uptimeNanoseconds, waitWhenFull: options.audioFromFile)
    }

    /// Hands one IMU sample (its time on the session's clock) to the motion stage.
    public func process(imu sample: ImuSample) {
        for case let motion as MotionStage in fastStages { motion.take(sample) }
    }

    /// Where the wearer looks, in the camera's image as stored; turned as the frames are turned
    /// (the view's size is the last frame's: a point before the first frame is dropped). A
    /// point outside the view, or of no confidence, clears the gaze.
    public func process(gazeX x: Double, y: Double, confidence: Double, at sessionTime: UInt64, rotationClockwiseDegrees: Int) {
        let w = Double(state.frame.widthPixels), h = Double(state.frame.heightPixels)
        guard w > 0, h > 0, x.isFinite, y.isFinite else { return }
        // The view is the stored image turned; its width is the stored height for a quarter turn.
        let (vx, vy): (Double, Double)
        switch ((rotationClockwiseDegrees / 90) % 4 + 4) % 4 {
        case 1: (vx, vy) = (w - 1 - y, x)
        case 2: (vx, vy) = (w - 1 - x, h - 1 - y)
        case 3: (vx, vy) = (y, h - 1 - x)
        default: (vx, vy) = (x, y)
        }
        guard confidence > 0, vx >= 0, vy >= 0, vx < w, vy < h else { state.scene.gaze = nil; return }
        state.scene.gaze = GazePoint(x: Int(vx), y: Int(vy), confidence: confidence, timeNanoseconds: sessionTime)
    }

    /// Acts on a touchpad gesture or button press, at its time on the session's clock: a tap
    /// wakes the assistant as the wake phrase does (the listener then takes the next words as
    /// the command), a long press stops its speech, a swipe forward reads on and a swipe back
    /// reads the last lines again, the capture button takes a photo. A control the profile's
    /// hardware does not have is noted and ignored. Each is an `input` event in the transcript.
    public func handle(_ input: InputEvent) throws {
        let has = options.profile.inputs.map { $0.contains(input.kind) } ?? false
        var fields: [(String, TranscriptEvent.Value)] = [("input", .string(input.kind.rawValue)), ("source", .string(input.source))]
        let heard: HeardSpeech?
        switch input.kind {
        case .tap: heard = HeardSpeech(kind: .wake, label: "tap", words: "", startNanoseconds: input.timeNanoseconds, endNanoseconds: input.timeNanoseconds)
        case .longPress: heard = HeardSpeech(command: .stop, words: "", startNanoseconds: input.timeNanoseconds, endNanoseconds: input.timeNanoseconds)
        case .swipeForward: heard = HeardSpeech(command: .goOn, words: "", startNanoseconds: input.timeNanoseconds, endNanoseconds: input.timeNanoseconds)
        case .swipeBack: heard = HeardSpeech(command: .goBack, words: "", startNanoseconds: input.timeNanoseconds, endNanoseconds: input.timeNanoseconds)
        case .capture: heard = HeardSpeech(command: .takePhoto, words: "", startNanoseconds: input.timeNanoseconds, endNanoseconds: input.timeNanoseconds)
        case .doubleTap: heard = nil
        }
        if !has {
            fields.append(("ignored", .string("the \(options.profile.name) profile has no \(input.kind.rawValue)")))
        } else if heard == nil {
            fields.append(("ignored", .string("nothing is bound to \(input.kind.rawValue)")))
        } else {
            fields.append(("action", .string(heard!.kind == .wake ? "wake" : heard!.label)))
        }
        try options.transcript?.event(timeNanoseconds: input.timeNanoseconds, TranscriptEvent(kind: .input, fields: fields))
        guard has, var heard else { return }
        if heard.kind == .wake { options.speech?.wake(at: input.timeNanoseconds) }
        heard.decidedAtNanoseconds = input.timeNanoseconds
        try hear(heard, at: input.timeNanoseconds)
    }

    /// Something heard (or a control that stands for it): into the scene, the transcript and the assistant.
    private func hear(_ h: HeardSpeech, at sessionTime: UInt64) throws {
        state.scene.heard.append(h)
        if state.scene.heard.count > SceneContext.heardLimit { state.scene.heard.removeFirst() }
        try options.transcript?.event(timeNanoseconds: sessionTime, h.transcriptEvent)
        guard let assistant = options.assistant, let assistantLane else { return }
        let request = assistant.job(lane: assistantLane, h, scene: state.scene, frame: state.frame, wallClock: state.wallClockNanoseconds)
        scheduler.submit(request, inputTime: sessionTime, now: DispatchTime.now().uptimeNanoseconds, onCaller: request.onCaller)
    }

    /// Publishes what the speech stage has heard, without a camera frame (a microphone alone:
    /// there are no frames to publish at).
    public func publishHeard(sessionTime: UInt64) throws {
        guard let speechLane else { return }
        scheduler.collect(speechLane, upTo: sessionTime, freeRunning: true, into: &ready)
        try publishSpeech(ready, at: sessionTime)
        try publishAssistant(at: sessionTime)
    }

    /// Applies what the assistant has ready (overlays, speech, memory and model events), raises
    /// its cues and expires overlays.
    private func publishAssistant(at sessionTime: UInt64, waitForAll: Bool = false) throws {
        guard let assistant = options.assistant, let assistantLane else { return }
        assistantEvents.removeAll(keepingCapacity: true)
        if waitForAll {
            scheduler.drain(assistantLane, into: &ready)
        } else {
            scheduler.collect(assistantLane, upTo: sessionTime, into: &ready)
        }
        try assistant.publish(ready, upTo: sessionTime, scene: &state.scene, everything: waitForAll, into: &assistantEvents)
        if let transcript = options.transcript {
            for (time, event) in assistantEvents { try transcript.event(timeNanoseconds: time, event) }
        }
        let measured = assistant.takeLatencies()
        for t in measured.wakeToOverlay { ownMetrics.wakeToOverlay.record(t) }
        for t in measured.commandToOverlay { ownMetrics.commandToOverlay.record(t) }
        for t in measured.commandToSpeech { ownMetrics.commandToSpeech.record(t) }
        for g in measured.generations {
            ownMetrics.modelAnswers += 1
            if g.promptTokens > 0 { ownMetrics.promptTokensPerSecond.append(g.promptTokensPerSecond) }
            if g.generatedTokens > 0 { ownMetrics.generatedTokensPerSecond.append(g.generatedTokensPerSecond) }
        }
    }

    /// Processes one camera frame, from whatever it arrived as.
    /// - Returns: false when the frame could not be decoded and was skipped (a `stage_error` event).
    @discardableResult
    public func process(input: FrameInput, sessionTime: UInt64, wallClock: UInt64?, arrival: UInt64,
                        terminal: (size: TerminalSize, write: (UnsafeRawBufferPointer) -> Void)? = nil) throws -> Bool {
        defer { state.input = nil }
        var arrival = arrival
        let beforePublishing = DispatchTime.now().uptimeNanoseconds
        // The assistant's steps due by now go first: what is heard now asks for steps due later.
        try publishAssistant(at: sessionTime)
        try publishResults(upTo: sessionTime)
        var previous = DispatchTime.now().uptimeNanoseconds
        // A deterministic run may wait here for a result that is due on the virtual clock; that
        // wait belongs to the model, not to the frame's latency.
        if options.mode == .deterministic { arrival &+= previous &- beforePublishing }
        state.input = input
        if state.stats.frames > 0, sessionTime > state.sessionTimeNanoseconds {
            let rate = 1e9 / Double(sessionTime - state.sessionTimeNanoseconds)
            state.stats.framesPerSecond = state.stats.framesPerSecond == 0 ? rate : state.stats.framesPerSecond * 0.9 + rate * 0.1
        }
        state.stats.frames += 1
        state.sessionTimeNanoseconds = sessionTime
        state.wallClockNanoseconds = wallClock
        state.terminalView = terminal?.size
        for (i, stage) in fastStages.enumerated() {
            do {
                try stage.process(&state)
            } catch where stage.reads.contains(.encodedFrame) {
                // A frame that cannot be decoded (a corrupt JPEG) is skipped, said in the
                // transcript, and the run goes on with the next; the view keeps the last good frame.
                try skipUndecodable(stage: stage.name, error: error, sessionTime: sessionTime)
                return false
            }
            let now = DispatchTime.now().uptimeNanoseconds
            ownMetrics.fastStages[i].record(now &- previous)
            state.stats.latestNanoseconds[i] = now &- previous
            if let trace = options.trace { trace.record(name: fastTraceNames[i], track: fastTraceTracks[i], start: previous, end: now) }
            if stage.writes.contains(.hud) { ownMetrics.captureToHUD.record(now &- arrival) }
            previous = now
        }
        if let terminal, !state.terminalBytes.isEmpty {
            state.terminalBytes.withUnsafeBytes { terminal.write($0) }
            ownMetrics.captureToTerminal.record(DispatchTime.now().uptimeNanoseconds &- arrival)
        }
        // Downstream, a frame's capture time is the session's clock.
        state.frame.captureTimeNanoseconds = sessionTime
        if !slowStages.isEmpty {
            let now = DispatchTime.now().uptimeNanoseconds
            for (i, stage) in slowStages.enumerated() where stage.wants(state.scene) {
                let frame = state.frame
                let dropped = scheduler.offer(i, inputTime: sessionTime, now: now) { job in (job as! SlowStageJob).load(frame) }
                if dropped { state.stats.drops[fastStages.count + i] += 1 }
            }
        }
        if let transcript = options.transcript {
            for event in state.events { try transcript.event(timeNanoseconds: sessionTime, event) }
            try transcript.event(timeNanoseconds: sessionTime, TranscriptEvent(kind: .frame, fields: [
                ("index", .int(Int64(frameIndex))), ("width", .int(Int64(state.frame.widthPixels))),
                ("height", .int(Int64(state.frame.heightPixels))), ("light", .fixed(state.scene.lightLevel, decimals: 3)),
            ]))
        }
        state.events.removeAll(keepingCapacity: true)
        frameIndex += 1
        ownMetrics.frames += 1
        return true
    }

    /// Draws the last frame again through the stages that compose and draw the view (HUD,
    /// display, terminal), with the scene as it is now: a key changed what is shown while paused,
    /// or the camera is gone and what is heard and answered must still be seen. Not timed: no
    /// frame arrived.
    /// - Parameter sessionTime: the session's clock now (the HUD's time), or nil to keep the frame's.
    public func redraw(sessionTime: UInt64? = nil, terminal: (size: TerminalSize, write: (UnsafeRawBufferPointer) -> Void)) {
        if let sessionTime { state.sessionTimeNanoseconds = max(state.sessionTimeNanoseconds, sessionTime) }
        state.terminalView = terminal.size
        for stage in fastStages where !stage.writes.isDisjoint(with: [.hud, .display, .terminal]) { try? stage.process(&state) }
        state.events.removeAll(keepingCapacity: true)
        if !state.terminalBytes.isEmpty { state.terminalBytes.withUnsafeBytes { terminal.write($0) } }
    }

    private func skipUndecodable(stage: String, error: Error, sessionTime: UInt64) throws {
        let reason = (error as? VisorError)?.message ?? "\(error)"
        ownMetrics.undecodableFrames += 1
        if ownMetrics.firstUndecodable == nil { ownMetrics.firstUndecodable = (sessionTime, reason) }
        try options.transcript?.event(timeNanoseconds: sessionTime, TranscriptEvent(kind: .stageError, fields: [
            ("stage", .string(stage)), ("index", .int(Int64(frameIndex))), ("error", .string(reason)),
        ]))
        state.events.removeAll(keepingCapacity: true)
        frameIndex += 1
    }

    /// Publishes the asynchronous stages' results still outstanding (at their visibility times in
    /// deterministic mode) and stops the workers.
    public func finish() throws {
        if let speechLane {
            scheduler.drain(speechLane, into: &ready)
            for job in ready {
                try publishSpeech([job], at: options.mode == .deterministic ? max(job.visibleAtNanoseconds, state.sessionTimeNanoseconds) : state.sessionTimeNanoseconds)
            }
        }
        if let assistant = options.assistant {
            try publishAssistant(at: state.sessionTimeNanoseconds, waitForAll: true)
            try assistant.finish()
        }
        var rest: [StageJob] = []
        for i in slowStages.indices {
            scheduler.drain(i, into: &ready)
            rest += ready
        }
        rest.sort { ($0.visibleAtNanoseconds, $0.lane) < ($1.visibleAtNanoseconds, $1.lane) }
        for job in rest {
            try publish(job as! SlowStageJob, at: options.mode == .deterministic ? job.visibleAtNanoseconds : state.sessionTimeNanoseconds)
        }
        scheduler.shutdown()
    }

    private func publishResults(upTo sessionTime: UInt64) throws {
        if let speechLane {
            scheduler.collect(speechLane, upTo: sessionTime, into: &ready)
            try publishSpeech(ready, at: sessionTime)
            // The level and voice activity are the listener's now, not delayed as what it heard is.
            if let latest = scheduler.latest(speechLane) as? SpeechStage.Job {
                state.scene.audioLevel = latest.level
                state.scene.voiceActive = latest.voiceActive
                state.stats.latestNanoseconds[state.stats.latestNanoseconds.count - 1] = latest.processingNanoseconds
            }
        }
        for i in slowStages.indices {
            scheduler.collect(i, upTo: sessionTime, into: &ready)
            for job in ready { try publish(job as! SlowStageJob, at: sessionTime) }
        }
    }

    /// Publishes what listening to each block heard, in order, and hands it to the assistant.
    private func publishSpeech(_ jobs: [StageJob], at sessionTime: UInt64) throws {
        for case let job as SpeechStage.Job in jobs {
            if !job.heard.isEmpty { ownMetrics.speechResults.record(job.processingNanoseconds) }
            for h in job.heard { try hear(h, at: sessionTime) }
        }
    }

    private func publish(_ job: SlowStageJob, at sessionTime: UInt64) throws {
        defer { scheduler.recycle(job) }
        state.stats.latestNanoseconds[fastStages.count + job.lane] = job.processingNanoseconds
        switch job.output {
        case .success(let output):
            output.update(&state.scene)
            guard let transcript = options.transcript else { return }
            for var event in output.events {
                event.fields.append(("source_time_ns", .int(Int64(job.inputTimeNanoseconds))))
                try transcript.event(timeNanoseconds: sessionTime, event)
            }
        case .failure(let error):
            logger.error("stage \(slowStages[job.lane].name) failed on the frame at \(formatSessionTime(job.inputTimeNanoseconds)): \(error)")
            try options.transcript?.event(timeNanoseconds: sessionTime, TranscriptEvent(kind: .stageError, fields: [
                ("stage", .string(slowStages[job.lane].name)), ("error", .string("\(error)")),
                ("source_time_ns", .int(Int64(job.inputTimeNanoseconds))),
            ]))
        case .none:
            break
        }
    }
}
