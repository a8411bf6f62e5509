import Dispatch
import Foundation
import VisorCore

/// Runs a TFLite model's float graph on the CPU, in Swift. At start-up it checks every operator
/// and shape, turns float16 weights into float32 once, repacks convolution weights for SIMD,
/// fuses RELUs and residual ADDs into the operators before them, and plans every tensor into one
/// arena, each on a cache line (a tensor's space is reused once its last reader has run);
/// `invoke` then allocates nothing.
public final class TFLiteInterpreter {
    public let model: TFLiteModel
    private let arena: UnsafeMutablePointer<Float>
    /// Arena offset of each float tensor (nil: not a float tensor Visor keeps).
    private var offsets: [Int?]
    private var steps: [Step] = []

    enum Activation: Int { case none = 0, relu = 1, reluN1To1 = 2, relu6 = 3 }

    /// One planned operation with everything it needs resolved.
    enum Step {
        /// `residual`: a tensor added to the output before the activation (a fused ADD), whose
        /// `channels` may be fewer than the output's (a fused PAD of the channels with zeros).
        case conv(input: Int, output: Int, weights: Int, bias: Int, inShape: [Int], outShape: [Int], kernel: (Int, Int), stride: (Int, Int),
                  pad: (Int, Int), activation: Activation, residual: (offset: Int, channels: Int)?)
        case depthwise(input: Int, output: Int, weights: Int, bias: Int, inShape: [Int], outShape: [Int], kernel: (Int, Int),
                       stride: (Int, Int), pad: (Int, Int), activation: Activation)
        case maxPool(input: Int, output: Int, inShape: [Int], outShape: [Int], filter: (Int, Int), stride: (Int, Int), pad: (Int, Int), activation: Activation)
        case add(a: Int, b: Int, output: Int, count: Int, activation: Activation)
        case relu(input: Int, output: Int, count: Int)
        case copy(input: Int, output: Int, count: Int)
        case pad(input: Int, output: Int, inShape: [Int], outShape: [Int], before: [Int])
        case concat(inputs: [(offset: Int, inner: Int)], output: Int, outer: Int, outInner: Int, activation: Activation)
        case resize(input: Int, output: Int, inShape: [Int], outShape: [Int], alignCorners: Bool, halfPixel: Bool)
    }

