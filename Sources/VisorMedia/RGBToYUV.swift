import VisorCore

extension PixelConverter {
    /// Converts packed RGB to YUYV 4:2:2 (BT.601 limited range, the inverse of `convertToRGB`),
    /// averaging the chroma of each pixel pair. `output` must hold `width * height * 2` bytes.
    public static func convertRGBToYUYV(_ rgb: UnsafeBufferPointer<UInt8>, widthPixels width: Int, heightPixels height: Int,
                                        into output: UnsafeMutableBufferPointer<UInt8>) {
        precondition(width % 2 == 0 && rgb.count >= width * height * 3 && output.count >= width * height * 2)
        for y in 0..<height {
            let s = rgb.baseAddress! + y * width * 3
            let d = output.baseAddress! + y * width * 2
            for p in 0..<(width / 2) {
                let q = s + 6 * p
                let r0 = Int32(q[0]), g0 = Int32(q[1]), b0 = Int32(q[2])
                let r1 = Int32(q[3]), g1 = Int32(q[4]), b1 = Int32(q[5])
                // 16.16 fixed point: Y = 16 + 0.257 R + 0.504 G + 0.098 B, and the chroma of the pair's mean.
                let y0 = (16_843 * r0 + 33_030 * g0 + 6_423 * b0 + 1_081_344) >> 16
                let y1 = (16_843 * r1 + 33_030 * g1 + 6_423 * b1 + 1_081_344) >> 16
                let r = r0 + r1, g = g0 + g1, b = b0 + b1
                let u = (-4_850 * r - 9_535 * g + 14_385 * b + 8_421_376) >> 16
                let v = (14_385 * r - 12_059 * g - 2_327 * b + 8_421_376) >> 16
                let o = d + 4 * p
                o[0] = clampByte(y0); o[1] = clampByte(u); o[2] = clampByte(y1); o[3] = clampByte(v)
            }
        }
    }

    /// Halves an RGB image in each direction by averaging 2x2 blocks.
    public static func halveRGB(_ rgb: [UInt8], widthPixels width: Int, heightPixels height: Int, into output: inout [UInt8]) {
        let w = width / 2, h = height / 2
        if output.count != w * h * 3 { output = [UInt8](repeating: 0, count: w * h * 3) }
        rgb.withUnsafeBufferPointer { s in
            output.withUnsafeMutableBufferPointer { d in
                for y in 0..<h {
                    let top = s.baseAddress! + 2 * y * width * 3, bottom = top + width * 3
                    let out = d.baseAddress! + y * w * 3
                    for x in 0..<w {
                        for c in 0..<3 {
                            let sum = Int(top[6 * x + c]) + Int(top[6 * x + 3 + c]) + Int(bottom[6 * x + c]) + Int(bottom[6 * x + 3 + c])
                            out[3 * x + c] = UInt8((sum + 2) >> 2)
                        }
                    }
                }
            }
        }
    }
}
