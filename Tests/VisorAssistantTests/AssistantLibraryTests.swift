import Foundation
import VisorAssistant
import VisorCore
import VisorTestSupport
import XCTest

final class WearerProfileTests: XCTestCase {
    func testAFullProfileParses() throws {
        let p = try WearerProfile.parse("""
            name: Ada
            goals: [find parking near the station]
            interests: [coffee, trains]
            verbosity: brief
            notifications: {per_minute: 3, minimum_priority: high, quiet_when_moving: false, repeat_after_s: 30}
            wake_phrases: [hello glasses]
            voice: {name: slt, rate: 1.2, speak: false}
            """)
        XCTAssertEqual(p.name, "Ada")
        XCTAssertEqual(p.goals, ["find parking near the station"])
        XCTAssertEqual(p.interests, ["coffee", "trains"])
        XCTAssertEqual(p.verbosity, .brief)
        XCTAssertEqual(p.notifications.perMinute, 3)
        XCTAssertEqual(p.notifications.minimumPriority, .high)
        XCTAssertFalse(p.notifications.quietWhenMoving)
        XCTAssertEqual(p.notifications.repeatAfterSeconds, 30)
        XCTAssertEqual(p.wakePhrases, ["hello glasses"])
        XCTAssertEqual(p.voice.rate, 1.2)
        XCTAssertFalse(p.voice.speak)
        XCTAssertEqual(try WearerProfile.parse(""), WearerProfile())
        XCTAssertEqual(try WearerProfile.parse("interests: [R&D, 5*3]").interests, ["R&D", "5*3"], "& and * inside words are text")
    }

    func testABadProfileNamesTheField() {
        let cases: [(String, String)] = [
            ("verbosity: chatty", "field verbosity"),
            ("notifications: {per_minute: lots}", "field notifications.per_minute"),
            ("notifications: {per_minute: 500}", "field notifications.per_minute"),
            ("notifications: {minimum_priority: loud}", "field notifications.minimum_priority"),
            ("notifications: {snooze: 3}", "field notifications.snooze"),
            ("goals: find parking", "field goals"),
            ("interests: [coffee, 3]", "field interests[1]"),
            ("wake_phrases: [glasses]", "field wake_phrases"),
            ("voice: {name: kal}", "field voice.name"),
            ("voice: {rate: 9}", "field voice.rate"),
            ("nmae: Ada", "field nmae"),
            ("- just\n- a list", "must be a mapping"),
            ("name: [unclosed", "not valid YAML"),
            ("a: &x [1, 2]\nb: [*x, *x]", "anchors and aliases"),
        ]
        for (yaml, expected) in cases {
            XCTAssertThrowsError(try WearerProfile.parse(yaml), yaml) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(yaml): \(error)")
                XCTAssertFalse("\(error)".contains("\n"), "one line: \(error)")
            }
        }
    }
}

final class GroundingTests: XCTestCase {
    func testNumbersNamesAndQuotesMustComeFromTheFacts() {
        let facts = ["You noted: the car is on level three", "A sign reads \"NOTICE Parking\""]
        XCTAssertEqual(Grounding.unsupported(answer: "The car is on level three.", facts: facts), [])
        XCTAssertEqual(Grounding.unsupported(answer: "Your car is on level 3.", facts: facts), [], "a digit for a number word")
        XCTAssertEqual(Grounding.unsupported(answer: "The car is on level 4.", facts: facts), ["4"])
        XCTAssertEqual(Grounding.unsupported(answer: "The car is on level five, near Bob.", facts: facts), ["five", "Bob"])
        XCTAssertEqual(Grounding.unsupported(answer: "The sign says \"No parking\".", facts: facts), ["No", "\"No parking\""])
        XCTAssertEqual(Grounding.unsupported(answer: "It says NOTICE. Parking is here.", facts: facts), [], "capitals at a sentence start or in the facts")
        XCTAssertEqual(Grounding.unsupported(answer: "The one on the left says parking.", facts: facts), [], "\"one\" as a pronoun")
        XCTAssertEqual(Grounding.unsupported(answer: "Give it a second: the car is on level three.", facts: facts), [], "\"a second\" as time")
        XCTAssertEqual(Grounding.unsupported(answer: "One car is on the second level.", facts: facts), ["One", "second"], "but still numbers otherwise")
    }

