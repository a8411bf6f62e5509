import VisorCore

/// Scene brightness: the mean BT.601 luma of a frame, 0 (black) to 1 (white).
public enum LightMeter {
    /// Samples every `stride`-th pixel of every `stride`-th row; 2 is indistinguishable from a full
    /// pass on camera frames and does a quarter of the work.
    public static func lightLevel(of frame: Frame, stride: Int = 2) -> Double {
        measure(frame, stride: stride).level
    }

    /// The light level, and the fraction of the view blown out (luma 250 or more), in one pass.
    public static func measure(_ frame: Frame, stride: Int = 2) -> (level: Double, blownFraction: Double) {
        let width = frame.widthPixels, height = frame.heightPixels
        guard width > 0, height > 0 else { return (0, 0) }
        var total: UInt64 = 0
        var count: UInt64 = 0
        var blown: UInt64 = 0
        frame.pixels.withUnsafeBufferPointer { p in
            var y = 0
            while y < height {
                var rowSum: UInt64 = 0
                var i = y * width * 3
                let end = i + width * 3
                while i < end {
                    let luma = 77 &* UInt32(p[i]) &+ 150 &* UInt32(p[i + 1]) &+ 29 &* UInt32(p[i + 2])
                    rowSum &+= UInt64(luma)
                    if luma >= 250 * 256 { blown &+= 1 }
                    i += 3 * stride
                }
                total &+= rowSum
                count &+= UInt64((width + stride - 1) / stride)
                y += stride
            }
        }
        return (Double(total) / Double(count) / (256.0 * 255.0), Double(blown) / Double(count))
    }
}
