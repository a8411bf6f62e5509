import Foundation
import VisorAssistant
import VisorCore
import VisorTestSupport
import XCTest

/// The assistant's own rules, with a stand-in for the language model where a test needs a
/// particular answer from it (the real model is tested in LanguageModelTests and end to end in
/// VisorRuntimeTests.AssistantTests).
final class AssistantLogicTests: XCTestCase {
    final class FixedPhraser: AnswerPhraser {
        let answer: String
        var prompts: [String] = []
        init(_ answer: String) { self.answer = answer }
        func phrase(system: String, user: String, maxTokens: Int) throws -> (text: String, timings: GenerationTimings) {
            prompts.append(user)
            var t = GenerationTimings()
            t.generatedTokens = 9
            return (answer, t)
        }
    }

    private func assistant(_ phraser: AnswerPhraser?, wearer: WearerProfile = WearerProfile()) throws -> (Assistant, Memory) {
        let memory = try Memory(path: try TestSupport.temporaryDirectory(self).appendingPathComponent("m.sqlite").path)
        var configuration = AssistantConfiguration()
        configuration.wearer = wearer
        configuration.charactersPerLine = 30
        configuration.lines = 2
        return (Assistant(configuration: configuration, memory: memory, model: phraser, voice: try SpeechSynthesizer()), memory)
    }

    private func command(_ intent: VoiceIntent, _ words: String = "") -> HeardSpeech {
        HeardSpeech(command: intent, words: words, startNanoseconds: 1_000_000_000, endNanoseconds: 2_000_000_000)
    }

    private func overlays(_ reply: AssistantReply) -> [OverlayCommand] {
        reply.steps.compactMap { if case .overlay(let o) = $0.step { return o } else { return nil } }
    }

    private func speech(_ reply: AssistantReply) -> [String] {
        reply.steps.compactMap { if case .speak(let text, _) = $0.step { return text } else { return nil } }
    }

    private func events(_ reply: AssistantReply, _ kind: EventKind) -> [TranscriptEvent] {
        reply.steps.compactMap { if case .event(let e) = $0.step, e.kind == kind { return e } else { return nil } }
    }

    func testAModelAnswerWithAnInventedNumberIsReplacedByTheTemplate() throws {
        let phraser = FixedPhraser("Your car is on level 4.")
        let (assistant, memory) = try self.assistant(phraser)
        try memory.add(kind: .note, text: "the car is on level three", scene: "", sessionTimeNanoseconds: 0)
        let reply = assistant.respond(to: command(.whereIs, "the car"), scene: SceneContext(), frame: nil, sessionTime: 5_000_000_000, wallClock: nil)
        XCTAssertTrue(phraser.prompts.first?.contains("You noted: the car is on level three") == true, "the facts come from memory")
        let verdict = try XCTUnwrap(events(reply, .model).first)
        XCTAssertTrue(verdict.fields.contains { $0.0 == "verdict" && $0.1 == .string("rejected") })
        XCTAssertTrue(verdict.fields.contains { $0.0 == "reason" && $0.1 == .string("not in the facts: 4") })
        XCTAssertEqual(overlays(reply).filter { $0.action != .hide }.map(\.source), ["template"], "no update from the model")
        XCTAssertEqual(speech(reply), [assistant.fit("You noted: the car is on level three.")], "the template is said")
    }

    func testAGroundedModelAnswerUpdatesTheOverlayAndIsSpoken() throws {
        let (assistant, memory) = try self.assistant(FixedPhraser("The car is on level three."))
        try memory.add(kind: .note, text: "the car is on level three", scene: "", sessionTimeNanoseconds: 0)
        let reply = assistant.respond(to: command(.whereIs, "the car"), scene: SceneContext(), frame: nil, sessionTime: 5_000_000_000, wallClock: nil)
        let shown = overlays(reply).filter { $0.action != .hide }
        XCTAssertEqual(shown.map(\.action), [.show, .update])
        XCTAssertEqual(shown.last?.text, "The car is on level three.")
        XCTAssertEqual(shown.last?.source, "model")
        XCTAssertEqual(speech(reply), ["The car is on level three."])
        // The model's steps wait for it; the template's do not.
        XCTAssertEqual(reply.steps.filter(\.phrased).count, 3, "the verdict, the update and the speech")
    }

