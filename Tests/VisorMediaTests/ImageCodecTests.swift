import Foundation
import VisorCore
import VisorTestSupport
import XCTest
@testable import VisorMedia

final class ImageCodecTests: XCTestCase {
    private func bytes(_ fixture: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: TestSupport.fixture(fixture))))
    }

    func testJPEGRoundTripKeepsTheRealPhoto() throws {
        let jpeg = try bytes("scene-320.jpg")
        let codec = JPEGCodec()
        var pixels: [UInt8] = []
        let size = try jpeg.withUnsafeBytes { try codec.decode($0, into: &pixels) }
        XCTAssertEqual(size.width, 320)
        XCTAssertEqual(size.height, 240)
        let again = try codec.encode(rgb: pixels, widthPixels: 320, heightPixels: 240, quality: 95)
        var decoded: [UInt8] = []
        _ = try again.withUnsafeBytes { try codec.decode($0, into: &decoded) }
        let meanError = zip(pixels, decoded).reduce(0.0) { $0 + abs(Double($1.0) - Double($1.1)) } / Double(pixels.count)
        XCTAssertLessThan(meanError, 3, "mean absolute error per channel")
        // The sign's white board is bright, the scene overall is not.
        let frame = Frame(widthPixels: 320, heightPixels: 240, pixels: pixels, captureTimeNanoseconds: 0)
        XCTAssertEqual(LightMeter.lightLevel(of: frame), 0.4, accuracy: 0.15)
    }

    func testPNGDecodesAPaletteImage() throws {
        let png = try bytes("qrcode.png")
        var pixels: [UInt8] = []
        let size = try png.withUnsafeBytes { try PNGCodec.decode($0, into: &pixels) }
        XCTAssertEqual(size.width, 200)
        XCTAssertEqual(size.height, 200)
        XCTAssertEqual(Array(pixels[0..<3]), [255, 255, 255], "quiet zone is white")
        let dark = stride(from: 0, to: pixels.count, by: 3).filter { pixels[$0] < 50 }.count
        XCTAssertGreaterThan(dark, 200 * 200 / 5, "a QR code is about half black")
    }

    func testCorruptImagesAreErrors() throws {
        var png = try bytes("qrcode.png")
        png.removeLast(png.count / 2)
        var out: [UInt8] = []
        XCTAssertThrowsError(try png.withUnsafeBytes { try PNGCodec.decode($0, into: &out) })
        let notJPEG: [UInt8] = Array(repeating: 0x41, count: 300)
        XCTAssertThrowsError(try notJPEG.withUnsafeBytes { try JPEGCodec().decode($0, into: &out) })
    }

    func testLightLevelOfUniformFrames() {
        for (value, expected) in [(UInt8(0), 0.0), (255, 1.0), (128, 0.502)] {
            let frame = Frame(widthPixels: 64, heightPixels: 48, pixels: [UInt8](repeating: value, count: 64 * 48 * 3), captureTimeNanoseconds: 0)
            XCTAssertEqual(LightMeter.lightLevel(of: frame), expected, accuracy: 0.005)
        }
    }

    func testResamplerIdentityAndBackground() {
        let source: [UInt8] = (0..<(4 * 4 * 3)).map { UInt8($0 * 5) }
        var out: [UInt8] = []
        Resampler.cropResize(source, sourceWidth: 4, sourceHeight: 4, crop: CropRect(x: 0, y: 0, width: 4, height: 4),
                             width: 4, height: 4, into: &out)
        XCTAssertEqual(out, source)
        Resampler.cropResize(source, sourceWidth: 4, sourceHeight: 4, crop: CropRect(x: -4, y: 0, width: 8, height: 4),
                             width: 8, height: 4, background: (1, 2, 3), into: &out)
        XCTAssertEqual(Array(out[0..<3]), [1, 2, 3], "outside the photo is background")
        XCTAssertEqual(Array(out[(4 * 3)..<(4 * 3 + 3)]), Array(source[0..<3]))
    }
}

final class RotationTests: XCTestCase {
    func testQuarterTurnsMovePixelsWhereAViewerExpects() {
        // 3x2: the top-left pixel is red, the top-right green, the bottom-left blue.
        var image = [UInt8](repeating: 0, count: 3 * 2 * 3)
        image[0] = 255; image[2 * 3 + 1] = 255; image[3 * 3 + 2] = 255
        var out: [UInt8] = []
        func pixel(_ x: Int, _ y: Int, width: Int) -> [UInt8] { Array(out[(y * width + x) * 3..<(y * width + x) * 3 + 3]) }
        // A quarter turn clockwise: 2x3, the top-left goes to the top-right, the bottom-left to the top-left.
        var size = PixelConverter.rotateRGB(image, widthPixels: 3, heightPixels: 2, clockwiseDegrees: 90, into: &out)
        XCTAssertEqual([size.width, size.height], [2, 3])
        XCTAssertEqual(pixel(1, 0, width: 2), [255, 0, 0])
        XCTAssertEqual(pixel(0, 0, width: 2), [0, 0, 255])
        XCTAssertEqual(pixel(1, 2, width: 2), [0, 255, 0])
        size = PixelConverter.rotateRGB(image, widthPixels: 3, heightPixels: 2, clockwiseDegrees: 180, into: &out)
        XCTAssertEqual([size.width, size.height], [3, 2])
        XCTAssertEqual(pixel(2, 1, width: 3), [255, 0, 0])
        size = PixelConverter.rotateRGB(image, widthPixels: 3, heightPixels: 2, clockwiseDegrees: 270, into: &out)
        XCTAssertEqual(pixel(0, 2, width: 2), [255, 0, 0])
        XCTAssertEqual(pixel(0, 0, width: 2), [0, 255, 0])
    }
}
