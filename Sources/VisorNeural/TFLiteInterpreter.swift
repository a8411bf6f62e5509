import Dispatch
import Foundation
import VisorCore

/// Runs a TFLite model's float graph on the CPU, in Swift. At start-up it checks every operator
/// and shape, turns float16 weights into float32 once, repacks convolution weights for SIMD, and
/// plans every tensor into one arena (a tensor's space is reused once its last reader has run);
/// `invoke` then allocates nothing.
public final class TFLiteInterpreter {
    public let model: TFLiteModel
    private let arena: UnsafeMutablePointer<Float>
    private let arenaCount: Int
    /// Arena offset of each float tensor (nil: not a float tensor Visor keeps).
    private var offsets: [Int?]
    private var steps: [Step] = []

    enum Activation: Int { case none = 0, relu = 1, reluN1To1 = 2, relu6 = 3 }

    /// One planned operation with everything it needs resolved.
    enum Step {
        case conv(input: Int, output: Int, weights: Int, bias: Int, inShape: [Int], outShape: [Int], kernel: (Int, Int), stride: (Int, Int),
                  pad: (Int, Int), activation: Activation)
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
            constants[op.outputs[0]] = value
        }
        // Repacked weights: convolution [O, KH, KW, I] becomes [KH, KW, I, O].
        var repacked: [Int: [Float]] = [:]
        for op in model.operators where op.builtin == .conv2d {
            let w = op.inputs[1]
            guard let values = constants[w], tensors[w].shape.count == 4 else { throw VisorError("CONV_2D needs constant 4-D weights") }
            let s = tensors[w].shape, (o, kh, kw, i) = (s[0], s[1], s[2], s[3])
            var out = [Float](repeating: 0, count: values.count)
            for oo in 0..<o { for y in 0..<kh { for x in 0..<kw { for ii in 0..<i {
                out[((y * kw + x) * i + ii) * o + oo] = values[((oo * kh + y) * kw + x) * i + ii]
            } } } }
            repacked[w] = out
        }

