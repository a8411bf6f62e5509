import Foundation
import Logging
import VisorCore

/// The assistant's commands: what is said, and the intent it names. A command that takes words
/// ("remember this: the car is on level three") is followed by dictation.
public struct VoiceCommand: Sendable {
    public var phrase: String
    public var intent: VoiceIntent
    public var takesWords: Bool

    public static let defaults: [VoiceCommand] = [
        VoiceCommand(phrase: "what am i looking at", intent: .whatAmILookingAt, takesWords: false),
        VoiceCommand(phrase: "read this", intent: .readThis, takesWords: false),
        VoiceCommand(phrase: "go on", intent: .goOn, takesWords: false),
        VoiceCommand(phrase: "take a photo", intent: .takePhoto, takesWords: false),
        VoiceCommand(phrase: "remember this", intent: .rememberThis, takesWords: true),
        VoiceCommand(phrase: "what did i see", intent: .whatDidISee, takesWords: false),
        VoiceCommand(phrase: "what time is it", intent: .whatTimeIsIt, takesWords: false),
        VoiceCommand(phrase: "stop", intent: .stop, takesWords: false),
        VoiceCommand(phrase: "where is", intent: .whereIs, takesWords: true),
    ]
}

/// Listens to the microphone: keyword spotting for a wake phrase; after it, one command from the
/// grammar, ended by voice activity; after a command that takes words, the rest of what was said
/// as free dictation. Audio must be 16 kHz mono; each block carries its capture time.
public final class SpeechListener {
    public static let defaultWakePhrases = ["hey glasses", "okay glasses"]

    public enum State: String, Sendable { case waiting, command }

    /// How long to wait for a command after the wake phrase before going back to waiting.
    public var commandTimeoutNanoseconds: UInt64 = 4_000_000_000
    /// The longest command (with its dictation).
    public var maximumCommandNanoseconds: UInt64 = 12_000_000_000

    public private(set) var state: State = .waiting
    public private(set) var vad = VoiceActivityDetector()
    private let decoder: SpeechDecoder
    private let commands: [VoiceCommand]
    private let rate = UInt64(SpeechDecoder.sampleRateHertz)
    /// Samples seen so far, and the capture time of each.
    private var sampleCount: UInt64 = 0
    private var clock = SampleClock(rate: UInt64(SpeechDecoder.sampleRateHertz))
    private var frames = FrameSplitter()
    /// The last 3 s of audio, to hand a command the audio since the end of its wake phrase.
    private var history: [Int16]
    private var historyStart: UInt64 = 0
    /// Where the current utterance of the active search began.
    private var utteranceStart: UInt64 = 0
    private var commandAudio: [Int16] = []
    private var loudSinceWake = 0
    /// The first and last loud samples of the command.
    private var firstLoud: UInt64 = 0
    private var lastLoud: UInt64 = 0
    /// Words the wearer's context makes likely (what the assistant remembers). When dictation after
    /// a command is uncertain, the likeliest of its alternatives that names one of these wins
    /// ("where is the car" over "where is the time" when a note mentions the car).
    public var contextWords: (() -> Set<String>)?
    /// A pause this long (10 ms frames) ends a command.
    public var commandPauseFrames = 50
    /// A pause this long ends a command already heard in full that takes no words after it
    /// ("what time is it"): nothing more can follow, so the answer need not wait for the rest of
    /// the pause.
    public var completeCommandPauseFrames = 20
    /// Where the current (or last) stretch of voice began.
    private var voiceStart: UInt64 = 0
    private let logger = Logger(label: "visor.speech")

    public init(wakePhrases: [String] = SpeechListener.defaultWakePhrases, commands: [VoiceCommand] = VoiceCommand.defaults,
                modelDirectory: String = SpeechDecoder.defaultModelDirectory, wakeThresholdExponent: Int = -10) throws {
        guard !wakePhrases.isEmpty else { throw VisorError("no wake phrase to listen for") }
        let normalise = { (s: String) in s.lowercased().split(whereSeparator: { !$0.isLetter && $0 != "'" }).joined(separator: " ") }
        self.commands = commands.map { VoiceCommand(phrase: normalise($0.phrase), intent: $0.intent, takesWords: $0.takesWords) }
        decoder = try SpeechDecoder(wakePhrases: wakePhrases.map(normalise), commands: self.commands.map(\.phrase), modelDirectory: modelDirectory,
                                wakeThresholdExponent: wakeThresholdExponent)
        history = []
        history.reserveCapacity(Int(rate) * 4)
        decoder.start(.wake)
    }

