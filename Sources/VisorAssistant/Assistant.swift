import Dispatch
import Foundation
import Synchronization
import Logging
import VisorCore
import VisorMedia

/// A change to the HUD's overlays.
public struct OverlayCommand: Equatable, Sendable {
    public enum Action: String, Sendable { case show, update, hide }
    public var action: Action
    public var id: Int
    public var text: String
    public var priority: OverlayItem.Priority
    public var timeToLiveNanoseconds: UInt64
    /// What made it: `template` (code), `model` (the language model's phrasing of the facts),
    /// `cue` (proactive), or `listening`.
    public var source: String

    public init(action: Action, id: Int, text: String = "", priority: OverlayItem.Priority = .normal,
                timeToLiveNanoseconds: UInt64 = 0, source: String) {
        self.action = action; self.id = id; self.text = text; self.priority = priority
        self.timeToLiveNanoseconds = timeToLiveNanoseconds; self.source = source
    }
}

/// One thing the assistant does in answer, in order.
public enum AssistantStep: Equatable, Sendable {
    case overlay(OverlayCommand)
    /// Say this (samples at 16 kHz, empty when the wearer's profile says not to speak).
    case speak(text: String, samples: [Int16])
    /// Stop speaking now.
    case stopSpeaking
    /// Something for the transcript (a memory stored, a photo taken, the model's verdict).
    case event(TranscriptEvent)
}

/// The assistant's answer to something heard: its steps, each with the compute time after the
/// request at which it was ready, and whether it waited for the language model (`phrased`).
public struct AssistantReply: Sendable {
    public struct Timed: Sendable {
        public var step: AssistantStep
        public var readyAfterNanoseconds: UInt64
        public var phrased: Bool
    }
    public var steps: [Timed] = []
    /// The language model's timings, when it ran.
    public var generation: GenerationTimings?
    public init() {}
}

/// What phrases the facts: the language model, or in a unit test of the assistant's own logic,
/// a stand-in.
public protocol AnswerPhraser: AnyObject {
    func phrase(system: String, user: String, maxTokens: Int) throws -> (text: String, timings: GenerationTimings)
}

extension LanguageModel: AnswerPhraser {
    /// One line, greedily, in the model's chat format.
    public func phrase(system: String, user: String, maxTokens: Int) throws -> (text: String, timings: GenerationTimings) {
        try generate(prompt: chatPrompt(system: system, user: user), maxTokens: maxTokens, stop: ["\n", "<|im_end|>"])
    }
}

/// What the assistant needs to know about where its answers go.
public struct AssistantConfiguration: Sendable {
    public var wearer = WearerProfile()
    /// Characters a HUD line holds, and lines the answers may use.
    public var charactersPerLine = 40
    public var lines = 3
    /// Where photos go; nil refuses "take a photo".
    public var galleryDirectory: String?
    /// How long an answer stays on the HUD.
    public var answerTimeToLiveNanoseconds: UInt64 = 8_000_000_000
    public var cueTimeToLiveNanoseconds: UInt64 = 4_000_000_000
    public init() {}

    /// The characters an answer may take, by verbosity: one line when brief, all when not.
    public var maximumCharacters: Int {
        wearer.verbosity == .brief ? charactersPerLine : charactersPerLine * max(1, lines)
    }
}

