import VisorCore
import VisorMedia

/// What the camera's frames say about the wearer's situation: how sharp the view is, how the head
/// moves, and whether the scene just changed (the light level is `LightMeter`'s). Computed in Swift on a 160x120 grey thumbnail made
/// once per frame, in buffers kept from frame to frame: nothing is allocated per frame.
public final class ImageStatistics {
    public struct Reading: Sendable, Equatable {
        /// Mean absolute Laplacian of the thumbnail, in grey levels: low is blurred.
        public var sharpness: Double
        /// Estimated shift of the view since the last frame, in thumbnail pixels (1 = 4 frame pixels at 640 wide).
        public var shiftX: Int
        public var shiftY: Int
        /// Mean difference left after the shift is undone, 0 to 255.
        public var residual: Double
        public var motion: HeadMotion
        /// The view is not the one of the last frame.
        public var sceneChanged: Bool
    }

    public static let thumbnailWidth = 160
    public static let thumbnailHeight = 120
    private static let search = 6

    private var colourThumbnail: [UInt8] = []
    private var thumbnail = [UInt8](repeating: 0, count: thumbnailWidth * thumbnailHeight)
    private var previous = [UInt8](repeating: 0, count: thumbnailWidth * thumbnailHeight)
    private var hasPrevious = false
    private var recentShifts = (0, 0, 0)

    public init() {}

    /// Reads one frame (packed RGB). Frames of any size are box-filtered to the thumbnail.
    public func read(_ frame: Frame) -> Reading {
        makeThumbnail(frame)
        let sharpness = laplacian()
        var shift = (0, 0), residual = 0.0
        if hasPrevious { (shift, residual) = estimateShift() }
        let sceneChanged = hasPrevious && residual > 28
        // Across a cut the best shift is noise: it is not counted as movement.
        let magnitude = sceneChanged ? 0 : abs(shift.0) + abs(shift.1)
        recentShifts = sceneChanged ? (0, 0, 0) : (recentShifts.1, recentShifts.2, magnitude)
        let motion: HeadMotion
        if sceneChanged {
            motion = .turning
        } else if residual > 14 || recentShifts.0 + recentShifts.1 + recentShifts.2 > 12 {
            motion = .walking
        } else if magnitude >= 1 {
            motion = .turning
        } else {
            motion = .still
        }
        swap(&thumbnail, &previous)
        hasPrevious = true
        return Reading(sharpness: sharpness, shiftX: shift.0, shiftY: shift.1,
                       residual: residual, motion: motion, sceneChanged: sceneChanged)
    }

    private func makeThumbnail(_ frame: Frame) {
        Resampler.areaAverage(frame, width: Self.thumbnailWidth, height: Self.thumbnailHeight, into: &colourThumbnail)
        colourThumbnail.withUnsafeBufferPointer { rgb in
            thumbnail.withUnsafeMutableBufferPointer { grey in
                for i in 0..<grey.count {
                    let luma = 77 &* UInt32(rgb[3 * i]) &+ 150 &* UInt32(rgb[3 * i + 1]) &+ 29 &* UInt32(rgb[3 * i + 2])
                    grey[i] = UInt8(truncatingIfNeeded: luma >> 8)
                }
            }
        }
    }

    private func laplacian() -> Double {
        let tw = Self.thumbnailWidth, th = Self.thumbnailHeight
        var total = 0
        thumbnail.withUnsafeBufferPointer { p in
            for y in 1..<(th - 1) {
                for x in 1..<(tw - 1) {
                    let i = y * tw + x
                    let v = 4 * Int(p[i]) - Int(p[i - 1]) - Int(p[i + 1]) - Int(p[i - tw]) - Int(p[i + tw])
                    total += abs(v)
                }
            }
        }
        return Double(total) / Double((tw - 2) * (th - 2))
    }

    /// The shift within ±6 thumbnail pixels that best lines this frame up with the last, by the
    /// mean absolute difference over the central region.
    private func estimateShift() -> ((Int, Int), Double) {
        let tw = Self.thumbnailWidth, th = Self.thumbnailHeight, s = Self.search
        var best = (0, 0), bestCost = Int.max
        thumbnail.withUnsafeBufferPointer { now in
            previous.withUnsafeBufferPointer { before in
                for dy in -s...s {
                    for dx in -s...s {
                        var cost = 0
                        // Every second pixel of the region that stays in view for every shift.
                        var y = s
                        while y < th - s {
                            var x = s
                            let row = y * tw, shifted = (y + dy) * tw + dx
                            while x < tw - s {
                                cost += abs(Int(now[row + x]) - Int(before[shifted + x]))
                                x += 2
                            }
                            y += 2
                        }
                        // Ties go to the smaller shift: a still view stays still.
                        if cost < bestCost || (cost == bestCost && abs(dx) + abs(dy) < abs(best.0) + abs(best.1)) {
                            bestCost = cost
                            best = (dx, dy)
                        }
                    }
                }
            }
        }
        let samples = ((th - 2 * s + 1) / 2) * ((tw - 2 * s + 1) / 2)
        return (best, Double(bestCost) / Double(samples))
    }
}
