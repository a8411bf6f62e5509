import Dispatch
import Foundation
import Logging
import VisorAssistant
import VisorCore
import VisorDisplay
import VisorMedia

/// Where the assistant's speech goes besides the transcript: the speaker (live), a WAV file and
/// the annotated session (replay).
public struct SpeechOutputs {
    /// Plays samples now (live); `stop` cuts what is playing.
    public var play: (([Int16]) -> Void)?
    public var stop: (() -> Void)?
    /// Receives each utterance at its start time on the session clock (the annotated session).
    public var record: ((AudioBlock) throws -> Void)?
    /// Writes every utterance, placed at its start time, into one 16 kHz WAV file at the end.
    public var wavPath: String?
    public init() {}
}

/// The assistant in the runtime: an every-input stage of the `StageScheduler`, fed what is heard.
/// Free-running (live and paced), an answer is phrased on the stage's own worker: its template
/// (and what comes before it) appears as soon as it is decided, the model's phrasing and the
/// speech when they are ready; a wake phrase's answer, fixed and quick (stop speaking, show
/// "listening"), is decided on the frame's thread so that it never waits behind an answer the
/// model is still phrasing. Deterministic, every answer is decided on the frame's thread, and each step is made
/// visible at the request's time plus the profile's modelled latency (`assistant` for what code
/// decides, `language_model` for what waits for the model, plus `speech_synthesis` for speech),
/// so that two runs give the same transcript. Proactive cues are decided on the frame's thread.
/// Overlays expire by their time to live.
///
/// Only a job's `respond` runs on the worker; everything else here (steps pending, what is
/// spoken, the requests and latencies) is the frame thread's, but for the template answers a
/// worker hands over while the model phrases them (`earlySteps`, under its lock): hence
/// `@unchecked Sendable`.
public final class AssistantStage: @unchecked Sendable {
    public static let name = "assistant"

    /// Something heard, with the scene and frame at the time it was heard, and the reply.
    final class Job: StageJob {
        var heard = HeardSpeech(kind: .wake, label: "", words: "", startNanoseconds: 0, endNanoseconds: 0)
        var scene = SceneContext()
        var frame = Frame(widthPixels: 0, heightPixels: 0, pixels: [], captureTimeNanoseconds: 0)
        var wallClock: UInt64?
        var onCaller = false
        var reply: AssistantReply?
    }

    public let assistant: Assistant
    private let deterministic: Bool
    private let assistantLatency: UInt64
    private let modelLatency: UInt64
    private let synthesisLatency: UInt64
    private let outputs: SpeechOutputs
    private var pending: [(step: AssistantStep, visibleAt: UInt64)] = []
    /// The utterance being spoken: its text, start, end.
    private var speaking: (text: String, start: UInt64, end: UInt64, index: Int)?
    private var spoken: [(start: UInt64, samples: [Int16])] = []
    private let logger = Logger(label: "visor.assistant")
    /// Steps a worker's answer decided before the model and the voice ran (the template answer),
    /// for the frame thread to show at once: the only state the worker and the frame thread share.
    private var earlySteps: [(at: UInt64, job: Job, reply: AssistantReply)] = []
    private let earlyLock = NSLock()

    /// Voice latency samples since the last `publish`, for the metrics.
    struct Latencies {
        var wakeToOverlay: [UInt64] = []
        var commandToOverlay: [UInt64] = []
        var commandToSpeech: [UInt64] = []
        var generations: [GenerationTimings] = []
    }
    private var latencies = Latencies()

    public init(assistant: Assistant, profile: DeviceProfile, deterministic: Bool, outputs: SpeechOutputs = SpeechOutputs()) {
        self.assistant = assistant
        self.deterministic = deterministic
        self.outputs = outputs
        assistantLatency = profile.modelledLatencyNanoseconds("assistant")
        modelLatency = profile.modelledLatencyNanoseconds("language_model")
        synthesisLatency = profile.modelledLatencyNanoseconds("speech_synthesis")
    }

