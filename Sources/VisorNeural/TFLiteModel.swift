import Foundation
import VisorCore

/// A TensorFlow Lite model read from its flatbuffer: tensors (shape, type, constant data),
/// operators (builtin code, inputs, outputs, options) of the first subgraph, and its inputs and
/// outputs. Every offset is checked against the file: a damaged or hostile model is an error.
public struct TFLiteModel: Sendable {
    public enum TensorType: Int, Sendable {
        case float32 = 0, float16 = 1, int32 = 2, uint8 = 3, int64 = 4, int8 = 9
    }

    public struct Tensor: Sendable {
        public var name: String
        public var shape: [Int]
        public var type: TensorType
        /// Constant contents, when the tensor has a non-empty buffer.
        public var data: [UInt8]?
        public var elementCount: Int { shape.reduce(1, *) }
    }

    /// The builtin operators Visor runs (TFLite's numbering).
    public enum Builtin: Int, Sendable {
        case add = 0, concatenation = 2, conv2d = 3, depthwiseConv2d = 4, dequantize = 6, maxPool2d = 17, relu = 19, reshape = 22
        case resizeBilinear = 23, pad = 34

        public var name: String {
            switch self {
            case .add: return "ADD"
            case .concatenation: return "CONCATENATION"
            case .conv2d: return "CONV_2D"
            case .depthwiseConv2d: return "DEPTHWISE_CONV_2D"
            case .dequantize: return "DEQUANTIZE"
            case .maxPool2d: return "MAX_POOL_2D"
            case .relu: return "RELU"
            case .reshape: return "RESHAPE"
            case .resizeBilinear: return "RESIZE_BILINEAR"
            case .pad: return "PAD"
            }
        }
    }

    public struct Operator: Sendable {
        public var builtin: Builtin
        public var inputs: [Int]
        public var outputs: [Int]
        /// Option fields by index (ints), as the operator's options table has them; missing
        /// fields take the schema's defaults where they are read.
        public var options: [Int: Int]
        public var optionVector: [Int]
    }

    public var tensors: [Tensor]
    public var operators: [Operator]
    public var inputs: [Int]
    public var outputs: [Int]

    /// A model from its parts (for tests that build small graphs).
    init(tensors: [Tensor], operators: [Operator], inputs: [Int], outputs: [Int]) {
        self.tensors = tensors
        self.operators = operators
        self.inputs = inputs
        self.outputs = outputs
    }

