import CVisorKernels
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
    /// The family of convolution kernels this interpreter runs.
    public let kernels: KernelFamily
    private var family: vk_family { kernels.family }
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

    /// - Parameter kernels: the family of convolution kernels; by default the fastest this CPU
    ///   runs, or the one `VISOR_KERNELS` names.
    /// - Throws: `VisorError` naming the operator or tensor Visor cannot run, or a family of
    ///   kernels this CPU cannot run.
    public init(model: TFLiteModel, kernels: KernelFamily? = nil) throws {
        self.model = model
        let kernels = try kernels ?? KernelFamily.chosen()
        guard kernels.isSupported else { throw VisorError("the \(kernels.rawValue) kernels need a CPU with \(kernels.needs); this one has not") }
        self.kernels = kernels
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
                vk_narrow(family, a + input, a + output, a + weights, a + bias, Int32(inShape[1]), Int32(inShape[2]), Int32(inShape[3]),
                          Int32(outShape[1]), Int32(outShape[2]), Int32(outShape[3]), Int32(stride.0), Int32(stride.1), Int32(pad.0),
                          Int32(pad.1), Int32(activation.rawValue), residual.map { UnsafePointer(a + $0.offset) }, Int32(residual?.channels ?? 0))
            } else {
                vk_conv(family, a + input, a + output, a + weights, a + bias, Int32(inShape[1]), Int32(inShape[2]), Int32(inShape[3]),
                        Int32(outShape[1]), Int32(outShape[2]), Int32(outShape[3]), Int32(Self.weightStride(outShape[3])),
                        Int32(kernel.0), Int32(kernel.1), Int32(stride.0), Int32(stride.1), Int32(pad.0), Int32(pad.1),
                        Int32(activation.rawValue), residual.map { UnsafePointer(a + $0.offset) }, Int32(residual?.channels ?? 0))
            }
        case let .depthwise(input, output, weights, bias, inShape, outShape, kernel, stride, pad, activation):
            vk_depthwise(family, a + input, a + output, a + weights, a + bias, Int32(inShape[1]), Int32(inShape[2]), Int32(inShape[3]),
                         Int32(outShape[1]), Int32(outShape[2]), Int32(kernel.0), Int32(kernel.1), Int32(stride.0), Int32(stride.1),
                         Int32(pad.0), Int32(pad.1), Int32(activation.rawValue))
        case let .maxPool(input, output, inShape, outShape, filter, stride, pad, activation):
            vk_maxpool(family, a + input, a + output, Int32(inShape[1]), Int32(inShape[2]), Int32(inShape[3]), Int32(outShape[1]), Int32(outShape[2]),
                       Int32(filter.0), Int32(filter.1), Int32(stride.0), Int32(stride.1), Int32(pad.0), Int32(pad.1), Int32(activation.rawValue))
        case let .add(x, y, output, count, activation):
            vk_add(family, a + x, a + y, a + output, count, Int32(activation.rawValue))
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
            vk_resize(family, a + input, a + output, Int32(inShape[1]), Int32(inShape[2]), Int32(inShape[3]), Int32(outShape[1]), Int32(outShape[2]),
                      alignCorners ? 1 : 0, halfPixel ? 1 : 0)
        }
    }

    /// A 1x1 convolution with fewer than eight outputs (a detector's score head) is a dot
    /// product per output, over the input channels.
    static func narrow(kernel: (Int, Int), co: Int) -> Bool { kernel == (1, 1) && co < 8 }

    /// Output channels' stride in repacked convolution weights: at least one vector of the
    /// widest family, so that a vector load of a weight row stays inside it.
    static func weightStride(_ co: Int) -> Int { max(co, 16) }


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


/// A family of convolution kernels: the same C, compiled for one set of vector instructions each
/// (`Sources/CVisorKernels`), chosen when a model is loaded.
public enum KernelFamily: String, CaseIterable, Sendable {
    /// Four-lane vectors of the architecture's baseline: SSE2 on x86-64, NEON on arm64.
    case portable
    /// Eight-lane AVX2 with FMA, tiles of 6 pixels by 16 channels.
    case avx2
    /// Sixteen-lane AVX-512, tiles of 8 pixels by 32 channels.
    case avx512

    var family: vk_family {
        switch self {
        case .portable: return VK_PORTABLE
        case .avx2: return VK_AVX2
        case .avx512: return VK_AVX512
        }
    }

    /// What the family needs of the CPU, for messages.
    var needs: String {
        switch self {
        case .portable: return "nothing"
        case .avx2: return "AVX2 and FMA (x86-64)"
        case .avx512: return "AVX-512F (x86-64)"
        }
    }

    /// Whether this CPU and its operating system run the family.
    public var isSupported: Bool { vk_supported(family) != 0 }

    /// The fastest family this CPU runs.
    public static var best: KernelFamily {
        switch vk_best() {
        case VK_AVX512: return .avx512
        case VK_AVX2: return .avx2
        default: return .portable
        }
    }

    /// The families this CPU runs, fastest last.
    public static var supported: [KernelFamily] { allCases.filter(\.isSupported) }

    /// `VISOR_KERNELS` (portable, avx2 or avx512) when it is set, else the best.
    /// - Throws: `VisorError` for a name that is not a family.
    public static func chosen(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> KernelFamily {
        guard let name = environment["VISOR_KERNELS"], !name.isEmpty else { return best }
        guard let family = KernelFamily(rawValue: name.lowercased()) else {
            throw VisorError("VISOR_KERNELS=\(name) is not a family of kernels (portable, avx2, avx512)")
        }
        return family
    }
}