    /// - Throws: `VisorError` naming the operator or tensor Visor cannot run.
    public init(model: TFLiteModel) throws {
        self.model = model
        let tensors = model.tensors
        func shape4(_ s: [Int]) -> [Int] { Array(repeating: 1, count: max(0, 4 - s.count)) + s }

        // Constants Visor computes once: float32 data, float16 dequantized, int32 kept aside.
        var constants: [Int: [Float]] = [:]
        var intConstants: [Int: [Int]] = [:]
        for (i, t) in tensors.enumerated() {
            guard let data = t.data else { continue }
            switch t.type {
            case .float32:
                guard data.count == 4 * t.elementCount else { throw VisorError("tensor \(t.name) has \(data.count) bytes for \(t.elementCount) floats") }
                constants[i] = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            case .float16:
                guard data.count == 2 * t.elementCount else { throw VisorError("tensor \(t.name) has \(data.count) bytes for \(t.elementCount) halves") }
                constants[i] = stride(from: 0, to: data.count, by: 2).map { Self.half(UInt16(data[$0]) | UInt16(data[$0 + 1]) << 8) }
            case .int32:
                guard data.count == 4 * t.elementCount else { throw VisorError("tensor \(t.name) has \(data.count) bytes for \(t.elementCount) ints") }
                intConstants[i] = stride(from: 0, to: data.count, by: 4).map {
                    Int(Int32(bitPattern: UInt32(data[$0]) | UInt32(data[$0 + 1]) << 8 | UInt32(data[$0 + 2]) << 16 | UInt32(data[$0 + 3]) << 24))
                }
            default: break
            }
        }
        // Every operator has the inputs it needs, and names existing tensors (the reader checked the indexes).
        for op in model.operators {
            let needed: Int
            switch op.builtin {
            case .conv2d, .depthwiseConv2d: needed = 3
            case .add, .pad: needed = 2
            default: needed = 1
            }
            guard op.inputs.count >= needed, !op.outputs.isEmpty, op.inputs.prefix(needed).allSatisfy({ $0 >= 0 }), op.outputs.allSatisfy({ $0 >= 0 }) else {
                throw VisorError("\(op.builtin.name) has \(op.inputs.count) inputs and \(op.outputs.count) outputs")
            }
        }
        // DEQUANTIZE of a constant is done now; its output becomes a constant.
        for op in model.operators where op.builtin == .dequantize {
            guard let value = constants[op.inputs[0]] else { throw VisorError("DEQUANTIZE of a computed tensor is not supported") }
            // (Found by tools/fuzz: an output shaped unlike its input made later code index past the values.)
            guard value.count == tensors[op.outputs[0]].elementCount else {
                throw VisorError("DEQUANTIZE of \(value.count) values into a tensor of shape \(tensors[op.outputs[0]].shape)")
            }
            constants[op.outputs[0]] = value
        }
        // Repacked weights: convolution [O, KH, KW, I] becomes [KH, KW, I, O], with O padded
        // with zero weights to at least eight (one SIMD8 vector); except a 1x1 kernel with fewer
        // than eight outputs, which stays [O, I] for the dot-product kernel.
        var repacked: [Int: [Float]] = [:]
        for op in model.operators where op.builtin == .conv2d {
            let w = op.inputs[1]
            guard let values = constants[w], tensors[w].shape.count == 4 else { throw VisorError("CONV_2D needs constant 4-D weights") }
            let s = tensors[w].shape, (o, kh, kw, i) = (s[0], s[1], s[2], s[3])
            if Self.narrow(kernel: (kh, kw), co: o) { continue }
            let op = Self.weightStride(o)
            var out = [Float](repeating: 0, count: kh * kw * i * op)
            for oo in 0..<o { for y in 0..<kh { for x in 0..<kw { for ii in 0..<i {
                out[((y * kw + x) * i + ii) * op + oo] = values[((oo * kh + y) * kw + x) * i + ii]
            } } } }
            repacked[w] = out
        }

        let ops = Self.fuse(model, intConstants: intConstants)

        // Which tensors are computed, and when each is last read.
        let computed = Set(ops.flatMap(\.op.outputs)).union(model.inputs)
        var lastUse: [Int: Int] = [:]
        for (index, planned) in ops.enumerated() { for i in planned.op.inputs { lastUse[i] = index } }
        // Inputs and outputs keep their space: an input stays as it was written between invocations.
        for o in model.outputs + model.inputs { lastUse[o] = Int.max }
        // Plan: constants first, then computed tensors in first-fit free blocks.
        var offsets = [Int?](repeating: nil, count: tensors.count)
        var cursor = 0
        var constantValues: [(Int, [Float])] = []
        for (i, values) in constants.sorted(by: { $0.key < $1.key }) where !computed.contains(i) {
            let values = repacked[i] ?? values
            offsets[i] = cursor
            constantValues.append((cursor, values))
            cursor += Self.aligned(values.count)
        }
        var free: [(start: Int, count: Int)] = []
        func allocate(_ count: Int) -> Int {
            let count = Self.aligned(count)
            if let k = free.firstIndex(where: { $0.count >= count }) {
                let block = free[k]
                free[k] = (block.start + count, block.count - count)
                if free[k].count == 0 { free.remove(at: k) }
                return block.start
            }
            defer { cursor += count }
            return cursor
        }
        for i in model.inputs { offsets[i] = allocate(tensors[i].elementCount) }
        for (index, op) in ops.map(\.op).enumerated() {
            for o in op.outputs where offsets[o] == nil {
                guard tensors[o].type == .float32 else { throw VisorError("\(op.builtin.name) outputs a \(tensors[o].type) tensor; Visor runs float models") }
                offsets[o] = allocate(tensors[o].elementCount)
            }
            for i in Set(op.inputs) where computed.contains(i) && lastUse[i] == index {
                if let start = offsets[i] { free.append((start, Self.aligned(tensors[i].elementCount))) }
            }
        }
        // Slack after the last tensor: a kernel may load a whole vector that starts inside a
        // tensor and drop the lanes past its end.
        cursor += Self.slack
        var plan: [Step] = []

        // Steps, with shapes checked.
        func need(_ i: Int) throws -> Int {
            guard let o = offsets[i] else { throw VisorError("tensor \(tensors[i].name) is not a float tensor Visor computes or holds") }
            return o
        }
        func padding(_ code: Int, input: Int, kernel: Int, stride: Int, output: Int) -> Int {
            code == 0 ? max(0, ((output - 1) * stride + kernel - input) / 2) : 0
        }
        for planned in ops {
            let op = planned.op, activation = planned.activation
            // Shapes are checked before anything is planned from them: a hostile model must not
            // make a kernel read or write outside its tensors.
            for t in op.inputs + op.outputs where t >= 0 && tensors[t].shape.count > 4 {
                throw VisorError("\(op.builtin.name) on a tensor of rank \(tensors[t].shape.count) is not supported")
            }
            guard !op.outputs.isEmpty, !op.inputs.isEmpty, op.inputs.allSatisfy({ $0 >= 0 }) else {
                throw VisorError("\(op.builtin.name) without its inputs or outputs")
            }
            let outShape = shape4(tensors[op.outputs[0]].shape)
            switch op.builtin {
            case .conv2d, .depthwiseConv2d:
                let inShape = shape4(tensors[op.inputs[0]].shape), w = tensors[op.inputs[1]].shape
                guard w.count == 4 else { throw VisorError("\(op.builtin.name) needs 4-D weights, not \(w)") }
                let kernel = (w[1], w[2]), stride = (op.options[1] ?? 1, op.options[2] ?? 1)
                let dilation = op.builtin == .conv2d ? (op.options[4] ?? 1, op.options[5] ?? 1) : (op.options[5] ?? 1, op.options[6] ?? 1)
                guard dilation == (1, 1) else { throw VisorError("\(op.builtin.name) with dilation is not supported") }
                let pad = (padding(op.options[0] ?? 0, input: inShape[1], kernel: kernel.0, stride: stride.1, output: outShape[1]),
                           padding(op.options[0] ?? 0, input: inShape[2], kernel: kernel.1, stride: stride.0, output: outShape[2]))
                guard op.inputs.count >= 3, op.inputs[2] >= 0 else { throw VisorError("\(op.builtin.name) without a bias is not supported") }
                guard w.count == 4, tensors[op.inputs[2]].elementCount == outShape[3], kernel.0 > 0, kernel.1 > 0, stride.0 > 0, stride.1 > 0,
                      inShape[0] == 1, outShape[0] == 1 else {
                    throw VisorError("\(op.builtin.name) has weights \(w) and bias \(tensors[op.inputs[2]].shape) that do not fit \(inShape) -> \(outShape)")
                }
                if op.builtin == .conv2d {
                    guard w[3] == inShape[3], w[0] == outShape[3] else { throw VisorError("CONV_2D weights \(w) do not fit \(inShape) -> \(outShape)") }
                    var residual: (offset: Int, channels: Int)?
                    if let r = planned.residual {
                        let rs = shape4(tensors[r].shape)
                        guard rs[0] == 1, rs[1] == outShape[1], rs[2] == outShape[2], rs[3] <= outShape[3] else {
                            throw VisorError("ADD of \(rs) to a CONV_2D output of \(outShape) is not supported")
                        }
                        residual = (try need(r), rs[3])
                    }
                    plan.append(.conv(input: try need(op.inputs[0]), output: try need(op.outputs[0]), weights: try need(op.inputs[1]),
                                       bias: try need(op.inputs[2]), inShape: inShape, outShape: outShape, kernel: kernel,
                                       stride: (stride.1, stride.0), pad: pad, activation: activation, residual: residual))
                } else {
                    guard w[3] == inShape[3], outShape[3] == inShape[3] else { throw VisorError("DEPTHWISE_CONV_2D with a depth multiplier is not supported") }
                    plan.append(.depthwise(input: try need(op.inputs[0]), output: try need(op.outputs[0]), weights: try need(op.inputs[1]),
                                            bias: try need(op.inputs[2]), inShape: inShape, outShape: outShape, kernel: kernel,
                                            stride: (stride.1, stride.0), pad: pad, activation: activation))
                }
            case .maxPool2d:
                let inShape = shape4(tensors[op.inputs[0]].shape)
                let filter = (op.options[4] ?? 1, op.options[3] ?? 1), stride = (op.options[2] ?? 1, op.options[1] ?? 1)
                guard filter.0 > 0, filter.1 > 0, stride.0 > 0, stride.1 > 0, inShape[3] == outShape[3], inShape[0] == 1, outShape[0] == 1 else {
                    throw VisorError("MAX_POOL_2D of \(inShape) to \(outShape) is not supported")
                }
                let pad = (padding(op.options[0] ?? 0, input: inShape[1], kernel: filter.0, stride: stride.0, output: outShape[1]),
                           padding(op.options[0] ?? 0, input: inShape[2], kernel: filter.1, stride: stride.1, output: outShape[2]))
                plan.append(.maxPool(input: try need(op.inputs[0]), output: try need(op.outputs[0]), inShape: inShape, outShape: outShape,
                                      filter: filter, stride: stride, pad: pad, activation: activation))
            case .add:
                let count = tensors[op.outputs[0]].elementCount
                guard tensors[op.inputs[0]].elementCount == count, tensors[op.inputs[1]].elementCount == count else {
                    throw VisorError("ADD with broadcasting is not supported")
                }
                plan.append(.add(a: try need(op.inputs[0]), b: try need(op.inputs[1]), output: try need(op.outputs[0]), count: count, activation: activation))
            case .relu:
                guard tensors[op.inputs[0]].elementCount == tensors[op.outputs[0]].elementCount else { throw VisorError("RELU changes the element count") }
                plan.append(.relu(input: try need(op.inputs[0]), output: try need(op.outputs[0]), count: tensors[op.outputs[0]].elementCount))
            case .reshape:
                guard tensors[op.inputs[0]].elementCount == tensors[op.outputs[0]].elementCount else { throw VisorError("RESHAPE changes the element count") }
                plan.append(.copy(input: try need(op.inputs[0]), output: try need(op.outputs[0]), count: tensors[op.outputs[0]].elementCount))
            case .pad:
                let inShape = shape4(tensors[op.inputs[0]].shape)
                guard let paddings = intConstants[op.inputs[1]], paddings.count == 2 * tensors[op.inputs[0]].shape.count else {
                    throw VisorError("PAD needs constant paddings")
                }
                let before = Array(repeating: 0, count: 4 - paddings.count / 2) + stride(from: 0, to: paddings.count, by: 2).map { paddings[$0] }
                guard (0..<4).allSatisfy({ before[$0] >= 0 && before[$0] + inShape[$0] <= outShape[$0] }) else {
                    throw VisorError("PAD of \(inShape) by \(before) does not fit \(outShape)")
                }
                plan.append(.pad(input: try need(op.inputs[0]), output: try need(op.outputs[0]), inShape: inShape, outShape: outShape, before: before))
            case .concatenation:
                let rank = tensors[op.outputs[0]].shape.count
                var axis = op.options[0] ?? 0
                if axis < 0 { axis += rank }
                let out = tensors[op.outputs[0]].shape
                // (The axis is checked before it indexes anything: tools/fuzz found one out of range.)
                guard axis >= 0, axis < rank, op.inputs.allSatisfy({ tensors[$0].shape.count == rank && tensors[$0].shape[..<axis].reduce(1, *) == out[..<axis].reduce(1, *) }) else {
                    throw VisorError("CONCATENATION on axis \(axis) of tensors that do not line up")
                }
                let outer = out[..<axis].reduce(1, *)
                let parts = try op.inputs.map { i -> (offset: Int, inner: Int) in
                    (try need(i), tensors[i].shape[axis...].reduce(1, *))
                }
                guard parts.reduce(0, { $0 + $1.inner }) == out[axis...].reduce(1, *) else { throw VisorError("CONCATENATION sizes do not add up") }
                plan.append(.concat(inputs: parts, output: try need(op.outputs[0]), outer: outer, outInner: out[axis...].reduce(1, *), activation: activation))
            case .resizeBilinear:
                let inShape = shape4(tensors[op.inputs[0]].shape)
                guard inShape[3] == outShape[3], inShape[0] == 1, outShape[0] == 1, inShape[1] > 0, inShape[2] > 0 else {
                    throw VisorError("RESIZE_BILINEAR of \(inShape) to \(outShape) is not supported")
                }
                plan.append(.resize(input: try need(op.inputs[0]), output: try need(op.outputs[0]), inShape: shape4(tensors[op.inputs[0]].shape),
                                     outShape: outShape, alignCorners: (op.options[2] ?? 0) != 0, halfPixel: (op.options[3] ?? 0) != 0))
            case .dequantize:
                break
            }
        }
        // `output(_:)` must find every output.
        for o in model.outputs where offsets[o] == nil {
            throw VisorError("the model's output \(tensors[o].name) is not a float tensor Visor computes or holds")
        }
        // The arena is allocated only once nothing can throw: a model refused while it is
        // planned must not leak it (tools/fuzz found that, loading hostile models over and over).
        let base = UnsafeMutableRawPointer.allocate(byteCount: cursor * 4, alignment: 64).bindMemory(to: Float.self, capacity: cursor)
        base.initialize(repeating: 0, count: cursor)
        for (start, values) in constantValues { values.withUnsafeBufferPointer { (base + start).update(from: $0.baseAddress!, count: values.count) } }
        arena = base
        self.offsets = offsets
        steps = plan
    }

