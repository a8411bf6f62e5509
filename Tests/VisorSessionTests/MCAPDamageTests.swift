import Foundation
import VisorCore
import VisorTestSupport
import XCTest
@testable import VisorSession

final class MCAPDamageTests: XCTestCase {
    private func copy(_ path: String, to name: String, in dir: URL, _ edit: (inout [UInt8]) -> Void) throws -> String {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        edit(&bytes)
        let out = dir.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: out))
        return out
    }

    func testTruncatedFileIsScannedUpToItsLastCompleteChunk() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("full.mcap").path
        let written = try SampleFile.write(to: path, compression: .zstd)
        let full = try MCAPReader(path: path)
        let size = full.fileSizeBytes
        let chunks = full.chunkIndexes
        var cuts = [9, 40, size / 7, size / 3, size / 2, size * 9 / 10, size - 40, size - 8, size - 1]
        // Right after a chunk, and in the middle of the next one.
        cuts.append(Int(chunks[5].chunkStartOffset + chunks[5].chunkLength))
        cuts.append(Int(chunks[6].chunkStartOffset + chunks[6].chunkLength / 2))
        for cut in cuts {
            let truncated = try copy(path, to: "cut-\(cut).mcap", in: dir) { $0.removeSubrange(cut...) }
            let reader = try MCAPReader(path: truncated)
            XCTAssertFalse(reader.usedIndex, "cut at \(cut)")
            let read = readAll(reader)
            // A cut inside the summary loses no message; any other cut must be reported.
            XCTAssertTrue(reader.damage != nil || read.count == written.messages.count, "cut at \(cut) must be reported")
            let complete = chunks.filter { Int($0.chunkStartOffset + $0.chunkLength) <= cut }
            let expectedCount = complete.reduce(0) { sum, chunk in
                sum + written.messages.filter { $0.logTime >= chunk.messageStartTime && $0.logTime <= chunk.messageEndTime }.count
            }
            XCTAssertEqual(read.count, expectedCount, "cut at \(cut): every message of every complete chunk")
            XCTAssertEqual(read, Array(written.inLogTimeOrder.prefix(read.count)), "cut at \(cut): a prefix of the recording")
            XCTAssertEqual(reader.statistics.messageCount, UInt64(expectedCount))
        }
    }

    func testFileWithoutTheMagicIsNotMCAP() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        var rng = SystemRandomNumberGenerator()
        let random = dir.appendingPathComponent("random.mcap").path
        try Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }).write(to: URL(fileURLWithPath: random))
        XCTAssertThrowsError(try MCAPReader(path: random)) { XCTAssertEqual($0 as? MCAPError, .notMCAP) }
        let empty = dir.appendingPathComponent("empty.mcap").path
        XCTAssertTrue(FileManager.default.createFile(atPath: empty, contents: Data()))
        XCTAssertThrowsError(try MCAPReader(path: empty)) { XCTAssertEqual($0 as? MCAPError, .notMCAP) }
        XCTAssertThrowsError(try MCAPReader(path: dir.appendingPathComponent("missing.mcap").path)) {
            XCTAssertTrue(($0 as? VisorError)?.message.hasPrefix("no such file") ?? false)
        }
    }

    func testBitFlipsInsideAChunkSkipOnlyThatChunk() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("full.mcap").path
        let written = try SampleFile.write(to: path, compression: .zstd)
        let chunks = try MCAPReader(path: path).chunkIndexes
        for (n, target) in [chunks[0], chunks[chunks.count / 2], chunks[chunks.count - 1]].enumerated() {
            // Flip bits in the compressed records, past the chunk's header fields.
            let payloadStart = Int(target.chunkStartOffset + target.chunkLength - target.compressedSize)
            for (k, at) in [payloadStart + 2, payloadStart + Int(target.compressedSize) / 2, payloadStart + Int(target.compressedSize) - 3].enumerated() {
                let flipped = try copy(path, to: "flip-\(n)-\(k).mcap", in: dir) { $0[at] ^= 0x10 }
                let reader = try MCAPReader(path: flipped)
                let read = readAll(reader)
                XCTAssertEqual(reader.corruptChunks.map(\.offset), [Int(target.chunkStartOffset)], "flip at \(at)")
                let lost = written.inLogTimeOrder.filter { $0.logTime >= target.messageStartTime && $0.logTime <= target.messageEndTime }
                XCTAssertEqual(read, written.inLogTimeOrder.filter { !lost.contains($0) }, "flip at \(at): every other chunk intact")
            }
        }
    }

    func testDamagedSummaryFallsBackToScanning() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("full.mcap").path
        let written = try SampleFile.write(to: path, compression: .lz4)
        // The last byte before the footer's 29 bytes and the closing magic is inside the summary.
        let damaged = try copy(path, to: "bad-summary.mcap", in: dir) { $0[$0.count - 8 - 29 - 3] ^= 0xFF }
        let reader = try MCAPReader(path: damaged)
        XCTAssertFalse(reader.usedIndex)
        XCTAssertEqual(readAll(reader), written.inLogTimeOrder)
        XCTAssertEqual(try reader.metadata(), written.metadata)
        XCTAssertNil(reader.damage, "nothing was lost")
        XCTAssertTrue(reader.summaryProblem?.contains("CRC") ?? false, "the user is told: \(reader.summaryProblem ?? "nothing")")
    }

    func testDamagedClosingMagicIsReadWholeAndSaid() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("full.mcap").path
        let written = try SampleFile.write(to: path, compression: .zstd)
        XCTAssertNil(try MCAPReader(path: path).summaryProblem, "an intact file has no problem to report")
        for at in [1, 4, 8] {
            let damaged = try copy(path, to: "bad-magic-\(at).mcap", in: dir) { $0[$0.count - at] ^= 0x20 }
            let reader = try MCAPReader(path: damaged)
            XCTAssertFalse(reader.usedIndex)
            XCTAssertEqual(readAll(reader), written.inLogTimeOrder, "every message, byte \(at) from the end")
            XCTAssertEqual(try reader.metadata(), written.metadata)
            XCTAssertNil(reader.damage)
            XCTAssertTrue(reader.summaryProblem?.contains("closing magic") ?? false, reader.summaryProblem ?? "nothing said")
        }
        // The footer's own record damaged (its opcode), the magic intact.
        let footer = try copy(path, to: "bad-footer.mcap", in: dir) { $0[$0.count - 8 - 29] = 0x7F }
        let reader = try MCAPReader(path: footer)
        XCTAssertEqual(readAll(reader), written.inLogTimeOrder)
        XCTAssertTrue(reader.summaryProblem?.contains("footer") ?? false, reader.summaryProblem ?? "nothing said")
    }

    func testChunkClaimingGigabytesIsRefusedWithoutAllocating() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let path = dir.appendingPathComponent("full.mcap").path
        _ = try SampleFile.write(to: path, compression: .zstd)
        let first = try MCAPReader(path: path).chunkIndexes[0]
        // uncompressed_size is the third u64 of the chunk's content, after opcode and length.
        let field = Int(first.chunkStartOffset) + 9 + 16
        let lying = try copy(path, to: "huge.mcap", in: dir) { bytes in
            withUnsafeBytes(of: UInt64(1 << 40).littleEndian) { for i in 0..<8 { bytes[field + i] = $0[i] } }
        }
        let reader = try MCAPReader(path: lying)
        _ = readAll(reader)
        XCTAssertEqual(reader.corruptChunks.first?.offset, Int(first.chunkStartOffset))
        XCTAssertTrue(reader.corruptChunks.first?.reason.contains("limit") ?? false)
    }
}
