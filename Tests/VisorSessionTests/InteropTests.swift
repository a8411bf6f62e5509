import Foundation
import VisorCore
import VisorMedia
import VisorTestSupport
import XCTest
@testable import VisorSession

/// Visor's files against the official MCAP and Foxglove Python libraries (PyPI `mcap`,
/// `mcap-protobuf-support`, `foxglove-schemas-protobuf`), both ways.
final class InteropTests: XCTestCase {
    /// The real street photo as a frame.
    private func photoFrame(at time: UInt64) throws -> Frame {
        let jpeg = [UInt8](try Data(contentsOf: URL(fileURLWithPath: TestSupport.fixture("scene-320.jpg"))))
        var pixels: [UInt8] = []
        let size = try jpeg.withUnsafeBytes { try JPEGCodec().decode($0, into: &pixels) }
        return Frame(widthPixels: size.width, heightPixels: size.height, pixels: pixels, captureTimeNanoseconds: time)
    }

    private func writeSession(_ path: String, storage: SessionWriter.ImageStorage, compression: MCAPCompression) throws {
        var options = MCAPWriter.Options()
        options.compression = compression
        options.chunkSizeBytes = 64 << 10
        let writer = try SessionWriter(path: path, storage: storage, options: options)
        try writer.addMetadata(name: "device", ["camera": "scene-320.jpg", "profile": "laptop"])
        for i in 0..<6 {
            try writer.writeFrame(try photoFrame(at: UInt64(i) * 100_000_000))
            for k in 0..<5 {
                let samples = (0..<320).map { Int16(truncatingIfNeeded: ($0 * 97 + k) % 2000 - 1000) }
                try writer.writeAudio(AudioBlock(sampleRateHertz: 16000, channelCount: 1, samples: samples,
                                                 captureTimeNanoseconds: UInt64(i * 5 + k) * 20_000_000))
            }
        }
        try writer.addAttachment(MCAPAttachment(logTime: 0, createTime: 0, name: "wearer.yaml", mediaType: "application/yaml",
                                                data: Array("goals: [read signs]\n".utf8)))
        try writer.finish()
    }

    func testOfficialReaderDecodesEveryFileVisorWrites() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        var paths = TestSupport.fixtureSessions.map(TestSupport.fixture)
        for (name, storage, compression) in [("raw-zstd", SessionWriter.ImageStorage.raw, MCAPCompression.zstd),
                                             ("jpeg-lz4", .jpeg(quality: 80), .lz4), ("jpeg-none", .jpeg(quality: 80), .none)] {
            let path = dir.appendingPathComponent("\(name).mcap").path
            try writeSession(path, storage: storage, compression: compression)
            paths.append(path)
        }
        let run = try TestSupport.python("read_with_official.py", paths)
        XCTAssertEqual(run.status, 0, run.stderr)
        let results = try run.stdout.split(separator: "\n").map {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        XCTAssertEqual(results.count, paths.count)
        for (path, result) in zip(paths, results) {
            let reader = try MCAPReader(path: path)
            let channels = try XCTUnwrap(result["channels"] as? [String: [String: Any]])
            XCTAssertEqual(Set(channels.keys), Set(reader.channels.values.map(\.topic)), path)
            for channel in reader.channels.values {
                XCTAssertEqual(channels[channel.topic]?["count"] as? Int, Int(reader.statistics.channelMessageCounts[channel.id] ?? 0), path)
                XCTAssertEqual(channels[channel.topic]?["schema"] as? String, reader.schemas[channel.schemaID]?.name)
                XCTAssertEqual(channels[channel.topic]?["first_stamp_ns"] as? Int, channels[channel.topic]?["first_log_time"] as? Int,
                               "the header stamp is the capture time")
            }
            XCTAssertEqual(result["chunk_count"] as? Int, reader.chunkIndexes.count)
            let metadata = try XCTUnwrap(result["metadata"] as? [String: [String: String]])
            XCTAssertEqual(metadata.keys.sorted(), try reader.metadata().map(\.name).sorted())
            XCTAssertEqual(result["attachments"] as? [String], try reader.attachments().map(\.name))
        }
    }

