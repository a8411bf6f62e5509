import VisorCore
import XCTest
@testable import VisorMedia

/// Area averaging in whole blocks (a multiply and a shift for each division) gives the bytes
/// the general path gives, for every block size the runtime uses and at the extremes.
final class AreaAverageTests: XCTestCase {
    func testWholeBlocksMatchTheGeneralPath() {
        var state: UInt64 = 11
        func frame(_ w: Int, _ h: Int, fill: UInt8? = nil) -> Frame {
            Frame(widthPixels: w, heightPixels: h, pixels: (0..<(w * h * 3)).map { _ in
                if let fill { return fill }
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return UInt8(truncatingIfNeeded: state >> 56)
            }, captureTimeNanoseconds: 0)
        }
        // (frame, output): the motion thumbnail (4x4 blocks), the terminal's half blocks at
        // 160x48 cells (4x5), one pixel each, and blocks of 63x64 = 4032 pixels, the largest kept.
        let cases: [(Frame, Int, Int)] = [(frame(640, 480), 160, 120), (frame(640, 480), 160, 96), (frame(32, 24), 32, 24),
                                          (frame(126, 128, fill: 255), 2, 2), (frame(126, 128), 2, 2), (frame(60, 45, fill: 254), 20, 15)]
        for (source, width, height) in cases {
            var whole: [UInt8] = Array(repeating: 0, count: width * height * 3), any = whole, public_: [UInt8] = []
            Resampler.wholeBlocks(source, width: width, height: height, into: &whole)
            Resampler.anyBlocks(source, width: width, height: height, into: &any)
            Resampler.areaAverage(source, width: width, height: height, into: &public_)
            XCTAssertEqual(whole, any, "\(source.widthPixels)x\(source.heightPixels) to \(width)x\(height)")
            XCTAssertEqual(public_, any)
        }
        var empty: [UInt8] = []
        Resampler.areaAverage(frame(8, 8), width: 0, height: 4, into: &empty)
        XCTAssertTrue(empty.isEmpty, "no output pixels: nothing to do, no division by zero")
    }
}
