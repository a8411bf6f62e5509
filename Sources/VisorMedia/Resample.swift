import VisorCore

/// A rectangle in source pixels, with fractional edges (for smooth scripted camera motion).
public struct CropRect: Equatable, Sendable {
    public var x: Double, y: Double, width: Double, height: Double
    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x; self.y = y; self.width = width; self.height = height
    }
}

/// Bilinear crop-and-scale of packed RGB images.
public enum Resampler {
    /// Samples `crop` of `source` (packed RGB, `sourceWidth` x `sourceHeight`) into a
    /// `width` x `height` image. Points outside the source take `background` when it is given,
    /// else the nearest edge pixel.
    public static func cropResize(_ source: [UInt8], sourceWidth: Int, sourceHeight: Int,
                                  crop: CropRect, width: Int, height: Int,
                                  background: (UInt8, UInt8, UInt8)? = nil, into output: inout [UInt8]) {
        let needed = width * height * 3
        if output.count != needed { output = [UInt8](repeating: 0, count: needed) }
        let scaleX = crop.width / Double(width), scaleY = crop.height / Double(height)
        let maxX = Double(sourceWidth - 1), maxY = Double(sourceHeight - 1)
        source.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                for oy in 0..<height {
                    let rawY = crop.y + (Double(oy) + 0.5) * scaleY
                    let rowOutside = rawY < 0 || rawY > Double(sourceHeight)
                    let sy = Swift.min(Swift.max(rawY - 0.5, 0), maxY)
                    let y0 = Int(sy), y1 = Swift.min(y0 + 1, sourceHeight - 1)
                    let fy = sy - Double(y0)
                    for ox in 0..<width {
                        let rawX = crop.x + (Double(ox) + 0.5) * scaleX
                        if let background, rowOutside || rawX < 0 || rawX > Double(sourceWidth) {
                            let o = (oy * width + ox) * 3
                            dst[o] = background.0; dst[o + 1] = background.1; dst[o + 2] = background.2
                            continue
                        }
                        let sx = Swift.min(Swift.max(rawX - 0.5, 0), maxX)
                        let x0 = Int(sx), x1 = Swift.min(x0 + 1, sourceWidth - 1)
                        let fx = sx - Double(x0)
                        let a = (y0 * sourceWidth + x0) * 3, b = (y0 * sourceWidth + x1) * 3
                        let c = (y1 * sourceWidth + x0) * 3, d = (y1 * sourceWidth + x1) * 3
                        let o = (oy * width + ox) * 3
                        for k in 0..<3 {
                            let top = Double(src[a + k]) * (1 - fx) + Double(src[b + k]) * fx
                            let bottom = Double(src[c + k]) * (1 - fx) + Double(src[d + k]) * fx
                            dst[o + k] = UInt8(Swift.min(Swift.max(top * (1 - fy) + bottom * fy + 0.5, 0), 255))
                        }
                    }
                }
            }
        }
    }
}

extension Resampler {
    /// Area-averages packed RGB down to `width` x `height` (each output pixel the mean of the
    /// source pixels it covers). `output` is resized only when the size changes.
    public static func areaAverage(_ frame: Frame, width: Int, height: Int, into output: inout [UInt8]) {
        let needed = width * height * 3
        if output.count != needed { output = [UInt8](repeating: 0, count: needed) }
        let w = frame.widthPixels, h = frame.heightPixels
        guard w > 0, h > 0, width > 0, height > 0 else { return }
        if w % width == 0, h % height == 0, (w / width) * (h / height) < 4096 {
            wholeBlocks(frame, width: width, height: height, into: &output)
        } else {
            anyBlocks(frame, width: width, height: height, into: &output)
        }
    }

    /// `areaAverage` for any sizes: each output pixel's block worked out, its sum divided.
    static func anyBlocks(_ frame: Frame, width: Int, height: Int, into output: inout [UInt8]) {
        let w = frame.widthPixels, h = frame.heightPixels
        frame.pixels.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                for oy in 0..<height {
                    let y0 = oy * h / height, y1 = Swift.max(y0 + 1, (oy + 1) * h / height)
                    for ox in 0..<width {
                        let x0 = ox * w / width, x1 = Swift.max(x0 + 1, (ox + 1) * w / width)
                        var r = 0, g = 0, b = 0
                        for y in y0..<y1 {
                            var i = (y * w + x0) * 3
                            for _ in x0..<x1 { r += Int(src[i]); g += Int(src[i + 1]); b += Int(src[i + 2]); i += 3 }
                        }
                        let n = (y1 - y0) * (x1 - x0)
                        let o = (oy * width + ox) * 3
                        dst[o] = UInt8(r / n); dst[o + 1] = UInt8(g / n); dst[o + 2] = UInt8(b / n)
                    }
                }
            }
        }
    }

    /// `areaAverage` where every output pixel covers the same whole block of source pixels (a
    /// 640x480 frame to the motion stage's 160x120 thumbnail): no division per pixel. A block's
    /// sum s (at most 255 n for n pixels) over n is (s * m) >> 32 with m = ceil(2^32 / n): the
    /// error, under s / 2^32, stays below 1 / n while n is under 4096, so the quotient is exact
    /// (the same bytes as the general path; tested).
    static func wholeBlocks(_ frame: Frame, width: Int, height: Int, into output: inout [UInt8]) {
        let w = frame.widthPixels, fx = w / width, fy = frame.heightPixels / height
        let m = ((UInt64(1) << 32) + UInt64(fx * fy) - 1) / UInt64(fx * fy)
        frame.pixels.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                for oy in 0..<height {
                    for ox in 0..<width {
                        var r: UInt32 = 0, g: UInt32 = 0, b: UInt32 = 0
                        for y in (oy * fy)..<(oy * fy + fy) {
                            var i = (y * w + ox * fx) * 3
                            for _ in 0..<fx {
                                r &+= UInt32(src[i]); g &+= UInt32(src[i + 1]); b &+= UInt32(src[i + 2])
                                i += 3
                            }
                        }
                        let o = (oy * width + ox) * 3
                        dst[o] = UInt8(truncatingIfNeeded: (UInt64(r) &* m) >> 32)
                        dst[o + 1] = UInt8(truncatingIfNeeded: (UInt64(g) &* m) >> 32)
                        dst[o + 2] = UInt8(truncatingIfNeeded: (UInt64(b) &* m) >> 32)
                    }
                }
            }
        }
    }
}