    func testVisorReplaysFilesWrittenByTheOfficialWriter() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let rawSource = dir.appendingPathComponent("raw-source.mcap").path
        try writeSession(rawSource, storage: .raw, compression: .zstd)
        let run = try TestSupport.python("write_with_official.py", [TestSupport.fixture("street.mcap"), rawSource, dir.path])
        XCTAssertEqual(run.status, 0, run.stderr)

        // Compressed frames under foreign topic names, with Unix-time log times.
        let reference = try decodeAll(try SessionSource(path: TestSupport.fixture("street.mcap")))
        for name in ["official-jpeg-zstd.mcap", "official-jpeg-lz4.mcap"] {
            let source = try SessionSource(path: dir.appendingPathComponent(name).path)
            XCTAssertEqual(source.cameraChannel.topic, "/sensors/front_cam/compressed")
            XCTAssertEqual(source.audioChannel?.topic, "/headset/mic0")
            XCTAssertEqual(source.startTimeNanoseconds, 1_700_000_000 * 1_000_000_000)
            let decoded = try decodeAll(source)
            XCTAssertEqual(decoded.frames.count, 60)
            XCTAssertEqual(decoded.audio.count, 300)
            XCTAssertTrue(zip(decoded.frames, reference.frames).allSatisfy { $0.pixels == $1.pixels }, "\(name): the same pixels")
            XCTAssertEqual(decoded.frames.map { $0.captureTimeNanoseconds - source.startTimeNanoseconds },
                           reference.frames.map(\.captureTimeNanoseconds))
            XCTAssertEqual(decoded.audio.flatMap(\.samples), reference.audio.flatMap(\.samples))
        }
        // Raw frames in every encoding, against the rgb8 original.
        let original = try decodeAll(try SessionSource(path: rawSource)).frames
        for (encoding, tolerance) in [("rgb8", 0.0), ("bgr8", 0.0), ("mono8", 0.5), ("yuyv", 4.0), ("uyvy", 4.0)] {
            let source = try SessionSource(path: dir.appendingPathComponent("official-raw-\(encoding).mcap").path)
            XCTAssertEqual(source.cameraChannel.topic, "/glasses/eye_cam/raw")
            let frames = try decodeAll(source).frames
            XCTAssertEqual(frames.count, original.count, encoding)
            for (frame, reference) in zip(frames, original) {
                XCTAssertEqual(frame.widthPixels, reference.widthPixels)
                var expected = reference.pixels
                if encoding == "mono8" {
                    for i in stride(from: 0, to: expected.count, by: 3) {
                        let luma = (0.299 * Double(expected[i]) + 0.587 * Double(expected[i + 1]) + 0.114 * Double(expected[i + 2])).rounded()
                        expected[i] = UInt8(luma); expected[i + 1] = UInt8(luma); expected[i + 2] = UInt8(luma)
                    }
                }
                let error = zip(frame.pixels, expected).reduce(0.0) { $0 + abs(Double($1.0) - Double($1.1)) } / Double(frame.pixels.count)
                XCTAssertLessThanOrEqual(error, tolerance, "\(encoding): mean error per channel")
            }
        }
        // The command line takes them too, picking channels by schema or by the topics asked for.
        let transcript = dir.appendingPathComponent("t.jsonl").path
        let replay = try TestSupport.visor("replay", dir.appendingPathComponent("official-jpeg-lz4.mcap").path, "--headless",
                                           "--camera-topic", "/sensors/front_cam/compressed", "--audio-topic", "/headset/mic0",
                                           "--transcript", transcript)
        XCTAssertEqual(replay.status, 0, replay.stderr)
        let frames = try TestSupport.transcriptEvents(transcript).filter { $0["kind"] as? String == "frame" }
        XCTAssertEqual(frames.count, 60)
        XCTAssertEqual(frames.first?["time_ns"] as? Int, 0)
    }

    private func decodeAll(_ source: SessionSource) throws -> (frames: [Frame], audio: [AudioBlock]) {
        var frames: [Frame] = [], audio: [AudioBlock] = []
        var samples = source.samples()
        while let sample = try samples.next() {
            switch sample {
            case .frame(let f): frames.append(f)
            case .audio(let a): audio.append(a)
            }
        }
        return (frames, audio)
    }
}
