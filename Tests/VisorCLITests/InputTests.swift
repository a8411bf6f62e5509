import Foundation
import VisorTestSupport
import XCTest

/// Touchpad and button events injected into a replay (`--input`), acted on as the glasses would.
final class InputTests: XCTestCase {
    private func write(_ lines: [String], to url: URL) throws { try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8) }

    /// A session with the QR code photo in view and, at 2 s, a voice saying a command with no
    /// wake phrase before it.
    private func sessionWithACommand(_ words: String, voice: String = "rms", in dir: URL) throws -> String {
        let wav = dir.appendingPathComponent("said-\(voice).wav").path
        let flite = try TestSupport.run("/usr/bin/env", ["flite", "-voice", voice, "-t", words, "-o", wav])
        XCTAssertEqual(flite.status, 0, flite.stderr)
        let session = dir.appendingPathComponent("session-\(voice).mcap").path
        let run = try TestSupport.visor("import", "--photo", "\(TestSupport.fixture("qrcode.png"))@0:5", "--audio", "\(wav)@2.0",
                                        "--size", "320x240", "--fps", "10", "-o", session)
        XCTAssertEqual(run.status, 0, run.stderr)
        return session
    }

    private func replay(_ session: String, input: [String]?, profile: String = "laptop", asr: String = "pocketsphinx", dir: URL, name: String) throws -> [[String: Any]] {
        let transcript = dir.appendingPathComponent("\(name).jsonl").path
        // No perception stage: what is tested is the controls, speech and the assistant.
        var arguments = ["replay", session, "--headless", "--no-model", "--stages", "speech,assistant", "--profile", profile, "--asr", asr, "--transcript", transcript,
                         "--memory", dir.appendingPathComponent("\(name).sqlite").path, "--gallery", dir.appendingPathComponent("\(name)-photos").path]
        if let input {
            let file = dir.appendingPathComponent("\(name)-input.jsonl")
            try write(input, to: file)
            arguments += ["--input", file.path]
        }
        let run = try TestSupport.visor(arguments: arguments)
        XCTAssertEqual(run.status, 0, run.stderr)
        return try TestSupport.transcriptEvents(transcript)
    }

    func testATapWakesTheAssistantAndTheWordsAfterItAreTheCommand() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        // PocketSphinx (the default) and Whisper, each with a voice it hears.
        for (asr, voice) in [("pocketsphinx", "rms"), ("whisper", "kal")] {
            let session = try sessionWithACommand("take a photo", voice: voice, in: dir)
            // Without the tap, "take a photo" is talk, not a command: no wake phrase came before it.
            let untouched = try replay(session, input: nil, asr: asr, dir: dir, name: "plain-\(asr)")
            XCTAssertFalse(untouched.contains { $0["kind"] as? String == "command" }, "\(asr): \(untouched.filter { $0["kind"] as? String == "command" })")
            XCTAssertFalse(untouched.contains { $0["kind"] as? String == "photo" }, asr)

            let tapped = try replay(session, input: [#"{"t": 1.5, "kind": "tap"}"#], asr: asr, dir: dir, name: "tap-\(asr)")
            let input = try XCTUnwrap(tapped.first { $0["kind"] as? String == "input" }, asr)
            XCTAssertEqual(input["input"] as? String, "tap")
            XCTAssertEqual(input["action"] as? String, "wake")
            XCTAssertEqual(input["time_ns"] as? Int, 1_500_000_000)
            let wake = try XCTUnwrap(tapped.first { $0["kind"] as? String == "wake" }, asr)
            XCTAssertEqual(wake["phrase"] as? String, "tap")
            XCTAssertTrue(tapped.contains { $0["kind"] as? String == "overlay" && $0["text"] as? String == "listening..." }, "\(asr): the assistant shows it listens")
            let command = try XCTUnwrap(tapped.first { $0["kind"] as? String == "command" }, "\(asr): the words after the tap are the command")
            XCTAssertEqual(command["intent"] as? String, "take_photo", asr)
            XCTAssertTrue(tapped.contains { $0["kind"] as? String == "photo" }, "\(asr): and the photo is taken")
        }
    }

    func testButtonsAndSwipesActAndAControlTheDeviceLacksIsIgnored() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let session = try sessionWithACommand("hello there", in: dir)
        let events = try replay(session, input: [
            #"{"t": 0.5, "kind": "capture"}"#, #"{"t": 1.0, "kind": "long_press"}"#,
            #"{"t": 1.2, "kind": "swipe_forward", "source": "touchpad"}"#, #"{"t": 1.4, "kind": "swipe_back"}"#,
        ], dir: dir, name: "buttons")
        let inputs = events.filter { $0["kind"] as? String == "input" }
        XCTAssertEqual(inputs.compactMap { $0["action"] as? String }, ["take_photo", "stop", "go_on", "go_back"])
        XCTAssertEqual(inputs[2]["source"] as? String, "touchpad")
        XCTAssertTrue(events.contains { $0["kind"] as? String == "photo" }, "the capture button took a photo")
        let commands = events.filter { $0["kind"] as? String == "command" }.compactMap { $0["intent"] as? String }
        XCTAssertEqual(commands, ["take_photo", "stop", "go_on", "go_back"])

        // Aria has a capture button and no touchpad: a tap is noted and ignored.
        let aria = try replay(session, input: [#"{"t": 0.5, "kind": "tap"}"#, #"{"t": 0.7, "kind": "capture"}"#], profile: "aria-gen1", dir: dir, name: "aria")
        let ariaInputs = aria.filter { $0["kind"] as? String == "input" }
        XCTAssertEqual(ariaInputs.first?["ignored"] as? String, "the aria-gen1 profile has no tap")
        XCTAssertFalse(aria.contains { $0["kind"] as? String == "wake" })
        XCTAssertEqual(ariaInputs.last?["action"] as? String, "take_photo")
    }

    func testABadInputFileIsOneLineNamingTheLine() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let file = dir.appendingPathComponent("bad.jsonl")
        try write([#"{"t": 0.5, "kind": "tap"}"#, #"{"t": 1, "kind": "pinch"}"#], to: file)
        let run = try TestSupport.visor("replay", TestSupport.fixture("sign.mcap"), "--headless", "--input", file.path)
        XCTAssertNotEqual(run.status, 0)
        XCTAssertEqual(run.stderr.split(separator: "\n").count, 1, run.stderr)
        XCTAssertTrue(run.stderr.contains("bad.jsonl line 2"), run.stderr)
        XCTAssertTrue(run.stderr.contains("\"kind\" must be one of tap, double_tap"), run.stderr)
    }
}
