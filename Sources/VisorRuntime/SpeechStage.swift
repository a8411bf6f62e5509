import Dispatch
import Synchronization
import Foundation
import VisorCore
import VisorMedia
import VisorPerception

/// The microphone's stage: audio level and voice activity, the wake phrase, commands and
/// dictation (`SpeechListener`), an every-input stage of the `StageScheduler` with a thread of its
/// own, fed in capture order. Audio is never dropped while the listener keeps up. A backlog of
/// `maximumBacklog` blocks (10 s) makes a replay wait for the listener (audio read from a file
/// faster than real time is all heard), and a live microphone drop its oldest block (it cannot
/// wait: the device would overrun).
///
/// What it hears is published on the frame thread: free-running, as soon as it is heard;
/// deterministic, once all audio up to the frame has been listened to, at the first frame at or
/// after the capture time at which it could be heard (the end of the audio block that completed
/// it: a command is complete only after the pause that ends it) plus the profile's modelled
/// `speech` latency.
///
/// The listener and the resampler are touched only by the job that runs (one at a time, on the
/// stage's worker): hence `@unchecked Sendable`.
public final class SpeechStage: @unchecked Sendable {
    public static let name = "speech"

    /// One block of audio, and what listening to it found.
    final class Job: StageJob {
        var block = AudioBlock(sampleRateHertz: 0, channelCount: 0, samples: [], captureTimeNanoseconds: 0)
        var heard: [HeardSpeech] = []
        /// Audio level (dBFS) and voice activity after the block.
        var level: Double = -96
        var voiceActive = false
    }

    private let listener: SpeechListening
    /// The profile's latency for this recogniser (`latencyKey`): when its results are visible in
    /// deterministic scheduling, and what the verdict holds its decisions to.
    public let modelledLatency: UInt64
    private var resampler: AudioResampler?
    private var mono: [Int16] = []
    private var resampled: [Int16] = []
    public var maximumBacklog = 500
    /// A tap's time: the first block that ends after it wakes the listener first.
    private let pendingWake = Mutex<UInt64?>(nil)

    /// Wakes the listener as the wake phrase would, at `time` on the session's clock (a tap).
    /// Thread-safe: the listener takes it on its own thread, with the audio of that time.
    public func wake(at time: UInt64) { pendingWake.withLock { $0 = time } }

    /// - Parameters:
    ///   - wakePhrases: the phrases that wake the assistant.
    ///   - modelledLatencyNanoseconds: the profile's latency for the recogniser (`recognition.latencyKey`).
    ///   - contextWords: words the wearer's context makes likely (see `SpeechListener.contextWords`),
    ///     read on the listening thread.
    ///   - recognition: Whisper, or PocketSphinx's keyword spotting, grammar and language model.
    public init(wakePhrases: [String] = SpeechListener.defaultWakePhrases, recognition: SpeechRecognition = .pocketsphinx,
                modelledLatencyNanoseconds: UInt64 = 100_000_000, contextWords: (() -> Set<String>)? = nil) throws {
        switch recognition {
        case .pocketsphinx:
            let sphinx = try SpeechListener(wakePhrases: wakePhrases)
            sphinx.contextWords = contextWords
            listener = sphinx
        case .whisper(let modelPath, let threads):
            listener = try WhisperListener(recognizer: WhisperRecognizer(modelPath: modelPath, threads: threads), wakePhrases: wakePhrases)
        }
        modelledLatency = modelledLatencyNanoseconds
    }

    /// The stage as the scheduler sees it: every block in order, each held to its 20 ms length.
    func lane(group: Int) -> StageLane {
        StageLane(name: Self.name, intake: .everyInput(backlog: maximumBacklog), modelledLatencyNanoseconds: modelledLatency,
                  budgetNanoseconds: 20_000_000, group: group, makeJob: nil,
                  run: { [unowned self] job in self.listen(job as! Job) })
    }

