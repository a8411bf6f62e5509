import Foundation
import VisorCore
import VisorSession
import VisorTestSupport
import XCTest

/// Nothing lost, nothing clobbered: what a run writes is finished when it is stopped, is written
/// where the user pointed (devices and links included), never overwrites an input, and is never
/// written by two processes at once. Each runs the real `visor` in its own process.
final class OutputSafetyTests: XCTestCase {
    private var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["XDG_DATA_HOME"] = TestSupport.dataHome
        return env
    }

    /// Starts `visor` with SIGINT at its default (a background job of a script would ignore it).
    private func start(_ arguments: [String], stdout: FileHandle = .nullDevice, stderr: Pipe? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestSupport.visorPath)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = stdout
        process.standardError = stderr ?? FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    private func waitFor(_ what: String, timeout: Double = 30, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return }
            usleep(50_000)
        }
        XCTFail("timed out waiting for \(what)")
    }

    private func size(_ path: String) -> Int { (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0 }

    private func fileType(_ path: String) -> FileAttributeType? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.type]) as? FileAttributeType
    }

    // MARK: signals

    /// Headless replay, bench and their outputs on SIGINT, SIGTERM and SIGHUP: every output is
    /// finished (the transcript to its last event, the annotated session with its summary, the
    /// report), and the status says which signal stopped it.
    func testASignalFinishesEveryOutputOfAHeadlessReplay() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        for (signal, status) in [(SIGINT, Int32(130)), (SIGTERM, 143), (SIGHUP, 129)] {
            let transcript = dir.appendingPathComponent("t\(signal).jsonl").path
            let report = dir.appendingPathComponent("r\(signal).json").path
            let output = dir.appendingPathComponent("o\(signal).mcap").path
            let errors = Pipe()
            let replay = try start(["replay", TestSupport.fixture("walk.mcap"), "--headless", "--speed", "1", "--stages", "codes,text",
                                    "--transcript", transcript, "--report", report, "--output", output], stderr: errors)
            // Under way: a few frames (one every 2 s) are in the transcript already.
            try waitFor("frames in the transcript") { ((try? String(contentsOfFile: transcript, encoding: .utf8)) ?? "").components(separatedBy: "\"kind\":\"frame\"").count > 2 }
            kill(replay.processIdentifier, signal)
            replay.waitUntilExit()
            let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            XCTAssertEqual(replay.terminationReason, .exit, "exited, not killed by the signal: \(stderr)")
            XCTAssertEqual(replay.terminationStatus, status, stderr)
            XCTAssertEqual(stderr.split(separator: "\n").count, 1, stderr)
            XCTAssertTrue(stderr.contains("stopped by"), stderr)
            let events = try TestSupport.transcriptEvents(transcript)
            XCTAssertGreaterThanOrEqual(events.filter { $0["kind"] as? String == "frame" }.count, 2)
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any])
            XCTAssertEqual(json["frames"] as? Int, events.filter { $0["kind"] as? String == "frame" }.count)
            let written = try MCAPReader(path: output)
            XCTAssertTrue(written.usedIndex, "the annotated session has its summary")
            XCTAssertNil(written.damage)
        }
        // bench --json the same way.
        let benchReport = dir.appendingPathComponent("bench.json").path
        let bench = try start(["bench", TestSupport.fixture("walk.mcap"), "--speed", "1", "--stages", "codes", "--json", benchReport])
        sleep(3)
        kill(bench.processIdentifier, SIGTERM)
        bench.waitUntilExit()
        XCTAssertEqual(bench.terminationStatus, 143)
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: benchReport))) as? [String: Any])
    }

    /// A transcript is a log: a run killed outright (SIGKILL, which no handler sees) keeps
    /// every event written before it.
    func testTheTranscriptIsWrittenEventByEvent() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let transcript = dir.appendingPathComponent("t.jsonl").path
        let replay = try start(["replay", TestSupport.fixture("walk.mcap"), "--headless", "--speed", "1", "--stages", "none", "--transcript", transcript])
        // Killed once two frames are in the file (walk.mcap's second frame comes 2 s after its
        // first: a fixed sleep of 2 s raced it, and lost in 1 run of 3 on a busy machine).
        func frames() -> Int { ((try? TestSupport.transcriptEvents(transcript)) ?? []).filter { $0["kind"] as? String == "frame" }.count }
        try waitFor("two frames in the transcript") { frames() >= 2 }
        kill(replay.processIdentifier, SIGKILL)
        replay.waitUntilExit()
        // Every line whole and every event seen before the kill still there.
        let events = try TestSupport.transcriptEvents(transcript)
        XCTAssertGreaterThanOrEqual(events.filter { $0["kind"] as? String == "frame" }.count, 2, "a killed run keeps every event before it")
    }

    // MARK: where outputs go

    /// Outputs are written where they are: a device stays a device (and a full one is an error),
    /// a symbolic link stays a link with its target written.
    func testOutputsAreWrittenInPlaceNotRenamedOver() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let sign = TestSupport.fixture("sign.mcap")
        // The test's own device nodes, the devices /dev/full and /dev/null are (1:7 and 1:3, packed
        // as Linux packs a small major and minor): a regression would replace these, never the
        // machine's.
        let devFull = dir.appendingPathComponent("full").path, devNull = dir.appendingPathComponent("null").path
        guard mknod(devFull, S_IFCHR | 0o666, dev_t(1 << 8 | 7)) == 0, mknod(devNull, S_IFCHR | 0o666, dev_t(1 << 8 | 3)) == 0 else {
            throw XCTSkip("cannot make device nodes here (CI runs as root)")
        }
        let full = try TestSupport.visor("replay", sign, "--headless", "--stages", "none", "--report", devFull)
        XCTAssertEqual(full.status, 1, full.stderr)
        XCTAssertEqual(full.stderrLines.count, 1, full.stderr)
        XCTAssertTrue(full.stderr.contains(devFull) && full.stderr.contains("disk is full"), full.stderr)
        XCTAssertEqual(fileType(devFull), .typeCharacterSpecial, "the full device is still the device")
        for flag in ["--report", "--trace", "--transcript", "--speech-out"] {
            let run = try TestSupport.visor("replay", sign, "--headless", "--stages", "none", flag, devNull)
            XCTAssertEqual(run.status, 0, "\(flag): \(run.stderr)")
            XCTAssertEqual(fileType(devNull), .typeCharacterSpecial, "\(flag) left the null device a device")
        }
        let target = dir.appendingPathComponent("real-report.json").path
        let link = dir.appendingPathComponent("report-link.json").path
        let traceTarget = dir.appendingPathComponent("real.trace").path
        let traceLink = dir.appendingPathComponent("trace-link").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        try FileManager.default.createSymbolicLink(atPath: traceLink, withDestinationPath: traceTarget)
        let run = try TestSupport.visor("replay", sign, "--headless", "--stages", "none", "--report", link, "--trace", traceLink)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(fileType(link), .typeSymbolicLink, "the link is still a link")
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: target))) as? [String: Any])
        XCTAssertGreaterThan(size(traceTarget), 100)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: traceTarget)[.posixPermissions] as? Int, 0o600, "the trace is the owner's")

        // import -o a link: the link survives and its target is the new session.
        let sessionTarget = dir.appendingPathComponent("imported.mcap").path
        let sessionLink = dir.appendingPathComponent("imported-link.mcap").path
        try FileManager.default.createSymbolicLink(atPath: sessionLink, withDestinationPath: sessionTarget)
        let imported = try TestSupport.visor("import", "--photo", "\(TestSupport.fixture("qrcode.png"))@0:1", "-o", sessionLink)
        XCTAssertEqual(imported.status, 0, imported.stderr)
        XCTAssertEqual(fileType(sessionLink), .typeSymbolicLink)
        XCTAssertGreaterThan(try SessionSource(path: sessionTarget).cameraMessageCount, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("partial") }, [], "no scratch file left")
    }

    /// No output may be an input (by any name: a hard link is the same file) or another output.
    func testNoOutputOverwritesAnInput() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let session = dir.appendingPathComponent("s.mcap").path
        try FileManager.default.copyItem(atPath: TestSupport.fixture("sign.mcap"), toPath: session)
        let alias = dir.appendingPathComponent("alias.mcap").path
        try FileManager.default.linkItem(atPath: session, toPath: alias)
        let before = try Data(contentsOf: URL(fileURLWithPath: session))
        for (flag, path) in [("--transcript", session), ("--report", alias), ("--trace", session), ("--speech-out", alias), ("--output", alias)] {
            let run = try TestSupport.visor("replay", session, "--headless", "--stages", "none", flag, path)
            XCTAssertEqual(run.status, 1, "\(flag): \(run.stderr)")
            XCTAssertEqual(run.stderrLines.count, 1, run.stderr)
            XCTAssertTrue(run.stderr.contains("would destroy it"), run.stderr)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: session)), before, "the session is untouched")
        let twice = try TestSupport.visor("replay", session, "--headless", "--transcript", dir.appendingPathComponent("x").path,
                                          "--report", dir.appendingPathComponent("x").path)
        XCTAssertEqual(twice.status, 1, twice.stderr)
        XCTAssertTrue(twice.stderr.contains("are the same file"), twice.stderr)
        let bench = try TestSupport.visor("bench", session, "--stages", "none", "--json", alias)
        XCTAssertEqual(bench.status, 1, bench.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: session)), before)

        let photo = dir.appendingPathComponent("photo.png").path
        try FileManager.default.copyItem(atPath: TestSupport.fixture("qrcode.png"), toPath: photo)
        let photoBytes = try Data(contentsOf: URL(fileURLWithPath: photo))
        let imported = try TestSupport.visor("import", "--photo", "\(photo)@0:1", "-o", photo)
        XCTAssertEqual(imported.status, 1, imported.stderr)
        XCTAssertTrue(imported.stderr.contains("would destroy it"), imported.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: photo)), photoBytes, "the photo is untouched")
    }

    /// Every output path is checked before the run starts: a bad one fails at once, before a
    /// single frame (and before the other outputs are created).
    func testABadOutputPathFailsBeforeTheRun() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let transcript = dir.appendingPathComponent("t.jsonl").path
        for (flag, path, says) in [("--report", "/nonexistent/r.json", "no such folder /nonexistent"), ("--trace", dir.path, "is a folder"),
                                   ("--output", "/nonexistent/o.mcap", "no such folder")] {
            let run = try TestSupport.visor("replay", TestSupport.fixture("walk.mcap"), "--headless", "--transcript", transcript, flag, path)
            XCTAssertEqual(run.status, 1, run.stderr)
            XCTAssertEqual(run.stderrLines.count, 1, run.stderr)
            XCTAssertTrue(run.stderr.contains(says), run.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: transcript), "\(flag): nothing ran")
        }
    }

    /// Two processes writing one file: the second is refused, and the first's file is whole.
    func testTwoWritersOfOneFileAreRefused() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let output = dir.appendingPathComponent("same.mcap").path
        let first = try start(["replay", TestSupport.fixture("sign.mcap"), "--headless", "--speed", "1", "--stages", "none", "--output", output])
        try waitFor("the first writer") { size(output) > 0 }
        let second = try TestSupport.visor("replay", TestSupport.fixture("codes.mcap"), "--headless", "--stages", "none", "--output", output)
        XCTAssertEqual(second.status, 1, second.stderr)
        XCTAssertEqual(second.stderrLines.count, 1, second.stderr)
        XCTAssertTrue(second.stderr.contains("being written by another process"), second.stderr)
        first.waitUntilExit()
        XCTAssertEqual(first.terminationStatus, 0)
        let reader = try MCAPReader(path: output)
        XCTAssertTrue(reader.usedIndex)
        XCTAssertNil(reader.damage)
        XCTAssertEqual(try SessionSource(reader: reader).cameraMessageCount, 32, "the first writer's whole replay of the sign")
    }

    // MARK: import

    /// A photo shown for a billion seconds is refused at once; an import stopped by a signal
    /// leaves no scratch file and the output as it was.
    func testImportIsBoundedAndStopsCleanly() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let output = dir.appendingPathComponent("long.mcap").path
        let huge = try TestSupport.visor("import", "--photo", "\(TestSupport.fixture("qrcode.png"))@0:1e9", "-o", output)
        XCTAssertEqual(huge.status, 64, huge.stderr)
        XCTAssertEqual(huge.stderrLines.count, 1, huge.stderr)
        XCTAssertTrue(huge.stderr.contains("one hour"), huge.stderr)
        try Data("the user's old file".utf8).write(to: URL(fileURLWithPath: output))
        let errors = Pipe()
        let importing = try start(["import", "--photo", "\(TestSupport.fixture("scene-320.jpg"))@0:3000", "--fps", "30", "--raw",
                                   "-o", output], stderr: errors)
        try waitFor("the scratch file to grow") {
            try FileManager.default.contentsOfDirectory(atPath: dir.path).contains { $0.hasSuffix(".partial") && size(dir.appendingPathComponent($0).path) > 1 << 20 }
        }
        kill(importing.processIdentifier, SIGTERM)
        importing.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(importing.terminationStatus, 143, stderr)
        XCTAssertTrue(stderr.contains("was left as it was"), stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["long.mcap"], "no scratch file left")
        XCTAssertEqual(try String(contentsOfFile: output, encoding: .utf8), "the user's old file")
    }

    // MARK: damaged frames

    /// A session with one corrupt JPEG frame is replayed to its end: the frame is skipped with a
    /// `stage_error` event, every other frame is replayed, and the status is 2 (damaged).
    func testACorruptFrameIsSkippedAndTheReplayGoesOn() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("one-bad-frame.mcap").path
        let source = try SessionSource(path: TestSupport.fixture("sign.mcap"))
        let writer = try MCAPWriter(path: path)
        let schema = try writer.addSchema(name: FoxgloveSchema.compressedImage.name, encoding: "protobuf", data: FoxgloveSchema.compressedImage.fileDescriptorSet)
        let channel = try writer.addChannel(topic: "/camera/compressed", messageEncoding: "protobuf", schemaID: schema)
        var index = 0
        for message in source.reader.messages() where message.channelID == source.cameraChannel.id {
            var data = message.data
            if index == 10 {
                data = ArraySlice(CompressedImageMessage(timestamp: FoxgloveTimestamp(nanoseconds: message.logTime), frameID: "",
                                                         data: ArraySlice(repeating: 0x55, count: 800), format: "jpeg").encoded())
            }
            try writer.write(channelID: channel, logTime: message.logTime, data: data)
            index += 1
        }
        try writer.finish()
        let transcript = dir.appendingPathComponent("t.jsonl").path
        let run = try TestSupport.visor("replay", path, "--headless", "--stages", "none", "--transcript", transcript)
        XCTAssertEqual(run.status, 2, run.stderr)
        XCTAssertEqual(run.stderrLines.count, 1, run.stderr)
        XCTAssertTrue(run.stderr.contains("1 frame(s) could not be decoded and were skipped"), run.stderr)
        let events = try TestSupport.transcriptEvents(transcript)
        XCTAssertEqual(events.filter { $0["kind"] as? String == "frame" }.count, 31, "every frame but the bad one")
        let error = try XCTUnwrap(events.first { $0["kind"] as? String == "stage_error" })
        XCTAssertEqual(error["stage"] as? String, "convert")
        XCTAssertEqual(error["index"] as? Int, 10)
        XCTAssertEqual(events.last { $0["kind"] as? String == "frame" }?["index"] as? Int, 31, "frames after it keep their place")
    }
}
