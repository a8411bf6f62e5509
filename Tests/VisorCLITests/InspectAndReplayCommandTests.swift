import Foundation
import VisorTestSupport
import XCTest

/// Runs the real `visor` executable on the committed fixtures.
final class InspectAndReplayCommandTests: XCTestCase {
    private var manifest: [String: [String: Any]] {
        get throws {
            let data = try Data(contentsOf: URL(fileURLWithPath: TestSupport.fixture("fixtures.json")))
            return try JSONSerialization.jsonObject(with: data) as? [String: [String: Any]] ?? [:]
        }
    }

    func testInspectJSONOfEveryFixture() throws {
        for name in TestSupport.fixtureSessions {
            let run = try TestSupport.visor("inspect", TestSupport.fixture(name), "--json")
            XCTAssertEqual(run.status, 0, "\(name): \(run.stderr)")
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            let channels = try XCTUnwrap(json["channels"] as? [[String: Any]])
            let expected = try XCTUnwrap(try manifest[name])
            let camera = channels.first { $0["topic"] as? String == "/camera/image" }
            XCTAssertEqual(camera?["schema"] as? String, "foxglove.CompressedImage", name)
            XCTAssertEqual(camera?["message_count"] as? Int, expected["camera"] as? Int, name)
            let audio = channels.first { $0["topic"] as? String == "/microphone/audio" }
            XCTAssertEqual(audio?["message_count"] as? Int ?? 0, expected["audio"] as? Int, name)
            if audio != nil { XCTAssertEqual(audio?["schema"] as? String, "foxglove.RawAudio") }
            let duration = Double(json["duration_ns"] as? Int ?? 0) / 1e9
            XCTAssertEqual(duration, expected["duration_s"] as? Double ?? -1, accuracy: 0.001, name)
            XCTAssertEqual(json["indexed"] as? Bool, true)
            XCTAssertEqual((camera?["gaps"] as? [Any])?.count, 0, "\(name): an imported session has no gaps")
            let rate = camera?["rate_hz"] as? Double ?? 0
            XCTAssertTrue([0.25, 0.5, 1.0, 4.0, 8.0, 10.0].contains { abs($0 - rate) < 0.01 }, "\(name): \(rate) Hz")
        }
    }

    func testInspectTableNamesChannelsAndMetadata() throws {
        let run = try TestSupport.visor("inspect", TestSupport.fixture("street.mcap"))
        XCTAssertEqual(run.status, 0)
        for expected in ["/camera/image", "foxglove.CompressedImage", "/microphone/audio", "10.0 Hz", "50.0 Hz", "video=vtest.avi"] {
            XCTAssertTrue(run.stdout.contains(expected), "missing \(expected) in:\n\(run.stdout)")
        }
    }

    func testHeadlessReplayOfEveryFixture() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        for name in TestSupport.fixtureSessions {
            let transcript = dir.appendingPathComponent("\(name).jsonl").path
            let report = dir.appendingPathComponent("\(name).json").path
            let run = try TestSupport.visor("replay", TestSupport.fixture(name), "--headless", "--transcript", transcript, "--report", report)
            XCTAssertEqual(run.status, 0, "\(name): \(run.stderr)")
            XCTAssertEqual(run.stderr, "", name)
            let frames = try TestSupport.transcriptEvents(transcript).filter { $0["kind"] as? String == "frame" }
            XCTAssertEqual(frames.count, try manifest[name]?["camera"] as? Int, name)
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any]
            XCTAssertEqual(json?["frames"] as? Int, frames.count)
            XCTAssertNotNil((json?["end_to_end"] as? [String: Any])?["capture_to_hud"])
            XCTAssertTrue(run.stdout.contains("capture_to_hud"), "the latency summary is printed")
        }
    }

    func testPacedReplayTakesRecordedTime() throws {
        let start = Date()
        // The pacing alone: the slow stages' start-up (Tesseract, PocketSphinx, the model) and
        // their last results are not what this measures.
        let run = try TestSupport.visor("replay", TestSupport.fixture("sign.mcap"), "--headless", "--speed", "4", "--stages", "none")
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(run.status, 0, run.stderr)
        // 3.875 s of recording at 4x is 0.97 s; start-up adds a little.
        XCTAssertGreaterThan(elapsed, 0.9)
        XCTAssertLessThan(elapsed, 3.0)
    }

    /// `--asr` picks the recogniser; a wrong name or a missing Whisper model is one clear line.
    func testSpeechRecognitionIsChosenWithASR() throws {
        let fixture = TestSupport.fixture("commands.mcap")
        let bad = try TestSupport.visor("replay", fixture, "--headless", "--asr", "vosk")
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--asr must be whisper or pocketsphinx"), bad.stderr)
        let missing = try TestSupport.visor("replay", fixture, "--headless", "--deterministic", "--asr", "whisper", "--whisper-model", "/nonexistent/ggml.bin")
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("the Whisper model is missing: /nonexistent/ggml.bin"), missing.stderr)
        // What --asr whisper hears is tested in WhisperTests, through the same runner.
    }
}
