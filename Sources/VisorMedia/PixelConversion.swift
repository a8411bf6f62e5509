import VisorCore

/// The raw pixel layouts that sessions carry (Foxglove `RawImage.encoding` names).
public enum RawPixelEncoding: String, CaseIterable, Sendable {
    case rgb8, bgr8, rgba8, bgra8, mono8, yuyv, uyvy

    /// Accepts Foxglove's names and the common aliases (`yuv422_yuy2`, `yuv422`).
    public init?(foxgloveName: String) {
        switch foxgloveName.lowercased() {
        case "rgb8": self = .rgb8
        case "bgr8": self = .bgr8
        case "rgba8": self = .rgba8
        case "bgra8": self = .bgra8
        case "mono8", "8uc1": self = .mono8
        case "yuyv", "yuv422_yuy2": self = .yuyv
        case "uyvy", "yuv422": self = .uyvy
        default: return nil
        }
    }

    /// Bytes one pixel takes in a row (packed 4:2:2 formats use 2 per pixel on average).
    public var bytesPerPixel: Int {
        switch self {
        case .rgb8, .bgr8: return 3
        case .rgba8, .bgra8: return 4
        case .mono8: return 1
        case .yuyv, .uyvy: return 2
        }
    }
}

/// Converts raw camera pixels to the working format (packed RGB) once, where a frame is first
/// touched. Writes into `output`, which is resized only when the frame size changes.
public enum PixelConverter {
    /// - Parameters:
    ///   - stepBytes: bytes from one row to the next in `source` (0 means tightly packed).
    /// - Throws: `VisorError` if `source` is shorter than the size says, or the size is odd for 4:2:2.
    public static func convertToRGB(
        _ source: UnsafeRawBufferPointer, encoding: RawPixelEncoding,
        widthPixels width: Int, heightPixels height: Int, stepBytes: Int,
        into output: inout [UInt8]
    ) throws {
        let step = stepBytes == 0 ? width * encoding.bytesPerPixel : stepBytes
        guard width > 0, height > 0, step >= width * encoding.bytesPerPixel else {
            throw VisorError("raw image \(width)x\(height) \(encoding.rawValue) has a row step of \(stepBytes) bytes, too short for its width")
        }
        guard source.count >= step * (height - 1) + width * encoding.bytesPerPixel else {
            throw VisorError("raw image \(width)x\(height) \(encoding.rawValue) needs \(step * height) bytes but has \(source.count)")
        }
        if (encoding == .yuyv || encoding == .uyvy) && width % 2 != 0 {
            throw VisorError("raw image \(encoding.rawValue) must have an even width, got \(width)")
        }
        let needed = width * height * 3
        if output.count != needed { output = [UInt8](repeating: 0, count: needed) }
        let src = source.bindMemory(to: UInt8.self)
        output.withUnsafeMutableBufferPointer { dst in
            for y in 0..<height {
                let s = src.baseAddress! + y * step
                let d = dst.baseAddress! + y * width * 3
                switch encoding {
                case .rgb8:
                    d.update(from: s, count: width * 3)
                case .bgr8:
                    for x in 0..<width { d[3*x] = s[3*x+2]; d[3*x+1] = s[3*x+1]; d[3*x+2] = s[3*x] }
                case .rgba8:
                    for x in 0..<width { d[3*x] = s[4*x]; d[3*x+1] = s[4*x+1]; d[3*x+2] = s[4*x+2] }
                case .bgra8:
                    for x in 0..<width { d[3*x] = s[4*x+2]; d[3*x+1] = s[4*x+1]; d[3*x+2] = s[4*x] }
                case .mono8:
                    for x in 0..<width { let v = s[x]; d[3*x] = v; d[3*x+1] = v; d[3*x+2] = v }
                case .yuyv:
                    convert422Row(s, d, pairs: width / 2, y0: 0, u: 1, y1: 2, v: 3)
                case .uyvy:
                    convert422Row(s, d, pairs: width / 2, y0: 1, u: 0, y1: 3, v: 2)
                }
            }
        }
    }

