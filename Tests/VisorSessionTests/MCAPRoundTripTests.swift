import Foundation
import VisorCore
import VisorTestSupport
import XCTest
@testable import VisorSession

/// A file written by `MCAPWriter` with known content, for the reader to be checked against.
struct SampleFile {
    struct Written: Equatable { var channelID: UInt16; var sequence: UInt32; var logTime: UInt64; var data: [UInt8] }

    var path: String
    var messages: [Written] = []
    var metadata: [MCAPMetadata] = []
    var attachments: [MCAPAttachment] = []

    /// Writes `count` messages over two channels with payloads of varied sizes, in small chunks.
    static func write(to path: String, compression: MCAPCompression, count: Int = 400,
                      chunkSizeBytes: Int = 4096, times: ((Int) -> UInt64)? = nil) throws -> SampleFile {
        var options = MCAPWriter.Options()
        options.compression = compression
        options.chunkSizeBytes = chunkSizeBytes
        options.profile = "visor-test"
        let writer = try MCAPWriter(path: path, options: options)
        let image = try writer.addSchema(name: FoxgloveSchema.compressedImage.name, encoding: "protobuf",
                                         data: FoxgloveSchema.compressedImage.fileDescriptorSet)
        let audio = try writer.addSchema(name: FoxgloveSchema.rawAudio.name, encoding: "protobuf",
                                         data: FoxgloveSchema.rawAudio.fileDescriptorSet)
        let camera = try writer.addChannel(topic: "/camera/image", messageEncoding: "protobuf", schemaID: image,
                                           metadata: ["device": "test camera"])
        let mic = try writer.addChannel(topic: "/microphone/audio", messageEncoding: "protobuf", schemaID: audio)
        var file = SampleFile(path: path)
        var rng = SystemRandomNumberGenerator()
        for i in 0..<count {
            let channel = i % 3 == 0 ? camera : mic
            let size = channel == camera ? Int.random(in: 200...3000, using: &rng) : 640
            let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) }
            let time = times?(i) ?? UInt64(i) * 10_000_000
            try writer.write(channelID: channel, logTime: time, sequence: UInt32(i), data: data)
            file.messages.append(Written(channelID: channel, sequence: UInt32(i), logTime: time, data: data))
            if i == count / 2 {
                let m = MCAPMetadata(name: "camera", metadata: ["format": "YUYV", "size": "640x480"])
                try writer.addMetadata(name: m.name, metadata: m.metadata)
                file.metadata.append(m)
                let a = MCAPAttachment(logTime: time, createTime: time, name: "profile.yaml", mediaType: "application/yaml",
                                       data: Array("name: test\n".utf8))
                try writer.addAttachment(a)
                file.attachments.append(a)
            }
        }
        let m = MCAPMetadata(name: "device", metadata: ["profile": "laptop"])
        try writer.addMetadata(name: m.name, metadata: m.metadata)
        file.metadata.append(m)
        try writer.finish()
        return file
    }

    /// The messages in the order a reader must give them: by log time, file order among equals.
    var inLogTimeOrder: [Written] {
        messages.enumerated().sorted { ($0.element.logTime, $0.offset) < ($1.element.logTime, $1.offset) }.map(\.element)
    }
}

func readAll(_ reader: MCAPReader, channels: Set<UInt16>? = nil) -> [SampleFile.Written] {
    reader.messages(channelIDs: channels).map {
        SampleFile.Written(channelID: $0.channelID, sequence: $0.sequence, logTime: $0.logTime, data: Array($0.data))
    }
}