    deinit {
        arena.deallocate()
    }

    /// Every tensor starts on a 64-byte cache line (sixteen floats), so that a vector load of
    /// a pixel whose channels are a multiple of sixteen never straddles two lines.
    static func aligned(_ count: Int) -> Int { (count + 15) & ~15 }

    /// Floats of slack after the arena's last tensor.
    static let slack = 16

    /// An operator as Visor runs it: its activation, and the tensor fused in as a residual.
    struct Planned {
        var op: TFLiteModel.Operator
        var activation: Activation
        var residual: Int?
    }

    /// The operators to run, with two fusions that save whole passes over the activations:
    /// a RELU is folded into the convolution or ADD that feeds it, and an ADD of a 1x1
    /// convolution's output and a skip connection (itself perhaps a PAD of the channels with
    /// zeros, as BlazeFace widens its blocks) becomes that convolution's epilogue. A tensor
    /// fused away must have no other reader and must not be a model output. DEQUANTIZE of
    /// constants is done at load and left out.
    static func fuse(_ model: TFLiteModel, intConstants: [Int: [Int]]) -> [Planned] {
        var ops: [Planned?] = model.operators.filter { $0.builtin != .dequantize }.map { op in
            let field: Int
            switch op.builtin {
            case .depthwiseConv2d: field = 4
            case .maxPool2d: field = 5
            case .concatenation: field = 1
            case .add: field = 0
            default: field = 3
            }
            return Planned(op: op, activation: Activation(rawValue: op.options[field] ?? 0) ?? .none, residual: nil)
        }
        var readers: [Int: Int] = [:]
        for case let p? in ops { for i in p.op.inputs { readers[i, default: 0] += 1 } }
        let outputs = Set(model.outputs)
        func producer(_ tensor: Int) -> Int? { ops.firstIndex { $0?.op.outputs.contains(tensor) == true } }
        func private_(_ tensor: Int) -> Bool { readers[tensor] == 1 && !outputs.contains(tensor) }
        func pointwise(_ p: Planned) -> Bool {
            let op = p.op, t = model.tensors
            guard op.builtin == .conv2d, p.activation == .none, p.residual == nil, op.inputs.count == 3, op.outputs.count == 1,
                  t[op.inputs[1]].shape.count == 4, t[op.inputs[1]].shape[1] == 1, t[op.inputs[1]].shape[2] == 1,
                  (op.options[1] ?? 1) == 1, (op.options[2] ?? 1) == 1 else { return false }
            return t[op.inputs[0]].shape.dropLast() == t[op.outputs[0]].shape.dropLast()
        }
        // ADD(1x1 convolution, skip) -> the convolution with a residual, run where the ADD was.
        for n in ops.indices {
            guard let add = ops[n], add.op.builtin == .add, add.op.inputs.count == 2, add.op.outputs.count == 1 else { continue }
            for (a, b) in [(add.op.inputs[0], add.op.inputs[1]), (add.op.inputs[1], add.op.inputs[0])] where a != b {
                guard private_(a), let c = producer(a), let conv = ops[c], pointwise(conv),
                      model.tensors[a].shape == model.tensors[add.op.outputs[0]].shape, model.tensors[b].shape == model.tensors[a].shape else { continue }
                var skip = b, padOp: Int?
                if private_(b), let q = producer(b), let pad = ops[q], pad.op.builtin == .pad, pad.op.inputs.count == 2,
                   let paddings = intConstants[pad.op.inputs[1]], paddings.count == 8,
                   paddings.dropLast().allSatisfy({ $0 == 0 }), paddings[7] >= 0 {
                    skip = pad.op.inputs[0]
                    padOp = q
                }
                var fused = conv
                fused.op.inputs.append(skip)
                fused.op.outputs = add.op.outputs
                fused.activation = add.activation
                fused.residual = skip
                ops[n] = fused
                ops[c] = nil
                if let q = padOp { ops[q] = nil }
                break
            }
        }
        // RELU -> the producer's activation, when the producer has none.
        for n in ops.indices {
            guard let relu = ops[n], relu.op.builtin == .relu, relu.op.inputs.count == 1, relu.op.outputs.count == 1 else { continue }
            let x = relu.op.inputs[0]
            guard private_(x), let q = producer(x), var p = ops[q], p.activation == .none, p.op.outputs.count == 1,
                  [.conv2d, .depthwiseConv2d, .add].contains(p.op.builtin),
                  model.tensors[x].shape == model.tensors[relu.op.outputs[0]].shape else { continue }
            p.op.outputs = relu.op.outputs
            p.activation = .relu
            ops[q] = p
            ops[n] = nil
        }
        return ops.compactMap { $0 }
    }