    /// BT.601 limited-range YCbCr to RGB, the conversion UVC webcams expect, in 16.16 fixed point
    /// from lookup tables: each pixel pair costs table loads and adds, no multiplies, and the
    /// clamp to 0...255 is one more table load.
    @inline(__always)
    static func convert422Row(_ s: UnsafePointer<UInt8>, _ d: UnsafeMutablePointer<UInt8>,
                              pairs: Int, y0: Int, u: Int, y1: Int, v: Int) {
        YCbCrTables.shared.withPointers { luma, redV, greenU, greenV, blueU, clamp in
            for p in 0..<pairs {
                let q = s + 4 * p
                let cb = Int(q[u]), cr = Int(q[v])
                let rAdd = redV[cr], gAdd = greenU[cb] &+ greenV[cr], bAdd = blueU[cb]
                let l0 = luma[Int(q[y0])], l1 = luma[Int(q[y1])]
                let o = d + 6 * p
                o[0] = clamp[Int((l0 &+ rAdd) >> 16)]
                o[1] = clamp[Int((l0 &+ gAdd) >> 16)]
                o[2] = clamp[Int((l0 &+ bAdd) >> 16)]
                o[3] = clamp[Int((l1 &+ rAdd) >> 16)]
                o[4] = clamp[Int((l1 &+ gAdd) >> 16)]
                o[5] = clamp[Int((l1 &+ bAdd) >> 16)]
            }
        }
    }

    @inline(__always)
    static func clampByte(_ value: Int32) -> UInt8 {
        UInt8(truncatingIfNeeded: Swift.min(Swift.max(value, 0), 255))
    }
}

/// Lookup tables for BT.601 limited-range YCbCr to RGB in 16.16 fixed point. The clamp table is
/// indexed from -512, wider than any sum the other tables can make.
final class YCbCrTables: @unchecked Sendable {
    static let shared = YCbCrTables()
    static let clampOffset = 512

    private let luma: [Int32]
    private let redV: [Int32]
    private let greenU: [Int32]
    private let greenV: [Int32]
    private let blueU: [Int32]
    private let clamp: [UInt8]

    private init() {
        luma = (0..<256).map { Int32(($0 - 16) * 76_309 + 32_768) }
        redV = (0..<256).map { Int32(104_597 * ($0 - 128)) }
        greenU = (0..<256).map { Int32(-25_675 * ($0 - 128)) }
        greenV = (0..<256).map { Int32(-53_279 * ($0 - 128)) }
        blueU = (0..<256).map { Int32(132_201 * ($0 - 128)) }
        clamp = (0..<1536).map { UInt8(Swift.min(Swift.max($0 - YCbCrTables.clampOffset, 0), 255)) }
    }

    @inline(__always)
    func withPointers(_ body: (UnsafePointer<Int32>, UnsafePointer<Int32>, UnsafePointer<Int32>, UnsafePointer<Int32>,
                               UnsafePointer<Int32>, UnsafePointer<UInt8>) -> Void) {
        luma.withUnsafeBufferPointer { l in redV.withUnsafeBufferPointer { r in greenU.withUnsafeBufferPointer { gu in
            greenV.withUnsafeBufferPointer { gv in blueU.withUnsafeBufferPointer { b in clamp.withUnsafeBufferPointer { c in
                body(l.baseAddress!, r.baseAddress!, gu.baseAddress!, gv.baseAddress!, b.baseAddress!, c.baseAddress! + YCbCrTables.clampOffset)
            } } } } }
        }
    }
}

extension PixelConverter {
    /// Turns an RGB image 90, 180 or 270 degrees clockwise into `output`; returns its new size.
    public static func rotateRGB(_ input: [UInt8], widthPixels w: Int, heightPixels h: Int, clockwiseDegrees: Int,
                                 into output: inout [UInt8]) -> (width: Int, height: Int) {
        let turns = ((clockwiseDegrees / 90) % 4 + 4) % 4
        if output.count != w * h * 3 { output = [UInt8](repeating: 0, count: w * h * 3) }
        let (ow, oh) = turns % 2 == 1 ? (h, w) : (w, h)
        input.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                for y in 0..<h {
                    for x in 0..<w {
                        // Where source pixel (x, y) lands.
                        let (ox, oy): (Int, Int)
                        switch turns {
                        case 1: (ox, oy) = (h - 1 - y, x)
                        case 2: (ox, oy) = (w - 1 - x, h - 1 - y)
                        case 3: (ox, oy) = (y, w - 1 - x)
                        default: (ox, oy) = (x, y)
                        }
                        let s = (y * w + x) * 3, d = (oy * ow + ox) * 3
                        dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2]
                    }
                }
            }
        }
        return (ow, oh)
    }
}