    /// The stage as the scheduler sees it: every request in order. Its modelled latencies are per
    /// step (see above), so the scheduler's is none.
    func lane(group: Int) -> StageLane {
        StageLane(name: Self.name, intake: .everyInput(backlog: 1000), modelledLatencyNanoseconds: 0, budgetNanoseconds: nil,
                  group: group, makeJob: nil, run: { [unowned self] job in
                      let job = job as! Job
                      // On the worker, the template answer goes out before the model phrases it.
                      let early: (([AssistantReply.Timed]) -> Void)? = job.onCaller ? nil : { [unowned self] steps in
                          var reply = AssistantReply()
                          reply.steps = steps
                          let now = DispatchTime.now().uptimeNanoseconds
                          earlyLock.withLock { earlySteps.append((now, job, reply)) }
                      }
                      job.reply = assistant.respond(to: job.heard, scene: job.scene, frame: job.frame,
                                                    sessionTime: job.inputTimeNanoseconds, wallClock: job.wallClock, early: early)
                  })
    }

    /// A request for what was heard, with the scene and frame at the time it was heard; and
    /// whether it is answered on the calling thread (deterministic, or a wake phrase).
    func job(lane: Int, _ heard: HeardSpeech, scene: SceneContext, frame: Frame, wallClock: UInt64?) -> Job {
        let job = Job(lane: lane)
        job.heard = heard
        job.scene = scene
        job.frame = frame
        job.wallClock = wallClock
        job.onCaller = deterministic || heard.kind == .wake
        return job
    }

    private func schedule(_ reply: AssistantReply, heard: HeardSpeech, at time: UInt64) {
        recordLatencies(reply, heard: heard)
        for timed in reply.steps {
            var visible = time
            if deterministic {
                visible += assistantLatency + (timed.phrased ? modelLatency : 0)
                if case .speak = timed.step { visible += synthesisLatency }
            }
            pending.append((timed.step, visible))
        }
    }

    /// Measured voice latency (the same in every mode): the listener's delay from the end of the
    /// words to its decision, plus the assistant's compute time to the step. An answer's first
    /// overlay is the one it shows (the model's update comes after it, in the same part of the
    /// answer or a later one).
    private func recordLatencies(_ reply: AssistantReply, heard: HeardSpeech) {
        let recognition = heard.recognitionDelayNanoseconds
        if let g = reply.generation { latencies.generations.append(g) }
        let firstOverlay = reply.steps.first { step in
            if case .overlay(let o) = step.step, o.action == .show { return true }
            return false
        }
        let firstSpeech = reply.steps.first { step in
            if case .speak(_, let samples) = step.step, !samples.isEmpty { return true }
            return false
        }
        switch heard.kind {
        case .wake:
            if let o = firstOverlay { latencies.wakeToOverlay.append(recognition + o.readyAfterNanoseconds) }
        case .command:
            if let o = firstOverlay {
                logger.debug("\(heard.label): heard \(recognition / 1_000_000) ms after its last word, first overlay \(o.readyAfterNanoseconds / 1_000_000) ms after that")
                latencies.commandToOverlay.append(recognition + o.readyAfterNanoseconds)
            }
            if let s = firstSpeech { latencies.commandToSpeech.append(recognition + s.readyAfterNanoseconds) }
        case .utterance:
            break
        }
    }

