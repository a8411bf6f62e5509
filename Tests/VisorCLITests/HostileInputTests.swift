import Foundation
import VisorCore
import VisorSession
import VisorTestSupport
import XCTest

/// Sessions that lie, generated here, replayed and inspected by `visor` in a process of its own:
/// each is refused or read as far as it is true, with a one-line error and no crash, while the
/// process's peak memory stays under 512 MB.
final class HostileInputTests: XCTestCase {
    static let memoryBoundMB = 512.0

    struct Outcome {
        var status: Int
        var peakMB: Double
        var stderr: String
    }

    private func measure(_ arguments: [String]) throws -> Outcome {
        let run = try TestSupport.python("peak_rss.py", [TestSupport.visorPath] + arguments)
        XCTAssertEqual(run.status, 0, run.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        return Outcome(status: json["status"] as? Int ?? -1, peakMB: json["peak_mb"] as? Double ?? .infinity, stderr: json["stderr"] as? String ?? "")
    }

    /// Replays and inspects `path`: never a crash or a signal, at most one error line, memory bounded.
    private func assertBounded(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws -> [Outcome] {
        var outcomes: [Outcome] = []
        for arguments in [["replay", path, "--headless", "--stages", "codes", "--report", path + ".json"], ["inspect", path]] {
            let o = try measure(arguments)
            XCTAssertTrue([0, 1, 2].contains(o.status), "\(arguments[0]) exited \(o.status): \(o.stderr)", file: file, line: line)
            XCTAssertLessThan(o.peakMB, Self.memoryBoundMB, "\(arguments[0]) peaked at \(o.peakMB) MB", file: file, line: line)
            let errors = o.stderr.split(separator: "\n").filter { $0.contains("error") }
            XCTAssertLessThanOrEqual(errors.count, 1, o.stderr, file: file, line: line)
            XCTAssertFalse(o.stderr.contains("Fatal error") || o.stderr.contains("Stack dump"), o.stderr, file: file, line: line)
            outcomes.append(o)
        }
        return outcomes
    }

    private func session(_ name: String, _ body: (MCAPWriter, UInt16) throws -> Void) throws -> String {
        let path = try TestSupport.temporaryDirectory(self).appendingPathComponent(name).path
        let writer = try MCAPWriter(path: path)
        let schema = FoxgloveSchema.rawImage
        let schemaID = try writer.addSchema(name: schema.name, encoding: "protobuf", data: schema.fileDescriptorSet)
        let channel = try writer.addChannel(topic: "/camera/image", messageEncoding: "protobuf", schemaID: schemaID)
        try body(writer, channel)
        try writer.finish()
        return path
    }

    func testRecordLengthsBeyondTheFile() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let original = try Data(contentsOf: URL(fileURLWithPath: TestSupport.fixture("street.mcap")))
        let chunk = Int(try MCAPReader(path: TestSupport.fixture("street.mcap")).chunkIndexes[0].chunkStartOffset)
        // The header record's length (just after the 8-byte magic and its opcode), then the first
        // chunk's, each claiming a petabyte.
        for (name, offset) in [("header", 9), ("chunk", chunk + 1)] {
            var bytes = original
            withUnsafeBytes(of: UInt64(1 << 50).littleEndian) { for i in 0..<8 { bytes[offset + i] = $0[i] } }
            // Without its summary the reader must scan, and meet the lie.
            bytes = bytes.prefix(bytes.count - 200)
            let path = dir.appendingPathComponent("\(name).mcap").path
            try bytes.write(to: URL(fileURLWithPath: path))
            let outcomes = try assertBounded(path)
            XCTAssertNotEqual(outcomes[0].status, 0, "a damaged session is never a clean replay: \(outcomes[0].stderr)")
        }
    }

    func testAnImageOfAHundredThousandPixelsSquare() throws {
        let raw = try session("raw.mcap") { writer, channel in
            for i in 0..<3 {
                let message = RawImageMessage(timestamp: FoxgloveTimestamp(nanoseconds: UInt64(i) * 100_000_000), frameID: "camera",
                                              width: 100_000, height: 100_000, encoding: "rgb8", step: 300_000, data: [1, 2, 3][...])
                try writer.write(channelID: channel, logTime: UInt64(i) * 100_000_000, data: message.encoded())
            }
        }
        var outcomes = try assertBounded(raw)
        XCTAssertTrue(outcomes[0].stderr.contains("100000x100000") || outcomes[0].stderr.contains("pixels"), outcomes[0].stderr)
        // A JPEG whose header claims 65500x65500 (the format's limit is 65535).
        var jpeg = [UInt8](try Data(contentsOf: URL(fileURLWithPath: TestSupport.fixture("scene-320.jpg"))))
        let sof = try XCTUnwrap((0..<(jpeg.count - 9)).first { jpeg[$0] == 0xFF && (jpeg[$0 + 1] == 0xC0 || jpeg[$0 + 1] == 0xC2) })
        jpeg[sof + 5] = 0xFF; jpeg[sof + 6] = 0xDC; jpeg[sof + 7] = 0xFF; jpeg[sof + 8] = 0xDC
        let compressed = try TestSupport.temporaryDirectory(self).appendingPathComponent("jpeg.mcap").path
        let writer = try MCAPWriter(path: compressed)
        let schema = FoxgloveSchema.compressedImage
        let channel = try writer.addChannel(topic: "/camera/image", messageEncoding: "protobuf",
                                            schemaID: try writer.addSchema(name: schema.name, encoding: "protobuf", data: schema.fileDescriptorSet))
        for i in 0..<3 {
            let message = CompressedImageMessage(timestamp: FoxgloveTimestamp(nanoseconds: UInt64(i) * 100_000_000), frameID: "camera", data: jpeg[...], format: "jpeg")
            try writer.write(channelID: channel, logTime: UInt64(i) * 100_000_000, data: message.encoded())
        }
        try writer.finish()
        outcomes = try assertBounded(compressed)
        XCTAssertEqual(outcomes[0].status, 1, outcomes[0].stderr)
    }

    func testTwoMillionTinyMessages() throws {
        let path = try session("tiny.mcap") { writer, _ in
            let schema = FoxgloveSchema.rawAudio
            let audio = try writer.addChannel(topic: "/noise", messageEncoding: "protobuf",
                                              schemaID: try writer.addSchema(name: schema.name, encoding: "protobuf", data: schema.fileDescriptorSet))
            let one: [UInt8] = [0]
            for i in 0..<2_000_000 { try writer.write(channelID: audio, logTime: UInt64(i), data: one) }
        }
        let outcomes = try assertBounded(path)
        XCTAssertEqual(outcomes[1].status, 0, outcomes[1].stderr)
    }

    func testASchemaThatRecursesAndMessagesNestedAMillionDeep() throws {
        // A schema named like Foxglove's whose message contains itself, and a message of a million
        // nested groups and a million nested length-delimited fields.
        // FileDescriptorSet { file { name "r.proto" package "foxglove" message_type { name "RawImage" field { name "child" number 1 label OPTIONAL type MESSAGE type_name ".foxglove.RawImage" } } } }
        let field: [UInt8] = [0x0A, 5] + Array("child".utf8) + [0x18, 1, 0x20, 1, 0x28, 11, 0x32, 18] + Array(".foxglove.RawImage".utf8)
        let message: [UInt8] = [0x0A, 8] + Array("RawImage".utf8) + [0x12, UInt8(field.count)] + field
        let file: [UInt8] = [0x0A, 7] + Array("r.proto".utf8) + [0x12, 8] + Array("foxglove".utf8) + [0x22, UInt8(message.count)] + message
        let set: [UInt8] = [0x0A, UInt8(file.count)] + file
        let groups = [UInt8](repeating: 0x0B, count: 1_000_000) + [UInt8](repeating: 0x0C, count: 1_000_000)  // field 1: start group, end group
        // Each level is field 1, length-delimited, with the levels below inside: built back to front.
        var reversed: [UInt8] = []
        reversed.reserveCapacity(3_000_010)
        while reversed.count < 3_000_000 {
            var length = reversed.count
            var varint: [UInt8] = []
            repeat { varint.append(UInt8(length & 0x7F) | (length >= 0x80 ? 0x80 : 0)); length >>= 7 } while length > 0
            reversed.append(contentsOf: varint.reversed())
            reversed.append(0x0A)
        }
        let nested = Array(reversed.reversed())
        for (name, payload) in [("groups", groups), ("nested", nested)] {
            let path = try TestSupport.temporaryDirectory(self).appendingPathComponent("\(name).mcap").path
            let writer = try MCAPWriter(path: path)
            let schemaID = try writer.addSchema(name: "foxglove.RawImage", encoding: "protobuf", data: set)
            let channel = try writer.addChannel(topic: "/camera/image", messageEncoding: "protobuf", schemaID: schemaID)
            try writer.write(channelID: channel, logTime: 0, data: payload)
            try writer.finish()
            let outcomes = try assertBounded(path)
            XCTAssertEqual(outcomes[0].status, 1, "nothing in it is a frame: \(outcomes[0].stderr)")
        }
    }
}
