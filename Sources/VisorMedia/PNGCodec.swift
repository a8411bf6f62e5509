import CPNG
import Glibc
import VisorCore

/// PNG decoding through libpng's simplified API.
public enum PNGCodec {
    /// Decodes any PNG (palette, grey, alpha, 16-bit) to packed 8-bit RGB in `output`.
    /// - Parameter maxPixels: refuse images larger than this, before allocating.
    @discardableResult
    public static func decode(_ png: UnsafeRawBufferPointer, into output: inout [UInt8],
                              maxPixels: Int = 64_000_000) throws -> (width: Int, height: Int) {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        guard png_image_begin_read_from_memory(&image, png.baseAddress, png.count) != 0 else {
            throw VisorError("not a readable PNG image: \(message(of: image))")
        }
        defer { png_image_free(&image) }
        let width = Int(image.width), height = Int(image.height)
        guard width > 0, height > 0, width * height <= maxPixels else {
            throw VisorError("PNG image of \(width)x\(height) pixels is larger than Visor accepts (\(maxPixels) pixels)")
        }
        image.format = UInt32(PNG_FORMAT_RGB)
        let needed = width * height * 3
        if output.count != needed { output = [UInt8](repeating: 0, count: needed) }
        let ok = output.withUnsafeMutableBytes { dst in
            png_image_finish_read(&image, nil, dst.baseAddress, Int32(width * 3), nil)
        }
        guard ok != 0 else { throw VisorError("PNG image could not be decoded: \(message(of: image))") }
        return (width, height)
    }

    /// Writes packed 8-bit RGB as a PNG file (created readable by its owner only; snapshots show
    /// what the wearer saw).
    public static func write(_ pixels: [UInt8], width: Int, height: Int, to path: String) throws {
        guard width > 0, height > 0, pixels.count >= width * height * 3 else { throw VisorError("no image to write to \(path)") }
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = UInt32(PNG_FORMAT_RGB)
        var size: Int = 0
        guard pixels.withUnsafeBytes({ png_image_write_to_memory(&image, nil, &size, 0, $0.baseAddress, Int32(width * 3), nil) }) != 0 else {
            throw VisorError("PNG encoding failed: \(message(of: image))")
        }
        var memory = [UInt8](repeating: 0, count: size)
        guard memory.withUnsafeMutableBytes({ out in
            pixels.withUnsafeBytes { png_image_write_to_memory(&image, out.baseAddress, &size, 0, $0.baseAddress, Int32(width * 3), nil) }
        }) != 0 else { throw VisorError("PNG encoding failed: \(message(of: image))") }
        // Written as every output is (OutputFile): locked, never renamed over, 0600 when created.
        try OutputFile.write(Array(memory.prefix(size)), to: path, role: "snapshot")
    }

    private static func message(of image: png_image) -> String {
        var copy = image.message
        return withUnsafeBytes(of: &copy) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }
}