    /// Takes the replies the scheduler published, applies the steps visible at `sessionTime`
    /// (every step, with `everything`: the end of a run), raises the proactive cues, and expires
    /// overlays. Returns the transcript events to write.
    func publish(_ replies: [StageJob], upTo sessionTime: UInt64, scene: inout SceneContext, everything: Bool = false,
                 into events: inout [(UInt64, TranscriptEvent)]) throws {
        // The template answers a worker decided while it phrased them (due now), and the answers
        // it finished, in the order the worker handed them over: one answer's rest before the
        // next one's template.
        var handed = earlyLock.withLock {
            defer { earlySteps.removeAll() }
            return earlySteps
        }
        for case let job as Job in replies { if let reply = job.reply { handed.append((job.finishedAt, job, reply)) } }
        let inOrder = handed.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
        for (_, job, var reply) in inOrder {
            // Time spent waiting for the assistant's worker is part of the wearer's wait.
            let waited = job.queueWaitNanoseconds
            for i in reply.steps.indices { reply.steps[i].readyAfterNanoseconds += waited }
            // An answer decided on the frame's thread is due from its request's time; one from the
            // worker, from the frame at which it was published.
            schedule(reply, heard: job.heard, at: job.onCaller ? job.inputTimeNanoseconds : sessionTime)
        }
        var due: [(step: AssistantStep, visibleAt: UInt64)] = []
        if everything {
            due = pending
            pending.removeAll()
        } else {
            due = pending.filter { $0.visibleAt <= sessionTime }
            pending.removeAll { $0.visibleAt <= sessionTime }
        }
        // Stable order: steps of one request keep theirs.
        for (step, visible) in due.enumerated().sorted(by: { ($0.element.visibleAt, $0.offset) < ($1.element.visibleAt, $1.offset) }).map(\.element) {
            try apply(step, at: visible, scene: &scene, into: &events)
        }
        // Proactive cues: decided here, on the frame's thread, from the scene as it is now.
        for cue in assistant.cues(scene: scene, sessionTime: sessionTime) {
            try apply(.overlay(cue), at: sessionTime, scene: &scene, into: &events)
        }
        // Expired overlays go.
        let expired = scene.overlays.filter { $0.expiresAtNanoseconds <= sessionTime }
        for item in expired {
            events.append((item.expiresAtNanoseconds, TranscriptEvent(kind: .overlay, fields: [
                ("action", .string("hide")), ("id", .int(Int64(item.id))), ("reason", .string("expired")),
            ])))
        }
        if !expired.isEmpty { scene.overlays.removeAll { $0.expiresAtNanoseconds <= sessionTime } }
    }

    private func apply(_ step: AssistantStep, at time: UInt64, scene: inout SceneContext, into events: inout [(UInt64, TranscriptEvent)]) throws {
        switch step {
        case .overlay(let o):
            switch o.action {
            case .show, .update:
                let item = OverlayItem(id: o.id, text: o.text, priority: o.priority, shownAtNanoseconds: time,
                                       expiresAtNanoseconds: time + o.timeToLiveNanoseconds)
                if let i = scene.overlays.firstIndex(where: { $0.id == o.id }) { scene.overlays[i] = item } else { scene.overlays.append(item) }
                events.append((time, TranscriptEvent(kind: .overlay, fields: [
                    ("action", .string(o.action.rawValue)), ("id", .int(Int64(o.id))), ("text", .string(o.text)),
                    ("priority", .string(o.priority.name)), ("ttl_ms", .int(Int64(o.timeToLiveNanoseconds / 1_000_000))),
                    ("source", .string(o.source)),
                ])))
            case .hide:
                guard scene.overlays.contains(where: { $0.id == o.id }) else { return }
                scene.overlays.removeAll { $0.id == o.id }
                events.append((time, TranscriptEvent(kind: .overlay, fields: [
                    ("action", .string("hide")), ("id", .int(Int64(o.id))), ("reason", .string(o.source == "listening" ? "answered" : "stopped")),
                ])))
            }
        case .speak(let text, let samples):
            interruptSpeech(at: time, into: &events)
            let duration = UInt64(samples.count) * 1_000_000_000 / UInt64(SpeechSynthesizer.sampleRateHertz)
            events.append((time, TranscriptEvent(kind: .speech, fields: [
                ("action", .string("start")), ("text", .string(text)), ("start_ns", .int(Int64(time))),
                ("end_ns", .int(Int64(time + duration))), ("samples", .int(Int64(samples.count))),
            ])))
            guard !samples.isEmpty else { return }
            speaking = (text, time, time + duration, spoken.count)
            if outputs.wavPath != nil { spoken.append((time, samples)) }
            outputs.play?(samples)
            try outputs.record?(AudioBlock(sampleRateHertz: SpeechSynthesizer.sampleRateHertz, channelCount: 1, samples: samples, captureTimeNanoseconds: time))
        case .stopSpeaking:
            interruptSpeech(at: time, into: &events)
        case .event(let event):
            events.append((time, event))
        }
    }