    /// A job for one block; its input time is the end of the block, when what it completes could be heard.
    func job(lane: Int, _ block: AudioBlock) -> Job {
        let job = Job(lane: lane)
        job.block = block
        return job
    }

    private func listen(_ job: Job) {
        let started = DispatchTime.now().uptimeNanoseconds
        let blockEnd = job.block.captureTimeNanoseconds + job.block.durationNanoseconds
        let woken = pendingWake.withLock { wake -> Bool in
            guard let time = wake, time <= blockEnd else { return false }
            wake = nil
            return true
        }
        if woken { listener.wake() }
        let heard = listen(job.block)
        let elapsed = DispatchTime.now().uptimeNanoseconds - started
        job.heard = heard.map { h in
            var h = h
            h.decidedAtNanoseconds = job.inputTimeNanoseconds
            h.decisionNanoseconds = elapsed
            return h
        }
        job.level = listener.vad.level
        job.voiceActive = listener.vad.inVoice
        job.block.samples = []
    }

    /// Downmixes and resamples to 16 kHz mono when the microphone runs otherwise, then listens.
    private func listen(_ block: AudioBlock) -> [HeardSpeech] {
        let rate = SpeechDecoder.sampleRateHertz
        guard block.sampleRateHertz > 0, block.channelCount > 0 else { return [] }
        if block.channelCount == 1 && block.sampleRateHertz == rate {
            return listener.process(block.samples, captureTimeNanoseconds: block.captureTimeNanoseconds)
        }
        let channels = block.channelCount
        mono.removeAll(keepingCapacity: true)
        for frame in stride(from: 0, to: block.samples.count - channels + 1, by: channels) {
            var sum = 0
            for c in 0..<channels { sum += Int(block.samples[frame + c]) }
            mono.append(Int16(sum / channels))
        }
        if block.sampleRateHertz == rate { return listener.process(mono, captureTimeNanoseconds: block.captureTimeNanoseconds) }
        if resampler?.inputRateHertz != block.sampleRateHertz {
            resampler = AudioResampler(inputRateHertz: block.sampleRateHertz, outputRateHertz: rate, channelCount: 1)
        }
        resampler!.process(mono, into: &resampled)
        return listener.process(resampled, captureTimeNanoseconds: block.captureTimeNanoseconds)
    }
}

/// What recognises speech.
public enum SpeechRecognition: Sendable, Equatable {
    /// Whisper through whisper.cpp, on stretches of voice (see `WhisperListener`).
    case whisper(modelPath: String = WhisperRecognizer.defaultModelPath, threads: Int = 2)
    /// PocketSphinx: keyword spotting, a command grammar, a language model for dictation.
    case pocketsphinx

    /// The device profile's `modelled_latency_ms` key for this recogniser's decisions.
    public var latencyKey: String {
        switch self {
        case .whisper: "speech_whisper"
        case .pocketsphinx: SpeechStage.name
        }
    }

    /// From `--asr`: `whisper` or `pocketsphinx`.
    public init?(name: String, whisperModel: String? = nil) {
        switch name {
        case "whisper": self = .whisper(modelPath: whisperModel ?? WhisperRecognizer.defaultModelPath)
        case "pocketsphinx": self = .pocketsphinx
        default: return nil
        }
    }
}

extension HeardSpeech {
    /// The transcript event for what was heard.
    var transcriptEvent: TranscriptEvent {
        var fields: [(String, TranscriptEvent.Value)]
        switch kind {
        case .wake: fields = [("phrase", .string(label))]
        case .command: fields = [("intent", .string(label)), ("words", .string(words))]
        case .utterance: fields = [("words", .string(words))]
        }
        fields += [("start_ns", .int(Int64(startNanoseconds))), ("end_ns", .int(Int64(endNanoseconds)))]
        return TranscriptEvent(kind: EventKind(rawValue: kind.rawValue), fields: fields)
    }
}
