import VisorCore

/// The protobuf wire format (proto3), enough for Foxglove's schemas and descriptor sets.
/// Visor encodes and decodes its few message types by hand: no code generator, no reflection.
public struct ProtobufWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    enum WireType: UInt8 { case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5 }

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 { bytes.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }
    mutating func tag(_ field: Int, _ type: WireType) { varint(UInt64(field) << 3 | UInt64(type.rawValue)) }

    /// proto3 leaves default values out; so does Visor.
    public mutating func uint64(_ field: Int, _ value: UInt64) {
        guard value != 0 else { return }
        tag(field, .varint); varint(value)
    }
    public mutating func int64(_ field: Int, _ value: Int64) { uint64(field, UInt64(bitPattern: value)) }
    public mutating func int32(_ field: Int, _ value: Int32) { uint64(field, UInt64(bitPattern: Int64(value))) }
    public mutating func fixed32(_ field: Int, _ value: UInt32) {
        guard value != 0 else { return }
        tag(field, .fixed32)
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
    public mutating func double(_ field: Int, _ value: Double) {
        guard value != 0 else { return }
        tag(field, .fixed64)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }
    public mutating func bytes<C: Collection>(_ field: Int, _ value: C) where C.Element == UInt8 {
        guard !value.isEmpty else { return }
        tag(field, .lengthDelimited); varint(UInt64(value.count)); bytes.append(contentsOf: value)
    }
    public mutating func string(_ field: Int, _ value: String) { bytes(field, Array(value.utf8)) }
    /// An embedded message, written even when empty when `always` is set (as a present field).
    public mutating func message(_ field: Int, always: Bool = false, _ body: (inout ProtobufWriter) -> Void) {
        var inner = ProtobufWriter()
        body(&inner)
        guard always || !inner.bytes.isEmpty else { return }
        tag(field, .lengthDelimited); varint(UInt64(inner.bytes.count)); bytes.append(contentsOf: inner.bytes)
    }
}

/// One field as read off the wire.
public enum ProtobufValue {
    case varint(UInt64)
    case fixed64(UInt64)
    case fixed32(UInt32)
    case bytes(ArraySlice<UInt8>)
}

/// Reads the fields of one protobuf message, in wire order; unknown fields are the caller's to skip.
public struct ProtobufReader {
    private let data: ArraySlice<UInt8>
    private var position: Int

    public init(_ data: ArraySlice<UInt8>) {
        self.data = data
        self.position = data.startIndex
    }

    /// The next field, or nil at the end. Throws on a truncated or malformed message.
    public mutating func next() throws -> (field: Int, value: ProtobufValue)? {
        guard position < data.endIndex else { return nil }
        let key = try varint()
        let field = Int(key >> 3)
        guard field > 0 else { throw VisorError("protobuf: field number 0 at byte \(position - data.startIndex)") }
        switch key & 7 {
        case 0: return (field, .varint(try varint()))
        case 1: return (field, .fixed64(UInt64(try fixed(8))))
        case 5: return (field, .fixed32(UInt32(try fixed(4))))
        case 2:
            let length = try varint()
            guard length <= UInt64(data.endIndex - position) else {
                throw VisorError("protobuf: field \(field) claims \(length) bytes, more than the message holds")
            }
            defer { position += Int(length) }
            return (field, .bytes(data[position..<position + Int(length)]))
        default:
            throw VisorError("protobuf: unsupported wire type \(key & 7) for field \(field)")
        }
    }

    private mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while position < data.endIndex {
            let byte = data[position]
            position += 1
            if shift < 64 { result |= UInt64(byte & 0x7F) << shift }
            if byte < 0x80 { return result }
            shift += 7
            guard shift < 70 else { break }
        }
        throw VisorError("protobuf: truncated or overlong varint")
    }

    private mutating func fixed(_ n: Int) throws -> UInt64 {
        guard data.endIndex - position >= n else { throw VisorError("protobuf: truncated fixed-width field") }
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(data[position + i]) << (8 * UInt64(i)) }
        position += n
        return v
    }
}

extension ProtobufValue {
    var uint64Value: UInt64? {
        switch self {
        case .varint(let v), .fixed64(let v): return v
        case .fixed32(let v): return UInt64(v)
        case .bytes: return nil
        }
    }
    var bytesValue: ArraySlice<UInt8>? {
        if case .bytes(let b) = self { return b }
        return nil
    }
    /// A `double` field (wire type fixed64); nil for any other wire type.
    var doubleValue: Double? {
        if case .fixed64(let v) = self { return Double(bitPattern: v) }
        return nil
    }
    var stringValue: String? { bytesValue.map { String(decoding: $0, as: UTF8.self) } }
}
