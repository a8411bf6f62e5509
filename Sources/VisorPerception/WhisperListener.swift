import Foundation
import Logging
import VisorCore

/// What the speech stage listens with: audio in (16 kHz mono, each block with its capture
/// time), what was heard out.
public protocol SpeechListening: AnyObject {
    func process(_ samples: [Int16], captureTimeNanoseconds: UInt64) -> [HeardSpeech]
    /// The voice detector, for the stage's level and activity readings.
    var vad: VoiceActivityDetector { get }
    /// Woken by something other than the wake phrase (a tap): the next words are the command.
    func wake()
}

extension SpeechListener: SpeechListening {}

/// Listens with Whisper. Voice activity gates everything: nothing is transcribed until a stretch
/// of voice ends. Each stretch is transcribed whole; the text says whether it holds a wake phrase,
/// and what follows it in the same stretch is the command. A wake phrase alone opens a wait of
/// `commandTimeoutNanoseconds` for the command in the next stretch. A command that takes words
/// ("remember this") takes those said after it in its own stretch, else waits up to
/// `dictationStartNanoseconds` for the wearer to start speaking, and takes the next stretch,
/// which ends on a real end of speech (`dictationPauseFrames` of silence). The command's words
/// are cut from the text, so they never leak into the note.
///
/// A stretch that goes quiet for `earlyPauseFrames` is transcribed at once: when it is a whole
/// command that takes no words, the answer need not wait for the rest of the pause.
public final class WhisperListener: SpeechListening {
    public enum State: String, Sendable { case waiting, command, dictation }

    public private(set) var state: State = .waiting
    public private(set) var vad = VoiceActivityDetector()
    public var commandTimeoutNanoseconds: UInt64 = 4_000_000_000
    public var dictationStartNanoseconds: UInt64 = 4_000_000_000
    /// Silence that ends a stretch of voice (10 ms frames).
    public var pauseFrames = 50 { didSet { vad.hangover = pauseFrames } }
    /// How far (dB) under the voice's loudest recent level a frame counts as quiet, but in dictation.
    public var peakDrop = 12.0
    /// Silence that ends dictation.
    public var dictationPauseFrames = 90
    /// Silence after which a stretch is transcribed early, to answer a short command sooner.
    public var earlyPauseFrames = 20
    /// A noise is steady when its level, over the last `steadyFrames` before dictation (the pause
    /// after the command), stays within `steadySpread` dB: white noise here varies by 0.3-0.4 dB,
    /// babble by 2-5.
    public var steadyFrames = 30
    public var steadySpread = 1.5
    /// The longest stretch transcribed at once (a longer one is cut here).
    public var maximumStretchSeconds = 12.0
    /// Stretches whose text Whisper is less sure of than this are taken as no speech.
    public var minimumConfidence: Float = 0.35

