import CZlib
import Foundation
import VisorCore

/// A bitmap font read from an X11 PCF file (optionally gzip-compressed, as Debian ships them):
/// per-glyph metrics, bitmaps and the encoding table, enough to lay out and draw text.
public final class BitmapFont {
    public struct Glyph: Sendable {
        /// Horizontal advance in pixels.
        public var advance: Int
        public var leftBearing: Int
        public var ascent: Int
        public var width: Int
        public var height: Int
        /// Row-major coverage, one byte a pixel (0 or 1), `width * height`.
        public var bits: [UInt8]
    }

    public let name: String
    /// Pixels above and below the baseline.
    public let ascent: Int
    public let descent: Int
    public var lineHeight: Int { ascent + descent }
    private var glyphs: [Int: Glyph] = [:]
    private let fallback: Glyph?

    /// The glyph for a code point, or the font's default glyph (or nil).
    public func glyph(_ scalar: Unicode.Scalar) -> Glyph? { glyphs[Int(scalar.value)] ?? fallback }

    /// Width in pixels of `text` set on one line.
    public func width(of text: Substring) -> Int { text.unicodeScalars.reduce(0) { $0 + (glyph($1)?.advance ?? 0) } }
    public func width(of text: String) -> Int { width(of: text[...]) }

    /// Loads a `.pcf` or `.pcf.gz` file.
    /// - Throws: `VisorError` naming the file when it is missing or is not a PCF font.
    public convenience init(path: String) throws {
        guard var data = FileManager.default.contents(atPath: path) else { throw VisorError("cannot read the font \(path)") }
        if data.starts(with: [0x1F, 0x8B]) { data = try Self.gunzip(data, name: path) }
        try self.init(pcf: [UInt8](data), name: (path as NSString).lastPathComponent)
    }