/// The on-device assistant. Facts come from code (the scene context, memory, the clock); the
/// language model only phrases them, greedily, within what fits the HUD, and an answer that
/// names a number, a name or a quoted word not in its facts is replaced by the template answer.
/// It answers the voice commands and raises proactive cues within the wearer's notification
/// budget. Deterministic: the same inputs give the same steps.
///
/// Threads: commands are answered one at a time (on the assistant stage's queue, or on the
/// frame's thread when deterministic); a wake phrase's answer touches no state; cues touch only
/// the cue state, on the frame's thread; overlay ids, which both hand out, are behind a `Mutex`.
/// The compiler cannot check that split, hence `@unchecked Sendable`.
public final class Assistant: @unchecked Sendable {
    public let configuration: AssistantConfiguration
    public let memory: Memory?
    public let model: AnswerPhraser?
    public let voice: SpeechSynthesizer?
    /// Overlay ids, shared by answers (the assistant's thread) and cues (the frame's thread).
    private let nextID = Mutex<Int>(1)
    private func makeID() -> Int {
        nextID.withLock { next in
            next += 1
            return next - 1
        }
    }
    private let listeningID = 0
    private var shown: Set<Int> = []
    private let jpeg = JPEGCodec()
    private var photoCount = 0
    /// What "read this" read last, and the next of its lines "go on" reads.
    private var reading: (lines: [String], next: Int)?
    /// Where each part read so far began, for reading back.
    private var readingStarts: [Int] = []
    /// Lines "read this" and "go on" read at a time, and words: a text of up to that many words
    /// is a sign, read whole.
    public static let linesPerReading = 3
    public static let wordsOfASign = 16
    private let logger = Logger(label: "visor.assistant")
    /// Proactive cues: when each was last raised, and when the budget's window started.
    private var cueTimes: [UInt64] = []
    private var cueLastRaised: [CueKey: UInt64] = [:]
    private var interestOfText: [String: String?] = [:]
    public private(set) var cuesRaised = 0
    public private(set) var cuesSuppressed: [String: Int] = [:]
    private let interestStems: [(stem: String, topic: String)]

    public static let systemPrompt = "You are the voice of smart glasses. Rephrase the facts as one short, friendly sentence that answers the question. Use only the facts."
    /// The least share of the facts' content words a model answer must carry (`Grounding.coverage`).
    public static let minimumCoverage = 0.5

    public init(configuration: AssistantConfiguration, memory: Memory?, model: AnswerPhraser?, voice: SpeechSynthesizer?) {
        self.configuration = configuration
        self.memory = memory
        self.model = model
        self.voice = voice
        var stems: [(String, String)] = []
        for topic in configuration.wearer.interests + configuration.wearer.goals {
            for word in topic.lowercased().split(whereSeparator: { !$0.isLetter }) where word.count >= 4 && !Assistant.commonWords.contains(String(word)) {
                stems.append((String(word.prefix(5)), topic))
            }
        }
        interestStems = stems
        // The system prompt goes into the model's context now, not on the first question.
        if let model = model as? LanguageModel {
            do { try model.prefill(model.chatPrompt(system: Assistant.systemPrompt, user: "")) } catch { logger.error("could not prefill the model: \(error)") }
        }
    }

    // MARK: Answers

