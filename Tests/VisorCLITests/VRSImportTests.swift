import Foundation
import VisorCore
import VisorSession
import VisorTestSupport
import XCTest

/// `visor import RECORDING.vrs`: real Project Aria recordings (Gen 1 and Gen 2, from
/// `../shared/media/aria` when it is there), checked message by message with the official MCAP
/// reader against what the `vrs` package reports of each stream.
final class VRSImportTests: XCTestCase {
    private var ariaFolder: URL {
        ProcessInfo.processInfo.environment["VISOR_ARIA_DIR"].map { URL(fileURLWithPath: $0) }
            ?? TestSupport.packageRoot.deletingLastPathComponent().appendingPathComponent("shared/media/aria")
    }

    private func recording(_ name: String) throws -> String {
        let path = ariaFolder.appendingPathComponent(name).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("the Aria recordings are not at ../shared/media/aria (set VISOR_ARIA_DIR to their folder)")
        }
        return path
    }

    private func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// Converts, then checks every converted stream's count on its topic, read back by the
    /// official reader (which decodes every message, IMU and gaze included, and checks units).
    private func convertAndCheck(_ name: String, gen2: Bool) throws -> (path: String, channels: [String: [String: Any]], metadata: [String: [String: String]]) {
        let vrs = try recording(name)
        let out = try TestSupport.temporaryDirectory(self).appendingPathComponent("aria.mcap").path
        let run = try TestSupport.visor("import", vrs, "-o", out)
        XCTAssertEqual(run.status, 0, run.stderr)
        let truth = try TestSupport.python("vrs_counts.py", [vrs])
        XCTAssertEqual(truth.status, 0, truth.stderr)
        let streams = try XCTUnwrap(try json(truth.stdout)["streams"] as? [String: [String: Any]])
        let official = try TestSupport.python("read_with_official.py", [out])
        XCTAssertEqual(official.status, 0, official.stderr)
        let read = try json(official.stdout.split(separator: "\n").first.map(String.init) ?? "")
        let channels = try XCTUnwrap(read["channels"] as? [String: [String: Any]])
        let metadata = try XCTUnwrap(read["metadata"] as? [String: [String: String]])
        XCTAssertEqual(read["attachments"] as? [String], ["calibration.json", "vrs-tags.json"])

        // "1202-1: 400 on /aria/imu/1; ..." names each converted stream's topic.
        let mapping = try XCTUnwrap(metadata["visor.import"]?["streams"]).split(separator: ";").map { part -> (String, String) in
            let fields = part.trimmingCharacters(in: .whitespaces).split(separator: " ")
            return (String(fields[0].dropLast()), String(fields.last!))
        }
        XCTAssertGreaterThanOrEqual(mapping.count, gen2 ? 14 : 9)
        for (stream, topic) in mapping {
            let expected = try XCTUnwrap(streams[stream], "stream \(stream) is in the recording")
            let channel = try XCTUnwrap(channels[topic], "\(topic) was written")
            if stream.hasPrefix("231-") {
                // Audio is mixed to mono, made 16 kHz and cut in 20 ms blocks: the same length of sound.
                let samples = try XCTUnwrap(expected["samples"] as? Int), rate = try XCTUnwrap(expected["sample_rate"] as? Int)
                let written = try XCTUnwrap(channel["samples"] as? Int)
                XCTAssertEqual(Double(written), Double(samples) * 16000 / Double(rate), accuracy: 0.01 * Double(samples) * 16000 / Double(rate) + 16,
                               "\(stream): \(samples) samples at \(rate) Hz")
            } else {
                XCTAssertEqual(channel["count"] as? Int, expected["data_records"] as? Int, "\(stream) on \(topic)")
            }
        }
        // Every stream with data is converted or named as left out.
        let skipped = metadata["visor.import"]?["skipped"] ?? ""
        for (stream, entry) in streams where (entry["data_records"] as? Int ?? 0) > 0 && !mapping.contains(where: { $0.0 == stream }) {
            XCTAssertTrue(skipped.contains(stream), "\(stream) is neither converted nor listed as left out")
        }
        return (out, channels, metadata)
    }

    func testConvertsAriaGen1AndTheOfficialReaderDecodesEveryMessageWithTheRecordingsCounts() throws {
        let (out, channels, metadata) = try convertAndCheck("aria-everyday-activities-test.vrs", gen2: false)
        XCTAssertEqual(channels["/aria/imu/1"]?["schema"] as? String, "visor.Imu")
        XCTAssertEqual(channels["/aria/imu/1"]?["count"] as? Int, 400)
        XCTAssertEqual(metadata["visor.device"]?["model"], "Project Aria (Gen 1)")
        XCTAssertEqual(metadata["visor.camera"]?["rotation_clockwise_deg"], "90", "Gen 1's RGB sensor is mounted turned")
        // Visor replays it: the RGB camera, turned upright, and the microphone mix.
        let source = try SessionSource(path: out)
        XCTAssertEqual(source.cameraChannel.topic, "/camera/image")
        XCTAssertNotNil(source.audioChannel)
        var samples = source.samples(), frames = 0
        while let sample = try samples.next() { if case .frame(let frame) = sample { frames += 1; XCTAssertEqual(frame.widthPixels, 1408) } }
        XCTAssertEqual(frames, 8)
    }

    func testConvertsAriaGen2WithGazePoseAndDecodedH265AndOpus() throws {
        let (out, channels, metadata) = try convertAndCheck("aria-gen2-unit-test.vrs", gen2: true)
        XCTAssertEqual(channels["/aria/gaze"]?["schema"] as? String, "visor.Gaze")
        XCTAssertEqual(channels["/aria/gaze"]?["count"] as? Int, 9)
        XCTAssertEqual(channels["/aria/pose"]?["schema"] as? String, "foxglove.PoseInFrame")
        XCTAssertEqual(metadata["visor.device"]?["model"], "Project Aria Gen 2")
        XCTAssertEqual(metadata["visor.camera"]?["rotation_clockwise_deg"], "0")
        let source = try SessionSource(path: out)
        var samples = source.samples(), frames = 0, energy = 0.0, count = 0
        while let sample = try samples.next() {
            switch sample {
            case .frame(let frame):
                frames += 1
                XCTAssertEqual([frame.widthPixels, frame.heightPixels], [2016, 1512], "H.265 decoded at full size")
                // Not a blank decode: the office scene has texture.
                let mean = frame.pixels.reduce(0) { $0 + Int($1) } / frame.pixels.count
                XCTAssertTrue((30...220).contains(mean), "mean level \(mean)")
            case .audio(let block):
                XCTAssertEqual(block.sampleRateHertz, 16000)
                energy += block.samples.reduce(0.0) { $0 + Double($1) * Double($1) }; count += block.samples.count
            }
        }
        XCTAssertEqual(frames, 3)
        // OPUS decoded: a quiet room, not pyvrs's undecoded packet bytes (which sit near full scale).
        let rms = (energy / Double(max(count, 1))).squareRoot()
        XCTAssertGreaterThan(rms, 1)
        XCTAssertLessThan(rms, 3000)
        // The gaze point lies in the RGB image, where the wearer looked: left of centre and low.
        let reader = try MCAPReader(path: out)
        let gazeChannel = try XCTUnwrap(reader.channels.values.first { $0.topic == "/aria/gaze" })
        for message in reader.messages(channelIDs: [gazeChannel.id]) {
            let gaze = try GazeMessage.decode(message.data[...])
            XCTAssertEqual(gaze.imageFrameID, "214-1")
            XCTAssertTrue((0..<2016).contains(gaze.imageX) && (0..<1512).contains(gaze.imageY), "\(gaze.imageX), \(gaze.imageY)")
            XCTAssertEqual(gaze.imageX < 1008, gaze.yaw > 0, "yaw is positive to the left")
        }
    }

    func testABadRecordingIsOneLineAndLeavesTheOutputAsItWas() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let bad = dir.appendingPathComponent("broken.vrs").path
        try Data("this is not a VRS file, whatever its name says".utf8).write(to: URL(fileURLWithPath: bad))
        let out = dir.appendingPathComponent("kept.mcap").path
        try Data("the user's file".utf8).write(to: URL(fileURLWithPath: out))
        let run = try TestSupport.visor("import", bad, "-o", out)
        XCTAssertNotEqual(run.status, 0)
        let lines = run.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, run.stderr)
        XCTAssertTrue(run.stderr.hasPrefix("visor: error: "), run.stderr)
        XCTAssertTrue(run.stderr.contains("broken.vrs"), run.stderr)
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), "the user's file")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["broken.vrs", "kept.mcap"], "no scratch file left")

        let missing = try TestSupport.visor("import", dir.appendingPathComponent("absent.vrs").path, "-o", out)
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("no such file"), missing.stderr)
        let wrongMic = try TestSupport.visor("import", bad, "-o", out, "--microphone", "left")
        XCTAssertNotEqual(wrongMic.status, 0)
        XCTAssertTrue(wrongMic.stderr.contains("--microphone"), wrongMic.stderr)
    }
}