    private let recognizer: WhisperRecognizer
    private let commands: SpokenCommands
    private let commandList: [VoiceCommand]
    /// What the decoder takes as said before a stretch that may hold a wake phrase or a command:
    /// a sentence that sets the scene, then the wake phrases in use, each with a command. Whisper
    /// base, unprompted, writes a synthetic "hey glasses" as "Thank you, glasses" or "Big
    /// glasses". Prompted with the wake phrase alone, it leaves out the wake phrase when the
    /// audio begins with it, as if it had been said already; after a sentence, it writes it.
    /// Dictation goes unprompted.
    let prompt: String
    /// The prompt for the stretch after a wake phrase heard alone: every command once, then the
    /// wake phrase that was heard (`wakeHeard`).
    private let commandExamples: String
    private var wakeHeard = ""
    private let rate = UInt64(WhisperRecognizer.sampleRateHertz)
    private var sampleCount: UInt64 = 0
    private var clock = SampleClock(rate: UInt64(WhisperRecognizer.sampleRateHertz))
    private var frames = FrameSplitter()
    /// The audio of the stretch of voice in progress, from its lead-in on.
    private var stretch: [Int16] = []
    private var stretchStart: UInt64 = 0
    private var inStretch = false
    /// The last half second before a stretch, its lead-in: in noise, the level detector hears a
    /// word's voiced middle and misses its quiet start ("stop" heard as "up" without it).
    private var leadIn: [Int16] = []
    /// When the wait for a command or for dictation ends (a sample index).
    private var deadline: UInt64 = 0
    /// The command waiting for its dictation.
    private var awaiting: (intent: VoiceIntent, start: UInt64, end: UInt64)?
    /// The early transcription of the stretch in progress, when it was no whole command (voice
    /// after it arms the next).
    private var earlyTried = false
    /// Whether the noise was steady when dictation began (its floor then holds).
    private var steadyNoise = false
    /// The end of the last frame loud on its own level, or of the quiet tail of its word over
    /// the floor (a sample index): where the wearer's last word ended. What is heard ends there,
    /// not where the pause after it was noticed, so the wait for that pause counts in the
    /// answer's latency.
    private var voicedEnd: UInt64 = 0
    /// Frames since the last one that was loud within `peakDrop` of the voice's peak (what arms
    /// early transcription).
    private var sinceVoiced = 0
    /// Whether the frames since that one are still over the floor: the tail of its word.
    private var inWordTail = false
    private let logger = Logger(label: "visor.speech.whisper")

    public init(recognizer: WhisperRecognizer, wakePhrases: [String] = SpeechListener.defaultWakePhrases,
                commands: [VoiceCommand] = VoiceCommand.defaults) throws {
        guard !wakePhrases.isEmpty else { throw VisorError("no wake phrase to listen for") }
        self.recognizer = recognizer
        self.commands = SpokenCommands(wakePhrases: wakePhrases, commands: commands)
        commandList = commands
        prompt = "I talk to my glasses. " + Self.examples(["what time is it?", "stop."], wakePhrases: wakePhrases)
        // After a wake phrase, every command once and none favoured: with a few of them as
        // examples, Whisper in babble wrote those ("what time is it?") for a command it could not
        // make out. No wake phrase among them: a prompt full of wake phrases has Whisper write
        // one into noise and other people's talk.
        commandExamples = commands.map { Self.capitalised(Self.sentence($0.phrase)) }.joined(separator: " ")
        vad.hangover = pauseFrames
        // Whisper tells speech from noise better than a level does: let more through to it.
        vad.margin = 6
        // Levels over 200 ms, against the lowest of the last 2 s and within 12 dB of the voice's
        // own: stretches end in babble and traffic, not only in quiet.
        vad.smoothingFrames = 20
        vad.floorFrames = 200
        vad.peakDrop = peakDrop
    }

    /// "Hey glasses, what am I looking at? Okay glasses, read this.": each example after a wake
    /// phrase, the phrases in turn.
    static func examples(_ commands: [String], wakePhrases: [String]) -> String {
        commands.indices.map { i in capitalised(wakePhrases[i % wakePhrases.count]) + ", " + commands[i] }.joined(separator: " ")
    }

    private static func capitalised(_ phrase: String) -> String { phrase.prefix(1).uppercased() + phrase.dropFirst() }

    /// A command as written: "what am I looking at?", "take a photo."
    static func sentence(_ phrase: String) -> String {
        let words = phrase.split(separator: " ").map { $0 == "i" ? "I" : String($0) }
        let question = ["what", "where", "who", "how", "when", "which", "is", "are", "can", "do"].contains(words.first ?? "")
        return words.joined(separator: " ") + (question ? "?" : ".")
    }

    private func time(ofSample index: UInt64) -> UInt64 { clock.time(ofSample: index) }

    public func process(_ samples: [Int16], captureTimeNanoseconds: UInt64) -> [HeardSpeech] {
        clock.startBlock(atSample: sampleCount + UInt64(frames.waiting), time: captureTimeNanoseconds)
        var heard: [HeardSpeech] = []
        frames.split(samples) { step($0, into: &heard) }
        return heard
    }

