import Foundation
import VisorCore
import VisorMedia
import XCTest
@testable import VisorPerception

/// The motion stage's shift search (every second pixel compared in runs of adjacent bytes, from
/// the thumbnail's four phases) finds what plain loops over the thumbnails find, cost included.
final class ShiftSearchTests: XCTestCase {
    /// A photo, and the photo moved by (dx, dy) frame pixels, edges repeated.
    static func shifted(_ frame: Frame, dx: Int, dy: Int) -> Frame {
        let w = frame.widthPixels, h = frame.heightPixels
        var pixels = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                let sx = min(w - 1, max(0, x - dx)), sy = min(h - 1, max(0, y - dy))
                for c in 0..<3 { pixels[(y * w + x) * 3 + c] = frame.pixels[(sy * w + sx) * 3 + c] }
            }
        }
        return Frame(widthPixels: w, heightPixels: h, pixels: pixels, captureTimeNanoseconds: 0)
    }

    /// The search by plain loops over the two thumbnails: every second pixel of the region that
    /// stays in view for every shift, ties to the smaller shift.
    static func plainSearch(_ statistics: ImageStatistics) -> ((Int, Int), Double) {
        let tw = ImageStatistics.thumbnailWidth, th = ImageStatistics.thumbnailHeight, s = ImageStatistics.search
        let now = statistics.thumbnail, before = statistics.previous
        var best = (0, 0), bestCost = Int.max
        for dy in -s...s {
            for dx in -s...s {
                var cost = 0
                for y in stride(from: s, to: th - s, by: 2) {
                    for x in stride(from: s, to: tw - s, by: 2) { cost += abs(Int(now[y * tw + x]) - Int(before[(y + dy) * tw + x + dx])) }
                }
                if cost < bestCost || (cost == bestCost && abs(dx) + abs(dy) < abs(best.0) + abs(best.1)) {
                    bestCost = cost
                    best = (dx, dy)
                }
            }
        }
        return (best, Double(bestCost) / Double(((th - 2 * s + 1) / 2) * ((tw - 2 * s + 1) / 2)))
    }

    func testTheSearchMatchesPlainLoops() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/scene-320.jpg").path
        let jpeg = try XCTUnwrap(FileManager.default.contents(atPath: path))
        var pixels: [UInt8] = []
        let size = try jpeg.withUnsafeBytes { try JPEGCodec().decode($0, into: &pixels) }
        let photo = Frame(widthPixels: size.width, heightPixels: size.height, pixels: pixels, captureTimeNanoseconds: 0)
        // Noise, for costs with no clear best shift.
        var state: UInt64 = 7
        let noise = Frame(widthPixels: 64, heightPixels: 48, pixels: (0..<(64 * 48 * 3)).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 56)
        }, captureTimeNanoseconds: 0)
        let statistics = ImageStatistics()
        var found: [(Int, Int)] = []
        for (dx, dy) in [(0, 0), (8, 0), (-12, 4), (20, -16), (3, 7), (-24, -24), (40, 30)] {
            statistics.load(previous: photo, current: Self.shifted(photo, dx: dx, dy: dy))
            let fast = statistics.estimateShift(), plain = Self.plainSearch(statistics)
            XCTAssertTrue(fast.0 == plain.0 && fast.1 == plain.1, "moved (\(dx), \(dy)): \(fast) against \(plain)")
            found.append(fast.0)
        }
        statistics.load(previous: noise, current: Self.shifted(noise, dx: 1, dy: 2))
        let fast = statistics.estimateShift(), plain = Self.plainSearch(statistics)
        XCTAssertTrue(fast.0 == plain.0 && fast.1 == plain.1, "noise: \(fast) against \(plain)")
        // The search finds the movement: where this frame's content was in the last one, in
        // thumbnail pixels (content moved right is found to the left).
        let scaleX = Double(ImageStatistics.thumbnailWidth) / Double(photo.widthPixels)
        XCTAssertEqual(found[0].0, 0)
        XCTAssertEqual(found[1].0, -Int((8 * scaleX).rounded()), "\(found)")
    }
}