    /// Answers something heard. A wake phrase's answer touches no state, so it may be asked for on
    /// another thread than the rest.
    ///
    /// With `early`, the steps decided before the language model and the voice run (the template
    /// answer's overlay and what comes before it) are handed to it as soon as they are decided,
    /// and are not in the reply: a caller on another thread shows the template answer while the
    /// model phrases it.
    public func respond(to heard: HeardSpeech, scene: SceneContext, frame: Frame?, sessionTime: UInt64, wallClock: UInt64?,
                        early: (([AssistantReply.Timed]) -> Void)? = nil) -> AssistantReply {
        let started = DispatchTime.now().uptimeNanoseconds
        var reply = AssistantReply()
        func add(_ step: AssistantStep, phrased: Bool = false) {
            reply.steps.append(.init(step: step, readyAfterNanoseconds: DispatchTime.now().uptimeNanoseconds - started, phrased: phrased))
        }
        switch heard.kind {
        case .wake:
            // A new wake phrase interrupts what is being said.
            add(.stopSpeaking)
            add(.overlay(OverlayCommand(action: .show, id: listeningID, text: "listening...", priority: .high,
                                        timeToLiveNanoseconds: 5_000_000_000, source: "listening")))
            return reply
        case .utterance:
            return reply
        case .command:
            break
        }
        add(.overlay(OverlayCommand(action: .hide, id: listeningID, source: "listening")))
        let answer = answerFacts(heard, scene: scene, frame: frame, sessionTime: sessionTime, wallClock: wallClock, add: { add($0) })
        guard let answer else { return reply }
        if answer.hideAll {
            add(.stopSpeaking)
            for id in shown.sorted() { add(.overlay(OverlayCommand(action: .hide, id: id, source: "template"))) }
            shown.removeAll()
            return reply
        }
        let id = makeID()
        shown.insert(id)
        let template = fit(answer.template)
        add(.overlay(OverlayCommand(action: .show, id: id, text: template, priority: .high,
                                    timeToLiveNanoseconds: configuration.answerTimeToLiveNanoseconds, source: "template")))
        if let early {
            early(reply.steps)
            reply.steps.removeAll()
        }
        var said = answer.spoken ?? template
        if let question = answer.question, let model {
            let facts = answer.facts
            let user = "Facts:\n" + facts.map { "- \($0)" }.joined(separator: "\n") + "\nQuestion: \(question)"
            let maxTokens = max(8, configuration.maximumCharacters / 3)
            do {
                let (text, timings) = try model.phrase(system: Assistant.systemPrompt, user: user, maxTokens: maxTokens)
                reply.generation = timings
                let phrased = fit(text)
                let invented = Grounding.unsupported(answer: text, facts: facts + [question])
                let coverage = Grounding.coverage(answer: text, facts: facts)
                let mixed = Grounding.mixedClaims(answer: text, facts: facts)
                var fields: [(String, TranscriptEvent.Value)] = [
                    ("intent", .string(heard.label)), ("answer", .string(text)),
                    ("prompt_tokens", .int(Int64(timings.promptTokens))), ("reused_tokens", .int(Int64(timings.reusedTokens))),
                    ("generated_tokens", .int(Int64(timings.generatedTokens))),
                ]
                fields.append(("coverage", .fixed(coverage, decimals: 2)))
                if phrased.isEmpty || !invented.isEmpty || !mixed.isEmpty || coverage < Assistant.minimumCoverage {
                    let why = phrased.isEmpty ? "empty"
                        : !invented.isEmpty ? "not in the facts: " + invented.joined(separator: ", ")
                        : !mixed.isEmpty ? "joins separate facts: " + mixed.joined(separator: "; ")
                        : String(format: "says %.0f%% of the facts", coverage * 100)
                    logger.info("model answer rejected (\(why)): \(text); the template answer stands")
                    fields.append(("verdict", .string("rejected")))
                    fields.append(("reason", .string(why)))
                    add(.event(TranscriptEvent(kind: .model, fields: fields)), phrased: true)
                } else {
                    logger.info("model answer accepted: \(text)")
                    fields.append(("verdict", .string("accepted")))
                    add(.event(TranscriptEvent(kind: .model, fields: fields)), phrased: true)
                    add(.overlay(OverlayCommand(action: .update, id: id, text: phrased, priority: .high,
                                                timeToLiveNanoseconds: configuration.answerTimeToLiveNanoseconds, source: "model")), phrased: true)
                    said = phrased
                }
            } catch {
                logger.error("language model failed: \(error); the template answer stands")
                add(.event(TranscriptEvent(kind: .model, fields: [("intent", .string(heard.label)), ("verdict", .string("failed")), ("reason", .string("\(error)"))])), phrased: true)
            }
        }
        let samples = configuration.wearer.voice.speak ? (voice?.synthesize(said) ?? []) : []
        add(.speak(text: said, samples: samples), phrased: answer.question != nil && model != nil)
        return reply
    }

    /// The next lines of what is being read; a sign is read whole, a page a few lines at a time
    /// with an offer to go on.
    private func nextLines() -> Answer {
        guard let current = reading else { return Answer(template: "I see no text to read.") }
        // A sign (a few words, however many lines) is read whole; a page a few lines at a time.
        let words = current.lines.map { $0.split(separator: " ").count }
        let short = current.next == 0 && words.reduce(0, +) <= Self.wordsOfASign
        var end = current.lines.count
        if !short {
            end = current.next
            var taken = 0
            while end < current.lines.count && end - current.next < Self.linesPerReading && taken < Self.wordsOfASign {
                taken += words[end]; end += 1
            }
        }
        let text = current.lines[current.next..<end].joined(separator: " ")
        readingStarts.append(current.next)
        reading = (current.lines, end)
        let more = end < current.lines.count
        let spoken = (current.next == 0 ? "It says: " : "") + text + (more ? ". Say go on for more." : "")
        let offer = more ? " (say go on)" : ""
        return Answer(template: fit(text, reserving: offer.count) + offer, spoken: spoken)
    }