    /// A quotation of words that were each read, shuffled into a phrase no sign says, is refused.
    func testAQuotationMustBeQuotedAsTheFactHasIt() {
        let facts = ["A sign reads \"WE ENCOURAGE MORE WALKING WHERE POSSIBLE\""]
        XCTAssertEqual(Grounding.unsupported(answer: "You're looking at a sign that says \"more encourage possible\".", facts: facts),
                       ["\"more encourage possible\""])
        XCTAssertEqual(Grounding.unsupported(answer: "The sign says \"encourage more walking\".", facts: facts), [], "a part of the sign, in its order")
        XCTAssertEqual(Grounding.unsupported(answer: "It says \"walking\".", facts: facts), [])
    }

    /// What kind of thing is in view is the facts' to say, not the model's.
    func testAKindOfThingInViewMustComeFromTheFacts() {
        let facts = ["One person is in view"]
        XCTAssertEqual(Grounding.unsupported(answer: "It's actually a picture of a person.", facts: facts), ["picture"])
        XCTAssertEqual(Grounding.unsupported(answer: "A man is in front of you.", facts: facts), ["man"])
        XCTAssertEqual(Grounding.unsupported(answer: "There is one person in view.", facts: facts), [])
        XCTAssertEqual(Grounding.unsupported(answer: "Two people are in view.", facts: ["2 people are in view"]), [], "plural and singular are one kind")
        XCTAssertEqual(Grounding.unsupported(answer: "A sign says \"EXIT\".", facts: ["A sign reads \"EXIT\""]), [])
        XCTAssertEqual(Grounding.unsupported(answer: "The page says \"EXIT\".", facts: ["A sign reads \"EXIT\""]), ["page"])
    }

    /// Words that are each in the facts, joined into a claim that is in none of them.
    func testAClaimMustComeFromOneFact() {
        let facts = ["You noted: the car is on level three", "You took a photo"]
        XCTAssertEqual(Grounding.unsupported(answer: "You took a photo of a car on level three.", facts: facts), [], "every word is in the facts")
        XCTAssertEqual(Grounding.mixedClaims(answer: "You took a photo of a car on level three.", facts: facts), ["You took a photo of a car on level three"])
        XCTAssertEqual(Grounding.mixedClaims(answer: "You took a photo, and you noted that the car is on level three.", facts: facts), [],
                       "each clause from its own fact")
        XCTAssertEqual(Grounding.mixedClaims(answer: "The car is on level three.", facts: facts), [])
        let scene = ["A sign reads \"NOTICE DOUBLE PARKING\"", "A QR code says \"Thalassiodracon\""]
        XCTAssertEqual(Grounding.mixedClaims(answer: "The sign's QR code says Thalassiodracon.", facts: scene).count, 1)
        XCTAssertEqual(Grounding.mixedClaims(answer: "The QR code on the sign says Thalassiodracon.", facts: scene).count, 1)
        XCTAssertEqual(Grounding.mixedClaims(answer: "A sign reads NOTICE DOUBLE PARKING; a QR code says Thalassiodracon.", facts: scene), [])
    }
}

