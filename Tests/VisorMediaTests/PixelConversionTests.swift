import VisorCore
import XCTest
@testable import VisorMedia

final class PixelConversionTests: XCTestCase {
    private func convert(_ bytes: [UInt8], _ encoding: RawPixelEncoding, width: Int, height: Int, step: Int = 0) throws -> [UInt8] {
        var out: [UInt8] = []
        try bytes.withUnsafeBytes {
            try PixelConverter.convertToRGB($0, encoding: encoding, widthPixels: width, heightPixels: height, stepBytes: step, into: &out)
        }
        return out
    }

    func testYUYVAndUYVYGiveBT601Colours() throws {
        // White, black, and BT.601 limited-range red (Y 81, Cb 90, Cr 240) and blue (Y 41, Cb 240, Cr 110).
        let yuyv: [UInt8] = [235, 128, 235, 128, 16, 128, 16, 128, 81, 90, 81, 240, 41, 240, 41, 110]
        let rgb = try convert(yuyv, .yuyv, width: 8, height: 1)
        XCTAssertEqual(Array(rgb[0..<6]), [255, 255, 255, 255, 255, 255])
        XCTAssertEqual(Array(rgb[6..<12]), [0, 0, 0, 0, 0, 0])
        for (i, expected) in [(12, [255, 0, 0]), (18, [0, 0, 255])] {
            for c in 0..<3 { XCTAssertEqual(Double(rgb[i + c]), Double(expected[c]), accuracy: 2, "pixel \(i / 3) channel \(c)") }
        }
        var uyvy: [UInt8] = []
        for i in stride(from: 0, to: yuyv.count, by: 4) {
            uyvy += [yuyv[i + 1], yuyv[i], yuyv[i + 3], yuyv[i + 2]]
        }
        XCTAssertEqual(try convert(uyvy, .uyvy, width: 8, height: 1), rgb)
    }

    func testPackedFormatsAndRowStep() throws {
        XCTAssertEqual(try convert([3, 2, 1, 6, 5, 4], .bgr8, width: 2, height: 1), [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try convert([9, 200], .mono8, width: 2, height: 1), [9, 9, 9, 200, 200, 200])
        XCTAssertEqual(try convert([1, 2, 3, 99, 4, 5, 6, 99], .rgba8, width: 2, height: 1), [1, 2, 3, 4, 5, 6])
        // Rows padded to 4 bytes: the padding is skipped.
        XCTAssertEqual(try convert([1, 2, 3, 0, 4, 5, 6, 0], .rgb8, width: 1, height: 2, step: 4), [1, 2, 3, 4, 5, 6])
    }

    func testShortBuffersAndOddWidthsAreErrors() {
        XCTAssertThrowsError(try convert([1, 2, 3], .rgb8, width: 2, height: 1))
        XCTAssertThrowsError(try convert([1, 2, 3, 4, 5, 6], .yuyv, width: 3, height: 1))
        XCTAssertThrowsError(try convert([1, 2, 3, 4, 5, 6], .rgb8, width: 2, height: 1, step: 2))
    }

    func testFoxgloveEncodingNames() {
        XCTAssertEqual(RawPixelEncoding(foxgloveName: "yuv422_yuy2"), .yuyv)
        XCTAssertEqual(RawPixelEncoding(foxgloveName: "uyvy"), .uyvy)
        XCTAssertNil(RawPixelEncoding(foxgloveName: "bayer_rggb8"))
    }
}