    /// The model's input tensor, to fill before `invoke`.
    public func input(_ index: Int = 0) -> UnsafeMutableBufferPointer<Float> {
        let t = model.inputs[index]
        return UnsafeMutableBufferPointer(start: arena + offsets[t]!, count: model.tensors[t].elementCount)
    }

    /// An output tensor, valid until the next `invoke`.
    public func output(_ index: Int) -> UnsafeBufferPointer<Float> {
        let t = model.outputs[index]
        return UnsafeBufferPointer(start: arena + offsets[t]!, count: model.tensors[t].elementCount)
    }

    /// Any float tensor Visor keeps, by the model's tensor index (its contents may have been
    /// overwritten by later tensors that share its space).
    public func tensor(_ index: Int) -> UnsafeBufferPointer<Float>? {
        offsets[index].map { UnsafeBufferPointer(start: arena + $0, count: model.tensors[index].elementCount) }
    }

    /// Time spent in each step over `runs` invocations, in milliseconds per invocation, in the
    /// order the steps run (for finding where inference time goes).
    public func profile(runs: Int) -> [(step: String, milliseconds: Double)] {
        var totals = [UInt64](repeating: 0, count: steps.count)
        for _ in 0..<runs {
            for (n, step) in steps.enumerated() {
                let start = DispatchTime.now().uptimeNanoseconds
                run(step)
                totals[n] += DispatchTime.now().uptimeNanoseconds - start
            }
        }
        return zip(steps, totals).map { (Self.describe($0), Double($1) / 1e6 / Double(runs)) }
    }

    /// A step's kind and shapes, for the profile.
    static func describe(_ step: Step) -> String {
        func s(_ shape: [Int]) -> String { shape.dropFirst().map(String.init).joined(separator: "x") }
        switch step {
        case let .conv(_, _, _, _, inShape, outShape, kernel, stride, _, activation, residual):
            let kind = kernel == (1, 1) && stride == (1, 1) && inShape[1] == outShape[1] ? "pointwise" : "conv \(kernel.0)x\(kernel.1)/\(stride.0)"
            return "\(kind) \(s(inShape)) -> \(s(outShape))\(residual.map { " + skip(\($0.channels))" } ?? "")\(activation == .none ? "" : " \(activation)")"
        case let .depthwise(_, _, _, _, inShape, outShape, kernel, stride, _, activation):
            return "depthwise \(kernel.0)x\(kernel.1)/\(stride.0) \(s(inShape)) -> \(s(outShape))\(activation == .none ? "" : " \(activation)")"
        case let .maxPool(_, _, inShape, outShape, _, _, _, _): return "maxpool \(s(inShape)) -> \(s(outShape))"
        case let .add(_, _, _, count, activation): return "add \(count)\(activation == .none ? "" : " \(activation)")"
        case let .relu(_, _, count): return "relu \(count)"
        case let .copy(_, _, count): return "copy \(count)"
        case let .pad(_, _, inShape, outShape, _): return "pad \(s(inShape)) -> \(s(outShape))"
        case let .concat(inputs, _, _, _, _): return "concat \(inputs.count)"
        case let .resize(_, _, inShape, outShape, _, _): return "resize \(s(inShape)) -> \(s(outShape))"
        }
    }

    public func invoke() {
        for step in steps { run(step) }
    }

    @inline(__always)
    private static func activate(_ v: Float, _ a: Activation) -> Float {
        switch a {
        case .none: return v
        case .relu: return max(0, v)
        case .reluN1To1: return min(1, max(-1, v))
        case .relu6: return min(6, max(0, v))
        }
    }