    func testAnAnswerThatDriftsFromItsFactsIsRejected() throws {
        let (assistant, memory) = try self.assistant(FixedPhraser("I'm here to help you with your questions."))
        try memory.add(kind: .note, text: "the car is on level three", scene: "", sessionTimeNanoseconds: 0)
        let reply = assistant.respond(to: command(.whereIs, "the car"), scene: SceneContext(), frame: nil, sessionTime: 0, wallClock: nil)
        XCTAssertEqual(speech(reply), ["You noted: the car is on level three."].map { assistant.fit($0) })
        XCTAssertTrue(events(reply, .model).first?.fields.contains { $0.0 == "verdict" && $0.1 == .string("rejected") } == true)
    }

    /// "You took a photo of a car on level three." after a photo and a note: each word is in the
    /// facts, the claim is in none of them; the template stands.
    func testAnAnswerJoiningSeparateFactsIsRejected() throws {
        let (assistant, memory) = try self.assistant(FixedPhraser("You took a photo of a car on level three."))
        try memory.add(kind: .note, text: "the car is on level three", scene: "", sessionTimeNanoseconds: 0)
        try memory.add(kind: .photo, text: "photo visor-1.jpg", scene: "A sign reads \"NOTICE\"", sessionTimeNanoseconds: 1)
        let reply = assistant.respond(to: command(.whatDidISee, ""), scene: SceneContext(), frame: nil, sessionTime: 0, wallClock: nil)
        let verdict = try XCTUnwrap(events(reply, .model).first)
        XCTAssertTrue(verdict.fields.contains { $0.0 == "verdict" && $0.1 == .string("rejected") }, "\(verdict)")
        XCTAssertTrue(verdict.fields.contains { $0.0 == "reason" && $0.1 == .string("joins separate facts: You took a photo of a car on level three") }, "\(verdict)")
        XCTAssertEqual(speech(reply), [assistant.fit("You noted: the car is on level three. You took a photo.")])
    }

    func testReadThisReadsEveryBlockAndAPageAFewLinesAtATime() throws {
        let (assistant, _) = try self.assistant(nil)
        var scene = SceneContext()
        scene.texts = [TextSighting(text: "NOTICE DOUBLE PARKING", lines: ["NOTICE", "DOUBLE PARKING"], box: [0, 0, 10, 10], confidence: 0.9, captureTimeNanoseconds: 0),
                       TextSighting(text: "EXIT", box: [20, 0, 10, 10], confidence: 0.9, captureTimeNanoseconds: 0)]
        XCTAssertEqual(speech(assistant.respond(to: command(.readThis), scene: scene, frame: nil, sessionTime: 0, wallClock: nil)),
                       ["It says: NOTICE DOUBLE PARKING EXIT"], "every block, in reading order")
        let page = (1...8).map { "line \($0) of the page has these six words" }
        scene.texts = [TextSighting(text: page.joined(separator: " "), lines: page, box: [0, 0, 10, 10], confidence: 0.9, captureTimeNanoseconds: 0)]
        let first = assistant.respond(to: command(.readThis), scene: scene, frame: nil, sessionTime: 0, wallClock: nil)
        XCTAssertEqual(speech(first), ["It says: " + page[0..<2].joined(separator: " ") + ". Say go on for more."], "up to 16 words")
        XCTAssertTrue(overlays(first).first { $0.action == .show }!.text.hasSuffix("(say go on)"))
        var said: [String] = []
        for _ in 0..<4 { said += speech(assistant.respond(to: command(.goOn), scene: SceneContext(), frame: nil, sessionTime: 0, wallClock: nil)) }
        XCTAssertEqual(said, [page[2..<4].joined(separator: " ") + ". Say go on for more.", page[4..<6].joined(separator: " ") + ". Say go on for more.",
                              page[6..<8].joined(separator: " "), "That is all of it."])
        scene.texts = []
        XCTAssertEqual(speech(assistant.respond(to: command(.readThis), scene: scene, frame: nil, sessionTime: 0, wallClock: nil)), ["I see no text to read."])
    }

    func testAnswersAreCutToTheTextArea() throws {
        let (assistant, _) = try self.assistant(nil)
        var scene = SceneContext()
        scene.texts = [TextSighting(text: String(repeating: "PARKING ", count: 20), box: [0, 0, 10, 10], confidence: 0.9, captureTimeNanoseconds: 0)]
        let reply = assistant.respond(to: command(.readThis), scene: scene, frame: nil, sessionTime: 0, wallClock: nil)
        let text = try XCTUnwrap(overlays(reply).first { $0.action == .show }?.text)
        XCTAssertLessThanOrEqual(text.count, 60, "30 characters by 2 lines")
        XCTAssertTrue(text.hasSuffix("..."), text)
        var brief = WearerProfile()
        brief.verbosity = .brief
        let (short, _) = try self.assistant(nil, wearer: brief)
        XCTAssertLessThanOrEqual(overlays(short.respond(to: command(.readThis), scene: scene, frame: nil, sessionTime: 0, wallClock: nil)).first { $0.action == .show }!.text.count, 30)
    }