    /// Reads a `.tflite` file.
    /// - Throws: `VisorError` naming the file and what is wrong, or the operator it cannot run.
    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw VisorError("cannot read the model \(path)") }
        try self.init(bytes: [UInt8](data), name: (path as NSString).lastPathComponent)
    }

    public init(bytes: [UInt8], name: String) throws {
        let fb = FlatBuffer(bytes: bytes, name: name)
        guard bytes.count >= 8, bytes[4] == 0x54, bytes[5] == 0x46, bytes[6] == 0x4C, bytes[7] == 0x33 else {
            throw VisorError("\(name) is not a TensorFlow Lite model (no TFL3 identifier)")
        }
        let model = try fb.root()
        // Operator codes: the builtin code is field 3 (int32) in newer files, else field 0 (int8).
        var codes: [Int] = []
        for code in try fb.tables(model, field: 1) {
            let deprecated = try fb.int(code, field: 0, size: 1, default: 0)
            let builtin = try fb.int(code, field: 3, size: 4, default: 0)
            codes.append(max(deprecated, builtin))
        }
        let buffers = try fb.tables(model, field: 4)
        let subgraphs = try fb.tables(model, field: 2)
        guard let graph = subgraphs.first else { throw VisorError("\(name) has no subgraph") }
        var tensors: [Tensor] = []
        for t in try fb.tables(graph, field: 0) {
            let shape = try fb.ints(t, field: 0, size: 4)
            guard shape.allSatisfy({ $0 >= 0 && $0 < 1 << 20 }), shape.reduce(1, { $0.multipliedReportingOverflow(by: max($1, 1)).partialValue }) < 1 << 28 else {
                throw VisorError("\(name): a tensor of shape \(shape) is larger than Visor accepts")
            }
            let typeCode = try fb.int(t, field: 1, size: 1, default: 0)
            guard let type = TensorType(rawValue: typeCode) else { throw VisorError("\(name): tensor type \(typeCode) is not supported") }
            let bufferIndex = try fb.int(t, field: 2, size: 4, default: 0)
            var data: [UInt8]?
            if bufferIndex > 0 {
                guard bufferIndex < buffers.count else { throw VisorError("\(name): a tensor names buffer \(bufferIndex) of \(buffers.count)") }
                let bytes = try fb.bytes(buffers[bufferIndex], field: 0)
                if !bytes.isEmpty { data = bytes }
            }
            tensors.append(Tensor(name: try fb.string(t, field: 3) ?? "", shape: shape, type: type, data: data))
        }
        var operators: [Operator] = []
        for op in try fb.tables(graph, field: 3) {
            let codeIndex = try fb.int(op, field: 0, size: 4, default: 0)
            guard codeIndex >= 0, codeIndex < codes.count else { throw VisorError("\(name): an operator names code \(codeIndex) of \(codes.count)") }
            guard let builtin = Builtin(rawValue: codes[codeIndex]) else {
                throw VisorError("\(name) uses the operator \(Self.builtinName(codes[codeIndex])), which Visor cannot run")
            }
            let inputs = try fb.ints(op, field: 1, size: 4), outputs = try fb.ints(op, field: 2, size: 4)
            for i in inputs + outputs where i >= tensors.count || i < -1 {
                throw VisorError("\(name): an operator names tensor \(i) of \(tensors.count)")
            }
            var options: [Int: Int] = [:], vector: [Int] = []
            if let table = try fb.table(op, field: 4) {
                // Scalar option fields are ints of at most 4 bytes; read each present one by its size.
                for field in 0..<8 {
                    let size = Self.optionFieldSize(builtin, field)
                    if size > 0, let v = try fb.optionalInt(table, field: field, size: size) { options[field] = v }
                }
                if builtin == .reshape { vector = try fb.ints(table, field: 0, size: 4) }
            }
            operators.append(Operator(builtin: builtin, inputs: inputs, outputs: outputs, options: options, optionVector: vector))
        }
        self.tensors = tensors
        self.operators = operators
        inputs = try fb.ints(graph, field: 1, size: 4)
        outputs = try fb.ints(graph, field: 2, size: 4)
        for i in inputs + outputs where i < 0 || i >= tensors.count { throw VisorError("\(name): the graph names tensor \(i) of \(tensors.count)") }
    }

    /// Byte size of an option field (0: not a scalar Visor reads).
    static func optionFieldSize(_ op: Builtin, _ field: Int) -> Int {
        switch op {
        case .conv2d: return [1, 4, 4, 1, 4, 4][safe: field] ?? 0           // padding, stride_w, stride_h, activation, dilation_w, dilation_h
        case .depthwiseConv2d: return [1, 4, 4, 4, 1, 4, 4][safe: field] ?? 0 // padding, stride_w, stride_h, depth_multiplier, activation, dilation_w, dilation_h
        case .maxPool2d: return [1, 4, 4, 4, 4, 1][safe: field] ?? 0         // padding, stride_w, stride_h, filter_w, filter_h, activation
        case .add: return [1][safe: field] ?? 0                             // activation
        case .concatenation: return [4, 1][safe: field] ?? 0                 // axis, activation
        case .resizeBilinear: return [4, 4, 1, 1][safe: field] ?? 0          // new_height, new_width, align_corners, half_pixel_centers
        default: return 0
        }
    }

    static func builtinName(_ code: Int) -> String {
        let names: [Int: String] = [1: "AVERAGE_POOL_2D", 5: "DEPTH_TO_SPACE", 9: "FULLY_CONNECTED", 14: "LOGISTIC", 18: "MUL",
                                    21: "RELU6", 25: "SOFTMAX", 28: "TANH", 39: "TRANSPOSE", 40: "MEAN", 41: "SUB", 49: "SPLIT",
                                    53: "CAST", 54: "PRELU", 83: "PACK", 97: "HARD_SWISH", 117: "HARD_SWISH"]
        return names[code].map { "\($0) (\(code))" } ?? "with builtin code \(code)"
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}