        // Which tensors are computed, and when each is last read.
        let computed = Set(model.operators.filter { $0.builtin != .dequantize }.flatMap(\.outputs)).union(model.inputs)
        var lastUse: [Int: Int] = [:]
        for (index, op) in model.operators.enumerated() where op.builtin != .dequantize { for i in op.inputs { lastUse[i] = index } }
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
            cursor += values.count
        }
        var free: [(start: Int, count: Int)] = []
        func allocate(_ count: Int) -> Int {
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
        for (index, op) in model.operators.enumerated() where op.builtin != .dequantize {
            for o in op.outputs where offsets[o] == nil {
                guard tensors[o].type == .float32 else { throw VisorError("\(op.builtin.name) outputs a \(tensors[o].type) tensor; Visor runs float models") }
                offsets[o] = allocate(tensors[o].elementCount)
            }
            for i in Set(op.inputs) where computed.contains(i) && lastUse[i] == index {
                if let start = offsets[i] { free.append((start, tensors[i].elementCount)) }
            }
        }
        let base = UnsafeMutablePointer<Float>.allocate(capacity: max(1, cursor))
        base.initialize(repeating: 0, count: max(1, cursor))
        for (start, values) in constantValues { values.withUnsafeBufferPointer { (base + start).update(from: $0.baseAddress!, count: values.count) } }
        var plan: [Step] = []

        // Steps, with shapes checked.
        func need(_ i: Int) throws -> Int {
            guard let o = offsets[i] else { throw VisorError("tensor \(tensors[i].name) is not a float tensor Visor computes or holds") }
            return o
        }
        func padding(_ code: Int, input: Int, kernel: Int, stride: Int, output: Int) -> Int {
            code == 0 ? max(0, ((output - 1) * stride + kernel - input) / 2) : 0
        }
        for op in model.operators where op.builtin != .dequantize {
            // Shapes are checked before anything is planned from them: a hostile model must not
            // make a kernel read or write outside its tensors.
            for t in op.inputs + op.outputs where t >= 0 && tensors[t].shape.count > 4 {
                throw VisorError("\(op.builtin.name) on a tensor of rank \(tensors[t].shape.count) is not supported")
            }
            guard !op.outputs.isEmpty, !op.inputs.isEmpty, op.inputs.allSatisfy({ $0 >= 0 }) else {
                throw VisorError("\(op.builtin.name) without its inputs or outputs")
            }
            let activation = Activation(rawValue: op.options[op.builtin == .depthwiseConv2d ? 4 : op.builtin == .maxPool2d ? 5 : op.builtin == .concatenation ? 1 : op.builtin == .add ? 0 : 3] ?? 0) ?? .none
            let outShape = shape4(tensors[op.outputs[0]].shape)
            switch op.builtin {
            case .conv2d, .depthwiseConv2d:
                let inShape = shape4(tensors[op.inputs[0]].shape), w = tensors[op.inputs[1]].shape
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
                    plan.append(.conv(input: try need(op.inputs[0]), output: try need(op.outputs[0]), weights: try need(op.inputs[1]),
                                       bias: try need(op.inputs[2]), inShape: inShape, outShape: outShape, kernel: kernel,
                                       stride: (stride.1, stride.0), pad: pad, activation: activation))
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
                let outer = out[..<axis].reduce(1, *)
                guard axis >= 0, axis < rank, op.inputs.allSatisfy({ tensors[$0].shape.count == rank && tensors[$0].shape[..<axis].reduce(1, *) == out[..<axis].reduce(1, *) }) else {
                    throw VisorError("CONCATENATION on axis \(axis) of tensors that do not line up")
                }
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
        arenaCount = max(1, cursor)
        arena = base
        self.offsets = offsets
        steps = plan
    }

    deinit {
        arena.deallocate()
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

    /// Runs the steps up to (not including) `count`, for checking intermediate tensors.
    public func invoke(steps count: Int) {
        for step in steps.prefix(count) { run(step) }
    }

    /// Time spent in each kind of step over `runs` invocations, in milliseconds per invocation
    /// (for finding where inference time goes).
    public func profile(runs: Int) -> [String: Double] {
        var totals: [String: UInt64] = [:]
        for _ in 0..<runs {
            for step in steps {
                let start = DispatchTime.now().uptimeNanoseconds
                run(step)
                let name: String
                switch step {
                case let .conv(_, _, _, _, inShape, outShape, kernel, stride, pad, _):
                    name = kernel == (1, 1) && stride == (1, 1) && pad == (0, 0) && inShape[1] == outShape[1] ? "pointwise" : "conv"
                case .depthwise: name = "depthwise"
                case .maxPool: name = "maxpool"
                case .add: name = "add"
                case .relu: name = "relu"
                case .copy: name = "copy"
                case .pad: name = "pad"
                case .concat: name = "concat"
                case .resize: name = "resize"
                }
                totals[name, default: 0] += DispatchTime.now().uptimeNanoseconds - start
            }
        }
        return totals.mapValues { Double($0) / 1e6 / Double(runs) }
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
        case let .conv(input, output, weights, bias, inShape, outShape, kernel, stride, pad, activation):
            if kernel == (1, 1) && stride == (1, 1) && pad == (0, 0) && inShape[1] == outShape[1] && inShape[2] == outShape[2] {
                pointwise(a + input, a + output, a + weights, a + bias, pixels: outShape[1] * outShape[2], ci: inShape[3], co: outShape[3], activation)
            } else {
                convolve(a + input, a + output, a + weights, a + bias, inShape, outShape, kernel, stride, pad, activation)
            }
        case let .depthwise(input, output, weights, bias, inShape, outShape, kernel, stride, pad, activation):
            depthwise(a + input, a + output, a + weights, a + bias, inShape, outShape, kernel, stride, pad, activation)
        case let .maxPool(input, output, inShape, outShape, filter, stride, pad, activation):
            let (h, w, c) = (inShape[1], inShape[2], inShape[3])
            for oy in 0..<outShape[1] {
                for ox in 0..<outShape[2] {
                    let o = a + output + (oy * outShape[2] + ox) * c
                    for k in 0..<c { o[k] = -.greatestFiniteMagnitude }
                    for fy in 0..<filter.0 {
                        let iy = oy * stride.0 - pad.0 + fy
                        guard iy >= 0, iy < h else { continue }
                        for fx in 0..<filter.1 {
                            let ix = ox * stride.1 - pad.1 + fx
                            guard ix >= 0, ix < w else { continue }
                            let p = a + input + (iy * w + ix) * c
                            for k in 0..<c { o[k] = max(o[k], p[k]) }
                        }
                    }
                    if activation != .none { for k in 0..<c { o[k] = Self.activate(o[k], activation) } }
                }
            }
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
                    let o = a + output + (y * ow + x) * c
                    let p00 = a + input + (y0 * iw + x0) * c, p01 = a + input + (y0 * iw + x1) * c
                    let p10 = a + input + (y1 * iw + x0) * c, p11 = a + input + (y1 * iw + x1) * c
                    for k in 0..<c {
                        let top = p00[k] + (p01[k] - p00[k]) * dx, bottom = p10[k] + (p11[k] - p10[k]) * dx
                        o[k] = top + (bottom - top) * dy
                    }
                }
            }
        }
    }

    /// NHWC convolution with weights repacked as [KH, KW, I, O]. For each output pixel the output
    /// channels are taken 32 at a time (four SIMD8 accumulators kept in registers across every
    /// kernel tap and input channel), then 24, then 8, then one by one.
    private func convolve(_ input: UnsafeMutablePointer<Float>, _ output: UnsafeMutablePointer<Float>, _ weights: UnsafeMutablePointer<Float>,
                          _ bias: UnsafeMutablePointer<Float>, _ inShape: [Int], _ outShape: [Int], _ kernel: (Int, Int), _ stride: (Int, Int),
                          _ pad: (Int, Int), _ activation: Activation) {
        let (h, w, ci) = (inShape[1], inShape[2], inShape[3])
        let (oh, ow, co) = (outShape[1], outShape[2], outShape[3])
        @inline(__always) func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }
        @inline(__always) func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self) }
        let zero = SIMD8<Float>(repeating: 0), six = SIMD8<Float>(repeating: 6)
        @inline(__always) func act(_ v: SIMD8<Float>) -> SIMD8<Float> {
            switch activation {
            case .none: return v
            case .relu: return v.replacing(with: zero, where: v .< zero)
            case .relu6: return v.replacing(with: zero, where: v .< zero).replacing(with: six, where: v .> six)
            case .reluN1To1: return v.clamped(lowerBound: SIMD8(repeating: -1), upperBound: SIMD8(repeating: 1))
            }
        }
        for oy in 0..<oh {
            let y0 = oy * stride.0 - pad.0
            let kyStart = max(0, -y0), kyEnd = min(kernel.0, h - y0)
            for ox in 0..<ow {
                let x0 = ox * stride.1 - pad.1
                let kxStart = max(0, -x0), kxEnd = min(kernel.1, w - x0)
                let out = output + (oy * ow + ox) * co
                var o = 0
                while o + 32 <= co {
                    var a0 = load(bias + o), a1 = load(bias + o + 8), a2 = load(bias + o + 16), a3 = load(bias + o + 24)
                    // A kernel row's taps are adjacent in the input and in the weights: one loop.
                    for ky in kyStart..<max(kyStart, kyEnd) {
                        let p = input + ((y0 + ky) * w + x0 + kxStart) * ci
                        var wp = weights + (ky * kernel.1 + kxStart) * ci * co + o
                        for i in 0..<(max(kxStart, kxEnd) - kxStart) * ci {
                            let v = SIMD8<Float>(repeating: p[i])
                            a0 += v * load(wp); a1 += v * load(wp + 8); a2 += v * load(wp + 16); a3 += v * load(wp + 24)
                            wp += co
                        }
                    }
                    store(act(a0), out + o); store(act(a1), out + o + 8); store(act(a2), out + o + 16); store(act(a3), out + o + 24)
                    o += 32
                }
                while o + 24 <= co {
                    var a0 = load(bias + o), a1 = load(bias + o + 8), a2 = load(bias + o + 16)
                    for ky in kyStart..<max(kyStart, kyEnd) {
                        let p = input + ((y0 + ky) * w + x0 + kxStart) * ci
                        var wp = weights + (ky * kernel.1 + kxStart) * ci * co + o
                        for i in 0..<(max(kxStart, kxEnd) - kxStart) * ci {
                            let v = SIMD8<Float>(repeating: p[i])
                            a0 += v * load(wp); a1 += v * load(wp + 8); a2 += v * load(wp + 16)
                            wp += co
                        }
                    }
                    store(act(a0), out + o); store(act(a1), out + o + 8); store(act(a2), out + o + 16)
                    o += 24
                }
                while o + 8 <= co {
                    var a0 = load(bias + o)
                    for ky in kyStart..<max(kyStart, kyEnd) {
                        let p = input + ((y0 + ky) * w + x0 + kxStart) * ci
                        var wp = weights + (ky * kernel.1 + kxStart) * ci * co + o
                        for i in 0..<(max(kxStart, kxEnd) - kxStart) * ci { a0 += SIMD8<Float>(repeating: p[i]) * load(wp); wp += co }
                    }
                    store(act(a0), out + o)
                    o += 8
                }
                while o < co {
                    var a = bias[o]
                    for ky in kyStart..<max(kyStart, kyEnd) {
                        for kx in kxStart..<max(kxStart, kxEnd) {
                            let p = input + ((y0 + ky) * w + x0 + kx) * ci
                            let wp = weights + (ky * kernel.1 + kx) * ci * co + o
                            for i in 0..<ci { a += p[i] * wp[i * co] }
                        }
                    }
                    out[o] = Self.activate(a, activation)
                    o += 1
                }
            }
        }
    }

    /// A 1x1 convolution: a matrix product of the pixels by the weights, four pixels at a time
    /// so that each weight load feeds four multiply-adds: sixteen output channels at a time,
    /// then eight, then the rest one by one.
    private func pointwise(_ input: UnsafeMutablePointer<Float>, _ output: UnsafeMutablePointer<Float>, _ weights: UnsafeMutablePointer<Float>,
                           _ bias: UnsafeMutablePointer<Float>, pixels: Int, ci: Int, co: Int, _ activation: Activation) {
        @inline(__always) func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }
        @inline(__always) func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
            var v = v
            switch activation {
            case .none: break
            case .relu: v = v.replacing(with: 0, where: v .< 0)
            case .relu6: v = v.clamped(lowerBound: SIMD8(repeating: 0), upperBound: SIMD8(repeating: 6))
            case .reluN1To1: v = v.clamped(lowerBound: SIMD8(repeating: -1), upperBound: SIMD8(repeating: 1))
            }
            UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
        }
        var p = 0
        while p + 4 <= pixels {
            let i0 = input + p * ci, i1 = i0 + ci, i2 = i1 + ci, i3 = i2 + ci
            let out = output + p * co
            var o = 0
            while o + 16 <= co {
                let b0 = load(bias + o), b1 = load(bias + o + 8)
                var a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1, a30 = b0, a31 = b1
                var wp = weights + o
                for i in 0..<ci {
                    let w0 = load(wp), w1 = load(wp + 8)
                    let v0 = SIMD8<Float>(repeating: i0[i]), v1 = SIMD8<Float>(repeating: i1[i])
                    let v2 = SIMD8<Float>(repeating: i2[i]), v3 = SIMD8<Float>(repeating: i3[i])
                    a00 += v0 * w0; a01 += v0 * w1; a10 += v1 * w0; a11 += v1 * w1
                    a20 += v2 * w0; a21 += v2 * w1; a30 += v3 * w0; a31 += v3 * w1
                    wp += co
                }
                store(a00, out + o); store(a01, out + o + 8); store(a10, out + co + o); store(a11, out + co + o + 8)
                store(a20, out + 2 * co + o); store(a21, out + 2 * co + o + 8); store(a30, out + 3 * co + o); store(a31, out + 3 * co + o + 8)
                o += 16
            }
            while o + 8 <= co {
                let b = load(bias + o)
                var a0 = b, a1 = b, a2 = b, a3 = b
                var wp = weights + o
                for i in 0..<ci {
                    let w = load(wp)
                    a0 += SIMD8<Float>(repeating: i0[i]) * w; a1 += SIMD8<Float>(repeating: i1[i]) * w
                    a2 += SIMD8<Float>(repeating: i2[i]) * w; a3 += SIMD8<Float>(repeating: i3[i]) * w
                    wp += co
                }
                store(a0, out + o); store(a1, out + co + o); store(a2, out + 2 * co + o); store(a3, out + 3 * co + o)
                o += 8
            }
            while o < co {
                var a = (bias[o], bias[o], bias[o], bias[o])
                for i in 0..<ci {
                    let w = weights[i * co + o]
                    a.0 += i0[i] * w; a.1 += i1[i] * w; a.2 += i2[i] * w; a.3 += i3[i] * w
                }
                out[o] = Self.activate(a.0, activation); out[co + o] = Self.activate(a.1, activation)
                out[2 * co + o] = Self.activate(a.2, activation); out[3 * co + o] = Self.activate(a.3, activation)
                o += 1
            }
            p += 4
        }
        while p < pixels {
            let src = input + p * ci
            for o in 0..<co {
                var acc = bias[o]
                for i in 0..<ci { acc += src[i] * weights[i * co + o] }
                output[p * co + o] = Self.activate(acc, activation)
            }
            p += 1
        }
    }

    /// Depthwise convolution (multiplier 1): each block of eight channels accumulates every kernel
    /// tap in a register before it is stored.
    private func depthwise(_ input: UnsafeMutablePointer<Float>, _ output: UnsafeMutablePointer<Float>, _ weights: UnsafeMutablePointer<Float>,
                           _ bias: UnsafeMutablePointer<Float>, _ inShape: [Int], _ outShape: [Int], _ kernel: (Int, Int), _ stride: (Int, Int),
                           _ pad: (Int, Int), _ activation: Activation) {
        let (h, w, c) = (inShape[1], inShape[2], inShape[3])
        let (oh, ow) = (outShape[1], outShape[2])
        @inline(__always) func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }
        // 3x3 kernels (BlazeFace's) and channels in blocks of eight: each block's nine weights
        // stay in registers while the row is swept; border pixels take the general path below.
        if kernel == (3, 3) && c % 8 == 0 && activation == .none {
            for oy in 0..<oh {
                let y0 = oy * stride.0 - pad.0
                guard y0 >= 0, y0 + 3 <= h else { depthwiseRow(oy, input, output, weights, bias, inShape, outShape, kernel, stride, pad, activation); continue }
                // Columns whose whole 3x3 window is inside the input.
                let first = max(0, (pad.1 + stride.1 - 1) / stride.1), last = min(ow, (w - 3 + pad.1) / stride.1 + 1)
                for k in Swift.stride(from: 0, to: c, by: 8) {
                    let b = load(bias + k)
                    let w00 = load(weights + k), w01 = load(weights + c + k), w02 = load(weights + 2 * c + k)
                    let w10 = load(weights + 3 * c + k), w11 = load(weights + 4 * c + k), w12 = load(weights + 5 * c + k)
                    let w20 = load(weights + 6 * c + k), w21 = load(weights + 7 * c + k), w22 = load(weights + 8 * c + k)
                    let r0 = input + (y0 * w) * c + k, r1 = r0 + w * c, r2 = r1 + w * c
                    var ox = first
                    while ox < last {
                        let x = (ox * stride.1 - pad.1) * c
                        var a = b
                        a += load(r0 + x) * w00; a += load(r0 + x + c) * w01; a += load(r0 + x + 2 * c) * w02
                        a += load(r1 + x) * w10; a += load(r1 + x + c) * w11; a += load(r1 + x + 2 * c) * w12
                        a += load(r2 + x) * w20; a += load(r2 + x + c) * w21; a += load(r2 + x + 2 * c) * w22
                        UnsafeMutableRawPointer(output + (oy * ow + ox) * c + k).storeBytes(of: a, as: SIMD8<Float>.self)
                        ox += 1
                    }
                }
                for ox in 0..<first { depthwisePixel(oy, ox, input, output, weights, bias, inShape, outShape, kernel, stride, pad, activation) }
                for ox in max(first, last)..<ow { depthwisePixel(oy, ox, input, output, weights, bias, inShape, outShape, kernel, stride, pad, activation) }
            }
            return
        }
        for oy in 0..<oh { depthwiseRow(oy, input, output, weights, bias, inShape, outShape, kernel, stride, pad, activation) }
    }

    private func depthwiseRow(_ oy: Int, _ input: UnsafeMutablePointer<Float>, _ output: UnsafeMutablePointer<Float>, _ weights: UnsafeMutablePointer<Float>,
                              _ bias: UnsafeMutablePointer<Float>, _ inShape: [Int], _ outShape: [Int], _ kernel: (Int, Int), _ stride: (Int, Int),
                              _ pad: (Int, Int), _ activation: Activation) {
        for ox in 0..<outShape[2] { depthwisePixel(oy, ox, input, output, weights, bias, inShape, outShape, kernel, stride, pad, activation) }
    }

    /// One output pixel of a depthwise convolution, any kernel, borders included.
    @inline(__always)
    private func depthwisePixel(_ oy: Int, _ ox: Int, _ input: UnsafeMutablePointer<Float>, _ output: UnsafeMutablePointer<Float>,
                                _ weights: UnsafeMutablePointer<Float>, _ bias: UnsafeMutablePointer<Float>, _ inShape: [Int], _ outShape: [Int],
                                _ kernel: (Int, Int), _ stride: (Int, Int), _ pad: (Int, Int), _ activation: Activation) {
        let (h, w, c) = (inShape[1], inShape[2], inShape[3])
        let ow = outShape[2]
        @inline(__always) func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }
        let y0 = oy * stride.0 - pad.0
        let kyStart = max(0, -y0), kyEnd = max(kyStart, min(kernel.0, h - y0))
        let x0 = ox * stride.1 - pad.1
        let kxStart = max(0, -x0), kxEnd = max(kxStart, min(kernel.1, w - x0))
        let out = output + (oy * ow + ox) * c
        var k = 0
        while k + 8 <= c {
            var a = load(bias + k)
            for ky in kyStart..<kyEnd {
                let row = input + ((y0 + ky) * w + x0) * c + k, wrow = weights + ky * kernel.1 * c + k
                for kx in kxStart..<kxEnd { a += load(row + kx * c) * load(wrow + kx * c) }
            }
            if activation == .relu { a = a.replacing(with: 0, where: a .< 0) } else if activation != .none {
                for j in 0..<8 { a[j] = Self.activate(a[j], activation) }
            }
            UnsafeMutableRawPointer(out + k).storeBytes(of: a, as: SIMD8<Float>.self)
            k += 8
        }
        while k < c {
            var a = bias[k]
            for ky in kyStart..<kyEnd { for kx in kxStart..<kxEnd { a += input[((y0 + ky) * w + x0 + kx) * c + k] * weights[(ky * kernel.1 + kx) * c + k] } }
            out[k] = Self.activate(a, activation)
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