    struct Answer {
        var template: String
        var spoken: String?
        /// Facts and question for the language model to phrase; nil keeps the template.
        var facts: [String] = []
        var question: String?
        var hideAll = false
    }

    private func answerFacts(_ heard: HeardSpeech, scene: SceneContext, frame: Frame?, sessionTime: UInt64, wallClock: UInt64?,
                             add: (AssistantStep) -> Void) -> Answer? {
        switch heard.intent {
        case .whatAmILookingAt:
            var facts = sceneFacts(scene)
            // With eye tracking, what the wearer looks at comes first.
            if let looked = gazedFact(scene, at: sessionTime) {
                facts.removeAll { $0 == looked.fact }
                facts.insert("You are looking at " + looked.phrase, at: 0)
            }
            guard !facts.isEmpty else { return Answer(template: "Nothing I can name. The light is \(Assistant.lightWord(scene.lightLevel)).") }
            return Answer(template: facts.joined(separator: ". ") + ".", facts: facts, question: "What am I looking at?")
        case .readThis:
            // Everything read of the view over the last seconds, block by block in reading order;
            // with eye tracking, the block the wearer looks at alone.
            let gazed = scene.gazed(scene.texts.map(\.box), at: sessionTime)
            let lines = gazed.map { scene.texts[$0].lines } ?? scene.texts.flatMap(\.lines)
            guard !lines.isEmpty else {
                reading = nil
                return Answer(template: "I see no text to read.")
            }
            store(.reading, text: lines.joined(separator: " "), scene: scene, sessionTime: sessionTime, add: add)
            reading = (lines, 0)
            readingStarts = []
            return nextLines()
        case .goBack:
            // The part before the one last read (or the first part again).
            guard let current = reading, !readingStarts.isEmpty else { return Answer(template: "Nothing is being read. Say read this first.") }
            readingStarts.removeLast()
            let start = readingStarts.popLast() ?? 0
            reading = (current.lines, start)
            return nextLines()
        case .goOn:
            guard let current = reading, current.next < current.lines.count else {
                return Answer(template: reading == nil ? "Nothing is being read. Say read this first." : "That is all of it.")
            }
            return nextLines()
        case .takePhoto:
            guard let frame, frame.widthPixels > 0 else { return Answer(template: "No camera frame to save.") }
            guard let folder = configuration.galleryDirectory else { return Answer(template: "No gallery folder is set.") }
            do {
                let path = try savePhoto(frame, folder: folder, sessionTime: sessionTime)
                store(.photo, text: "photo \((path as NSString).lastPathComponent)", scene: scene, sessionTime: sessionTime, photoPath: path, add: add)
                add(.event(TranscriptEvent(kind: .photo, fields: [("path", .string(path)), ("width", .int(Int64(frame.widthPixels))), ("height", .int(Int64(frame.heightPixels)))])))
                return Answer(template: "Photo saved.")
            } catch {
                logger.error("photo not saved: \(error)")
                return Answer(template: "The photo could not be saved.")
            }
        case .rememberThis:
            let words = heard.words.trimmingCharacters(in: .whitespaces)
            guard !words.isEmpty else { return Answer(template: "I heard nothing to remember.") }
            store(.note, text: words, scene: scene, sessionTime: sessionTime, add: add)
            return Answer(template: "Noted: \(words).", spoken: "I will remember: \(words).")
        case .whereIs:
            let what = heard.words.trimmingCharacters(in: .whitespaces)
            guard let memory else { return Answer(template: "I have no memory to search.") }
            let found = (try? memory.search(what, limit: 3)) ?? []
            guard let best = found.first(where: { $0.kind == .note }) ?? found.first else { return Answer(template: "I have nothing noted about \(what.isEmpty ? "that" : what).") }
            let fact = best.kind == .note ? "You noted: \(best.text)" : "You read: \(best.text)"
            return Answer(template: fact + ".", facts: [fact], question: "Where is \(what)?")
        case .whatDidISee:
            guard let memory else { return Answer(template: "I have no memory to search.") }
            let recent = ((try? memory.list(limit: 3)) ?? []).reversed()
            guard !recent.isEmpty else { return Answer(template: "Nothing is in memory yet.") }
            let facts = recent.map { e -> String in
                switch e.kind {
                case .note: return "You noted: \(e.text)"
                case .reading: return "You read: \(e.text)"
                case .photo: return "You took a photo"
                }
            }
            return Answer(template: facts.joined(separator: ". ") + ".", facts: facts, question: "What did I see?")
        case .whatTimeIsIt:
            if let wall = wallClock {
                let date = Date(timeIntervalSince1970: Double(wall) / 1e9)
                let f = DateFormatter()
                f.dateFormat = "HH:mm"
                f.timeZone = TimeZone.current
                return Answer(template: "It is \(f.string(from: date)).")
            }
            let seconds = sessionTime / 1_000_000_000
            return Answer(template: "It is \(seconds / 60) minutes \(seconds % 60) seconds into the session.")
        case .stop:
            return Answer(template: "", hideAll: true)
        case nil:
            return nil
        }
    }

