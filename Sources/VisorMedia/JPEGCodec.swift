import CTurboJPEG
import VisorCore

/// JPEG compression and decompression through libturbojpeg. One instance holds one set of
/// libjpeg handles; it is not thread-safe, so give each thread its own.
public final class JPEGCodec {
    private var decompressor: tjhandle?
    private var compressor: tjhandle?

    public init() {}

    deinit {
        if let decompressor { tjDestroy(decompressor) }
        if let compressor { tjDestroy(compressor) }
    }

    /// Reads the width and height from a JPEG header without decoding the pixels.
    public func dimensions(of jpeg: UnsafeRawBufferPointer) throws -> (width: Int, height: Int) {
        let handle = try decompressorHandle()
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        guard let base = jpeg.bindMemory(to: UInt8.self).baseAddress,
              tjDecompressHeader3(handle, base, UInt(jpeg.count), &width, &height, &subsampling, &colorspace) == 0
        else { throw VisorError("not a readable JPEG image: \(lastError(handle))") }
        return (Int(width), Int(height))
    }

    /// Decodes a JPEG into packed RGB in `output` (resized to fit). Returns the size.
    /// - Parameter maxPixels: refuse images larger than this, before allocating.
    @discardableResult
    public func decode(_ jpeg: UnsafeRawBufferPointer, into output: inout [UInt8],
                       maxPixels: Int = 64_000_000) throws -> (width: Int, height: Int) {
        let (width, height) = try dimensions(of: jpeg)
        guard width > 0, height > 0, width * height <= maxPixels else {
            throw VisorError("JPEG image of \(width)x\(height) pixels is larger than Visor accepts (\(maxPixels) pixels)")
        }
        let handle = try decompressorHandle()
        let needed = width * height * 3
        if output.count != needed { output = [UInt8](repeating: 0, count: needed) }
        let status = output.withUnsafeMutableBufferPointer { dst in
            tjDecompress2(handle, jpeg.bindMemory(to: UInt8.self).baseAddress, UInt(jpeg.count),
                          dst.baseAddress, Int32(width), 0, Int32(height), Int32(TJPF_RGB.rawValue), 0)
        }
        // A warning (corrupt tail, say) still yields an image; an error does not.
        if status != 0 && tjGetErrorCode(handle) == Int32(TJERR_FATAL.rawValue) {
            throw VisorError("JPEG image could not be decoded: \(lastError(handle))")
        }
        return (width, height)
    }

    /// Encodes packed RGB as a baseline 4:2:0 JPEG at `quality` (1-100).
    public func encode(rgb: [UInt8], widthPixels: Int, heightPixels: Int, quality: Int = 85) throws -> [UInt8] {
        if compressor == nil { compressor = tjInitCompress() }
        guard let handle = compressor else { throw VisorError("libturbojpeg could not start a compressor") }
        var buffer: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let status = rgb.withUnsafeBufferPointer { src in
            tjCompress2(handle, src.baseAddress, Int32(widthPixels), 0, Int32(heightPixels), Int32(TJPF_RGB.rawValue),
                        &buffer, &size, Int32(TJSAMP_420.rawValue), Int32(quality), 0)
        }
        defer { if let buffer { tjFree(buffer) } }
        guard status == 0, let buffer else { throw VisorError("JPEG encoding failed: \(lastError(handle))") }
        return Array(UnsafeBufferPointer(start: buffer, count: Int(size)))
    }

    private func decompressorHandle() throws -> tjhandle {
        if decompressor == nil { decompressor = tjInitDecompress() }
        guard let decompressor else { throw VisorError("libturbojpeg could not start a decompressor") }
        return decompressor
    }

    private func lastError(_ handle: tjhandle) -> String {
        guard let text = tjGetErrorStr2(handle) else { return "unknown error" }
        return String(cString: text)
    }
}