    private func step(_ frame: UnsafeBufferPointer<Int16>, into heard: inout [HeardSpeech]) {
        // A reader's voice falls well below its loudest syllables for seconds at a time: within
        // dictation, only quiet ends the voice.
        vad.peakDrop = state == .dictation ? nil : peakDrop
        vad.hangover = state == .dictation ? dictationPauseFrames : pauseFrames
        // And within dictation, in a steady noise, the floor holds: over seconds of reading there
        // may be no moment of the noise alone, and a floor that rose with the reading's quieter
        // words ended the note in mid-sentence. A noise that swings (babble) keeps a floor that
        // follows it, or its louder moments would carry the note on after the wearer stopped.
        vad.holdFloor = state == .dictation && steadyNoise
        let change = vad.process(frame)
        sampleCount += UInt64(frame.count)
        if vad.lastFrameVoiced {
            voicedEnd = sampleCount
            inWordTail = true
            if sinceVoiced >= earlyPauseFrames { earlyTried = false }
            sinceVoiced = 0
        } else {
            sinceVoiced += 1
            // A word's quiet end is still the word while it stays over the floor.
            inWordTail = inWordTail && vad.lastFrameOverFloor
            if inWordTail { voicedEnd = sampleCount }
        }
        if change == .started {
            inStretch = true
            earlyTried = false
            stretch = leadIn
            stretchStart = sampleCount - UInt64(frame.count) - UInt64(leadIn.count)
        }
        if inStretch {
            stretch.append(contentsOf: frame)
        } else {
            leadIn.append(contentsOf: frame)
            if leadIn.count > Int(rate) / 2 { leadIn.removeFirst(leadIn.count - Int(rate) / 2) }
        }
        let pause = state == .dictation ? dictationPauseFrames : pauseFrames
        if inStretch {
            let long = Double(stretch.count) / Double(rate) >= maximumStretchSeconds
            if vad.quietRun >= pause || long || change == .ended {
                endStretch(trailingQuiet: vad.quietRun, into: &heard)
            } else if !earlyTried && sinceVoiced >= earlyPauseFrames && state != .dictation {
                earlyTried = true
                early(into: &heard)
            }
        } else if state != .waiting && sampleCount > deadline {
            if let awaiting {
                // A command that takes words, and none came: it stands with none.
                heard.append(HeardSpeech(command: awaiting.intent, words: "", startNanoseconds: time(ofSample: awaiting.start),
                                         endNanoseconds: time(ofSample: awaiting.end)))
            } else {
                logger.debug("no command after the wake phrase")
            }
            reset()
        }
    }

    private func reset() {
        state = .waiting
        awaiting = nil
    }

    public func wake() {
        guard state == .waiting else { return }
        // The command's prompt names a wake phrase; the first one stands for the tap.
        wakeHeard = commands.wakePhrases.first?.joined(separator: " ") ?? ""
        state = .command
        deadline = sampleCount + commandTimeoutNanoseconds * rate / 1_000_000_000
    }

    /// Transcribes the stretch so far when it may be a whole command, and acts on it if it is
    /// one that takes no words.
    private func early(into heard: inout [HeardSpeech]) {
        // The stretch so far, its pause included; when the level detector already counts more
        // quiet than `earlyPauseFrames` (rare: its smoothing lags), only that much of it.
        let audio = Array(stretch.dropLast(max(0, (vad.quietRun - earlyPauseFrames) * VoiceActivityDetector.frameSamples)))
        guard let text = transcribe(audio, maxTokens: 24, window: .command, prompted: true) else { return }
        let words = SpokenCommands.words(text)
        var commandWords = words[...]
        if state == .waiting {
            guard let wake = commands.wake(in: words) else { return }
            commandWords = words[wake.range.upperBound...]
        }
        // A wake phrase alone, or a whole command that takes no words: act now, and what is left
        // of the stretch is a pause (after a wake phrase, the command comes as a stretch of its own).
        let wakeAlone = state == .waiting && commandWords.isEmpty
        guard wakeAlone || (commands.command(in: Array(commandWords)).map { !$0.takesWords } ?? false) else { return }
        let end = wordsEnd(start: stretchStart, audioEnd: stretchStart + UInt64(audio.count))
        logger.debug("early: \((sampleCount - end) * 1000 / rate) ms after the last word")
        emit(words: words, text: text, start: stretchStart, end: end, into: &heard)
        cutStretch()
        vad.endVoice()
    }