    /// Cuts the utterance being spoken, if it has not ended by `time`.
    private func interruptSpeech(at time: UInt64, into events: inout [(UInt64, TranscriptEvent)]) {
        guard let current = speaking, current.end > time else { speaking = nil; return }
        speaking = nil
        outputs.stop?()
        if outputs.wavPath != nil, current.index < spoken.count {
            let kept = Int((time - current.start) * UInt64(SpeechSynthesizer.sampleRateHertz) / 1_000_000_000)
            spoken[current.index].samples.removeSubrange(min(kept, spoken[current.index].samples.count)...)
        }
        events.append((time, TranscriptEvent(kind: .speech, fields: [
            ("action", .string("interrupt")), ("text", .string(current.text)), ("start_ns", .int(Int64(current.start))),
            ("end_ns", .int(Int64(time))),
        ])))
    }

    /// Takes the voice latencies measured since the last call.
    func takeLatencies() -> Latencies {
        let l = latencies
        latencies = Latencies()
        return l
    }

    /// Writes the WAV file of everything said (the pipeline has drained the stage).
    func finish() throws {
        guard let path = outputs.wavPath else { return }
        let rate = SpeechSynthesizer.sampleRateHertz
        let end = spoken.map { Int($0.start * UInt64(rate) / 1_000_000_000) + $0.samples.count }.max() ?? 0
        guard end <= rate * 60 * 60 * 4 else { throw VisorError("speech output \(path): more than four hours") }
        var track = [Int16](repeating: 0, count: end)
        for (start, samples) in spoken {
            let at = Int(start * UInt64(rate) / 1_000_000_000)
            for (i, s) in samples.enumerated() where at + i < track.count { track[at + i] = s }
        }
        try WAVFile.write(samples: track, sampleRateHertz: rate, channelCount: 1, to: path)
    }
}

extension Assistant {
    /// The assistant for a device and a wearer: its memory at `memoryPath`, the language model
    /// (`modelPath`, else the default one; none when `useModel` is false), flite's voice at the
    /// wearer's rate, and answers sized to the device's text area (the HUD's first line is the clock).
    /// - Throws: `VisorError` when the memory cannot be opened or the model cannot be found or loaded.
    /// With `adaptiveThreads` (free-running and live runs), the model evaluates on as many
    /// threads as other processes leave cores free; deterministic runs keep a fixed count.
    public static func make(profile: DeviceProfile, wearer: WearerProfile, memoryPath: String, modelPath: String? = nil,
                            useModel: Bool = true, galleryDirectory: String?, adaptiveThreads: Bool = false) throws -> Assistant {
        var configuration = AssistantConfiguration()
        configuration.wearer = wearer
        configuration.charactersPerLine = (try? HUDRenderer(display: profile.display))?.charactersPerLine ?? 40
        configuration.lines = max(1, profile.display.textLines - 1)
        configuration.galleryDirectory = galleryDirectory
        let memory = try Memory(path: memoryPath)
        var model: LanguageModel?
        if useModel {
            guard let path = modelPath ?? LanguageModel.defaultModelPath() else {
                throw VisorError("no language model: run tools/setup (it installs \(LanguageModel.defaultModelName)), give --model FILE.gguf, or --no-model")
            }
            model = try LanguageModel(path: path, threads: min(2, ProcessInfo.processInfo.activeProcessorCount), adaptiveThreads: adaptiveThreads)
        }
        let voice = try SpeechSynthesizer(voice: wearer.voice.name, durationStretch: Float(1 / wearer.voice.rate))
        return Assistant(configuration: configuration, memory: memory, model: model, voice: voice)
    }
}