    private func time(ofSample index: UInt64) -> UInt64 { clock.time(ofSample: index) }

    /// Takes one block of 16 kHz mono audio; returns what was heard by its end.
    public func process(_ samples: [Int16], captureTimeNanoseconds: UInt64) -> [HeardSpeech] {
        clock.startBlock(atSample: sampleCount + UInt64(frames.waiting), time: captureTimeNanoseconds)
        var heard: [HeardSpeech] = []
        frames.split(samples) { step($0, into: &heard) }
        return heard
    }

    private func remember(_ frame: UnsafeBufferPointer<Int16>) {
        history.append(contentsOf: frame)
        // Trimmed a second at a time, not a frame at a time.
        if history.count > Int(rate) * 4 {
            let extra = history.count - Int(rate) * 3
            history.removeFirst(extra)
            historyStart += UInt64(extra)
        }
    }

    private func step(_ frame: UnsafeBufferPointer<Int16>, into heard: inout [HeardSpeech]) {
        let change = vad.process(frame)
        // Voice starts three loud frames before the detector says so.
        if change == .started { voiceStart = sampleCount &- min(sampleCount, 2 * UInt64(frame.count)) }
        remember(frame)
        let frameStart = sampleCount
        sampleCount += UInt64(frame.count)
        decoder.process(frame)
        if state == .command { commandAudio.append(contentsOf: frame) }
        switch state {
        case .waiting:
            if let phrase = decoder.hypothesis {
                wake(phrase, at: sampleCount, into: &heard)
            } else if change == .ended, sampleCount - utteranceStart > rate * 20 {
                // Keep keyword spotting's utterance short: restart it in a pause.
                decoder.start(.wake)
                utteranceStart = sampleCount
            }
        case .command:
            // The command is voice after the wake phrase (100 ms of it), ended by a pause.
            if vad.lastFrameLoud {
                if loudSinceWake == 0 { firstLoud = frameStart }
                loudSinceWake += 1
                lastLoud = sampleCount
            }
            let elapsed = (sampleCount &- min(sampleCount, utteranceStart)) * 1_000_000_000 / rate
            var complete = false
            if loudSinceWake >= 10 && vad.quietRun == completeCommandPauseFrames, let hypothesis = decoder.hypothesis {
                complete = commands.contains { !$0.takesWords && $0.phrase == hypothesis }
            }
            if complete || (loudSinceWake >= 10 && vad.quietRun >= commandPauseFrames) || elapsed > maximumCommandNanoseconds {
                finishCommand(into: &heard)
            } else if loudSinceWake < 10 && elapsed > commandTimeoutNanoseconds {
                logger.debug("no command after the wake phrase")
                decoder.start(.wake)
                state = .waiting
                utteranceStart = sampleCount
            }
        }
    }

    /// Woken by a tap: the command search starts now, as after a spoken wake phrase.
    public func wake() {
        guard state == .waiting else { return }
        decoder.start(.commands)
        state = .command
        loudSinceWake = 0
        utteranceStart = sampleCount
        commandAudio.removeAll(keepingCapacity: true)
    }

    private func wake(_ phrase: String, at detected: UInt64, into heard: inout [HeardSpeech]) {
        // The keyword spotter's segment gives the phrase's frames; without one, the phrase is
        // taken to end where it was detected.
        let detections = decoder.words(relative: false)
        // Phrases that share words fire together ("hey glasses" and "okay glasses"); the one
        // with the best probability per frame names what was said.
        func perFrame(_ w: SpeechDecoder.Word) -> Double { Double(w.probability) / Double(max(1, w.endFrame - w.startFrame + 1)) }
        let best = detections.max { perFrame($0) < perFrame($1) }
        let phrase = best?.text ?? phrase
        // Spotting fires as the phrase ends; it began where this stretch of voice did, or at most
        // 1.5 s before (when the wearer said it in the middle of talking).
        let end = detected
        let start = max(min(voiceStart, end), end &- min(end, rate * 3 / 2))
        heard.append(HeardSpeech(kind: .wake, label: phrase, words: phrase, startNanoseconds: time(ofSample: start), endNanoseconds: time(ofSample: end)))
        // The command search starts from the end of the wake phrase: hand it the audio since.
        decoder.start(.commands)
        state = .command
        loudSinceWake = 0
        let from = max(end, historyStart)
        utteranceStart = from
        commandAudio.removeAll(keepingCapacity: true)
        let skip = Int(from - historyStart)
        if skip < history.count {
            commandAudio.append(contentsOf: history[skip...])
            commandAudio.withUnsafeBufferPointer { decoder.process($0) }
        }
    }