    /// What is in view, as short facts (code builds them; nothing here is guessed).
    /// The text, code or face the wearer looks at, as `sceneFacts` words it and as the object of
    /// "You are looking at".
    func gazedFact(_ scene: SceneContext, at sessionTime: UInt64) -> (fact: String, phrase: String)? {
        if let i = scene.gazed(scene.texts.map(\.box), at: sessionTime) {
            let text = scene.texts[i]
            let fact = text.text.split(separator: " ").count > Self.wordsOfASign ? "A page of \(text.lines.count) lines begins \"\(text.lines[0])\""
                : "A sign reads \"\(text.text)\""
            return (fact, text.text.split(separator: " ").count > Self.wordsOfASign ? "a page that begins \"\(text.lines[0])\"" : "a sign that reads \"\(text.text)\"")
        }
        if let i = scene.gazed(scene.codes.map(\.box), at: sessionTime) {
            let code = scene.codes[i]
            let kind = code.symbology == "QR-Code" ? "QR code" : "barcode"
            return ("A \(kind) says \"\(code.payload)\"", "a \(kind) that says \"\(code.payload)\"")
        }
        if scene.gazed(scene.faces.map(\.box), at: sessionTime) != nil { return ("", "a person's face") }
        return nil
    }

    public func sceneFacts(_ scene: SceneContext) -> [String] {
        var facts: [String] = []
        for text in scene.texts.prefix(2) {
            if text.text.split(separator: " ").count > Self.wordsOfASign {
                facts.append("A page of \(text.lines.count) lines begins \"\(text.lines[0])\"")
            } else {
                facts.append("A sign reads \"\(text.text)\"")
            }
        }
        for code in scene.codes.prefix(2) { facts.append("A \(code.symbology == "QR-Code" ? "QR code" : "barcode") says \"\(code.payload)\"") }
        switch scene.faces.count {
        case 0: break
        case 1: facts.append("One person is in view\(scene.faceApproaching ? ", coming closer" : "")")
        default: facts.append("\(scene.faces.count) people are in view")
        }
        if scene.lowLight { facts.append("It is dark") }
        return facts
    }

    private func store(_ kind: MemoryEntry.Kind, text: String, scene: SceneContext, sessionTime: UInt64, photoPath: String? = nil,
                       add: (AssistantStep) -> Void) {
        guard let memory else { return }
        do {
            let id = try memory.add(kind: kind, text: text, scene: sceneFacts(scene).joined(separator: ". "), photoPath: photoPath, sessionTimeNanoseconds: sessionTime)
            add(.event(TranscriptEvent(kind: .memory, fields: [("action", .string("add")), ("entry", .string(kind.rawValue)), ("text", .string(text)), ("id", .int(id))])))
        } catch {
            logger.error("could not remember: \(error)")
        }
    }