    /// Where the words of a stretch's audio end: at its last voiced frame.
    private func wordsEnd(start: UInt64, audioEnd: UInt64) -> UInt64 { min(audioEnd, max(start + 1, voicedEnd)) }

    /// Ends the stretch in progress; its last half second is the lead-in of the next.
    private func cutStretch() {
        inStretch = false
        leadIn = Array(stretch.suffix(Int(rate) / 2))
        stretch.removeAll(keepingCapacity: true)
    }

    private func endStretch(trailingQuiet: Int, into heard: inout [HeardSpeech]) {
        // 300 ms of the pause stay: a word's quiet end is in it.
        let keep = max(0, stretch.count - max(0, trailingQuiet - 30) * VoiceActivityDetector.frameSamples)
        let audio = Array(stretch.prefix(keep))
        let start = stretchStart, end = wordsEnd(start: stretchStart, audioEnd: stretchStart + UInt64(audio.count))
        cutStretch()
        if vad.inVoice { vad.endVoice() }
        let dictating = state == .dictation
        guard let text = transcribe(audio, maxTokens: dictating ? 160 : 48, window: dictating ? .whole : .command, prompted: !dictating) else { return }
        emit(words: SpokenCommands.words(text), text: text, start: start, end: end, audio: audio, into: &heard)
    }

    /// The words after a command in a stretch, read again over Whisper's whole window, unprompted
    /// (a note's words are spelt better there; the short window and the prompt are for finding
    /// the wake phrase and the command): "" when that reading has the command and nothing after
    /// it, nil when it does not have the command.
    private func note(for intent: VoiceIntent, in audio: [Int16]) -> String? {
        guard let text = transcribe(audio, maxTokens: 160, window: .whole, prompted: false) else { return nil }
        let words = SpokenCommands.words(text)
        let afterWake = commands.wake(in: words).map { Array(words[$0.range.upperBound...]) } ?? words
        for from in afterWake.indices {
            if let command = commands.command(in: Array(afterWake[from...])), command.intent == intent { return command.rest }
        }
        return nil
    }

