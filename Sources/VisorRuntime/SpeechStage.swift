import Dispatch
import Foundation
import Logging
import VisorCore
import VisorMedia
import VisorPerception

/// The microphone's stage: audio level and voice activity, the wake phrase, commands and
/// dictation (`SpeechListener`), on a thread of its own fed in capture order. Audio is never
/// dropped while the thread keeps up. A backlog of `maximumBacklog` blocks (10 s) makes a replay
/// wait for the listener (audio read from a file faster than real time is all heard), and a live
/// microphone drop its oldest block (it cannot wait: the device would overrun).
///
/// What it hears is published on the frame thread (`collect`): free-running, as soon as it is
/// heard; deterministic, once all audio up to the frame has been listened to, at the first frame
/// at or after the capture time at which it could be heard (the end of the audio block that
/// completed it: a command is complete only after the pause that ends it) plus the profile's
/// modelled `speech` latency.
///
/// Its queue, flags and results are touched only with `condition` held; the listener only by the
/// listening thread: hence `@unchecked Sendable`.
public final class SpeechStage: @unchecked Sendable {
    public static let name = "speech"

    /// What was heard, as the runtime publishes it.
    struct Result {
        var heard: HeardSpeech
        var visibleAtNanoseconds: UInt64
    }

    private let listener: SpeechListener
    private let modelledLatency: UInt64
    private let condition = NSCondition()
    private var queue: [AudioBlock] = []
    private var busy = false
    private var finished: [Result] = []
    private var stopping = false
    private var thread: WorkerThread?
    private var resampler: AudioResampler?
    private var mono: [Int16] = []
    private var resampled: [Int16] = []
    /// Newest audio level (dBFS) and voice activity, read by the frame thread.
    private(set) var level: Double = -96
    private(set) var voiceActive = false
    /// Per-block processing time, for the metrics.
    private var blockTimes: [UInt64] = []
    /// Processing time of the blocks that completed something heard (a decode at the end of a
    /// command or dictation), what the profile's modelled latency stands for.
    private var resultTimes: [UInt64] = []
    private(set) var droppedBlocks: UInt64 = 0
    public var maximumBacklog = 500
    private let logger = Logger(label: "visor.speech")

    /// - Parameters:
    ///   - wakePhrases: the phrases that wake the assistant.
    ///   - modelledLatencyNanoseconds: the profile's `speech` latency (deterministic scheduling).
    ///   - contextWords: words the wearer's context makes likely (see `SpeechListener.contextWords`),
    ///     read on the listening thread.
    public init(wakePhrases: [String] = SpeechListener.defaultWakePhrases, modelledLatencyNanoseconds: UInt64 = 100_000_000,
                contextWords: (() -> Set<String>)? = nil) throws {
        listener = try SpeechListener(wakePhrases: wakePhrases)
        listener.contextWords = contextWords
        modelledLatency = modelledLatencyNanoseconds
        thread = WorkerThread(name: "visor-speech") { [unowned self] in self.run() }
    }

    deinit { stop() }

    /// Hands a block of audio to the listening thread.
    /// - Parameter wait: wait for room in a full backlog (replay) instead of dropping (live).
    func submit(_ block: AudioBlock, wait: Bool) {
        condition.lock()
        if wait { while queue.count >= maximumBacklog { condition.wait() } }
        if queue.count >= maximumBacklog {
            queue.removeFirst()
            droppedBlocks += 1
        }
        queue.append(block)
        condition.broadcast()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty && stopping { condition.unlock(); return }
            let block = queue.removeFirst()
            busy = true
            condition.unlock()

            let started = DispatchTime.now().uptimeNanoseconds
            let heard = listen(block)
            let elapsed = DispatchTime.now().uptimeNanoseconds - started

            condition.lock()
            let heardAt = block.captureTimeNanoseconds + block.durationNanoseconds
            for var h in heard {
                h.decidedAtNanoseconds = heardAt
                h.decisionNanoseconds = elapsed
                finished.append(Result(heard: h, visibleAtNanoseconds: heardAt + modelledLatency))
            }
            blockTimes.append(elapsed)
            if !heard.isEmpty { resultTimes.append(elapsed) }
            level = listener.vad.level
            voiceActive = listener.vad.inVoice
            busy = false
            condition.broadcast()
            condition.unlock()
        }
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

    /// What is to be published at a frame captured at `sessionTime`, and the blocks' processing
    /// times since the last call. Deterministic: first waits until every block submitted so far
    /// has been listened to.
    func collect(upTo sessionTime: UInt64, deterministic: Bool, into ready: inout [HeardSpeech], times: inout [UInt64], results: inout [UInt64]) {
        condition.lock()
        defer { condition.unlock() }
        if deterministic { while !queue.isEmpty || busy { condition.wait() } }
        times.append(contentsOf: blockTimes)
        blockTimes.removeAll(keepingCapacity: true)
        results.append(contentsOf: resultTimes)
        resultTimes.removeAll(keepingCapacity: true)
        guard !finished.isEmpty else { return }
        if deterministic {
            while let first = finished.first, first.visibleAtNanoseconds <= sessionTime {
                ready.append(first.heard)
                finished.removeFirst()
            }
        } else {
            ready.append(contentsOf: finished.map(\.heard))
            finished.removeAll(keepingCapacity: true)
        }
    }

    /// Waits for every block submitted, and returns everything still unpublished with the times
    /// it becomes visible.
    func drain(into ready: inout [(HeardSpeech, UInt64)], times: inout [UInt64], results: inout [UInt64]) {
        condition.lock()
        defer { condition.unlock() }
        while !queue.isEmpty || busy { condition.wait() }
        ready.append(contentsOf: finished.map { ($0.heard, $0.visibleAtNanoseconds) })
        finished.removeAll()
        times.append(contentsOf: blockTimes)
        blockTimes.removeAll()
        results.append(contentsOf: resultTimes)
        resultTimes.removeAll()
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
        thread?.join()
    }

    var audioState: (level: Double, voice: Bool) {
        condition.lock()
        defer { condition.unlock() }
        return (level, voiceActive)
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
