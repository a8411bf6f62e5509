import Foundation
import VisorTestSupport
import XCTest

/// The assistant from the command line: the wearer's profile, memory, speech outputs.
final class AssistantCommandTests: XCTestCase {
    func testReplayWritesSpeechToAWAVFileAndTheAnnotatedSession() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let wav = dir.appendingPathComponent("said.wav").path, out = dir.appendingPathComponent("out.mcap").path
        let memory = dir.appendingPathComponent("memory.sqlite").path
        let run = try TestSupport.visor("replay", TestSupport.fixture("recall.mcap"), "--headless", "--deterministic", "--memory", memory,
                                        "--stages", "speech,assistant", "--speech-out", wav, "--output", out)
        XCTAssertEqual(run.status, 0, run.stderr)
        for row in ["wake_to_overlay", "command_to_overlay", "command_to_speech", "language model: loaded in"] {
            XCTAssertTrue(run.stdout.contains(row), "the report shows \(row): \(run.stdout)")
        }
        // Nothing noted yet: the assistant says so, out loud.
        let header = try Data(contentsOf: URL(fileURLWithPath: wav)).prefix(44)
        XCTAssertEqual(String(decoding: header.prefix(4), as: UTF8.self), "RIFF")
        XCTAssertEqual(header[24..<28].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }, 16_000)
        XCTAssertGreaterThan(try FileManager.default.attributesOfItem(atPath: wav)[.size] as? Int ?? 0, 44 + 16_000)
        let inspect = try TestSupport.visor("inspect", out)
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        let speechLine = try XCTUnwrap(inspect.stdout.split(separator: "\n").first { $0.contains("/visor/speech") }, inspect.stdout)
        XCTAssertTrue(speechLine.contains("foxglove.RawAudio"), String(speechLine))
        XCTAssertTrue(inspect.stdout.contains("/visor/events"), inspect.stdout)
    }

    func testABadWearerProfileIsAOneLineErrorNamingTheField() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let profile = dir.appendingPathComponent("wearer.yaml")
        try "name: Ada\nnotifications:\n  per_minute: often\n".write(to: profile, atomically: true, encoding: .utf8)
        let run = try TestSupport.visor("replay", TestSupport.fixture("sign.mcap"), "--headless", "--wearer", profile.path)
        XCTAssertEqual(run.status, 1)
        XCTAssertEqual(run.stderrLines, ["visor: error: wearer profile \(profile.path): field notifications.per_minute: must be a whole number"])
        let missing = try TestSupport.visor("replay", TestSupport.fixture("sign.mcap"), "--headless", "--wearer", dir.appendingPathComponent("none.yaml").path)
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderrLines.count, 1, missing.stderr)
        let model = try TestSupport.visor("replay", TestSupport.fixture("sign.mcap"), "--headless", "--model", dir.appendingPathComponent("none.gguf").path)
        XCTAssertEqual(model.status, 1)
        XCTAssertEqual(model.stderrLines, ["visor: error: model \(dir.appendingPathComponent("none.gguf").path): no such file"])
        let garbage = dir.appendingPathComponent("garbage.gguf")
        try Data(repeating: 7, count: 1000).write(to: garbage)
        let bad = try TestSupport.visor("replay", TestSupport.fixture("sign.mcap"), "--headless", "--model", garbage.path)
        XCTAssertEqual(bad.status, 1)
        XCTAssertEqual(bad.stderrLines.count, 1, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("llama.cpp could not load it"), bad.stderr)
    }

    func testMemoryListSearchAndForget() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let memory = dir.appendingPathComponent("memory.sqlite").path
        let replay = try TestSupport.visor("replay", TestSupport.fixture("commands.mcap"), "--headless", "--deterministic", "--memory", memory,
                                           "--gallery", dir.appendingPathComponent("photos").path, "--stages", "text,speech,assistant", "--no-model")
        XCTAssertEqual(replay.status, 0, replay.stderr)
        let list = try TestSupport.visor("memory", "list", "--memory", memory)
        XCTAssertEqual(list.status, 0, list.stderr)
        let rows = list.stdout.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        XCTAssertEqual(rows.map { $0[2] }, ["note", "photo", "reading"], list.stdout)
        XCTAssertTrue(rows[0][3].hasSuffix("car is on level three"), list.stdout)
        let photo = rows[1][4]
        XCTAssertTrue(FileManager.default.fileExists(atPath: photo))
        let search = try TestSupport.visor("memory", "search", "--memory", memory, "parking")
        // The reading says it; the note and the photo were stored with the sign in view.
        let found = search.stdout.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        XCTAssertEqual(found.map { $0[2] }, ["reading", "note", "photo"], search.stdout)
        XCTAssertEqual(found.first?[3], "NOTICE DOUBLE PARKING PROHIBITED AT ALL TIMES")
        let forgetOne = try TestSupport.visor("memory", "forget", "--memory", memory, rows[1][0])
        XCTAssertEqual(forgetOne.stdout, "forgot entry \(rows[1][0])\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: photo), "the photo goes with its entry")
        let again = try TestSupport.visor("memory", "forget", "--memory", memory, rows[1][0])
        XCTAssertEqual(again.status, 1)
        XCTAssertEqual(again.stderrLines, ["visor: error: no entry \(rows[1][0]) in \(memory)"])
        let all = try TestSupport.visor("memory", "forget", "--memory", memory, "--all")
        XCTAssertEqual(all.stdout, "forgot 2 entries\n")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: memory))
        for secret in ["level three", "PARKING", "visor-00012000"] {
            XCTAssertNil(bytes.range(of: Data(secret.utf8)), "\(secret) is not in the file after forget --all")
        }
        XCTAssertEqual(try TestSupport.visor("memory", "list", "--memory", memory).stdout, "memory is empty\n")
        XCTAssertEqual(try TestSupport.visor("memory", "forget", "--memory", memory).status, 64, "an id or --all")
    }

    /// `replay --headless` with no other flag: the slow stages run on the virtual clock, so
    /// "read this" in front of the sign reads it (free-running at full speed they were skipped,
    /// and the answer was "I see no text to read."); `--free-running` is still there, and the
    /// report says which ran.
    func testHeadlessReplayAnswersFromWhatTheStagesSaw() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        func replay(_ extra: [String], name: String) throws -> (answers: [String], scheduling: String?, run: TestSupport.Run) {
            let transcript = dir.appendingPathComponent("\(name).jsonl").path, report = dir.appendingPathComponent("\(name).json").path
            let run = try TestSupport.visor(arguments: ["replay", TestSupport.fixture("commands.mcap"), "--headless", "--no-model",
                                                        "--memory", dir.appendingPathComponent("\(name).sqlite").path,
                                                        "--gallery", dir.appendingPathComponent("photos").path,
                                                        "--transcript", transcript, "--report", report] + extra)
            XCTAssertEqual(run.status, 0, run.stderr)
            let answers = try TestSupport.transcriptEvents(transcript).filter { $0["kind"] as? String == "overlay" && $0["action"] as? String == "show" }
                .compactMap { $0["text"] as? String }
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any]
            return (answers, json?["scheduling"] as? String, run)
        }
        let plain = try replay([], name: "default")
        XCTAssertEqual(plain.scheduling, "deterministic")
        XCTAssertTrue(plain.run.stdout.contains("deterministic scheduling"), plain.run.stdout)
        XCTAssertTrue(plain.answers.contains("NOTICE DOUBLE PARKING PROHIBITED AT ALL TIMES"), "\(plain.answers)")
        XCTAssertFalse(plain.answers.contains("I see no text to read."), "\(plain.answers)")
        XCTAssertEqual(try replay(["--free-running"], name: "free").scheduling, "free-running")
        XCTAssertEqual(try TestSupport.visor("replay", TestSupport.fixture("sign.mcap"), "--deterministic", "--free-running").status, 64)
    }
}