    /// Acts on the words of one stretch of voice.
    private func emit(words: [String], text: String, start: UInt64, end: UInt64, audio: [Int16]? = nil, into heard: inout [HeardSpeech]) {
        // Where a word falls in the stretch, by its share of the text's letters.
        let letters = max(1, words.reduce(0) { $0 + $1.count })
        func at(_ index: Int) -> UInt64 {
            let before = words.prefix(index).reduce(0) { $0 + $1.count }
            return start + (end - start) * UInt64(before) / UInt64(letters)
        }
        if state == .command, commands.wake(in: words) != nil { state = .waiting }
        switch state {
        case .dictation:
            guard let awaiting else { reset(); return }
            let note = words.joined(separator: " ")
            var request = HeardSpeech(command: awaiting.intent, words: note, startNanoseconds: time(ofSample: awaiting.start),
                                      endNanoseconds: time(ofSample: awaiting.end))
            request.wordsEndNanoseconds = time(ofSample: end)
            heard.append(request)
            if !note.isEmpty {
                heard.append(HeardSpeech(kind: .utterance, label: "", words: note, startNanoseconds: time(ofSample: start),
                                         endNanoseconds: time(ofSample: end)))
            }
            reset()
        case .waiting, .command:
            var commandFrom = 0
            if state == .waiting {
                guard let wake = commands.wake(in: words) else {
                    logger.debug("heard \"\(text)\": no wake phrase")
                    return
                }
                heard.append(HeardSpeech(kind: .wake, label: wake.phrase, words: wake.phrase,
                                         startNanoseconds: time(ofSample: at(wake.range.lowerBound)),
                                         endNanoseconds: time(ofSample: at(wake.range.upperBound))))
                commandFrom = wake.range.upperBound
                if commandFrom == words.count {
                    wakeHeard = wake.phrase
                    state = .command
                    deadline = end + commandTimeoutNanoseconds * rate / 1_000_000_000
                    return
                }
            }
            let rest = Array(words[commandFrom...])
            // Straight after a wake phrase a command is expected: when the words name none
            // exactly, the one that sounds closest to them.
            let exact = commands.command(in: rest)
            let closest = exact == nil && rest.count <= 5 ? commands.closestCommand(to: rest) : nil
            if let closest { logger.debug("heard \"\(rest.joined(separator: " "))\", taken as \"\(closest.said)\"") }
            guard let command = exact ?? closest.map({ (intent: $0.intent, said: $0.said, rest: "", takesWords: false) }) else {
                logger.debug("after the wake phrase, heard \"\(rest.joined(separator: " "))\", which is no command")
                reset()
                return
            }
            let commandStart = at(commandFrom)
            let saidCount = command.said.split(separator: " ").count
            let fillersBefore = rest.firstIndex(of: String(command.said.split(separator: " ")[0])) ?? 0
            let commandEnd = command.rest.isEmpty ? end : at(commandFrom + fillersBefore + saidCount)
            if !command.takesWords {
                heard.append(HeardSpeech(command: command.intent, words: command.said, startNanoseconds: time(ofSample: commandStart),
                                         endNanoseconds: time(ofSample: commandEnd)))
                reset()
            } else if let rest = command.rest.isEmpty ? nil : (audio.flatMap { note(for: command.intent, in: $0) } ?? command.rest), !rest.isEmpty {
                var request = HeardSpeech(command: command.intent, words: rest, startNanoseconds: time(ofSample: commandStart),
                                          endNanoseconds: time(ofSample: commandEnd))
                request.wordsEndNanoseconds = time(ofSample: end)
                heard.append(request)
                if command.intent == .rememberThis {
                    heard.append(HeardSpeech(kind: .utterance, label: "", words: rest,
                                             startNanoseconds: time(ofSample: commandEnd), endNanoseconds: time(ofSample: end)))
                }
                reset()
            } else {
                // The words come after a pause: wait for the wearer to start.
                state = .dictation
                steadyNoise = vad.spread(ofLast: steadyFrames) <= steadySpread
                awaiting = (command.intent, commandStart, end)
                deadline = end + dictationStartNanoseconds * rate / 1_000_000_000
            }
        }
    }

    /// The text without the loops a decoder falls into ("What am I looking at? What am I looking
    /// at? What am I"): a sentence said again straight after itself is kept once, and a trailing
    /// fragment that only begins it again is dropped.
    static func withoutRepeats(_ text: String) -> String {
        var sentences: [String] = []
        var current = ""
        for character in text {
            current.append(character)
            if ".?!".contains(character) {
                sentences.append(current.trimmingCharacters(in: .whitespaces))
                current = ""
            }
        }
        let tail = current.trimmingCharacters(in: .whitespaces)
        var kept: [String] = []
        for sentence in sentences where sentence.lowercased() != kept.last?.lowercased() {
            kept.append(sentence)
        }
        if !tail.isEmpty, !(kept.last.map { $0.lowercased().hasPrefix(tail.lowercased()) } ?? false) {
            kept.append(tail)
        }
        // A run of words said three times or more in a row ("to be able to be able to be able"),
        // at most eight words long, is kept once.
        var words = kept.joined(separator: " ").split(separator: " ").map(String.init)
        var i = 0
        while i < words.count {
            var cut = false
            for n in 1...8 where i + 3 * n <= words.count {
                let run = Array(words[i..<(i + n)])
                var end = i + n
                while end + n <= words.count && Array(words[end..<(end + n)]) == run { end += n }
                if end - i >= 3 * n { words.removeSubrange((i + n)..<end); cut = true; break }
            }
            if !cut { i += 1 }
        }
        return words.joined(separator: " ")
    }