final class MemoryTests: XCTestCase {
    func testMemorySurvivesReopeningAndSearchFindsANote() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("sub/memory.sqlite").path
        do {
            let memory = try Memory(path: path)
            try memory.add(kind: .note, text: "the car is on level three", scene: "A sign reads \"NOTICE\"", sessionTimeNanoseconds: 14_000_000_000)
            try memory.add(kind: .reading, text: "NOTICE Parking for customers only", scene: "", sessionTimeNanoseconds: 7_000_000_000)
        }
        let memory = try Memory(path: path)
        XCTAssertEqual(try memory.count(), 2)
        let found = try memory.search("where is the car")
        XCTAssertEqual(found.first?.text, "the car is on level three")
        XCTAssertEqual(try memory.search("cars").first?.text, "the car is on level three", "stemmed")
        XCTAssertEqual(try memory.search("parking").map(\.kind), [.reading])
        XCTAssertEqual(try memory.search("where is the"), [])
        XCTAssertEqual(try memory.list().map(\.kind), [.reading, .note])
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
        let folderMode = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("sub").path)[.posixPermissions] as? Int
        XCTAssertEqual(folderMode, 0o700)
    }

    func testForgetAllLeavesNothingInTheFile() throws {
        let path = try TestSupport.temporaryDirectory(self).appendingPathComponent("memory.sqlite").path
        let memory = try Memory(path: path)
        for i in 0..<50 { try memory.add(kind: .note, text: "secret locker code zebra\(i)", scene: "", sessionTimeNanoseconds: UInt64(i)) }
        let id = try memory.add(kind: .note, text: "keep me", scene: "", sessionTimeNanoseconds: 99)
        XCTAssertTrue(try memory.forget(id: id))
        XCTAssertFalse(try memory.forget(id: id))
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertTrue(bytes.range(of: Data("zebra".utf8)) != nil)
        XCTAssertNil(bytes.range(of: Data("keep me".utf8)), "secure_delete overwrote the deleted row")
        XCTAssertEqual(try memory.forgetAll(), 50)
        XCTAssertEqual(try memory.count(), 0)
        bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertNil(bytes.range(of: Data("zebra".utf8)))
        XCTAssertNil(bytes.range(of: Data("locker".utf8)))
        XCTAssertEqual(try memory.search("zebra1"), [])
    }

    /// Forgetting one entry leaves none of its words in the file: FTS5 keeps a deleted row's
    /// words in its index segments until they are rebuilt.
    func testForgetOneLeavesNothingOfItInTheFile() throws {
        let path = try TestSupport.temporaryDirectory(self).appendingPathComponent("memory.sqlite").path
        let memory = try Memory(path: path)
        let kept = try memory.add(kind: .note, text: "the bicycle is by the fountain", scene: "", sessionTimeNanoseconds: 1)
        let forgotten = try memory.add(kind: .note, text: "the car is on level three near the quokka mural", scene: "A sign reads \"ZEPPELIN\"",
                                       sessionTimeNanoseconds: 2)
        XCTAssertTrue(try memory.forget(id: forgotten))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        for word in ["level", "three", "quokka", "mural", "zeppelin", "ZEPPELIN"] {
            XCTAssertNil(bytes.range(of: Data(word.utf8)), "\(word) is not in the file after forgetting its entry")
        }
        XCTAssertNotNil(bytes.range(of: Data("fountain".utf8)), "the other entry is kept")
        XCTAssertEqual(try memory.search("fountain").map(\.id), [kept], "and still found")
        XCTAssertEqual(try memory.search("quokka"), [])
    }

    func testAFileThatIsNotADatabaseIsAnError() throws {
        let path = try TestSupport.temporaryDirectory(self).appendingPathComponent("notes.txt").path
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Memory(path: path)) { XCTAssertTrue("\($0)".hasPrefix("memory \(path): "), "\($0)") }
    }
}

final class LanguageModelTests: XCTestCase {
    /// Loaded once for the suite; XCTest runs its tests one at a time.
    nonisolated(unsafe) static let model: LanguageModel? = LanguageModel.defaultModelPath().flatMap { try? LanguageModel(path: $0) }

    func testTheModelPhrasesFactsGreedilyAndReusesItsContext() throws {
        let model = try XCTUnwrap(Self.model, "tools/setup installs the default model")
        let user = "Facts:\n- You noted: the car is on level three\nQuestion: Where is the car?"
        let first = try model.phrase(system: Assistant.systemPrompt, user: user, maxTokens: 30)
        let second = try model.phrase(system: Assistant.systemPrompt, user: user, maxTokens: 30)
        XCTAssertFalse(first.text.isEmpty)
        XCTAssertEqual(first.text, second.text, "greedy decoding gives the same words")
        XCTAssertGreaterThan(first.timings.generatedTokens, 0)
        XCTAssertGreaterThan(second.timings.reusedTokens, 20, "the system prompt stays in the context")
        XCTAssertLessThan(second.timings.promptTokens, first.timings.promptTokens)
        XCTAssertThrowsError(try LanguageModel(path: "/nonexistent.gguf"))
    }
}

final class SpeechSynthesizerTests: XCTestCase {
    func testFliteSpeaksTheSameSamplesEveryTime() throws {
        let voice = try SpeechSynthesizer()
        let a = voice.synthesize("The car is on level three.")
        XCTAssertGreaterThan(a.count, 16_000, "more than a second of speech")
        let b = voice.synthesize("The car is on level three.")
        XCTAssertTrue(a == b, "the same samples every time")
        XCTAssertEqual(voice.synthesize("..."), [])
        let slower = try SpeechSynthesizer(durationStretch: 1.5).synthesize("The car is on level three.")
        XCTAssertGreaterThan(slower.count, a.count * 13 / 10)
        XCTAssertThrowsError(try SpeechSynthesizer(voice: "kal"))
    }
}