    /// The likeliest of the finished utterance's alternatives that starts with the command and
    /// names a context word: the words after the command, or nil when none does.
    private func rescore(after phrase: String, context: Set<String>) -> String? {
        let prefix = phrase + " "
        let alternatives = decoder.alternatives(limit: 10)
        for alternative in alternatives where alternative.hasPrefix(prefix) {
            let rest = String(alternative.dropFirst(prefix.count))
            if rest.split(separator: " ").contains(where: { context.contains(String($0)) }) {
                if alternative != alternatives.first { logger.debug("dictation \"\(alternatives[0])\" taken as \"\(alternative)\": it names what the wearer noted") }
                return rest
            }
        }
        return nil
    }

    private func finishCommand(into heard: inout [HeardSpeech]) {
        decoder.finish()
        let words = decoder.words()
        let said = words.map(\.text).joined(separator: " ")
        defer {
            decoder.start(.wake)
            state = .waiting
            utteranceStart = sampleCount
        }
        guard let command = commands.first(where: { said == $0.phrase || ($0.takesWords && said.hasPrefix($0.phrase)) }) else {
            logger.debug("after the wake phrase, heard \"\(said)\", which is no command")
            return
        }
        // The grammar's first word takes in the silence before it: the voice detector places the
        // command's start and end; the grammar's word ends split a command from its dictation.
        let start = firstLoud &- min(firstLoud, 2 * UInt64(VoiceActivityDetector.frameSamples))
        let end = lastLoud
        guard command.takesWords else {
            heard.append(HeardSpeech(command: command.intent, words: said,
                                     startNanoseconds: time(ofSample: start), endNanoseconds: time(ofSample: end)))
            return
        }
        let phraseWords = command.phrase.split(separator: " ").count
        var phraseEnd = min(commandAudio.count, (words[min(words.count, phraseWords) - 1].endFrame + 1) * 160)
        var dictation: [SpeechDecoder.Word] = []
        var rescored: String?
        // Where the dictation's word frames count from, in samples of the command's audio.
        var dictationOrigin = phraseEnd
        if commandAudio.count - phraseEnd > Int(rate) / 5 {
            // The grammar knows only the command, so its last word tends to swallow the start of
            // what follows. Dictation over the whole command places the split better: when it
            // hears the command's own words first, what comes after them is the dictation.
            decoder.start(.dictation)
            commandAudio.withUnsafeBufferPointer { decoder.process($0) }
            decoder.finish()
            let whole = decoder.words()
            let phraseText = command.phrase.split(separator: " ").map(String.init)
            if whole.count > phraseText.count, Array(whole.prefix(phraseText.count).map(\.text)) == phraseText {
                dictation = Array(whole.dropFirst(phraseText.count))
                phraseEnd = min(commandAudio.count, (whole[phraseText.count - 1].endFrame + 1) * 160)
                dictationOrigin = 0
                if let context = contextWords?(), !context.isEmpty {
                    rescored = rescore(after: command.phrase, context: context)
                }
            } else {
                decoder.start(.dictation)
                commandAudio.withUnsafeBufferPointer { decoder.process(UnsafeBufferPointer(rebasing: $0[phraseEnd...])) }
                decoder.finish()
                dictation = decoder.words()
            }
        }
        let dictated = rescored ?? dictation.map(\.text).joined(separator: " ")
        let commandEnd = dictation.isEmpty ? end : max(start, utteranceStart + UInt64(phraseEnd))
        var request = HeardSpeech(command: command.intent, words: dictated,
                                  startNanoseconds: time(ofSample: start), endNanoseconds: time(ofSample: commandEnd))
        request.wordsEndNanoseconds = time(ofSample: end)
        heard.append(request)
        if let first = dictation.first {
            let base = utteranceStart + UInt64(dictationOrigin)
            heard.append(HeardSpeech(kind: .utterance, label: "", words: dictated,
                                     startNanoseconds: time(ofSample: base + UInt64(first.startFrame) * 160), endNanoseconds: time(ofSample: end)))
        }
    }
}
