/// A camera frame in Visor's working pixel format (packed 8-bit RGB, row-major, no padding).
///
/// Frames are values: a stage that changes pixels makes its own copy. `captureTimeNanoseconds`
/// is on the session's monotonic clock (the V4L2 buffer timestamp live, the log time in replay).
public struct Frame: Sendable {
    public var widthPixels: Int
    public var heightPixels: Int
    /// `widthPixels * heightPixels * 3` bytes, R, G, B.
    public var pixels: [UInt8]
    public var captureTimeNanoseconds: UInt64

    public init(widthPixels: Int, heightPixels: Int, pixels: [UInt8], captureTimeNanoseconds: UInt64) {
        precondition(pixels.count == widthPixels * heightPixels * 3, "frame buffer does not match its size")
        self.widthPixels = widthPixels
        self.heightPixels = heightPixels
        self.pixels = pixels
        self.captureTimeNanoseconds = captureTimeNanoseconds
    }
}
