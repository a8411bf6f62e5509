import VisorCore

/// How a camera's buffer holds its frame: a JPEG (an MJPEG webcam) or packed pixels.
public enum CameraBufferLayout: Sendable, Equatable {
    case jpeg
    case packed(RawPixelEncoding, widthPixels: Int, heightPixels: Int, stepBytes: Int)
}

/// Turns camera buffers into packed RGB frames: the one place where a device's bytes become a
/// `Frame` (the camera's own `nextFrame`, the runtime's `convert` stage and `record`'s redaction
/// all come here). The frame's pixel buffer is reused while the size holds.
public final class CameraBufferDecoder {
    private let jpeg = JPEGCodec()

    public init() {}

    /// Decodes `bytes` into `frame`'s pixels and size; the capture time is the caller's.
    /// - Throws: `VisorError` for a corrupt JPEG or a buffer too short for its layout.
    public func decode(_ bytes: UnsafeRawBufferPointer, layout: CameraBufferLayout, into frame: inout Frame) throws {
        switch layout {
        case .jpeg:
            let size = try jpeg.decode(bytes, into: &frame.pixels)
            frame.widthPixels = size.width
            frame.heightPixels = size.height
        case .packed(let encoding, let width, let height, let step):
            try PixelConverter.convertToRGB(bytes, encoding: encoding, widthPixels: width, heightPixels: height, stepBytes: step, into: &frame.pixels)
            frame.widthPixels = width
            frame.heightPixels = height
        }
    }
}