    func testWakeInterruptsSpeechAndStopClearsTheHUD() throws {
        let (assistant, _) = try self.assistant(nil)
        let wake = assistant.respond(to: HeardSpeech(kind: .wake, label: "hey glasses", words: "hey glasses", startNanoseconds: 0, endNanoseconds: 1),
                                     scene: SceneContext(), frame: nil, sessionTime: 0, wallClock: nil)
        XCTAssertEqual(wake.steps.first?.step, .stopSpeaking)
        XCTAssertEqual(overlays(wake).map(\.text), ["listening..."])
        _ = assistant.respond(to: command(.whatTimeIsIt), scene: SceneContext(), frame: nil, sessionTime: 61_000_000_000, wallClock: nil)
        let stop = assistant.respond(to: command(.stop), scene: SceneContext(), frame: nil, sessionTime: 0, wallClock: nil)
        XCTAssertTrue(stop.steps.contains { $0.step == .stopSpeaking })
        XCTAssertEqual(overlays(stop).filter { $0.action == .hide }.count, 2, "listening, and the time")
        XCTAssertEqual(speech(stop), [])
    }

    func testCuesKeepToTheBudget() throws {
        var wearer = WearerProfile()
        wearer.interests = ["coffee"]
        wearer.goals = ["find parking"]
        wearer.notifications.perMinute = 2
        wearer.notifications.repeatAfterSeconds = 120
        let (assistant, _) = try self.assistant(nil, wearer: wearer)
        func scene(_ texts: [String], motion: HeadMotion = .still, lowLight: Bool = false, code: String? = nil) -> SceneContext {
            var s = SceneContext()
            s.texts = texts.map { TextSighting(text: $0, box: [0, 0, 1, 1], confidence: 1, captureTimeNanoseconds: 0) }
            s.motion = motion
            s.lowLight = lowLight
            if let code { s.codes = [CodeSighting(payload: code, symbology: "QR-Code", box: [0, 0, 1, 1], captureTimeNanoseconds: 0)] }
            return s
        }
        let s = 1_000_000_000 as UInt64
        XCTAssertEqual(assistant.cues(scene: scene(["HOTEL"]), sessionTime: 0).count, 0, "text that matches nothing")
        XCTAssertEqual(assistant.cues(scene: scene(["COFFEE SHOP"], motion: .walking), sessionTime: 1 * s).count, 0, "quiet while walking")
        XCTAssertEqual(assistant.cues(scene: scene(["COFFEE SHOP"]), sessionTime: 2 * s).map(\.text), ["COFFEE SHOP (coffee)"])
        XCTAssertEqual(assistant.cues(scene: scene(["COFFEE SHOP"]), sessionTime: 3 * s).count, 0, "no repeat")
        XCTAssertEqual(assistant.cues(scene: scene(["COFFEE BEANS"]), sessionTime: 3 * s).count, 0, "the same interest again is a repeat")
        XCTAssertEqual(assistant.cues(scene: scene([], code: "https://example.org"), sessionTime: 4 * s).map(\.text), ["QR: https://example.org"])
        XCTAssertEqual(assistant.cues(scene: scene(["PARKING"]), sessionTime: 5 * s).count, 0, "two a minute already")
        XCTAssertEqual(assistant.cues(scene: scene(["PARKING"]), sessionTime: 63 * s).map(\.text), ["PARKING (find parking)"], "a minute on")
        XCTAssertEqual(assistant.cues(scene: scene([], lowLight: true), sessionTime: 130 * s).count, 0, "low light is below the normal priority")
        XCTAssertEqual(assistant.cues(scene: scene(["COFFEE SHOP"]), sessionTime: 130 * s).count, 1, "after repeat_after_s")
        XCTAssertEqual(assistant.cuesSuppressed["moving"], 1)
        XCTAssertEqual(assistant.cuesSuppressed["budget"], 1)
        XCTAssertEqual(assistant.cuesSuppressed["priority"], 1)
    }
}
