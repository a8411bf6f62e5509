import Foundation
import VisorTestSupport
import XCTest

/// A `visor` built on one x86-64 machine runs on any x86-64-v2 CPU, its two C++ libraries
/// included: tools/setup installs llama.cpp's and whisper.cpp's CPU code for x86-64-v2, and again
/// for x86-64-v3 where the dynamic loader takes it on a CPU that has it. Checked under qemu-user's
/// Nehalem (x86-64-v2: SSE4.2, no AVX), where visor used to die of an illegal instruction.
final class PortabilityTests: XCTestCase {
    private let qemu = "/usr/bin/qemu-x86_64"

    /// Runs visor on the emulated Nehalem, logging at info level, where each library names the
    /// instruction sets its build was compiled for.
    private func visorOnNehalem(_ arguments: [String]) throws -> TestSupport.Run {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: qemu), "qemu-user is not installed (tools/setup installs it)")
        var environment = ProcessInfo.processInfo.environment
        // With OMP_THREAD_LIMIT unset, visor would re-run itself, natively, outside the emulator.
        environment["OMP_THREAD_LIMIT"] = "1"
        environment["VISOR_LOG_LEVEL"] = "info"
        return try TestSupport.run(qemu, ["-cpu", "Nehalem", TestSupport.visorPath] + arguments, environment: environment)
    }

    /// The log line in which a library names its build: the x86-64-v2 one, with no AVX.
    private func assertBaselineBuild(_ run: TestSupport.Run, logged marker: String, file: StaticString = #filePath, line: UInt = #line) {
        let lines = run.stderr.split(separator: "\n").filter { $0.contains(marker) }
        XCTAssertFalse(lines.isEmpty, "no \"\(marker)\" line: \(run.stderr.suffix(2000))", file: file, line: line)
        for logged in lines {
            XCTAssertTrue(logged.contains("SSSE3 = 1"), String(logged), file: file, line: line)
            XCTAssertFalse(logged.contains("AVX"), "the x86-64-v3 build was loaded: \(logged)", file: file, line: line)
        }
    }

    func testTheLanguageModelAnswersOnACPUWithoutAVX() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let transcript = dir.appendingPathComponent("model.jsonl").path
        // PocketSphinx hears the commands; "what did I see" is answered by the model.
        let run = try visorOnNehalem(["replay", TestSupport.fixture("commands.mcap"), "--headless", "--stages", "speech,assistant",
                                      "--transcript", transcript, "--memory", dir.appendingPathComponent("memory.sqlite").path,
                                      "--gallery", dir.appendingPathComponent("photos").path])
        XCTAssertTrue(run.exitedNormally, "died from a signal: \(run.stderr.suffix(2000))")
        XCTAssertEqual(run.status, 0, String(run.stderr.suffix(2000)))
        assertBaselineBuild(run, logged: "CPU : SSE3")
        let answers = try TestSupport.transcriptEvents(transcript).filter { $0["kind"] as? String == "model" }
        XCTAssertFalse(answers.isEmpty, "the model answered nothing")
        for answer in answers {
            XCTAssertGreaterThan(answer["generated_tokens"] as? Int ?? 0, 0, "\(answer)")
            XCTAssertFalse((answer["answer"] as? String ?? "").isEmpty, "\(answer)")
        }
    }

    func testWhisperHearsACommandOnACPUWithoutAVX() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let wav = dir.appendingPathComponent("said.wav").path
        let flite = try TestSupport.run("/usr/bin/env", ["flite", "-voice", "kal", "-t", "hey glasses, what time is it", "-o", wav])
        XCTAssertEqual(flite.status, 0, flite.stderr)
        // A short session (Whisper on an emulated CPU takes about half a minute a second of speech).
        let session = dir.appendingPathComponent("session.mcap").path
        let made = try TestSupport.visor("import", "--photo", "\(TestSupport.fixture("scene-320.jpg"))@0:4", "--audio", "\(wav)@0.5",
                                         "--size", "320x240", "--fps", "5", "-o", session)
        XCTAssertEqual(made.status, 0, made.stderr)
        let transcript = dir.appendingPathComponent("whisper.jsonl").path
        let run = try visorOnNehalem(["replay", session, "--headless", "--stages", "speech,assistant", "--asr", "whisper", "--no-model",
                                      "--transcript", transcript, "--memory", dir.appendingPathComponent("memory.sqlite").path,
                                      "--gallery", dir.appendingPathComponent("photos").path])
        XCTAssertTrue(run.exitedNormally, "died from a signal: \(run.stderr.suffix(2000))")
        XCTAssertEqual(run.status, 0, String(run.stderr.suffix(2000)))
        assertBaselineBuild(run, logged: "Whisper loaded")
        let intents = try TestSupport.transcriptEvents(transcript).filter { $0["kind"] as? String == "command" }.compactMap { $0["intent"] as? String }
        XCTAssertEqual(intents, ["what_time_is_it"])
    }
}
