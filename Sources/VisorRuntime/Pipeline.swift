import Dispatch
import Foundation
import Logging
import VisorAssistant
import VisorCore
import VisorDisplay
import VisorSession

/// The runtime's pipeline: fast stages on every frame in order, slow stages on workers, the scene
/// context updated from their results, and every stage timed by the runtime.
public final class Pipeline {
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
    public private(set) var metrics: RuntimeMetrics
    public private(set) var state = FrameState()
    private let options: Options
    private let scheduler: SlowStageScheduler
    private var ready: [SlowJob] = []
    private var dropped: [Bool]
    private var wanted: [Bool]
    private var heardReady: [HeardSpeech] = []
    private var assistantEvents: [(UInt64, TranscriptEvent)] = []
    private var speechTimes: [UInt64] = []
    private var speechResultTimes: [UInt64] = []
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
        metrics = RuntimeMetrics(fastStageNames: fastStages.map(\.name), slowStageNames: slowStages.map(\.name),
                                 slowStageBudgets: latencies, frameBudgetNanoseconds: options.profile.frameBudgetNanoseconds)
        metrics.speechResults = LatencySeries(budgetNanoseconds: options.profile.modelledLatencyNanoseconds(SpeechStage.name))
        metrics.modelLoadNanoseconds = (options.assistant?.assistant.model as? LanguageModel)?.loadNanoseconds
        scheduler = SlowStageScheduler(stages: slowStages, mode: options.mode, modelledLatency: latencies,
                                       workerThreads: options.workerThreads, trace: options.trace)
        state.stats.stageNames = fastStages.map(\.name) + slowStages.map(\.name) + [SpeechStage.name]
        state.stats.latestNanoseconds = Array(repeating: 0, count: state.stats.stageNames.count)
        state.stats.drops = Array(repeating: 0, count: state.stats.stageNames.count)
        dropped = Array(repeating: false, count: slowStages.count)
        wanted = Array(repeating: true, count: slowStages.count)
        ready.reserveCapacity(slowStages.count * 3)
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
        options.speech?.submit(block, wait: options.audioFromFile)
    }

    /// Publishes what the speech stage has heard, without a camera frame (a microphone alone:
    /// there are no frames to publish at).
    public func publishHeard(sessionTime: UInt64) throws {
        guard let speech = options.speech else { return }
        heardReady.removeAll(keepingCapacity: true)
        speech.collect(upTo: sessionTime, deterministic: false, into: &heardReady, times: &speechTimes, results: &speechResultTimes)
        try publishSpeech(heardReady, at: sessionTime)
        try publishAssistant(at: sessionTime)
    }

    /// Applies what the assistant has ready (overlays, speech, memory and model events), raises
    /// its cues and expires overlays.
    private func publishAssistant(at sessionTime: UInt64, waitForAll: Bool = false) throws {
        guard let assistant = options.assistant else { return }
        assistantEvents.removeAll(keepingCapacity: true)
        try assistant.publish(upTo: sessionTime, scene: &state.scene, waitForAll: waitForAll, into: &assistantEvents)
        if let transcript = options.transcript {
            for (time, event) in assistantEvents { try transcript.event(timeNanoseconds: time, event) }
        }
        let measured = assistant.takeLatencies()
        for t in measured.wakeToOverlay { metrics.wakeToOverlay.record(t) }
        for t in measured.commandToOverlay { metrics.commandToOverlay.record(t) }
        for t in measured.commandToSpeech { metrics.commandToSpeech.record(t) }
        for g in measured.generations {
            metrics.modelAnswers += 1
            if g.promptTokens > 0 { metrics.promptTokensPerSecond.append(g.promptTokensPerSecond) }
            if g.generatedTokens > 0 { metrics.generatedTokensPerSecond.append(g.generatedTokensPerSecond) }
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
            metrics.fastStages[i].record(now &- previous)
            state.stats.latestNanoseconds[i] = now &- previous
            if let trace = options.trace { trace.record(name: fastTraceNames[i], track: fastTraceTracks[i], start: previous, end: now) }
            if stage.writes.contains(.hud) { metrics.captureToHUD.record(now &- arrival) }
            previous = now
        }
        if let terminal, !state.terminalBytes.isEmpty {
            state.terminalBytes.withUnsafeBytes { terminal.write($0) }
            metrics.captureToTerminal.record(DispatchTime.now().uptimeNanoseconds &- arrival)
        }
        // Downstream, a frame's capture time is the session's clock.
        state.frame.captureTimeNanoseconds = sessionTime
        if !slowStages.isEmpty {
            for i in slowStages.indices { wanted[i] = slowStages[i].wants(state.scene) }
            scheduler.offer(state.frame, sessionTime: sessionTime, now: DispatchTime.now().uptimeNanoseconds, wanted: wanted, dropped: &dropped)
            for i in dropped.indices where dropped[i] {
                metrics.slowStages[i].drops += 1
                state.stats.drops[fastStages.count + i] += 1
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
        metrics.frames += 1
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
        metrics.undecodableFrames += 1
        if metrics.firstUndecodable == nil { metrics.firstUndecodable = (sessionTime, reason) }
        try options.transcript?.event(timeNanoseconds: sessionTime, TranscriptEvent(kind: .stageError, fields: [
            ("stage", .string(stage)), ("index", .int(Int64(frameIndex))), ("error", .string(reason)),
        ]))
        state.events.removeAll(keepingCapacity: true)
        frameIndex += 1
    }

    /// Publishes the slow stages' results still outstanding (at their visibility times in
    /// deterministic mode) and stops the workers.
    public func finish() throws {
        if let speech = options.speech {
            var rest: [(HeardSpeech, UInt64)] = []
            speech.drain(into: &rest, times: &speechTimes, results: &speechResultTimes)
            for (heard, visible) in rest {
                try publishSpeech([heard], at: options.mode == .deterministic ? max(visible, state.sessionTimeNanoseconds) : state.sessionTimeNanoseconds)
            }
            try publishSpeech([], at: state.sessionTimeNanoseconds)
            metrics.speechDrops = speech.droppedBlocks
            speech.stop()
        }
        if let assistant = options.assistant {
            try publishAssistant(at: state.sessionTimeNanoseconds, waitForAll: true)
            try assistant.finish()
        }
        scheduler.drain(into: &ready)
        ready.sort { ($0.visibleAtNanoseconds, $0.stage) < ($1.visibleAtNanoseconds, $1.stage) }
        for job in ready {
            try publish(job, at: options.mode == .deterministic ? job.visibleAtNanoseconds : state.sessionTimeNanoseconds)
        }
        scheduler.shutdown()
    }

    private func publishResults(upTo sessionTime: UInt64) throws {
        if let speech = options.speech {
            heardReady.removeAll(keepingCapacity: true)
            speech.collect(upTo: sessionTime, deterministic: options.mode == .deterministic, into: &heardReady, times: &speechTimes, results: &speechResultTimes)
            try publishSpeech(heardReady, at: sessionTime)
            let audio = speech.audioState
            state.scene.audioLevel = audio.level
            state.scene.voiceActive = audio.voice
        }
        guard !slowStages.isEmpty else { return }
        scheduler.collect(upTo: sessionTime, into: &ready)
        for job in ready { try publish(job, at: sessionTime) }
    }

    private func publishSpeech(_ heard: [HeardSpeech], at sessionTime: UInt64) throws {
        for t in speechTimes { metrics.speech.record(t) }
        if let last = speechTimes.last { state.stats.latestNanoseconds[state.stats.latestNanoseconds.count - 1] = last }
        speechTimes.removeAll(keepingCapacity: true)
        for t in speechResultTimes { metrics.speechResults.record(t) }
        speechResultTimes.removeAll(keepingCapacity: true)
        for h in heard {
            state.scene.heard.append(h)
            if state.scene.heard.count > SceneContext.heardLimit { state.scene.heard.removeFirst() }
            try options.transcript?.event(timeNanoseconds: sessionTime, h.transcriptEvent)
            options.assistant?.request(h, scene: state.scene, frame: state.frame, sessionTime: sessionTime, wallClock: state.wallClockNanoseconds)
        }
    }

    private func publish(_ job: SlowJob, at sessionTime: UInt64) throws {
        defer { scheduler.recycle(job) }
        metrics.slowStages[job.stage].latency.record(job.finishedAt &- job.startedAt)
        metrics.slowStages[job.stage].queueWait.record(job.startedAt &- job.submittedAt)
        metrics.slowStages[job.stage].results += 1
        state.stats.latestNanoseconds[fastStages.count + job.stage] = job.finishedAt &- job.startedAt
        switch job.output {
        case .success(let output):
            output.update(&state.scene)
            guard let transcript = options.transcript else { return }
            for var event in output.events {
                event.fields.append(("source_time_ns", .int(Int64(job.sessionTimeNanoseconds))))
                try transcript.event(timeNanoseconds: sessionTime, event)
            }
        case .failure(let error):
            logger.error("stage \(slowStages[job.stage].name) failed on the frame at \(formatSessionTime(job.sessionTimeNanoseconds)): \(error)")
            try options.transcript?.event(timeNanoseconds: sessionTime, TranscriptEvent(kind: .stageError, fields: [
                ("stage", .string(slowStages[job.stage].name)), ("error", .string("\(error)")),
                ("source_time_ns", .int(Int64(job.sessionTimeNanoseconds))),
            ]))
        case .none:
            break
        }
    }
}
