import CLZ4
import CZstd

/// Chunk compression codecs that MCAP names: "zstd", "lz4" (LZ4 frame format) and "" (none).
public enum MCAPCompression: String, CaseIterable, Sendable {
    case none = ""
    case zstd
    case lz4

    func compress(_ input: [UInt8], level: Int32 = 3) throws -> [UInt8] {
        switch self {
        case .none:
            return input
        case .zstd:
            var out = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
            let n = input.withUnsafeBytes { src in
                out.withUnsafeMutableBytes { dst in
                    ZSTD_compress(dst.baseAddress, dst.count, src.baseAddress, src.count, level)
                }
            }
            guard ZSTD_isError(n) == 0 else { throw MCAPError.malformed("zstd compression failed") }
            out.removeSubrange(n...)
            return out
        case .lz4:
            var prefs = LZ4F_preferences_t()
            prefs.frameInfo.contentSize = UInt64(input.count)
            var out = [UInt8](repeating: 0, count: LZ4F_compressFrameBound(input.count, &prefs))
            let n = input.withUnsafeBytes { src in
                out.withUnsafeMutableBytes { dst in
                    LZ4F_compressFrame(dst.baseAddress, dst.count, src.baseAddress, src.count, &prefs)
                }
            }
            guard LZ4F_isError(n) == 0 else { throw MCAPError.malformed("lz4 compression failed") }
            out.removeSubrange(n...)
            return out
        }
    }

    /// Decompresses exactly `uncompressedSize` bytes; anything else is a corrupt chunk.
    func decompress(_ input: UnsafeRawBufferPointer, uncompressedSize: Int, chunkOffset: Int) throws -> [UInt8] {
        switch self {
        case .none:
            guard input.count == uncompressedSize else {
                throw MCAPError.corruptChunk(offset: chunkOffset, reason: "uncompressed chunk of \(input.count) bytes claims \(uncompressedSize)")
            }
            return Array(input)
        case .zstd:
            // Uninitialised: zstd writes every byte it reports, and a short result is an error.
            var n = 0
            let out = [UInt8](unsafeUninitializedCapacity: uncompressedSize) { buffer, count in
                n = ZSTD_decompress(buffer.baseAddress, buffer.count, input.baseAddress, input.count)
                count = ZSTD_isError(n) == 0 && n == uncompressedSize ? n : 0
            }
            if ZSTD_isError(n) != 0 {
                throw MCAPError.corruptChunk(offset: chunkOffset, reason: "zstd: \(String(cString: ZSTD_getErrorName(n)))")
            }
            guard n == uncompressedSize else {
                throw MCAPError.corruptChunk(offset: chunkOffset, reason: "decompressed to \(n) bytes, expected \(uncompressedSize)")
            }
            return out
        case .lz4:
            var context: OpaquePointer? = nil
            guard LZ4F_isError(LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))) == 0, let context else {
                throw MCAPError.malformed("lz4 could not start a decompressor")
            }
            defer { LZ4F_freeDecompressionContext(context) }
            var out = [UInt8](repeating: 0, count: uncompressedSize)
            var written = 0
            var consumed = 0
            try out.withUnsafeMutableBytes { dst in
                while consumed < input.count {
                    var dstSize = dst.count - written
                    var srcSize = input.count - consumed
                    let hint = LZ4F_decompress(context, dst.baseAddress! + written, &dstSize,
                                               input.baseAddress! + consumed, &srcSize, nil)
                    if LZ4F_isError(hint) != 0 {
                        throw MCAPError.corruptChunk(offset: chunkOffset, reason: "lz4: \(String(cString: LZ4F_getErrorName(hint)))")
                    }
                    written += dstSize
                    consumed += srcSize
                    if hint == 0 { break }
                    if srcSize == 0 && dstSize == 0 {
                        throw MCAPError.corruptChunk(offset: chunkOffset, reason: "lz4 frame is longer than its declared size")
                    }
                }
            }
            guard written == uncompressedSize else {
                throw MCAPError.corruptChunk(offset: chunkOffset, reason: "decompressed to \(written) bytes, expected \(uncompressedSize)")
            }
            return out
        }
    }
}
