import Foundation
import VisorCore
import XCTest
@testable import VisorNeural

/// Visor's convolution kernels and operator fusions against plain loops written from TFLite's
/// definitions, on small graphs built in memory with awkward shapes: channel counts that are
/// not multiples of eight or sixteen, fewer pixels than a tile, borders, odd strides. (The
/// real models are checked against Google's runtime in FaceDetectionTests.)
final class KernelTests: XCTestCase {
    typealias Model = TFLiteModel

    /// A deterministic generator, so that a failure reproduces.
    struct Random {
        var state: UInt64
        mutating func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int(state >> 40) % 2001 - 1000) / 1000
        }
        mutating func values(_ n: Int) -> [Float] { (0..<n).map { _ in next() } }
    }

    /// A graph under construction.
    struct Graph {
        var tensors: [Model.Tensor] = []
        var operators: [Model.Operator] = []

        mutating func tensor(_ shape: [Int], _ values: [Float]? = nil) -> Int {
            let data = values.map { v in v.withUnsafeBufferPointer { [UInt8](UnsafeRawBufferPointer($0)) } }
            tensors.append(Model.Tensor(name: "t\(tensors.count)", shape: shape, type: .float32, data: data))
            return tensors.count - 1
        }

        mutating func ints(_ values: [Int32]) -> Int {
            let data = values.withUnsafeBufferPointer { [UInt8](UnsafeRawBufferPointer($0)) }
            tensors.append(Model.Tensor(name: "t\(tensors.count)", shape: [values.count / 2, 2], type: .int32, data: data))
            return tensors.count - 1
        }

        mutating func op(_ builtin: Model.Builtin, _ inputs: [Int], _ output: Int, _ options: [Int: Int] = [:]) {
            operators.append(Model.Operator(builtin: builtin, inputs: inputs, outputs: [output], options: options, optionVector: []))
        }

        func run(input: Int, _ values: [Float], output: Int, kernels: KernelFamily) throws -> [Float] {
            let interpreter = try TFLiteInterpreter(model: Model(tensors: tensors, operators: operators, inputs: [input], outputs: [output]),
                                                    kernels: kernels)
            XCTAssertEqual(interpreter.kernels, kernels)
            let buffer = interpreter.input()
            XCTAssertEqual(buffer.count, values.count)
            for i in values.indices { buffer[i] = values[i] }
            interpreter.invoke()
            return Array(interpreter.output(0))
        }

        /// The output computed by every family of kernels this CPU runs.
        func run(input: Int, _ values: [Float], output: Int) throws -> [KernelFamily: [Float]] {
            var outputs: [KernelFamily: [Float]] = [:]
            for family in KernelFamily.supported { outputs[family] = try run(input: input, values, output: output, kernels: family) }
            return outputs
        }
    }

    // Plain loops: NHWC, batch 1; weights [O, KH, KW, I] (convolution) or [1, KH, KW, C] (depthwise).

    /// TFLite's SAME padding puts the odd extra row or column after.
    static func samePad(_ input: Int, _ kernel: Int, _ stride: Int) -> (out: Int, before: Int) {
        let out = (input + stride - 1) / stride
        return (out, max(0, (out - 1) * stride + kernel - input) / 2)
    }

    static func conv(_ x: [Float], _ h: Int, _ w: Int, _ ci: Int, _ weights: [Float], _ bias: [Float], co: Int, kernel: (Int, Int),
                     stride: (Int, Int), same: Bool, depthwise: Bool = false) -> (values: [Float], oh: Int, ow: Int) {
        let (oh, padY) = same ? samePad(h, kernel.0, stride.0) : ((h - kernel.0) / stride.0 + 1, 0)
        let (ow, padX) = same ? samePad(w, kernel.1, stride.1) : ((w - kernel.1) / stride.1 + 1, 0)
        var out = [Float](repeating: 0, count: oh * ow * co)
        for oy in 0..<oh { for ox in 0..<ow { for o in 0..<co {
            var acc = bias[o]
            for ky in 0..<kernel.0 { for kx in 0..<kernel.1 {
                let y = oy * stride.0 - padY + ky, xx = ox * stride.1 - padX + kx
                guard y >= 0, y < h, xx >= 0, xx < w else { continue }
                if depthwise {
                    acc += x[(y * w + xx) * ci + o] * weights[(ky * kernel.1 + kx) * co + o]
                } else {
                    for i in 0..<ci { acc += x[(y * w + xx) * ci + i] * weights[((o * kernel.0 + ky) * kernel.1 + kx) * ci + i] }
                }
            } }
            out[(oy * ow + ox) * co + o] = acc
        } } }
        return (out, oh, ow)
    }

    static func relu(_ v: [Float]) -> [Float] { v.map { max(0, $0) } }

    /// Every family's output is close to the plain loops'.
    func assertClose(_ ours: [KernelFamily: [Float]], _ expected: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(Set(ours.keys), Set(KernelFamily.supported), file: file, line: line)
        for (family, values) in ours { assertClose(values, expected, "\(family): \(what)", file: file, line: line) }
    }

    func assertClose(_ ours: [Float], _ expected: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(ours.count, expected.count, what, file: file, line: line)
        let worst = zip(ours, expected).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThan(worst, 1e-4, "\(what): largest difference \(worst)", file: file, line: line)
    }

    /// CONV_2D then RELU (fused into the convolution), every kernel path.
    func testConvolutionsOfEveryShapeMatchPlainLoops() throws {
        var random = Random(state: 1)
        let cases: [(h: Int, w: Int, ci: Int, co: Int, kernel: (Int, Int), stride: (Int, Int), same: Bool, relu: Bool)] = [
            (9, 40, 3, 24, (5, 5), (2, 2), true, true),    // BlazeFace's first layer, smaller: 16 + 8
            (13, 37, 3, 28, (3, 3), (2, 2), true, false),  // 16 + 16 moved back
            (11, 21, 5, 40, (3, 3), (1, 1), true, true),   // 32 + 8
            (7, 29, 2, 20, (3, 3), (2, 1), false, true),   // VALID, strides differ by axis: 16 + 8 moved back
            (6, 20, 4, 5, (3, 3), (1, 1), true, true),     // fewer than eight outputs, not 1x1
            (2, 3, 3, 20, (3, 3), (1, 1), true, false),    // fewer pixels than a tile
            (5, 7, 24, 33, (1, 1), (1, 1), true, true),    // 1x1: 32 + 8 moved back, 35 pixels
            (4, 4, 16, 9, (1, 1), (1, 1), true, false),    // 1x1: 8 + 8 moved back
            (3, 5, 10, 28, (1, 1), (1, 1), true, true),    // 1x1: 16 + 16 moved back
            (3, 5, 88, 2, (1, 1), (1, 1), true, false),    // 1x1 narrow (a score head)
            (8, 6, 19, 6, (1, 1), (2, 2), true, true),     // 1x1 narrow, strided
            (9, 9, 12, 16, (1, 1), (2, 2), true, false),   // 1x1 strided, through the general path
            (1, 1, 7, 64, (1, 1), (1, 1), true, true),     // one pixel
            (1, 5, 8, 13, (1, 1), (1, 1), true, true),     // 1x1: 5 pixels (fewer than an AVX2 tile, more than a portable one)
            (3, 11, 6, 44, (3, 3), (1, 1), true, false),   // 32 + 12: the last vectors moved back
            (2, 9, 4, 3, (3, 3), (1, 1), true, true),      // fewer outputs than four lanes, not 1x1
            (6, 13, 5, 12, (3, 3), (1, 1), false, true),   // one portable tile's width of channels
        ]
        for c in cases {
            var g = Graph()
            let input = g.tensor([1, c.h, c.w, c.ci])
            let weights = random.values(c.co * c.kernel.0 * c.kernel.1 * c.ci), bias = random.values(c.co)
            let x = random.values(c.h * c.w * c.ci)
            let ref = Self.conv(x, c.h, c.w, c.ci, weights, bias, co: c.co, kernel: c.kernel, stride: c.stride, same: c.same)
            let convOut = g.tensor([1, ref.oh, ref.ow, c.co])
            g.op(.conv2d, [input, g.tensor([c.co, c.kernel.0, c.kernel.1, c.ci], weights), g.tensor([c.co], bias)], convOut,
                 [0: c.same ? 0 : 1, 1: c.stride.1, 2: c.stride.0])
            var output = convOut
            if c.relu {
                output = g.tensor([1, ref.oh, ref.ow, c.co])
                g.op(.relu, [convOut], output)
            }
            let ours = try g.run(input: input, x, output: output)
            assertClose(ours, c.relu ? Self.relu(ref.values) : ref.values, "\(c)")
        }
    }

    /// ADD(1x1 CONV_2D, PAD(skip)) then RELU, fused into the convolution's epilogue, with skips
    /// as wide as the output and narrower (BlazeFace widens its blocks so), and an unfused ADD
    /// whose convolution output is read twice.
    func testResidualFusionMatchesPlainLoops() throws {
        var random = Random(state: 2)
        for (pixels, ci, co, skip) in [(64, 24, 28, 24), (20, 16, 40, 36), (16, 12, 24, 24), (9, 8, 12, 5), (5, 6, 20, 17), (12, 88, 4, 3)] {
            var g = Graph()
            let input = g.tensor([1, 1, pixels, ci]), skipInput = g.tensor([1, 1, pixels, skip])
            let weights = random.values(co * ci), bias = random.values(co)
            let conv = g.tensor([1, 1, pixels, co])
            g.op(.conv2d, [input, g.tensor([co, 1, 1, ci], weights), g.tensor([co], bias)], conv)
            // The skip comes from the input through a 1x1 convolution so the graph has one input.
            let skipWeights = random.values(skip * ci), skipBias = random.values(skip)
            g.op(.conv2d, [input, g.tensor([skip, 1, 1, ci], skipWeights), g.tensor([skip], skipBias)], skipInput)
            var widened = skipInput
            if skip < co {
                widened = g.tensor([1, 1, pixels, co])
                g.op(.pad, [skipInput, g.ints([0, 0, 0, 0, 0, 0, 0, Int32(co - skip)])], widened)
            }
            let sum = g.tensor([1, 1, pixels, co]), output = g.tensor([1, 1, pixels, co])
            g.op(.add, [widened, conv], sum)
            g.op(.relu, [sum], output)
            let x = random.values(pixels * ci)
            let a = Self.conv(x, 1, pixels, ci, weights, bias, co: co, kernel: (1, 1), stride: (1, 1), same: true).values
            let s = Self.conv(x, 1, pixels, ci, skipWeights, skipBias, co: skip, kernel: (1, 1), stride: (1, 1), same: true).values
            let expected = (0..<(pixels * co)).map { n in max(0, a[n] + (n % co < skip ? s[n / co * skip + n % co] : 0)) }
            let interpreter = try TFLiteInterpreter(model: Model(tensors: g.tensors, operators: g.operators, inputs: [input], outputs: [output]))
            XCTAssertTrue(interpreter.profile(runs: 1).contains { $0.step.contains("skip(\(skip)) relu") }, "the ADD, PAD and RELU are fused")
            assertClose(try g.run(input: input, x, output: output), expected, "\(pixels) pixels, \(ci) -> \(co), skip \(skip)")
        }
        // The convolution's output is also a model output: nothing may be fused away.
        var g = Graph()
        let input = g.tensor([1, 2, 5, 8]), conv = g.tensor([1, 2, 5, 8]), sum = g.tensor([1, 2, 5, 8])
        let weights = random.values(64), bias = random.values(8)
        g.op(.conv2d, [input, g.tensor([8, 1, 1, 8], weights), g.tensor([8], bias)], conv)
        g.op(.add, [conv, input], sum)
        let x = random.values(80)
        let a = Self.conv(x, 2, 5, 8, weights, bias, co: 8, kernel: (1, 1), stride: (1, 1), same: true).values
        for family in KernelFamily.supported {
            let interpreter = try TFLiteInterpreter(model: Model(tensors: g.tensors, operators: g.operators, inputs: [input], outputs: [sum, conv]),
                                                    kernels: family)
            for i in x.indices { interpreter.input()[i] = x[i] }
            interpreter.invoke()
            assertClose(Array(interpreter.output(1)), a, "\(family): the convolution's own output")
            assertClose(Array(interpreter.output(0)), zip(a, x).map { $0 + $1 }, "\(family): the sum")
        }
    }

    /// DEPTHWISE_CONV_2D (then RELU, fused) of every channel count the blocks handle.
    func testDepthwiseOfEveryShapeMatchesPlainLoops() throws {
        var random = Random(state: 3)
        for (h, w, c, kernel, stride, relu) in [(9, 11, 28, 3, 2, false), (7, 12, 36, 3, 1, true), (6, 6, 42, 3, 2, true), (5, 9, 64, 3, 1, false),
                                                (4, 5, 5, 3, 1, true), (8, 8, 12, 5, 1, false), (3, 3, 48, 3, 1, true), (1, 2, 16, 3, 1, false),
                                                (5, 10, 8, 3, 1, true), (6, 9, 20, 3, 1, false), (4, 12, 3, 3, 2, true)] {
            var g = Graph()
            let input = g.tensor([1, h, w, c])
            let weights = random.values(kernel * kernel * c), bias = random.values(c)
            let x = random.values(h * w * c)
            let ref = Self.conv(x, h, w, c, weights, bias, co: c, kernel: (kernel, kernel), stride: (stride, stride), same: true, depthwise: true)
            let out = g.tensor([1, ref.oh, ref.ow, c])
            g.op(.depthwiseConv2d, [input, g.tensor([1, kernel, kernel, c], weights), g.tensor([c], bias)], out, [1: stride, 2: stride, 3: 1])
            var output = out
            if relu {
                output = g.tensor([1, ref.oh, ref.ow, c])
                g.op(.relu, [out], output)
            }
            assertClose(try g.run(input: input, x, output: output), relu ? Self.relu(ref.values) : ref.values, "\(h)x\(w)x\(c) \(kernel)x\(kernel)/\(stride)")
        }
    }

    /// MAX_POOL_2D in blocks of eight channels, the last moved back, and fewer than eight.
    func testMaxPoolMatchesPlainLoops() throws {
        var random = Random(state: 4)
        for (h, w, c, filter, stride, same) in [(8, 8, 28, 2, 2, false), (7, 9, 12, 3, 1, true), (5, 6, 3, 2, 2, true), (4, 4, 42, 2, 2, false)] {
            var g = Graph()
            let input = g.tensor([1, h, w, c])
            let (oh, padY) = same ? Self.samePad(h, filter, stride) : ((h - filter) / stride + 1, 0)
            let (ow, padX) = same ? Self.samePad(w, filter, stride) : ((w - filter) / stride + 1, 0)
            let output = g.tensor([1, oh, ow, c])
            g.op(.maxPool2d, [input], output, [0: same ? 0 : 1, 1: stride, 2: stride, 3: filter, 4: filter])
            let x = random.values(h * w * c)
            var expected = [Float](repeating: -.greatestFiniteMagnitude, count: oh * ow * c)
            for oy in 0..<oh { for ox in 0..<ow { for k in 0..<c { for fy in 0..<filter { for fx in 0..<filter {
                let y = oy * stride - padY + fy, xx = ox * stride - padX + fx
                if y >= 0, y < h, xx >= 0, xx < w { expected[(oy * ow + ox) * c + k] = max(expected[(oy * ow + ox) * c + k], x[(y * w + xx) * c + k]) }
            } } } } }
            assertClose(try g.run(input: input, x, output: output), expected, "\(h)x\(w)x\(c) \(filter)/\(stride)")
        }
    }

    /// RESIZE_BILINEAR with each of TFLite's coordinate rules, channels below, at and past a vector.
    func testResizeMatchesPlainLoops() throws {
        var random = Random(state: 6)
        for (ih, iw, c, oh, ow, align, half) in [(3, 4, 5, 6, 8, false, true), (4, 4, 20, 8, 8, true, false), (5, 3, 16, 9, 7, false, false),
                                                 (2, 2, 3, 4, 5, false, true)] {
            var g = Graph()
            let input = g.tensor([1, ih, iw, c]), output = g.tensor([1, oh, ow, c])
            g.op(.resizeBilinear, [input, g.ints([Int32(oh), Int32(ow)])], output, [2: align ? 1 : 0, 3: half ? 1 : 0])
            let x = random.values(ih * iw * c)
            func scale(_ i: Int, _ o: Int) -> Float { align && o > 1 ? Float(i - 1) / Float(o - 1) : Float(i) / Float(o) }
            var expected = [Float](repeating: 0, count: oh * ow * c)
            for y in 0..<oh { for xx in 0..<ow { for k in 0..<c {
                let fy = half ? max(0, (Float(y) + 0.5) * scale(ih, oh) - 0.5) : Float(y) * scale(ih, oh)
                let fx = half ? max(0, (Float(xx) + 0.5) * scale(iw, ow) - 0.5) : Float(xx) * scale(iw, ow)
                let y0 = min(ih - 1, Int(fy)), y1 = min(ih - 1, y0 + 1), x0 = min(iw - 1, Int(fx)), x1 = min(iw - 1, x0 + 1)
                func v(_ yy: Int, _ xi: Int) -> Float { x[(yy * iw + xi) * c + k] }
                let top = v(y0, x0) + (v(y0, x1) - v(y0, x0)) * (fx - Float(x0)), bottom = v(y1, x0) + (v(y1, x1) - v(y1, x0)) * (fx - Float(x0))
                expected[(y * ow + xx) * c + k] = top + (bottom - top) * (fy - Float(y0))
            } } }
            assertClose(try g.run(input: input, x, output: output), expected, "\(ih)x\(iw)x\(c) -> \(oh)x\(ow) align \(align) half \(half)")
        }
    }

    /// The families this CPU runs are the ones its flags name; a family it cannot run, or a
    /// name that is no family, is refused in words.
    func testKernelFamiliesFollowTheCPU() throws {
        XCTAssertTrue(KernelFamily.supported.contains(.portable))
        XCTAssertTrue(KernelFamily.best.isSupported)
        XCTAssertEqual(KernelFamily.best, KernelFamily.supported.last)
        #if arch(x86_64)
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = Set(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? [])
        XCTAssertEqual(KernelFamily.avx2.isSupported, flags.contains("avx2") && flags.contains("fma"))
        XCTAssertEqual(KernelFamily.avx512.isSupported, flags.contains("avx512f"))
        #endif
        XCTAssertEqual(try KernelFamily.chosen(environment: [:]), KernelFamily.best)
        XCTAssertEqual(try KernelFamily.chosen(environment: ["VISOR_KERNELS": "Portable"]), .portable)
        XCTAssertThrowsError(try KernelFamily.chosen(environment: ["VISOR_KERNELS": "sse9"])) { error in
            XCTAssertEqual((error as? VisorError)?.message, "VISOR_KERNELS=sse9 is not a family of kernels (portable, avx2, avx512)")
        }
        var g = Graph()
        let input = g.tensor([1, 4]), output = g.tensor([1, 4])
        g.op(.relu, [input], output)
        for family in KernelFamily.allCases where !family.isSupported {
            XCTAssertThrowsError(try TFLiteInterpreter(model: Model(tensors: g.tensors, operators: g.operators, inputs: [input], outputs: [output]),
                                                       kernels: family)) { error in
                XCTAssertTrue((error as? VisorError)?.message.hasPrefix("the \(family.rawValue) kernels need a CPU with") == true, "\(error)")
            }
        }
    }

    /// The kernels are plain C with vector extensions: they compile for arm64 (where the portable
    /// family is NEON) as for x86-64, with the toolchain's own clang.
    func testTheKernelsCompileForArm64AndX8664() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/CVisorKernels")
        let clang = ["/opt/swift/usr/bin/clang", "/usr/bin/clang"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let clang else { throw XCTSkip("no clang to cross-compile with") }
        for target in ["aarch64-linux-gnu", "x86_64-linux-gnu"] {
            let object = FileManager.default.temporaryDirectory.appendingPathComponent("visor-kernels-\(getpid())-\(target).o")
            defer { try? FileManager.default.removeItem(at: object) }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: clang)
            process.arguments = ["--target=\(target)", "-ffreestanding", "-O2", "-Wall", "-Werror", "-I", sources.appendingPathComponent("include").path,
                                 "-c", sources.appendingPathComponent("kernels.c").path, "-o", object.path]
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, "\(target): \(message)")
            let size = (try? FileManager.default.attributesOfItem(atPath: object.path)[.size] as? Int) ?? 0
            XCTAssertGreaterThan(size, 1000, target)
        }
    }

    /// Graphs a hostile model could hold are refused with an error, never run out of bounds
    /// (the first was found by `tools/fuzz`: depthwise weights of rank 2).
    func testMalformedGraphsAreRefused() throws {
        func refusal(_ build: (inout Graph) -> (input: Int, output: Int)) -> String? {
            var g = Graph()
            let (input, output) = build(&g)
            do {
                _ = try TFLiteInterpreter(model: Model(tensors: g.tensors, operators: g.operators, inputs: [input], outputs: [output]))
                return nil
            } catch { return (error as? VisorError)?.message }
        }
        XCTAssertEqual(refusal { g in
            let input = g.tensor([1, 4, 4, 8]), output = g.tensor([1, 4, 4, 8])
            g.op(.depthwiseConv2d, [input, g.tensor([3, 3], Array(repeating: 1, count: 9)), g.tensor([8], Array(repeating: 0, count: 8))], output)
            return (input, output)
        }, "DEPTHWISE_CONV_2D needs 4-D weights, not [3, 3]")
        XCTAssertNotNil(refusal { g in
            let input = g.tensor([1, 4, 4, 8]), output = g.tensor([1, 4, 4, 8])
            g.op(.conv2d, [input, g.tensor([64], Array(repeating: 1, count: 64)), g.tensor([8], Array(repeating: 0, count: 8))], output)
            return (input, output)
        })
        // A DEQUANTIZE whose output is shaped unlike its input (found by tools/fuzz).
        XCTAssertEqual(refusal { g in
            let input = g.tensor([1, 4, 4, 8]), output = g.tensor([1, 4, 4, 8]), weights = g.tensor([8, 3, 3, 8])
            g.tensors.append(Model.Tensor(name: "half", shape: [8], type: .float16, data: Array(repeating: 0x3C, count: 16)))
            g.op(.dequantize, [g.tensors.count - 1], weights)
            g.op(.conv2d, [input, weights, g.tensor([8], Array(repeating: 0, count: 8))], output)
            return (input, output)
        }, "DEQUANTIZE of 8 values into a tensor of shape [8, 3, 3, 8]")
        // A CONCATENATION on an axis past the tensors' rank (found by tools/fuzz).
        XCTAssertEqual(refusal { g in
            let input = g.tensor([1, 4, 2]), output = g.tensor([1, 8, 2])
            g.op(.concatenation, [input, input], output, [0: 7])
            return (input, output)
        }, "CONCATENATION on axis 7 of tensors that do not line up")
        // An output that nothing computes.
        XCTAssertEqual(refusal { g in
            let input = g.tensor([1, 4]), idle = g.tensor([1, 4]), relu = g.tensor([1, 4])
            g.op(.relu, [input], relu)
            return (input, idle)
        }, "the model's output t1 is not a float tensor Visor computes or holds")
        // Refusing a model leaks nothing: twenty refusals of one that plans 32 MB of tensors.
        func residentMegabytes() -> Double {
            let fields = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8))?.split(separator: " ") ?? []
            return Double(fields.count > 1 ? Int(fields[1]) ?? 0 : 0) * Double(getpagesize()) / 1e6
        }
        let before = residentMegabytes()
        for _ in 0..<20 {
            XCTAssertNotNil(refusal { g in
                let input = g.tensor([1, 1024, 1024, 8]), output = g.tensor([1, 1024, 1024, 8])
                g.op(.depthwiseConv2d, [input, g.tensor([3, 3], Array(repeating: 1, count: 9)), g.tensor([8], Array(repeating: 0, count: 8))], output)
                return (input, output)
            })
        }
        XCTAssertLessThan(residentMegabytes() - before, 100, "resident memory grew by \(residentMegabytes() - before) MB")
        // A skip padded before its channels is not the zeros-after that the epilogue adds: the
        // PAD stays, and its whole output is the convolution's skip.
        var g = Graph(), random = Random(state: 5)
        let input = g.tensor([1, 2, 4, 7]), conv = g.tensor([1, 2, 4, 8]), padded = g.tensor([1, 2, 4, 8]), sum = g.tensor([1, 2, 4, 8])
        let weights = random.values(56), bias = random.values(8)
        g.op(.conv2d, [input, g.tensor([8, 1, 1, 7], weights), g.tensor([8], bias)], conv)
        g.op(.pad, [input, g.ints([0, 0, 0, 0, 0, 0, 1, 0])], padded)
        g.op(.add, [conv, padded], sum)
        let steps = try TFLiteInterpreter(model: Model(tensors: g.tensors, operators: g.operators, inputs: [input], outputs: [sum])).profile(runs: 1)
        XCTAssertEqual(steps.map(\.step), ["pad 2x4x7 -> 2x4x8", "pointwise 2x4x7 -> 2x4x8 + skip(8)"])
        let x = random.values(56)
        let a = Self.conv(x, 2, 4, 7, weights, bias, co: 8, kernel: (1, 1), stride: (1, 1), same: true).values
        var expected = a
        for pixel in 0..<8 { for k in 1..<8 { expected[pixel * 8 + k] += x[pixel * 7 + k - 1] } }
        assertClose(try g.run(input: input, x, output: sum), expected, "a skip padded before its channels")
    }
}