    public init(pcf bytes: [UInt8], name: String) throws {
        self.name = name
        func fail(_ why: String) -> VisorError { VisorError("\(name) is not a PCF font we can read: \(why)") }
        guard bytes.count >= 8, bytes[0] == 1, bytes[1] == 0x66, bytes[2] == 0x63, bytes[3] == 0x70 else { throw fail("no PCF header") }
        func le32(_ at: Int) throws -> Int {
            guard at >= 0, at + 4 <= bytes.count else { throw fail("a table runs past the end") }
            return Int(UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24)
        }
        let tableCount = try le32(4)
        guard tableCount > 0, tableCount < 64 else { throw fail("\(tableCount) tables") }
        var tables: [Int: Int] = [:]  // type -> offset
        for i in 0..<tableCount {
            let entry = 8 + i * 16
            tables[try le32(entry)] = try le32(entry + 12)
        }
        /// A reader of one table in its own byte order.
        struct Table {
            let bytes: [UInt8]
            let format: Int
            var position: Int
            let fail: (String) -> VisorError
            var bigEndian: Bool { format & 4 != 0 }
            mutating func int(_ size: Int) throws -> Int {
                guard position >= 0, position + size <= bytes.count else { throw fail("a table runs past the end") }
                var v = 0
                for k in 0..<size { v |= Int(bytes[position + (bigEndian ? size - 1 - k : k)]) << (8 * k) }
                position += size
                return v
            }
            mutating func signed16() throws -> Int { let v = try int(2); return v >= 0x8000 ? v - 0x10000 : v }
            mutating func signed32() throws -> Int { let v = try int(4); return v >= 0x8000_0000 ? v - 0x1_0000_0000 : v }
        }
        func table(_ type: Int) throws -> Table? {
            guard let offset = tables[type] else { return nil }
            return Table(bytes: bytes, format: try le32(offset), position: offset + 4, fail: fail)
        }
        // Metrics.
        guard var metrics = try table(1 << 2) else { throw fail("no metrics table") }
        var glyphMetrics: [(lsb: Int, rsb: Int, width: Int, ascent: Int, descent: Int)] = []
        if metrics.format & 0xFFFF_FF00 == 0x100 {
            let count = try metrics.int(2)
            for _ in 0..<count {
                var m: [Int] = []
                for _ in 0..<5 { m.append(try metrics.int(1) - 0x80) }
                glyphMetrics.append((m[0], m[1], m[2], m[3], m[4]))
            }
        } else {
            let count = try metrics.int(4)
            guard count < 1 << 20 else { throw fail("\(count) glyphs") }
            for _ in 0..<count {
                let m = [try metrics.signed16(), try metrics.signed16(), try metrics.signed16(), try metrics.signed16(), try metrics.signed16()]
                _ = try metrics.int(2)
                glyphMetrics.append((m[0], m[1], m[2], m[3], m[4]))
            }
        }
        // Bitmaps.
        guard var bitmaps = try table(1 << 3) else { throw fail("no bitmaps table") }
        let glyphCount = try bitmaps.int(4)
        guard glyphCount == glyphMetrics.count else { throw fail("\(glyphCount) bitmaps for \(glyphMetrics.count) metrics") }
        var offsets: [Int] = []
        for _ in 0..<glyphCount { offsets.append(try bitmaps.int(4)) }
        var sizes: [Int] = []
        for _ in 0..<4 { sizes.append(try bitmaps.int(4)) }
        let dataStart = bitmaps.position
        let padding = 1 << (bitmaps.format & 3)
        let msbFirst = bitmaps.format & 8 != 0
        guard dataStart + sizes[bitmaps.format & 3] <= bytes.count else { throw fail("bitmaps run past the end") }
        // Encodings.
        guard var encodings = try table(1 << 5) else { throw fail("no encodings table") }
        let minByte2 = try encodings.int(2), maxByte2 = try encodings.int(2)
        let minByte1 = try encodings.int(2), maxByte1 = try encodings.int(2)
        let defaultChar = try encodings.int(2)
        guard maxByte2 >= minByte2, maxByte1 >= minByte1 else { throw fail("an empty encoding range") }
        // Font ascent and descent, from the accelerators.
        var ascent = glyphMetrics.map(\.ascent).max() ?? 0, descent = glyphMetrics.map(\.descent).max() ?? 0
        if var accelerators = try table(1 << 8) ?? table(1 << 1) {
            accelerators.position += 8
            ascent = try accelerators.signed32()
            descent = try accelerators.signed32()
        }
        self.ascent = ascent
        self.descent = descent

        func decode(_ index: Int) -> Glyph? {
            guard index >= 0, index < glyphCount else { return nil }
            let m = glyphMetrics[index]
            let width = max(0, m.rsb - m.lsb), height = max(0, m.ascent + m.descent)
            let rowBytes = ((width + 7) / 8 + padding - 1) / padding * padding
            var bits = [UInt8](repeating: 0, count: width * height)
            let base = dataStart + offsets[index]
            for y in 0..<height {
                for x in 0..<width {
                    let at = base + y * rowBytes + x / 8
                    guard at < bytes.count else { continue }
                    let bit = msbFirst ? 7 - x % 8 : x % 8
                    bits[y * width + x] = (bytes[at] >> UInt8(bit)) & 1
                }
            }
            return Glyph(advance: m.width, leftBearing: m.lsb, ascent: m.ascent, width: width, height: height, bits: bits)
        }
        var defaultIndex: Int?
        for byte1 in minByte1...maxByte1 {
            for byte2 in minByte2...maxByte2 {
                let index = try encodings.int(2)
                guard index != 0xFFFF else { continue }
                let code = byte1 << 8 | byte2
                if code == defaultChar { defaultIndex = index }
                // Only the characters a HUD shows: Latin, punctuation and symbols up to U+2FFF.
                if code < 0x3000, let glyph = decode(index) { glyphs[code] = glyph }
            }
        }
        fallback = defaultIndex.flatMap(decode) ?? glyphs[0x3F]
        guard !glyphs.isEmpty else { throw fail("no glyphs") }
    }

    static func gunzip(_ data: Data, name: String) throws -> Data {
        var stream = z_stream()
        guard inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw VisorError("cannot decompress \(name)")
        }
        defer { inflateEnd(&stream) }
        var output = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var status: Int32 = Z_OK
        try data.withUnsafeBytes { input in
            stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: UInt8.self).baseAddress)
            stream.avail_in = uInt(input.count)
            repeat {
                try chunk.withUnsafeMutableBufferPointer { buffer in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = uInt(buffer.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    guard status == Z_OK || status == Z_STREAM_END else { throw VisorError("\(name) is not a valid gzip file") }
                    output.append(buffer.baseAddress!, count: buffer.count - Int(stream.avail_out))
                }
                // A font is small: refuse anything that inflates past 64 MB.
                if output.count > 64 << 20 { throw VisorError("\(name) inflates past 64 MB") }
            } while status != Z_STREAM_END && (stream.avail_in > 0 || stream.avail_out == 0)
        }
        guard status == Z_STREAM_END else { throw VisorError("\(name) is truncated") }
        return output
    }
}
