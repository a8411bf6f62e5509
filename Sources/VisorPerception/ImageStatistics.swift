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
    static let search = 6

    private var colourThumbnail: [UInt8] = []
    private(set) var thumbnail = [UInt8](repeating: 0, count: thumbnailWidth * thumbnailHeight)
    private(set) var previous = [UInt8](repeating: 0, count: thumbnailWidth * thumbnailHeight)
    /// The last frame's thumbnail in its four phases of every second row and column (phase
    /// (r, c) holds the pixels at odd rows when r is 1, odd columns when c is 1), 60x80 each: a
    /// shifted comparison of every second pixel is then a run of adjacent bytes, which the
    /// compiler vectorises.
    private var phases = [[UInt8]](repeating: [UInt8](repeating: 0, count: (thumbnailWidth / 2) * (thumbnailHeight / 2)), count: 4)
    private var previousPhases = [[UInt8]](repeating: [UInt8](repeating: 0, count: (thumbnailWidth / 2) * (thumbnailHeight / 2)), count: 4)
    private var hasPrevious = false
    private var recentShifts = (0, 0, 0)

    public init() {}

    /// Reads one frame (packed RGB). Frames of any size are box-filtered to the thumbnail.
    public func read(_ frame: Frame) -> Reading {
        makeThumbnail(frame)
        makePhases()
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
        swap(&phases, &previousPhases)
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

    private func makePhases() {
        let tw = Self.thumbnailWidth, pw = tw / 2, ph = Self.thumbnailHeight / 2
        thumbnail.withUnsafeBufferPointer { t in
            for phase in 0..<4 {
                let r = phase >> 1, c = phase & 1
                phases[phase].withUnsafeMutableBufferPointer { out in
                    for i in 0..<ph {
                        let row = (r + 2 * i) * tw + c
                        for j in 0..<pw { out[i * pw + j] = t[row + 2 * j] }
                    }
                }
            }
        }
    }

    /// The shift within ±6 thumbnail pixels that best lines this frame up with the last, by the
    /// mean absolute difference over the central region: every second pixel of the region that
    /// stays in view for every shift, this frame's at even rows and columns from the search's
    /// edge, the last frame's in the phase that the shift's parity picks.
    func estimateShift() -> ((Int, Int), Double) {
        let s = Self.search, pw = Self.thumbnailWidth / 2
        // Sampled rows and columns: y = s, s+2, ... < th - s; x likewise.
        let rows = (Self.thumbnailHeight - 2 * s + 1) / 2, columns = (Self.thumbnailWidth - 2 * s + 1) / 2
        var best = (0, 0), bestCost = Int.max
        phases[0].withUnsafeBufferPointer { current in
            // This frame's samples: s is even, so they are phase (0, 0) from (s/2, s/2) on.
            let now = current.baseAddress! + (s / 2) * pw + s / 2
            for dy in -s...s {
                for dx in -s...s {
                    let r0 = s + dy, c0 = s + dx
                    let cost = previousPhases[(r0 & 1) << 1 | (c0 & 1)].withUnsafeBufferPointer { phase in
                        let before = phase.baseAddress! + (r0 >> 1) * pw + (c0 >> 1)
                        var total = 0
                        for i in 0..<rows {
                            let a = now + i * pw, b = before + i * pw
                            var row: Int32 = 0
                            for j in 0..<columns { row &+= abs(Int32(a[j]) &- Int32(b[j])) }
                            total += Int(row)
                        }
                        return total
                    }
                    // Ties go to the smaller shift: a still view stays still.
                    if cost < bestCost || (cost == bestCost && abs(dx) + abs(dy) < abs(best.0) + abs(best.1)) {
                        bestCost = cost
                        best = (dx, dy)
                    }
                }
            }
        }
        return (best, Double(bestCost) / Double(rows * columns))
    }

    /// Makes `frame` the current thumbnail and the one before it `previous`, without a reading
    /// (for the tests).
    func load(previous earlier: Frame, current: Frame) {
        makeThumbnail(earlier)
        makePhases()
        swap(&thumbnail, &previous)
        swap(&phases, &previousPhases)
        makeThumbnail(current)
        makePhases()
    }
}
