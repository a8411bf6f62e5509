/// Little-endian serialisation into a growable byte array, as MCAP records are laid out.
struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        u32(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }
    mutating func raw<C: Collection>(_ data: C) where C.Element == UInt8 { bytes.append(contentsOf: data) }
    /// A `Map<string, string>`: byte length, then key and value pairs, sorted for stable output.
    mutating func stringMap(_ map: [String: String]) {
        var inner = ByteWriter()
        for key in map.keys.sorted() { inner.string(key); inner.string(map[key]!) }
        u32(UInt32(inner.bytes.count))
        raw(inner.bytes)
    }
    /// Patches a u64 already written at `offset`.
    mutating func patchU64(at offset: Int, _ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { src in
            for i in 0..<8 { bytes[offset + i] = src[i] }
        }
    }
}

/// Bounds-checked little-endian reading of a record's content. Every read that would run past
/// the end throws, so a lying length field is an error, never a crash.
struct ByteReader {
    let base: UnsafeRawBufferPointer
    var position: Int
    let end: Int

    init(_ base: UnsafeRawBufferPointer, from start: Int = 0, to end: Int? = nil) {
        self.base = base
        self.position = start
        self.end = end ?? base.count
    }

    var remaining: Int { end - position }

    private mutating func take(_ n: Int) throws -> Int {
        guard n >= 0, n <= end - position else { throw MCAPError.malformed("a field runs past the end of its record") }
        defer { position += n }
        return position
    }

    mutating func u8() throws -> UInt8 { base[try take(1)] }
    mutating func u16() throws -> UInt16 { UInt16(littleEndian: base.loadUnaligned(fromByteOffset: try take(2), as: UInt16.self)) }
    mutating func u32() throws -> UInt32 { UInt32(littleEndian: base.loadUnaligned(fromByteOffset: try take(4), as: UInt32.self)) }
    mutating func u64() throws -> UInt64 { UInt64(littleEndian: base.loadUnaligned(fromByteOffset: try take(8), as: UInt64.self)) }

    mutating func bytes(_ n: Int) throws -> UnsafeRawBufferPointer {
        let start = try take(n)
        return UnsafeRawBufferPointer(rebasing: base[start..<start + n])
    }
    mutating func length32() throws -> Int { Int(try u32()) }
    mutating func length64() throws -> Int {
        let n = try u64()
        guard n <= UInt64(end - position) else { throw MCAPError.malformed("a length of \(n) bytes runs past the end of its record") }
        return Int(n)
    }
    mutating func string() throws -> String {
        let raw = try bytes(try length32())
        return String(decoding: raw, as: UTF8.self)
    }
    mutating func stringMap() throws -> [String: String] {
        let length = try length32()
        var inner = ByteReader(base, from: position, to: try take(length) + length)
        var map: [String: String] = [:]
        while inner.remaining > 0 { let k = try inner.string(); map[k] = try inner.string() }
        return map
    }
}
