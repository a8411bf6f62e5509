import Foundation
import VisorCore
import VisorSession
import VisorTestSupport
import XCTest

/// Every kind of bad input gets one clear line on stderr and a non-zero exit, never a crash.
final class BadInputTests: XCTestCase {
    private func assertCleanFailure(_ run: TestSupport.Run, status: Int32, mentions: String,
                                    file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(run.exitedNormally, "died from a signal: \(run.stderr)", file: file, line: line)
        XCTAssertEqual(run.status, status, run.stderr, file: file, line: line)
        XCTAssertEqual(run.stderrLines.count, 1, "exactly one line: \(run.stderr)", file: file, line: line)
        XCTAssertTrue(run.stderr.lowercased().contains(mentions.lowercased()), "\"\(mentions)\" not in: \(run.stderr)", file: file, line: line)
        XCTAssertFalse(run.stderr.contains("Fatal error") || run.stderr.contains("Stack dump"), file: file, line: line)
    }

    private func writeCopy(_ fixture: String, in dir: URL, name: String, _ edit: (inout [UInt8]) -> Void) throws -> String {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: TestSupport.fixture(fixture))))
        edit(&bytes)
        let path = dir.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testMissingFileAndDirectory() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        for command in ["replay", "inspect"] {
            assertCleanFailure(try TestSupport.visor(command, dir.appendingPathComponent("nope.mcap").path), status: 1, mentions: "no such file")
            assertCleanFailure(try TestSupport.visor(command, dir.path), status: 1, mentions: "is a directory")
        }
    }

    func testRandomBytesAndEmptyFileAreNotMCAP() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        var rng = SystemRandomNumberGenerator()
        let random = dir.appendingPathComponent("random.mcap").path
        try Data((0..<100_000).map { _ in UInt8.random(in: 0...255, using: &rng) }).write(to: URL(fileURLWithPath: random))
        let empty = dir.appendingPathComponent("empty.mcap").path
        try Data().write(to: URL(fileURLWithPath: empty))
        let jpeg = TestSupport.fixture("scene-320.jpg")
        for path in [random, empty, jpeg] {
            assertCleanFailure(try TestSupport.visor("replay", path, "--headless"), status: 1, mentions: "not an MCAP file")
            assertCleanFailure(try TestSupport.visor("inspect", path), status: 1, mentions: "not an MCAP file")
        }
    }

    func testTruncatedSessionReplaysUpToTheCutAndSaysSo() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let size = try FileManager.default.attributesOfItem(atPath: TestSupport.fixture("street.mcap"))[.size] as? Int ?? 0
        var framesSeen: [Int] = []
        for fraction in [0.2, 0.5, 0.8, 0.97] {
            let cut = Int(Double(size) * fraction)
            let path = try writeCopy("street.mcap", in: dir, name: "cut.mcap") { $0.removeSubrange(cut...) }
            let transcript = dir.appendingPathComponent("cut.jsonl").path
            let run = try TestSupport.visor("replay", path, "--headless", "--transcript", transcript)
            assertCleanFailure(run, status: 2, mentions: "truncated")
            let events = try TestSupport.transcriptEvents(transcript)
            framesSeen.append(events.filter { $0["kind"] as? String == "frame" }.count)
            XCTAssertEqual(events.last?["kind"] as? String, "truncated", "the transcript says where it ended")
            let inspect = try TestSupport.visor("inspect", path, "--json")
            XCTAssertEqual(inspect.status, 0, "inspect still reads a cut recording")
            XCTAssertTrue(inspect.stdout.contains("\"indexed\" : false"))
        }
        XCTAssertEqual(framesSeen, framesSeen.sorted(), "a later cut keeps at least as many frames")
        XCTAssertLessThan(framesSeen.first ?? 60, 60)
        XCTAssertGreaterThan(framesSeen.last ?? 0, 0)
    }

    func testDamagedFooterIsReadWholeAndSaidInOneLine() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let intact = try TestSupport.visor("replay", TestSupport.fixture("street.mcap"), "--headless", "--stages", "none")
        XCTAssertEqual(intact.status, 0, intact.stderr)
        XCTAssertEqual(intact.stderr, "", "an intact session gets no warning")
        let path = try writeCopy("street.mcap", in: dir, name: "magic.mcap") { $0[$0.count - 3] ^= 0x01 }
        let run = try TestSupport.visor("replay", path, "--headless", "--stages", "none")
        XCTAssertEqual(run.status, 0, "nothing was lost: \(run.stderr)")
        XCTAssertEqual(run.stderrLines.count, 1, run.stderr)
        XCTAssertTrue(run.stderr.contains("closing magic") && run.stderr.contains("read by scanning"), run.stderr)
        let replayed = { (r: TestSupport.Run) in r.stdout.split(separator: "\n").first.map(String.init)?.components(separatedBy: " of ").first }
        XCTAssertEqual(replayed(run), replayed(intact), "every frame and audio block replayed")
        let inspect = try TestSupport.visor("inspect", path)
        XCTAssertEqual(inspect.status, 0)
        XCTAssertEqual(inspect.stderrLines.count, 1, inspect.stderr)
        XCTAssertTrue(inspect.stdout.contains("closing magic"), inspect.stdout)
    }

    func testBitFlipsInsideAChunk() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let chunks = try MCAPReader(path: TestSupport.fixture("street.mcap")).chunkIndexes
        for (k, chunk) in chunks.enumerated() {
            let payload = Int(chunk.chunkStartOffset + chunk.chunkLength - chunk.compressedSize)
            let at = payload + Int(chunk.compressedSize) * (k + 1) / (chunks.count + 1)
            let path = try writeCopy("street.mcap", in: dir, name: "flip\(k).mcap") { $0[at] ^= 0x04 }
            let run = try TestSupport.visor("replay", path, "--headless")
            assertCleanFailure(run, status: 2, mentions: "corrupt chunk")
        }
    }

    func testSessionWithoutCameraChannel() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("audio-only.mcap").path
        let writer = try SessionWriter(path: path)
        try writer.writeAudio(AudioBlock(sampleRateHertz: 16000, channelCount: 1, samples: [Int16](repeating: 3, count: 320), captureTimeNanoseconds: 0))
        try writer.finish()
        assertCleanFailure(try TestSupport.visor("replay", path, "--headless"), status: 1, mentions: "no camera channel")
        assertCleanFailure(try TestSupport.visor("replay", TestSupport.fixture("street.mcap"), "--headless", "--camera-topic", "/nope"),
                           status: 1, mentions: "no topic /nope")
        assertCleanFailure(try TestSupport.visor("replay", TestSupport.fixture("street.mcap"), "--headless", "--camera-topic", "/microphone/audio"),
                           status: 1, mentions: "not a camera schema")
    }

    func testUnknownImageEncodings() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let compressed = dir.appendingPathComponent("webp.mcap").path
        var writer = try MCAPWriter(path: compressed)
        var schema = try writer.addSchema(name: FoxgloveSchema.compressedImage.name, encoding: "protobuf", data: FoxgloveSchema.compressedImage.fileDescriptorSet)
        var channel = try writer.addChannel(topic: "/cam", messageEncoding: "protobuf", schemaID: schema)
        let webp = CompressedImageMessage(timestamp: FoxgloveTimestamp(nanoseconds: 0), frameID: "", data: [1, 2, 3], format: "webp")
        try writer.write(channelID: channel, logTime: 0, data: webp.encoded())
        try writer.finish()
        assertCleanFailure(try TestSupport.visor("replay", compressed, "--headless"), status: 1, mentions: "unknown image encoding \"webp\"")

        let raw = dir.appendingPathComponent("bayer.mcap").path
        writer = try MCAPWriter(path: raw)
        schema = try writer.addSchema(name: FoxgloveSchema.rawImage.name, encoding: "protobuf", data: FoxgloveSchema.rawImage.fileDescriptorSet)
        channel = try writer.addChannel(topic: "/cam", messageEncoding: "protobuf", schemaID: schema)
        let bayer = RawImageMessage(timestamp: FoxgloveTimestamp(nanoseconds: 0), frameID: "", width: 2, height: 2, encoding: "bayer_rggb8", step: 2, data: [1, 2, 3, 4])
        try writer.write(channelID: channel, logTime: 0, data: bayer.encoded())
        try writer.finish()
        assertCleanFailure(try TestSupport.visor("replay", raw, "--headless"), status: 1, mentions: "unknown image encoding \"bayer_rggb8\"")

        let corrupt = dir.appendingPathComponent("corrupt-jpeg.mcap").path
        writer = try MCAPWriter(path: corrupt)
        schema = try writer.addSchema(name: FoxgloveSchema.compressedImage.name, encoding: "protobuf", data: FoxgloveSchema.compressedImage.fileDescriptorSet)
        channel = try writer.addChannel(topic: "/cam", messageEncoding: "protobuf", schemaID: schema)
        let garbage = CompressedImageMessage(timestamp: FoxgloveTimestamp(nanoseconds: 0), frameID: "", data: ArraySlice(repeating: 0x55, count: 500), format: "jpeg")
        try writer.write(channelID: channel, logTime: 0, data: garbage.encoded())
        try writer.finish()
        assertCleanFailure(try TestSupport.visor("replay", corrupt, "--headless"), status: 1, mentions: "JPEG")
    }

    /// Messages that say what is wrong: a pipe or a device as an input, a folder as an output or a
    /// profile, a rate of 0, a stage named twice, an empty stage list.
    func testMessagesSayWhatIsWrong() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let fifo = dir.appendingPathComponent("fifo.mcap").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let street = TestSupport.fixture("street.mcap")
        for input in [fifo, "/dev/zero"] {
            assertCleanFailure(try TestSupport.visor("replay", input, "--headless"), status: 1, mentions: "is a device, pipe or socket, not a regular file")
            assertCleanFailure(try TestSupport.visor("inspect", input), status: 1, mentions: "not a regular file")
        }
        assertCleanFailure(try TestSupport.visor("replay", street, "--headless", "--trace", dir.path), status: 1, mentions: "trace \(dir.path) is a folder")
        assertCleanFailure(try TestSupport.visor("replay", street, "--headless", "--profile", dir.path), status: 1, mentions: "profile file \(dir.path) is a directory")
        assertCleanFailure(try TestSupport.visor("replay", street, "--headless", "--profile", fifo), status: 1, mentions: "not a regular file")
        assertCleanFailure(try TestSupport.visor("live", "--fps", "0", "--headless"), status: 64, mentions: "--fps must be more than 0")
        assertCleanFailure(try TestSupport.visor("replay", street, "--stages", "codes,codes"), status: 64, mentions: "--stages names codes twice")
        assertCleanFailure(try TestSupport.visor("replay", street, "--stages", ""), status: 64, mentions: "--stages names no stage")
        assertCleanFailure(try TestSupport.visor("replay", street, "--stages", "text,face"), status: 64,
                           mentions: "unknown stage \"face\" in --stages (stages: codes, text, faces, speech, assistant, or none)")
        // A profile whose latency key no stage uses would silently fall back: it is refused.
        var laptop = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(try TestSupport.visor("profiles", "laptop").stdout.utf8)) as? [String: Any])
        var latencies = try XCTUnwrap(laptop["modelled_latency_ms"] as? [String: Any])
        latencies["face"] = latencies.removeValue(forKey: "faces")
        laptop["modelled_latency_ms"] = latencies
        let misspelt = dir.appendingPathComponent("misspelt.json").path
        try JSONSerialization.data(withJSONObject: laptop).write(to: URL(fileURLWithPath: misspelt))
        assertCleanFailure(try TestSupport.visor("replay", street, "--headless", "--profile", misspelt), status: 1,
                           mentions: "profile \(misspelt): unknown key modelled_latency_ms.face (keys: codes, text, faces, speech, speech_whisper, assistant, language_model, speech_synthesis)")
        let help = try TestSupport.visor("replay", "--help")
        let flat = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        XCTAssertTrue(flat.contains("codes, text, faces, speech, assistant, or none"), help.stdout)
        // live has devices, not topics; bench takes max as its help says.
        assertCleanFailure(try TestSupport.visor("live", "--camera-topic", "/cam", "--headless"), status: 64, mentions: "unknown option '--camera-topic'")
        let bench = try TestSupport.visor("bench", TestSupport.fixture("sign.mcap"), "--speed", "max", "--stages", "none")
        XCTAssertEqual(bench.status, 0, bench.stderr)
        assertCleanFailure(try TestSupport.visor("bench", street, "--speed", "fast"), status: 64, mentions: "--speed takes a positive factor")
    }

    func testWrongFlagsExitWithUsageStatus() throws {
        let street = TestSupport.fixture("street.mcap")
        for arguments in [["replay", street, "--speed", "fast"], ["replay", street, "--frobnicate"], ["replay"],
                          ["import", "-o", "/tmp/x.mcap"], ["import", "--photo", "a.jpg@x", "-o", "/tmp/x.mcap"],
                          ["import", "v.mp4", "-o", "/tmp/x.mcap", "--size", "641x480"], ["teleport"]] {
            let run = try TestSupport.visor(arguments: arguments)
            XCTAssertTrue(run.exitedNormally)
            XCTAssertEqual(run.status, 64, "\(arguments): \(run.stderr)")
            // One line, as every other error: what is wrong and where the help is.
            XCTAssertEqual(run.stderrLines.count, 1, "\(arguments): \(run.stderr)")
            XCTAssertTrue(run.stderr.hasPrefix("visor: error: ") && run.stderr.contains("--help"), "\(arguments): \(run.stderr)")
        }
    }
}