/// Reads a flatbuffer without trusting it: every position is checked before it is read.
struct FlatBuffer {
    let bytes: [UInt8]
    let name: String

    private func fail(_ why: String) -> VisorError { VisorError("\(name) is damaged: \(why)") }

    func u32(_ at: Int) throws -> Int {
        guard at >= 0, at + 4 <= bytes.count else { throw fail("an offset points past the end") }
        return Int(UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24)
    }

    func u16(_ at: Int) throws -> Int {
        guard at >= 0, at + 2 <= bytes.count else { throw fail("an offset points past the end") }
        return Int(UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8)
    }

    func root() throws -> Int { try u32(0) }

    /// Where a field's value is, or nil when the field is absent.
    func field(_ table: Int, _ index: Int) throws -> Int? {
        let soffset = Int(Int32(truncatingIfNeeded: UInt32(try u32(table))))
        let vtable = table - soffset
        let vtableSize = try u16(vtable)
        let slot = 4 + 2 * index
        guard slot + 2 <= vtableSize else { return nil }
        let offset = try u16(vtable + slot)
        return offset == 0 ? nil : table + offset
    }

    func optionalInt(_ table: Int, field index: Int, size: Int) throws -> Int? {
        guard let at = try field(table, index) else { return nil }
        guard at + size <= bytes.count else { throw fail("a field runs past the end") }
        var v = 0
        for k in 0..<size { v |= Int(bytes[at + k]) << (8 * k) }
        // Sign-extend: options and codes are signed.
        let bits = size * 8
        if bits < 64, v & (1 << (bits - 1)) != 0 { v -= 1 << bits }
        return v
    }

    func int(_ table: Int, field index: Int, size: Int, default value: Int) throws -> Int {
        try optionalInt(table, field: index, size: size) ?? value
    }

    /// The position of a referenced object (table, vector or string).
    func reference(_ table: Int, _ index: Int) throws -> Int? {
        guard let at = try field(table, index) else { return nil }
        return at + (try u32(at))
    }

    func table(_ table: Int, field index: Int) throws -> Int? { try reference(table, index) }

    func vector(_ table: Int, field index: Int) throws -> (start: Int, count: Int)? {
        guard let at = try reference(table, index) else { return nil }
        let count = try u32(at)
        guard count < 1 << 28, at + 4 + count <= bytes.count else { throw fail("a vector of \(count) runs past the end") }
        return (at + 4, count)
    }

    func tables(_ table: Int, field index: Int) throws -> [Int] {
        guard let v = try vector(table, field: index) else { return [] }
        guard v.start + 4 * v.count <= bytes.count else { throw fail("a vector runs past the end") }
        return try (0..<v.count).map { i in
            let at = v.start + 4 * i
            return at + (try u32(at))
        }
    }

    func ints(_ table: Int, field index: Int, size: Int) throws -> [Int] {
        guard let v = try vector(table, field: index) else { return [] }
        guard v.start + size * v.count <= bytes.count else { throw fail("a vector runs past the end") }
        return (0..<v.count).map { i in
            var x = 0
            for k in 0..<size { x |= Int(bytes[v.start + size * i + k]) << (8 * k) }
            if size < 8, x & (1 << (size * 8 - 1)) != 0 { x -= 1 << (size * 8) }
            return x
        }
    }

    func bytes(_ table: Int, field index: Int) throws -> [UInt8] {
        guard let v = try vector(table, field: index) else { return [] }
        return Array(bytes[v.start..<(v.start + v.count)])
    }

    func string(_ table: Int, field index: Int) throws -> String? {
        guard let v = try vector(table, field: index) else { return nil }
        return String(decoding: bytes[v.start..<(v.start + v.count)], as: UTF8.self)
    }
}