final class MCAPRoundTripTests: XCTestCase {
    func testEveryCompressionRoundTripsMessagesMetadataAndAttachments() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        for compression in MCAPCompression.allCases {
            let path = dir.appendingPathComponent("round-\(compression).mcap").path
            let written = try SampleFile.write(to: path, compression: compression)
            let reader = try MCAPReader(path: path)
            XCTAssertTrue(reader.usedIndex, "\(compression): the summary should be used")
            XCTAssertNil(reader.damage)
            XCTAssertEqual(reader.header, MCAPHeader(profile: "visor-test", library: "visor"))
            XCTAssertEqual(reader.schemas.values.map(\.name).sorted(), ["foxglove.CompressedImage", "foxglove.RawAudio"])
            XCTAssertEqual(reader.channels[1]?.metadata, ["device": "test camera"])
            XCTAssertEqual(reader.statistics.messageCount, 400)
            XCTAssertEqual(reader.statistics.channelMessageCounts, [1: 134, 2: 266])
            XCTAssertEqual(reader.statistics.messageStartTime, 0)
            XCTAssertEqual(reader.statistics.messageEndTime, 399 * 10_000_000)
            XCTAssertGreaterThan(reader.chunkIndexes.count, 20, "small chunks make many")
            XCTAssertTrue(reader.chunkIndexes.allSatisfy { $0.compression == compression.rawValue })
            XCTAssertEqual(readAll(reader), written.inLogTimeOrder, "\(compression)")
            XCTAssertEqual(try reader.metadata(), written.metadata)
            XCTAssertEqual(try reader.attachments(), written.attachments)
            XCTAssertEqual(readAll(reader, channels: [1]), written.inLogTimeOrder.filter { $0.channelID == 1 })
        }
    }

    func testMessagesComeInLogTimeOrderWhenChunksOverlap() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("overlap.mcap").path
        // Times run backwards within blocks of 37, so consecutive chunks overlap in time.
        let written = try SampleFile.write(to: path, compression: .zstd, count: 300, chunkSizeBytes: 2048) { i in
            UInt64((i / 37) * 37 + (36 - i % 37)) * 1_000_000 / 2
        }
        let reader = try MCAPReader(path: path)
        let read = readAll(reader)
        XCTAssertEqual(read, written.inLogTimeOrder)
        XCTAssertEqual(read.map(\.logTime), read.map(\.logTime).sorted())
    }

    func testFileIsPrivateToItsOwner() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("private.mcap").path
        _ = try SampleFile.write(to: path, compression: .zstd, count: 3)
        let permissions = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        XCTAssertEqual(permissions, 0o600)
    }

    func testFoxgloveMessagesRoundTripThroughProtobuf() throws {
        let stamp = FoxgloveTimestamp(nanoseconds: 1_700_000_000_123_456_789)
        let image = CompressedImageMessage(timestamp: stamp, frameID: "cam", data: [0xFF, 0xD8, 1, 2, 3], format: "jpeg")
        let decodedImage = try CompressedImageMessage.decode(image.encoded()[...])
        XCTAssertEqual(decodedImage.timestamp, stamp)
        XCTAssertEqual(decodedImage.frameID, "cam")
        XCTAssertEqual(Array(decodedImage.data), [0xFF, 0xD8, 1, 2, 3])
        XCTAssertEqual(decodedImage.format, "jpeg")

        let raw = RawImageMessage(timestamp: stamp, frameID: "eye", width: 4, height: 2, encoding: "yuyv", step: 8, data: ArraySlice(0..<16))
        let decodedRaw = try RawImageMessage.decode(raw.encoded()[...])
        XCTAssertEqual([decodedRaw.width, decodedRaw.height, decodedRaw.step], [4, 2, 8])
        XCTAssertEqual(decodedRaw.encoding, "yuyv")
        XCTAssertEqual(Array(decodedRaw.data), Array(0..<16))

        let audio = RawAudioMessage(timestamp: stamp, data: [1, 0, 255, 127], format: "pcm-s16", sampleRate: 16000, numberOfChannels: 1)
        let decodedAudio = try RawAudioMessage.decode(audio.encoded()[...])
        XCTAssertEqual(decodedAudio.sampleRate, 16000)
        XCTAssertEqual(decodedAudio.numberOfChannels, 1)
        XCTAssertEqual(Array(decodedAudio.data), [1, 0, 255, 127])
    }

    func testTruncatedProtobufIsAnErrorNotACrash() {
        let image = CompressedImageMessage(timestamp: FoxgloveTimestamp(nanoseconds: 5), frameID: "cam",
                                           data: ArraySlice(repeating: 7, count: 100), format: "jpeg").encoded()
        for cut in [1, 3, 10, 50, image.count - 1] {
            XCTAssertThrowsError(try CompressedImageMessage.decode(image[0..<cut]), "cut at \(cut)")
        }
        XCTAssertThrowsError(try RawImageMessage.decode([0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]))
    }
}
