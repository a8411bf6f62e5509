import Foundation
import VisorCore
import VisorPerception
import VisorSession
import VisorTestSupport
import XCTest
@testable import VisorRuntime

/// PocketSphinx through the speech stage, on the real fixtures: flite's voice over a noise floor
/// (commands.mcap, with the times in commands-truth.json), and real read speech.
final class SpeechTests: XCTestCase {
    private func heard(_ fixture: String, wakePhrases: [String] = SpeechListener.defaultWakePhrases) throws -> [[String: Any]] {
        try replayEvents(fixture, kinds: ["wake", "command", "utterance"]) { $0.wakePhrases = wakePhrases }
    }

    private func seconds(_ event: [String: Any], _ key: String) -> Double { Double(event[key] as? Int ?? -1_000_000_000_000) / 1e9 }

    func testEachWakePhraseAndCommandIsFoundAtItsTime() throws {
        let truth = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: TestSupport.fixture("commands-truth.json")))) as? [[String: Any]])
        let events = try heard("commands.mcap")
        let wakes = events.filter { $0["kind"] as? String == "wake" }
        let commands = events.filter { $0["kind"] as? String == "command" }
        let spoken = truth.compactMap { $0["wake"] as? [String: Any] }
        XCTAssertEqual(wakes.count, spoken.count, "one wake per wake phrase said, none on the sentence without it: \(wakes)")
        XCTAssertEqual(commands.count, spoken.count, "\(commands)")
        for (line, (wake, command)) in zip(truth, zip(wakes, commands)) {
            let said = try XCTUnwrap(line["said"] as? [String: Any]), phrase = try XCTUnwrap(line["wake"] as? [String: Any])
            XCTAssertEqual(wake["phrase"] as? String, phrase["phrase"] as? String)
            XCTAssertEqual(seconds(wake, "start_ns"), phrase["start_s"] as! Double, accuracy: 0.3, "\(wake)")
            XCTAssertEqual(seconds(wake, "end_ns"), phrase["end_s"] as! Double, accuracy: 0.3, "\(wake)")
            XCTAssertEqual(command["intent"] as? String, said["intent"] as? String)
            XCTAssertEqual(seconds(command, "start_ns"), said["start_s"] as! Double, accuracy: 0.3, "\(command)")
            if said["intent"] as? String == "remember_this" {
                // The command ends where the dictation starts; the utterance runs to the end.
                let utterance = try XCTUnwrap(events.first { $0["kind"] as? String == "utterance" })
                XCTAssertEqual(seconds(utterance, "end_ns"), said["end_s"] as! Double, accuracy: 0.3)
                XCTAssertGreaterThan(seconds(utterance, "start_ns"), seconds(command, "start_ns") + 0.3)
                XCTAssertEqual((utterance["words"] as? String)?.split(separator: " ").suffix(3), ["on", "level", "three"])
                XCTAssertEqual(command["words"] as? String, utterance["words"] as? String)
            } else {
                XCTAssertEqual(seconds(command, "end_ns"), said["end_s"] as! Double, accuracy: 0.3, "\(command)")
                XCTAssertEqual(command["words"] as? String, (said["words"] as? String)?.lowercased())
            }
        }
    }

    func testNoWakeOnSpeechWithoutThePhrase() throws {
        // goforward and LibriVox read speech, and a street with a passer-by talking.
        XCTAssertEqual(try heard("speech.mcap").count, 0)
        XCTAssertEqual(try heard("street.mcap").count, 0)
    }

    func testWakePhrasesAreConfigurable() throws {
        XCTAssertEqual(try heard("commands.mcap", wakePhrases: ["hello computer"]).count, 0, "a phrase never said never wakes")
        // Alone, a phrase also wakes on one that sounds like it ("okay glasses" ends like "hey
        // glasses"); listening for both is what tells them apart (the test above).
        let wakes = try heard("commands.mcap", wakePhrases: ["hey glasses"]).filter { $0["kind"] as? String == "wake" }
        XCTAssertEqual(wakes.map { Int(seconds($0, "start_ns").rounded()) }, [1, 5, 9, 13, 19, 23, 27])
        XCTAssertThrowsError(try SpeechListener(wakePhrases: ["hey zorblaxx"])) { error in
            XCTAssertEqual((error as? VisorError)?.message, "the speech dictionary has no word \"zorblaxx\"")
        }
    }

    /// Free dictation of the real read speech in the fixtures (goforward and three LibriVox clips).
    func testDictationWordErrorRate() throws {
        let truth = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: TestSupport.fixture("speech-truth.json")))) as? [String: Any])
        let decoder = try SpeechDecoder(wakePhrases: ["hey glasses"], commands: ["stop"])
        var errors = 0, words = 0
        for name in ["speech.mcap", "street.mcap"] {
            var audio: [Int16] = []
            var samples = try SessionSource(path: TestSupport.fixture(name)).samples()
            while let sample = try samples.next() { if case .audio(let block) = sample { audio += block.samples } }
            for clip in try XCTUnwrap(truth[name] as? [[String: Any]]) {
                let from = Int((clip["at_s"] as! Double) * 16000)
                let to = min(audio.count, from + Int((clip["duration_s"] as! Double + 0.3) * 16000))
                let said = decoder.transcribe(Array(audio[from..<to])).map(\.text).joined(separator: " ")
                let e = wordErrorRate(reference: clip["words"] as! String, hypothesis: said)
                if clip["clip"] as? String == "goforward" { XCTAssertEqual(said, "go forward ten meters") }
                errors += e.errors; words += e.words
            }
        }
        // Debian's generic en-us language model on LibriVox: 17 errors in 48 words when measured.
        XCTAssertEqual(words, 48)
        XCTAssertLessThanOrEqual(Double(errors) / Double(words), 0.40, "\(errors) errors in \(words) words")
    }

    func testWordErrorRateCountsEdits() {
        XCTAssertEqual(wordErrorRate(reference: "go forward ten meters", hypothesis: "go forward ten meters").errors, 0)
        XCTAssertEqual(wordErrorRate(reference: "go forward ten meters", hypothesis: "go for ward ten").errors, 3)
        XCTAssertEqual(wordErrorRate(reference: "mister john", hypothesis: "Mr john").errors, 0)
    }
}