    /// How much less likely (natural log) than Whisper's own text a reading with the wake phrase
    /// or a command may be, and still be taken.
    public var rescoreMargin: Float = 3
    /// The same for a command after a wake phrase, where one is expected ("up." is "Stop." 3.9
    /// less likely in white noise).
    public var commandRescoreMargin: Float = 4.5
    /// The least mean log probability a token of a reading may have: Whisper's own text, when it
    /// loops or drifts, can score low enough that a short wake phrase comes out "as likely" over
    /// audio that holds none.
    public var minimumReadingLogProbability: Float = -1.2
    /// The same for a command after a wake phrase, where one is expected: in babble, Whisper
    /// finds "Take a photo." a little less likely than that, and likelier than its own "I'm
    /// gonna take a photo."
    public var minimumCommandLogProbability: Float = -2.0

    /// Whisper's text when it names what is expected, else the likeliest reading that does, when
    /// Whisper finds it nearly as likely (within `rescoreMargin`) on the same audio. In noise,
    /// Whisper base writes "hey glasses" as "Thanks glasses" or "Please glasses", and "where is
    /// my car" as "There is my car"; scored against the audio, the reading that is the wake
    /// phrase or the command comes close to the text's own score, and talk that holds neither
    /// comes far below.
    private func rescored(_ text: String, prompt: String?) -> String {
        // A loop of the wake phrase or of a whole command ("What time is it? What time is it?")
        // is that said once: there is nothing to score.
        let once = Self.withoutRepeats(text)
        if once != text {
            let saidOnce = SpokenCommands.words(once)
            switch state {
            case .command where commands.command(in: saidOnce) != nil: return once
            case .waiting where commands.wake(in: saidOnce)?.range.upperBound == saidOnce.count: return once
            default: break
            }
        }
        let words = SpokenCommands.words(text)
        let raw = text.split(separator: " ").map(String.init)
        var readings: [String] = []
        var wakes: [String] = []
        switch state {
        case .dictation:
            return text
        case .command:
            if commands.wake(in: words) != nil || commands.command(in: words) != nil { return text }
            readings = commandReadings(raw, after: nil)
        case .waiting:
            if let wake = commands.wake(in: words) {
                let rest = Array(words[wake.range.upperBound...])
                if rest.isEmpty { return text }
                if let command = commands.command(in: rest) {
                    // In noise, Whisper may go on from a wake phrase heard alone with a command from
                    // its prompt: when the wake phrase alone is likelier, the command was not said.
                    guard !command.takesWords, wake.range.lowerBound == 0 else { return text }
                    let alone = Self.capitalised(wake.phrase) + "."
                    guard let scores = try? recognizer.score([text, alone], prompt: prompt),
                          scores[1].logProbability > scores[0].logProbability else { return text }
                    logger.debug("rescored at \(Double(stretchStart) / Double(rate)) s \"\(text)\" (\(scores[0].logProbability)): \"\(alone)\" more likely (\(scores[1].logProbability))")
                    return alone
                }
                // The wake phrase was heard and the command was not: the words after it.
                let dropped = max(0, raw.count - rest.count)
                readings = commandReadings(Array(raw.dropFirst(dropped)), after: Self.capitalised(wake.phrase))
            } else {
                // The wake phrase alone, or said for the first one to three words.
                for phrase in commands.wakePhrases.map({ Self.capitalised($0.joined(separator: " ")) }) {
                    wakes.append(phrase + ".")
                    for k in 1...3 where k < raw.count {
                        wakes.append(phrase + ", " + raw.dropFirst(k).joined(separator: " "))
                    }
                }
                readings = wakes
            }
        }
        guard !readings.isEmpty else { return text }
        do {
            let scores = try recognizer.score([text] + readings, prompt: prompt)
            let own = scores[0].logProbability
            guard let best = readings.indices.max(by: { scores[$0 + 1].logProbability < scores[$1 + 1].logProbability }) else { return text }
            let margin = own - scores[best + 1].logProbability
            for (reading, score) in zip(readings, scores.dropFirst()) {
                logger.trace("reading at \(Double(stretchStart) / Double(rate)) s \(state.rawValue) own \(own) \(scores[0].tokens) \"\(reading)\" \(score.logProbability) \(score.tokens)")
            }
            logger.debug("rescored at \(Double(stretchStart) / Double(rate)) s \"\(text)\" (\(own), \(scores[0].tokens) tokens): \"\(readings[best])\" \(margin) less likely")
            let floor = wakes.isEmpty ? minimumCommandLogProbability : minimumReadingLogProbability
            guard margin <= (wakes.isEmpty ? commandRescoreMargin : rescoreMargin), scores[best + 1].meanLogProbability >= floor else { return text }
            // A wake phrase taken: the command after it, when the reading names none, is scored in turn.
            if wakes.contains(readings[best]) {
                let after = SpokenCommands.words(readings[best])
                guard let wake = commands.wake(in: after) else { return readings[best] }
                let rest = Array(after[wake.range.upperBound...])
                if rest.isEmpty || commands.command(in: rest) != nil { return readings[best] }
                let commandReadings = commandReadings(Array(readings[best].split(separator: " ").dropFirst(wake.range.count).map(String.init)),
                                                      after: Self.capitalised(wake.phrase))
                let second = try recognizer.score(commandReadings, prompt: prompt)
                if let top = second.indices.max(by: { second[$0].logProbability < second[$1].logProbability }),
                   own - second[top].logProbability <= commandRescoreMargin, second[top].meanLogProbability >= minimumCommandLogProbability {
                    logger.debug("rescored \"\(readings[best])\": \"\(commandReadings[top])\" \(own - second[top].logProbability) less likely")
                    return commandReadings[top]
                }
            }
            return readings[best]
        } catch {
            logger.error("\(error)")
            return text
        }
    }