    private func savePhoto(_ frame: Frame, folder: String, sessionTime: UInt64) throws -> String {
        let fm = FileManager.default
        if !fm.fileExists(atPath: folder) {
            try fm.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let data = try jpeg.encode(rgb: frame.pixels, widthPixels: frame.widthPixels, heightPixels: frame.heightPixels, quality: 90)
        var path: String
        repeat {
            photoCount += 1
            let ms = sessionTime / 1_000_000
            path = (folder as NSString).appendingPathComponent(String(format: "visor-%08llu-%03d.jpg", ms, photoCount))
        } while fm.fileExists(atPath: path)
        let fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw VisorError("\(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == data.count else { throw VisorError("\(path): short write") }
        return path
    }

    /// Cuts text to what the HUD's text area holds, at a word boundary.
    public func fit(_ text: String, reserving reserved: Int = 0) -> String {
        let clean = String(text.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 ? Character($0) : " " })
            .split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        let limit = max(8, configuration.maximumCharacters - reserved)
        guard clean.count > limit else { return clean }
        var cut = String(clean.prefix(limit - 3))
        if let space = cut.lastIndex(of: " "), cut.distance(from: cut.startIndex, to: space) > limit / 2 { cut = String(cut[..<space]) }
        return cut + "..."
    }

    // MARK: Proactive cues

    /// Cues for what is in view now, within the notification budget: new text that matches the
    /// wearer's interests or goals, a QR code and what it holds, low light. Each cue is raised at
    /// most once per `repeat_after_s`, at most `per_minute` in any minute, not below the minimum
    /// priority, and not while the wearer moves when the profile asks for quiet.
    public func cues(scene: SceneContext, sessionTime: UInt64) -> [OverlayCommand] {
        // Called on every frame: nothing here allocates until a cue is raised or a new text is
        // matched against the interests.
        guard !scene.texts.isEmpty || !scene.codes.isEmpty || scene.lowLight else { return [] }
        let budget = configuration.wearer.notifications
        let repeatAfter = UInt64(budget.repeatAfterSeconds * 1e9)
        let moving = scene.motion == .walking || scene.motion == .turning
        cueTimes.removeAll { sessionTime >= $0 && sessionTime - $0 >= 60_000_000_000 }
        var raised: [OverlayCommand] = []
        func consider(_ key: CueKey, _ priority: OverlayItem.Priority, _ text: () -> String) {
            if let last = cueLastRaised[key], sessionTime - last < repeatAfter { return }  // a repeat: not even counted
            let reason: String?
            if priority < budget.minimumPriority { reason = "priority" }
            else if budget.quietWhenMoving && moving { reason = "moving" }
            else if cueTimes.count >= budget.perMinute { reason = "budget" }
            else { reason = nil }
            if let reason {
                cuesSuppressed[reason, default: 0] += 1
                return
            }
            cueTimes.append(sessionTime)
            cueLastRaised[key] = sessionTime
            cuesRaised += 1
            raised.append(OverlayCommand(action: .show, id: makeID(), text: text(), priority: priority,
                                         timeToLiveNanoseconds: configuration.cueTimeToLiveNanoseconds, source: "cue"))
        }
        for text in scene.texts {
            // The same interest again (a sign read better, or a second sign about it) is a repeat.
            if let topic = interest(in: text.text) {
                consider(.interest(topic), .normal) { fit("\(text.text) (\(topic))") }
            }
        }
        for code in scene.codes {
            consider(.code(code.payload), .normal) { fit("\(code.symbology == "QR-Code" ? "QR" : "code"): \(code.payload)") }
        }
        if scene.lowLight { consider(.lowLight, .low) { "Low light" } }
        return raised
    }

    /// What a cue is about: the same thing is raised at most once per `repeat_after_s`.
    enum CueKey: Hashable { case interest(String), code(String), lowLight }

    /// The interest or goal a text matches, if any; each text is matched once, not on every frame.
    private func interest(in text: String) -> String? {
        if let known = interestOfText[text] { return known }
        if interestOfText.count > 512 { interestOfText.removeAll() }
        let lower = text.lowercased()
        let topic = interestStems.first { lower.contains($0.stem) }?.topic
        interestOfText[text] = .some(topic)
        return topic
    }

    static func lightWord(_ level: Double) -> String {
        switch level {
        case ..<0.12: return "dark"
        case ..<0.3: return "dim"
        case ..<0.75: return "good"
        default: return "bright"
        }
    }

    static let commonWords: Set<String> = ["with", "from", "that", "this", "near", "find", "have", "make", "more", "some", "about", "into", "when", "what", "where", "your"]
}