    private func run(_ step: Step) {
        let a = arena
        switch step {
        case let .conv(input, output, weights, bias, inShape, outShape, kernel, stride, pad, activation, residual):
            if Self.narrow(kernel: kernel, co: outShape[3]) {
                narrow(a + input, a + output, a + weights, a + bias, inShape, outShape, stride, pad, activation,
                       residual: residual.map { a + $0.offset }, residualChannels: residual?.channels ?? 0)
            } else if kernel == (1, 1) && stride == (1, 1) && pad == (0, 0) && inShape[1] == outShape[1] && inShape[2] == outShape[2] {
                pointwise(a + input, a + output, a + weights, a + bias, pixels: outShape[1] * outShape[2], ci: inShape[3], co: outShape[3], activation,
                          residual: residual.map { a + $0.offset }, residualChannels: residual?.channels ?? 0)
            } else {
                convolve(a + input, a + output, a + weights, a + bias, inShape, outShape, kernel, stride, pad, activation)
            }
        case let .depthwise(input, output, weights, bias, inShape, outShape, kernel, stride, pad, activation):
            depthwise(a + input, a + output, a + weights, a + bias, inShape, outShape, kernel, stride, pad, activation)
        case let .maxPool(input, output, inShape, outShape, filter, stride, pad, activation):
            maxPool(a + input, a + output, inShape, outShape, filter, stride, pad, activation)
        case let .add(x, y, output, count, activation):
            let p = a + x, q = a + y, o = a + output
            var i = 0
            if activation == .none {
                while i + 8 <= count {
                    UnsafeMutableRawPointer(o + i).storeBytes(of: UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
                        + UnsafeRawPointer(q + i).loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
                    i += 8
                }
            }
            while i < count { o[i] = Self.activate(p[i] + q[i], activation); i += 1 }
        case let .relu(input, output, count):
            let p = a + input, o = a + output
            for i in 0..<count { o[i] = max(0, p[i]) }
        case let .copy(input, output, count):
            if input != output { (a + output).update(from: a + input, count: count) }
        case let .pad(input, output, inShape, outShape, before):
            let o = a + output
            o.update(repeating: 0, count: outShape.reduce(1, *))
            let p = a + input
            for n in 0..<inShape[0] { for y in 0..<inShape[1] { for x in 0..<inShape[2] {
                let src = p + ((n * inShape[1] + y) * inShape[2] + x) * inShape[3]
                let dst = o + (((n + before[0]) * outShape[1] + y + before[1]) * outShape[2] + x + before[2]) * outShape[3] + before[3]
                dst.update(from: src, count: inShape[3])
            } } }
        case let .concat(inputs, output, outer, outInner, activation):
            var column = 0
            for part in inputs {
                for k in 0..<outer {
                    let dst = a + output + k * outInner + column, src = a + part.offset + k * part.inner
                    if activation == .none { dst.update(from: src, count: part.inner) } else {
                        for i in 0..<part.inner { dst[i] = Self.activate(src[i], activation) }
                    }
                }
                column += part.inner
            }
        case let .resize(input, output, inShape, outShape, alignCorners, halfPixel):
            resize(a + input, a + output, inShape, outShape, alignCorners: alignCorners, halfPixel: halfPixel)
        }
    }

    private func maxPool(_ input: UnsafeMutablePointer<Float>, _ output: UnsafeMutablePointer<Float>, _ inShape: [Int], _ outShape: [Int],
                         _ filter: (Int, Int), _ stride: (Int, Int), _ pad: (Int, Int), _ activation: Activation) {
        let (h, w, c) = (inShape[1], inShape[2], inShape[3])
        for oy in 0..<outShape[1] {
            let y0 = oy * stride.0 - pad.0
            let fyStart = max(0, -y0), fyEnd = max(fyStart, min(filter.0, h - y0))
            for ox in 0..<outShape[2] {
                let x0 = ox * stride.1 - pad.1
                let fxStart = max(0, -x0), fxEnd = max(fxStart, min(filter.1, w - x0))
                let o = output + (oy * outShape[2] + ox) * c
                // Blocks of eight channels, the last moved back to end with the channels.
                var k = 0
                while c >= 8 && k < c {
                    let at = min(k, c - 8)
                    var m = SIMD8<Float>(repeating: -.greatestFiniteMagnitude)
                    for fy in fyStart..<fyEnd {
                        for fx in fxStart..<fxEnd {
                            let v = load8(input + ((y0 + fy) * w + x0 + fx) * c + at)
                            // (A comparison with a scalar is one instruction; one of two vectors is a loop.)
                            m = m.replacing(with: v, where: v - m .> 0)
                        }
                    }
                    UnsafeMutableRawPointer(o + at).storeBytes(of: m, as: SIMD8<Float>.self)
                    k = at + 8
                }
                if c < 8 {
                    for k in 0..<c {
                        var m = -Float.greatestFiniteMagnitude
                        for fy in fyStart..<fyEnd { for fx in fxStart..<fxEnd { m = max(m, input[((y0 + fy) * w + x0 + fx) * c + k]) } }
                        o[k] = m
                    }
                }
                if activation != .none { for k in 0..<c { o[k] = Self.activate(o[k], activation) } }
            }
        }
    }

    private func resize(_ input: UnsafeMutablePointer<Float>, _ output: UnsafeMutablePointer<Float>, _ inShape: [Int], _ outShape: [Int],
                        alignCorners: Bool, halfPixel: Bool) {
        let (ih, iw, c) = (inShape[1], inShape[2], inShape[3])
        let (oh, ow) = (outShape[1], outShape[2])
        func scale(_ i: Int, _ o: Int) -> Float { alignCorners && o > 1 ? Float(i - 1) / Float(o - 1) : Float(i) / Float(o) }
        let sy = scale(ih, oh), sx = scale(iw, ow)
        for y in 0..<oh {
            let fy = halfPixel ? max(0, (Float(y) + 0.5) * sy - 0.5) : Float(y) * sy
            let y0 = min(ih - 1, Int(fy)), y1 = min(ih - 1, y0 + 1), dy = fy - Float(y0)
            for x in 0..<ow {
                let fx = halfPixel ? max(0, (Float(x) + 0.5) * sx - 0.5) : Float(x) * sx
                let x0 = min(iw - 1, Int(fx)), x1 = min(iw - 1, x0 + 1), dx = fx - Float(x0)
                let o = output + (y * ow + x) * c
                let p00 = input + (y0 * iw + x0) * c, p01 = input + (y0 * iw + x1) * c
                let p10 = input + (y1 * iw + x0) * c, p11 = input + (y1 * iw + x1) * c
                var k = 0
                while c >= 8 && k < c {
                    let at = min(k, c - 8)
                    let a = load8(p00 + at), b = load8(p01 + at), cc = load8(p10 + at), d = load8(p11 + at)
                    let top = a + (b - a) * dx, bottom = cc + (d - cc) * dx
                    UnsafeMutableRawPointer(o + at).storeBytes(of: top + (bottom - top) * dy, as: SIMD8<Float>.self)
                    k = at + 8
                }
                if c < 8 {
                    for k in 0..<c {
                        let top = p00[k] + (p01[k] - p00[k]) * dx, bottom = p10[k] + (p11[k] - p10[k]) * dx
                        o[k] = top + (bottom - top) * dy
                    }
                }
            }
        }
    }

    /// A 1x1 convolution with fewer than eight outputs (a detector's score head) is a dot
    /// product per output, over the input channels.
    static func narrow(kernel: (Int, Int), co: Int) -> Bool { kernel == (1, 1) && co < 8 }

    /// A 1x1 convolution with fewer than eight outputs, weights [O, I]: each output is a dot
    /// product of the pixel's input channels (sixteen, then eight at a time) with its weights.
    private func narrow(_ input: UnsafeMutablePointer<Float>, _ output: UnsafeMutablePointer<Float>, _ weights: UnsafeMutablePointer<Float>,
                        _ bias: UnsafeMutablePointer<Float>, _ inShape: [Int], _ outShape: [Int], _ stride: (Int, Int), _ pad: (Int, Int),
                        _ activation: Activation, residual: UnsafeMutablePointer<Float>?, residualChannels rc: Int) {
        let (h, w, ci) = (inShape[1], inShape[2], inShape[3])
        let (oh, ow, co) = (outShape[1], outShape[2], outShape[3])
        for oy in 0..<oh {
            for ox in 0..<ow {
                let y = oy * stride.0 - pad.0, x = ox * stride.1 - pad.1
                let pixel = oy * ow + ox, out = output + pixel * co
                guard y >= 0, y < h, x >= 0, x < w else {
                    for o in 0..<co { out[o] = Self.activate(bias[o] + (o < rc ? residual![pixel * rc + o] : 0), activation) }
                    continue
                }
                let src = input + (y * w + x) * ci
                for o in 0..<co {
                    let wo = weights + o * ci
                    var acc16 = SIMD16<Float>(), i = 0
                    while i + 16 <= ci { acc16.addProduct(load16(src + i), load16(wo + i)); i += 16 }
                    var acc8 = acc16.lowHalf + acc16.highHalf
                    while i + 8 <= ci { acc8.addProduct(load8(src + i), load8(wo + i)); i += 8 }
                    let acc4 = acc8.lowHalf + acc8.highHalf, acc2 = acc4.lowHalf + acc4.highHalf
                    var sum = bias[o] + acc2[0] + acc2[1]
                    while i < ci { sum += src[i] * wo[i]; i += 1 }
                    if let r = residual, o < rc { sum += r[pixel * rc + o] }
                    out[o] = Self.activate(sum, activation)
                }
            }
        }
    }

    /// Output channels' stride in repacked convolution weights.
    static func weightStride(_ co: Int) -> Int { max(co, 8) }

    /// A sweep of multiply-adds for one or more output pixels: `rows` runs of `count` inputs
    /// (a kernel row's taps are adjacent in the input and in the repacked weights, so a kernel
    /// row is one run; a 1x1 convolution is one run of all its input channels).
    struct Run {
        var x: UnsafeMutablePointer<Float>
        /// From one output pixel's inputs to the next's.
        var pixelStep: Int
        var rowStep: Int
        var weights: UnsafeMutablePointer<Float>
        var weightRowStep: Int
        var rows: Int
        var count: Int
        /// From one input's weights to the next's.
        var weightStride: Int
    }

    /// NHWC convolution with weights repacked as [KH, KW, I, O]. The output pixels whose
    /// kernel lies inside the input along x go eight at a time through the same tiles as a 1x1
    /// convolution; the border pixels one at a time.
    private func convolve(_ input: UnsafeMutablePointer<Float>, _ output: UnsafeMutablePointer<Float>, _ weights: UnsafeMutablePointer<Float>,
                          _ bias: UnsafeMutablePointer<Float>, _ inShape: [Int], _ outShape: [Int], _ kernel: (Int, Int), _ stride: (Int, Int),
                          _ pad: (Int, Int), _ activation: Activation) {
        let (h, w, ci) = (inShape[1], inShape[2], inShape[3])
        let (oh, ow, co) = (outShape[1], outShape[2], outShape[3])
        let cop = Self.weightStride(co)
        let end = Epilogue(output: output, co: co, activation: activation, residual: nil, rc: 0)
        // Columns [first, last) whose window is inside the input along x.
        let first = min(ow, (pad.1 + stride.1 - 1) / stride.1)
        let last = w - kernel.1 + pad.1 < 0 ? first : max(first, min(ow, (w - kernel.1 + pad.1) / stride.1 + 1))
        for oy in 0..<oh {
            let y0 = oy * stride.0 - pad.0
            let kyStart = max(0, -y0), kyEnd = max(kyStart, min(kernel.0, h - y0))
            func run(_ ox: Int) -> Run {
                let x0 = ox * stride.1 - pad.1
                let kxStart = max(0, -x0), kxEnd = max(kxStart, min(kernel.1, w - x0))
                return Run(x: input + ((y0 + kyStart) * w + x0 + kxStart) * ci, pixelStep: stride.1 * ci, rowStep: w * ci,
                           weights: weights + (kyStart * kernel.1 + kxStart) * ci * cop, weightRowStep: kernel.1 * ci * cop,
                           rows: kyEnd - kyStart, count: (kxEnd - kxStart) * ci, weightStride: cop)
            }
            var tiled = first..<first
            if last - first >= 8 {
                var ox = first
                while ox < last {
                    // The last tile is moved back to end at `last` (it redoes a few pixels).
                    let at = min(ox, last - 8)
                    tiles(run(at), co: co, bias: bias, end, pixel: oy * ow + at)
                    ox = at + 8
                }
                tiled = first..<last
            }
            for ox in 0..<ow where !tiled.contains(ox) { one(run(ox), co: co, bias: bias, end, pixel: oy * ow + ox) }
        }
    }

    /// A 1x1 convolution: the pixels [P, ci] times the weights [ci, co], eight pixels at a time.
    private func pointwise(_ input: UnsafeMutablePointer<Float>, _ output: UnsafeMutablePointer<Float>, _ weights: UnsafeMutablePointer<Float>,
                           _ bias: UnsafeMutablePointer<Float>, pixels: Int, ci: Int, co: Int, _ activation: Activation,
                           residual: UnsafeMutablePointer<Float>?, residualChannels rc: Int) {
        let end = Epilogue(output: output, co: co, activation: activation, residual: residual, rc: rc)
        func run(_ p: Int) -> Run {
            Run(x: input + p * ci, pixelStep: ci, rowStep: 0, weights: weights, weightRowStep: 0, rows: 1, count: ci, weightStride: Self.weightStride(co))
        }
        guard pixels >= 8 else {
            for p in 0..<pixels { one(run(p), co: co, bias: bias, end, pixel: p) }
            return
        }
        var p = 0
        while p < pixels {
            let at = min(p, pixels - 8)
            tiles(run(at), co: co, bias: bias, end, pixel: at)
            p = at + 8
        }
    }

    /// Eight output pixels, every output channel: in blocks of 32, 16 or 8 channels, so that
    /// each weight vector loaded feeds eight fused multiply-adds. A last block that would run
    /// past the channels is moved back to end with them (it redoes a few channels rather than
    /// going one at a time); fewer than eight channels take one SIMD8 block over zero-padded weights.
    @inline(__always) private func tiles(_ run: Run, co: Int, bias: UnsafeMutablePointer<Float>, _ end: Epilogue, pixel p: Int) {
        var o = 0
        while o < co {
            let left = co - o
            if left >= 32 {
                tile8x32(run, bias, end, p, o, 16)
                o += 32
            } else if left > 16 {
                // 17 to 31 channels: two blocks of sixteen that overlap, in one pass.
                tile8x32(run, bias, end, p, o, left - 16)
                o = co
            } else if left == 16 || (left > 8 && co >= 16) {
                let at = left >= 16 ? o : co - 16
                tile8(SIMD16<Float>.self, run, bias, end, p, at)
                o = at + 16
            } else {
                let at = left >= 8 || co < 8 ? o : co - 8
                tile8(SIMD8<Float>.self, run, bias, end, p, at)
                o = at + 8
            }
        }
    }

    /// One output pixel, every output channel, eight at a time.
    private func one(_ run: Run, co: Int, bias: UnsafeMutablePointer<Float>, _ end: Epilogue, pixel: Int) {
        var o = 0
        while o < co {
            let at = co - o >= 8 || co < 8 ? o : co - 8
            var a = load8(bias + at)
            var xr = run.x, wr = run.weights + at
            for _ in 0..<run.rows {
                var wp = wr
                for i in 0..<run.count {
                    a.addProduct(SIMD8(repeating: xr[i]), load8(wp))
                    wp += run.weightStride
                }
                xr += run.rowStep
                wr += run.weightRowStep
            }
            end.finish(a, pixel, at)
            o = at + 8
        }
    }

    /// What a convolution does to an accumulated block before storing it: the residual, if any,
    /// then the activation.
    struct Epilogue {
        let output: UnsafeMutablePointer<Float>, co: Int, activation: Activation
        let residual: UnsafeMutablePointer<Float>?, rc: Int

        // One per width, not one generic over `Lanes`: written generically, the comparisons and
        // the blend compiled to loops over the lanes and inference ran six times slower.
        @inline(__always) func finish(_ v: SIMD16<Float>, _ pixel: Int, _ o: Int) {
            var v = v
            if let r = residual, o < rc {
                if o + 16 <= rc { v += load16(r + pixel * rc + o) } else {
                    // Channels past the skip's are the zeros a PAD would have added: those
                    // lanes (the next pixel's skip, or the arena's slack) are dropped.
                    v += SIMD16<Float>().replacing(with: load16(r + pixel * rc + o), where: lanes16 .< Float(rc - o))
                }
            }
            switch activation {
            case .none: break
            case .relu: v = v.replacing(with: 0, where: v .< 0)
            case .relu6: v = v.replacing(with: 0, where: v .< 0).replacing(with: 6, where: v .> 6)
            case .reluN1To1: v = v.replacing(with: -1, where: v .< -1).replacing(with: 1, where: v .> 1)
            }
            UnsafeMutableRawPointer(output + pixel * co + o).storeBytes(of: v, as: SIMD16<Float>.self)
        }

        @inline(__always) func finish(_ v: SIMD8<Float>, _ pixel: Int, _ o: Int) {
            var v = v
            if let r = residual, o < rc {
                if o + 8 <= rc { v += load8(r + pixel * rc + o) } else {
                    v += SIMD8<Float>().replacing(with: load8(r + pixel * rc + o), where: lanes8 .< Float(rc - o))
                }
            }
            switch activation {
            case .none: break
            case .relu: v = v.replacing(with: 0, where: v .< 0)
            case .relu6: v = v.replacing(with: 0, where: v .< 0).replacing(with: 6, where: v .> 6)
            case .reluN1To1: v = v.replacing(with: -1, where: v .< -1).replacing(with: 1, where: v .> 1)
            }
            if co >= 8 {
                UnsafeMutableRawPointer(output + pixel * co + o).storeBytes(of: v, as: SIMD8<Float>.self)
            } else {
                // Fewer than eight channels: the lanes past them were computed from zero weights.
                for j in 0..<co { output[pixel * co + j] = v[j] }
            }
        }
    }

    /// Eight pixels by two blocks of sixteen channels, at `o` and `o + d` (`d` below sixteen:
    /// they overlap).
    @inline(__always) private func tile8x32(_ run: Run, _ bias: UnsafeMutablePointer<Float>, _ end: Epilogue, _ p: Int, _ o: Int, _ d: Int) {
        let b0 = load16(bias + o), b1 = load16(bias + o + d)
        var a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1, a30 = b0, a31 = b1
        var a40 = b0, a41 = b1, a50 = b0, a51 = b1, a60 = b0, a61 = b1, a70 = b0, a71 = b1
        let ps = run.pixelStep, ws = run.weightStride
        var xr = run.x, wr = run.weights + o
        for _ in 0..<run.rows {
            var wp = wr, xp = xr
            for _ in 0..<run.count {
                let w0 = load16(wp), w1 = load16(wp + d)
                var v = SIMD16<Float>(repeating: xp[0]); a00.addProduct(v, w0); a01.addProduct(v, w1)
                v = SIMD16(repeating: xp[ps]); a10.addProduct(v, w0); a11.addProduct(v, w1)
                v = SIMD16(repeating: xp[2 * ps]); a20.addProduct(v, w0); a21.addProduct(v, w1)
                v = SIMD16(repeating: xp[3 * ps]); a30.addProduct(v, w0); a31.addProduct(v, w1)
                v = SIMD16(repeating: xp[4 * ps]); a40.addProduct(v, w0); a41.addProduct(v, w1)
                v = SIMD16(repeating: xp[5 * ps]); a50.addProduct(v, w0); a51.addProduct(v, w1)
                v = SIMD16(repeating: xp[6 * ps]); a60.addProduct(v, w0); a61.addProduct(v, w1)
                v = SIMD16(repeating: xp[7 * ps]); a70.addProduct(v, w0); a71.addProduct(v, w1)
                wp += ws
                xp += 1
            }
            xr += run.rowStep
            wr += run.weightRowStep
        }
        let o1 = o + d
        end.finish(a00, p, o); end.finish(a01, p, o1); end.finish(a10, p + 1, o); end.finish(a11, p + 1, o1)
        end.finish(a20, p + 2, o); end.finish(a21, p + 2, o1); end.finish(a30, p + 3, o); end.finish(a31, p + 3, o1)
        end.finish(a40, p + 4, o); end.finish(a41, p + 4, o1); end.finish(a50, p + 5, o); end.finish(a51, p + 5, o1)
        end.finish(a60, p + 6, o); end.finish(a61, p + 6, o1); end.finish(a70, p + 7, o); end.finish(a71, p + 7, o1)
    }

    /// Eight pixels by one block of `V.scalarCount` channels at `o`.
    @inline(__always) private func tile8<V: Lanes>(_: V.Type, _ run: Run, _ bias: UnsafeMutablePointer<Float>, _ end: Epilogue, _ p: Int, _ o: Int) {
        let b = V.load(bias + o)
        var a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b, a6 = b, a7 = b
        let ps = run.pixelStep, ws = run.weightStride
        var xr = run.x, wr = run.weights + o
        for _ in 0..<run.rows {
            var wp = wr, xp = xr
            for _ in 0..<run.count {
                let w0 = V.load(wp)
                a0.addProduct(V(repeating: xp[0]), w0); a1.addProduct(V(repeating: xp[ps]), w0)
                a2.addProduct(V(repeating: xp[2 * ps]), w0); a3.addProduct(V(repeating: xp[3 * ps]), w0)
                a4.addProduct(V(repeating: xp[4 * ps]), w0); a5.addProduct(V(repeating: xp[5 * ps]), w0)
                a6.addProduct(V(repeating: xp[6 * ps]), w0); a7.addProduct(V(repeating: xp[7 * ps]), w0)
                wp += ws
                xp += 1
            }
            xr += run.rowStep
            wr += run.weightRowStep
        }
        a0.finish(end, p, o); a1.finish(end, p + 1, o); a2.finish(end, p + 2, o); a3.finish(end, p + 3, o)
        a4.finish(end, p + 4, o); a5.finish(end, p + 5, o); a6.finish(end, p + 6, o); a7.finish(end, p + 7, o)
    }

    /// Depthwise convolution (multiplier 1). For 3x3 kernels, the output row's pixels whose
    /// window is inside the input are swept once per block of 16 or 8 channels, with the block's
    /// nine weights in registers (a last block that would run past the channels is moved back to
    /// end with them); border pixels go through the general path.
    private func depthwise(_ input: UnsafeMutablePointer<Float>, _ output: UnsafeMutablePointer<Float>, _ weights: UnsafeMutablePointer<Float>,
                           _ bias: UnsafeMutablePointer<Float>, _ inShape: [Int], _ outShape: [Int], _ kernel: (Int, Int), _ stride: (Int, Int),
                           _ pad: (Int, Int), _ activation: Activation) {
        let (h, w, c) = (inShape[1], inShape[2], inShape[3])
        let (oh, ow) = (outShape[1], outShape[2])
        let end = Epilogue(output: output, co: c, activation: activation, residual: nil, rc: 0)
        guard kernel == (3, 3), c >= 8 else {
            for oy in 0..<oh { for ox in 0..<ow { depthwisePixel(oy, ox, input, end, weights, bias, inShape, outShape, kernel, stride, pad) } }
            return
        }
        // Columns [first, last) whose 3x3 window is inside the input.
        let first = min(ow, (pad.1 + stride.1 - 1) / stride.1)
        let last = w - 3 + pad.1 < 0 ? first : max(first, min(ow, (w - 3 + pad.1) / stride.1 + 1))
        for oy in 0..<oh {
            let y0 = oy * stride.0 - pad.0
            guard y0 >= 0, y0 + 3 <= h else {
                for ox in 0..<ow { depthwisePixel(oy, ox, input, end, weights, bias, inShape, outShape, kernel, stride, pad) }
                continue
            }
            let row = input + y0 * w * c, step = stride.1 * c, start = (first * stride.1 - pad.1) * c
            var k = 0
            while k + 32 <= c {
                sweep32(row + start + k, w * c, step, c, weights + k, bias + k, end, oy * ow + first, last - first, k)
                k += 32
            }
            while k + 16 <= c {
                sweep(SIMD16<Float>.self, row + start + k, w * c, step, c, weights + k, bias + k, end, oy * ow + first, last - first, k)
                k += 16
            }
            while k < c {
                let at = min(k, c - 8)
                sweep(SIMD8<Float>.self, row + start + at, w * c, step, c, weights + at, bias + at, end, oy * ow + first, last - first, at)
                k = at + 8
            }
            for ox in 0..<first { depthwisePixel(oy, ox, input, end, weights, bias, inShape, outShape, kernel, stride, pad) }
            for ox in last..<ow { depthwisePixel(oy, ox, input, end, weights, bias, inShape, outShape, kernel, stride, pad) }
        }
    }

    /// `count` output pixels of a 3x3 depthwise row, one block of `V.scalarCount` channels: `x`
    /// is the first pixel's window's top-left input, `rowStep` one input row, `step` one output pixel.
    @inline(__always) private func sweep<V: Lanes>(_: V.Type, _ x: UnsafeMutablePointer<Float>, _ rowStep: Int, _ step: Int, _ c: Int,
                                                   _ weights: UnsafeMutablePointer<Float>, _ bias: UnsafeMutablePointer<Float>, _ end: Epilogue,
                                                   _ pixel: Int, _ count: Int, _ k: Int) {
        let b = V.load(bias)
        let w00 = V.load(weights), w01 = V.load(weights + c), w02 = V.load(weights + 2 * c)
        let w10 = V.load(weights + 3 * c), w11 = V.load(weights + 4 * c), w12 = V.load(weights + 5 * c)
        let w20 = V.load(weights + 6 * c), w21 = V.load(weights + 7 * c), w22 = V.load(weights + 8 * c)
        var r0 = x
        for n in 0..<count {
            let r1 = r0 + rowStep, r2 = r1 + rowStep
            var a = b
            a.addProduct(V.load(r0), w00); a.addProduct(V.load(r0 + c), w01); a.addProduct(V.load(r0 + 2 * c), w02)
            a.addProduct(V.load(r1), w10); a.addProduct(V.load(r1 + c), w11); a.addProduct(V.load(r1 + 2 * c), w12)
            a.addProduct(V.load(r2), w20); a.addProduct(V.load(r2 + c), w21); a.addProduct(V.load(r2 + 2 * c), w22)
            a.finish(end, pixel + n, k)
            r0 += step
        }
    }

    /// Thirty-two channels in one sweep: each input pixel's cache lines are read once.
    @inline(__always) private func sweep32(_ x: UnsafeMutablePointer<Float>, _ rowStep: Int, _ step: Int, _ c: Int, _ weights: UnsafeMutablePointer<Float>,
                                           _ bias: UnsafeMutablePointer<Float>, _ end: Epilogue, _ pixel: Int, _ count: Int, _ k: Int) {
        let b = load16(bias), bb = load16(bias + 16)
        let w00 = load16(weights), w01 = load16(weights + c), w02 = load16(weights + 2 * c)
        let w10 = load16(weights + 3 * c), w11 = load16(weights + 4 * c), w12 = load16(weights + 5 * c)
        let w20 = load16(weights + 6 * c), w21 = load16(weights + 7 * c), w22 = load16(weights + 8 * c)
        let v = weights + 16
        let v00 = load16(v), v01 = load16(v + c), v02 = load16(v + 2 * c)
        let v10 = load16(v + 3 * c), v11 = load16(v + 4 * c), v12 = load16(v + 5 * c)
        let v20 = load16(v + 6 * c), v21 = load16(v + 7 * c), v22 = load16(v + 8 * c)
        var r0 = x
        for n in 0..<count {
            let r1 = r0 + rowStep, r2 = r1 + rowStep
            var a = b, e = bb
            a.addProduct(load16(r0), w00); a.addProduct(load16(r0 + c), w01); a.addProduct(load16(r0 + 2 * c), w02)
            e.addProduct(load16(r0 + 16), v00); e.addProduct(load16(r0 + c + 16), v01); e.addProduct(load16(r0 + 2 * c + 16), v02)
            a.addProduct(load16(r1), w10); a.addProduct(load16(r1 + c), w11); a.addProduct(load16(r1 + 2 * c), w12)
            e.addProduct(load16(r1 + 16), v10); e.addProduct(load16(r1 + c + 16), v11); e.addProduct(load16(r1 + 2 * c + 16), v12)
            a.addProduct(load16(r2), w20); a.addProduct(load16(r2 + c), w21); a.addProduct(load16(r2 + 2 * c), w22)
            e.addProduct(load16(r2 + 16), v20); e.addProduct(load16(r2 + c + 16), v21); e.addProduct(load16(r2 + 2 * c + 16), v22)
            end.finish(a, pixel + n, k)
            end.finish(e, pixel + n, k + 16)
            r0 += step
        }
    }

    /// One output pixel of a depthwise convolution, any kernel, borders included.
    private func depthwisePixel(_ oy: Int, _ ox: Int, _ input: UnsafeMutablePointer<Float>, _ end: Epilogue,
                                _ weights: UnsafeMutablePointer<Float>, _ bias: UnsafeMutablePointer<Float>, _ inShape: [Int], _ outShape: [Int],
                                _ kernel: (Int, Int), _ stride: (Int, Int), _ pad: (Int, Int)) {
        let (h, w, c) = (inShape[1], inShape[2], inShape[3])
        let ow = outShape[2]
        let y0 = oy * stride.0 - pad.0
        let kyStart = max(0, -y0), kyEnd = max(kyStart, min(kernel.0, h - y0))
        let x0 = ox * stride.1 - pad.1
        let kxStart = max(0, -x0), kxEnd = max(kxStart, min(kernel.1, w - x0))
        let pixel = oy * ow + ox, out = end.output + pixel * c
        var k = 0
        // Blocks of eight channels, the last moved back to end with the channels.
        while c >= 8 && k < c {
            let at = min(k, c - 8)
            var a = load8(bias + at)
            for ky in kyStart..<kyEnd {
                let row = input + ((y0 + ky) * w + x0) * c + at, wrow = weights + ky * kernel.1 * c + at
                for kx in kxStart..<kxEnd { a.addProduct(load8(row + kx * c), load8(wrow + kx * c)) }
            }
            end.finish(a, pixel, at)
            k = at + 8
        }
        while k < c {
            var a = bias[k]
            for ky in kyStart..<kyEnd { for kx in kxStart..<kxEnd { a += input[((y0 + ky) * w + x0 + kx) * c + k] * weights[(ky * kernel.1 + kx) * c + k] } }
            out[k] = Self.activate(a, end.activation)
            k += 1
        }
    }

    /// IEEE 754 half to float.
    static func half(_ h: UInt16) -> Float {
        let sign = UInt32(h >> 15) << 31, exponent = Int(h >> 10 & 0x1F), mantissa = UInt32(h & 0x3FF)
        if exponent == 0 {
            return (sign != 0 ? -1 : 1) * Float(mantissa) * powf(2, -24)
        }
        if exponent == 31 { return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13) }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | mantissa << 13)
    }
}

@inline(__always) private func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self) }
@inline(__always) private func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }
// Lane numbers, as float literals where they are used: a global constant would be initialised
// lazily, through a call that spills every vector register. (Only `.<` is compiled to one
// comparison here; `.>=` became a loop over the lanes.)
@inline(__always) private var lanes16: SIMD16<Float> { SIMD16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) }
@inline(__always) private var lanes8: SIMD8<Float> { SIMD8(0, 1, 2, 3, 4, 5, 6, 7) }

/// The two vector widths the kernels use, for code written once for both.
protocol Lanes: SIMD where Scalar == Float {
    static func load(_ p: UnsafePointer<Float>) -> Self
    func finish(_ end: TFLiteInterpreter.Epilogue, _ pixel: Int, _ o: Int)
}

extension SIMD16: Lanes where Scalar == Float {
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Self { load16(p) }
    @inline(__always) func finish(_ end: TFLiteInterpreter.Epilogue, _ pixel: Int, _ o: Int) { end.finish(self, pixel, o) }
}

extension SIMD8: Lanes where Scalar == Float {
    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> Self { load8(p) }
    @inline(__always) func finish(_ end: TFLiteInterpreter.Epilogue, _ pixel: Int, _ o: Int) { end.finish(self, pixel, o) }
}