    /// Readings of words as each command: those that take no words as said alone, those that
    /// take words in place of as many of the first words, the rest kept. After a wake phrase
    /// when one is given.
    private func commandReadings(_ raw: [String], after wake: String?) -> [String] {
        var readings: [String] = []
        for command in commandList {
            var phrase = command.phrase.replacingOccurrences(of: " i ", with: " I ")
            if command.takesWords {
                let tail = raw.dropFirst(command.phrase.split(separator: " ").count)
                guard !tail.isEmpty else { continue }
                phrase += (command.intent == .rememberThis ? ", " : " ") + tail.joined(separator: " ")
            } else {
                phrase += phrase.hasPrefix("what") ? "?" : "."
            }
            readings.append(wake.map { $0 + ", " + phrase } ?? Self.capitalised(phrase))
        }
        return readings
    }

    private func transcribe(_ audio: [Int16], maxTokens: Int, window: WhisperRecognizer.Window, prompted: Bool) -> String? {
        guard audio.count >= Int(rate) / 5 else { return nil }
        // A bound on the tokens from the audio's length (people say 2 to 4 words a second, a
        // token or two each) stops a loop early and costs nothing when there is none.
        let maxTokens = min(maxTokens, audio.count * 6 / Int(rate) + 8)
        do {
            let prompt = !prompted ? nil : state == .command ? commandExamples + " " + Self.capitalised(wakeHeard) + "," : prompt
            let result = try recognizer.transcribe(audio, maxTokens: maxTokens, prompt: prompt, window: window)
            logger.debug("whisper: \"\(result.text)\" (p \(result.confidence), no speech \(result.noSpeechProbability), \(result.elapsedNanoseconds / 1_000_000) ms for \(audio.count / 16) ms)")
            guard !result.text.isEmpty else { return nil }
            // After a wake phrase a command is expected: a reading that is one is weighed even
            // when Whisper is unsure of its own text.
            let text = prompted && (result.confidence >= minimumConfidence || state == .command) ? rescored(result.text, prompt: prompt) : result.text
            guard result.confidence >= minimumConfidence || text != result.text else { return nil }
            return Self.withoutRepeats(text)
        } catch {
            logger.error("\(error)")
            return nil
        }
    }
}
