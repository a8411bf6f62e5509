import CV4L2
import Foundation
import Logging
import VisorCore
import VisorMedia

/// A pixel format a camera offers, by its fourcc.
public struct CameraPixelFormat: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var fourcc: UInt32
    public init(fourcc: UInt32) { self.fourcc = fourcc }
    public static let yuyv = CameraPixelFormat(fourcc: VISOR_PIX_FMT_YUYV)
    public static let mjpeg = CameraPixelFormat(fourcc: VISOR_PIX_FMT_MJPEG)
    public var description: String {
        String(decoding: (0..<4).map { UInt8(truncatingIfNeeded: fourcc >> (8 * $0)) }, as: UTF8.self)
    }
}

/// What a camera offers: each format with its frame sizes and the frame rates of each size.
public struct CameraMode: Equatable, Sendable {
    public var format: CameraPixelFormat
    public var widthPixels: Int
    public var heightPixels: Int
    public var framesPerSecond: [Double]
}

/// What a camera is, as `visor devices` lists it.
public struct CameraDescription: Sendable {
    public var path: String
    public var card: String
    public var driver: String
    public var modes: [CameraMode]
}

/// What the camera granted when asked for a format, size and rate.
public struct CameraGrant: Equatable, Sendable {
    public var format: CameraPixelFormat
    public var widthPixels: Int
    public var heightPixels: Int
    public var framesPerSecond: Double
    public var bytesPerLine: Int

    public init(format: CameraPixelFormat, widthPixels: Int, heightPixels: Int, framesPerSecond: Double, bytesPerLine: Int) {
        self.format = format; self.widthPixels = widthPixels; self.heightPixels = heightPixels
        self.framesPerSecond = framesPerSecond; self.bytesPerLine = bytesPerLine
    }

    /// How the camera's buffers hold a frame in this format.
    public var bufferLayout: CameraBufferLayout {
        if format == .mjpeg { return .jpeg }
        return .packed(format == .yuyv ? .yuyv : .uyvy, widthPixels: widthPixels, heightPixels: heightPixels, stepBytes: bytesPerLine)
    }
}

/// A frame as it came off the camera.
public struct CapturedFrame: Sendable {
    /// The buffer's timestamp on the monotonic clock, in nanoseconds.
    public var captureTimeNanoseconds: UInt64
    public var sequence: UInt32
    /// Frames the driver dropped before this one (gaps in the sequence numbers).
    public var droppedBefore: UInt32
}

/// A V4L2 camera driven through libv4l2: capabilities checked, formats listed, the nearest mode
/// negotiated, MMAP streaming with a small ring of buffers and a poll loop, capture times from the
/// buffer timestamps, drops from the sequence numbers, and conversion to the working pixel format
/// (packed RGB) once, straight out of the mapped buffer.
public final class V4L2Camera {
    public let path: String
    public let card: String
    public let driver: String
    public private(set) var grant: CameraGrant?
    /// Frames lost between captured ones, counted from sequence gaps.
    public private(set) var droppedFrames = 0
    private let fd: Int32
    private var buffers: [(pointer: UnsafeMutableRawPointer, length: Int)] = []
    private var streaming = false
    private var lastSequence: UInt32?
    private let decoder = CameraBufferDecoder()
    private let logger = Logger(label: "visor.camera")

    /// Opens the device and checks that it captures video and streams.
    /// - Throws: `VisorError` naming the device and saying what to do.
    public init(path: String) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            throw VisorError("no camera at \(path) (no such device); `visor devices` lists the cameras")
        }
        let raw = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)
        guard raw >= 0 else { throw Self.openError(path, errno) }
        // Asked directly first, so that libv4l2 has nothing to complain about on stderr.
        var caps = v4l2_capability()
        guard visor_ioctl(raw, VISOR_VIDIOC_QUERYCAP, &caps) == 0 else {
            let code = errno
            close(raw)
            throw VisorError("\(path) is not a V4L2 device (\(String(cString: strerror(code))))")
        }
        // libv4l2 with its format emulation off: Visor converts frames itself, once.
        let fd = v4l2_fd_open(raw, Int32(V4L2_DISABLE_CONVERSION))
        guard fd >= 0 else {
            let code = errno
            close(raw)
            throw Self.openError(path, code)
        }
        let capabilities = (caps.capabilities & UInt32(V4L2_CAP_DEVICE_CAPS)) != 0 ? caps.device_caps : caps.capabilities
        var missing: [String] = []
        if capabilities & UInt32(V4L2_CAP_VIDEO_CAPTURE) == 0 { missing.append("video capture") }
        if capabilities & UInt32(V4L2_CAP_STREAMING) == 0 { missing.append("streaming I/O") }
        guard missing.isEmpty else {
            v4l2_close(fd)
            throw VisorError("\(path) is not a camera Visor can use: it lacks \(missing.joined(separator: " and "))")
        }
        self.fd = fd
        card = withUnsafeBytes(of: caps.card) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        driver = withUnsafeBytes(of: caps.driver) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
    }

    deinit {
        stop()
        v4l2_close(fd)
    }

    static func openError(_ path: String, _ code: Int32) -> VisorError {
        switch code {
        case EBUSY: return VisorError("camera \(path) is busy: another program is using it; close that program and try again")
        case EACCES, EPERM: return VisorError("no permission to open camera \(path); add yourself to the video group")
        case ENOENT, ENODEV, ENXIO: return VisorError("no camera at \(path) (no such device); `visor devices` lists the cameras")
        default: return VisorError("cannot open camera \(path): \(String(cString: strerror(code)))")
        }
    }

    // MARK: what the camera offers

    /// Every format, size and frame rate the camera offers (discrete sizes; a stepwise range is
    /// listed by its largest size).
    public func modes() -> [CameraMode] {
        var modes: [CameraMode] = []
        var formatIndex: UInt32 = 0
        while true {
            var desc = v4l2_fmtdesc()
            desc.index = formatIndex
            desc.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
            guard ioctl(VISOR_VIDIOC_ENUM_FMT, &desc) else { break }
            formatIndex += 1
            let format = CameraPixelFormat(fourcc: desc.pixelformat)
            var sizeIndex: UInt32 = 0
            while true {
                var size = v4l2_frmsizeenum()
                size.index = sizeIndex
                size.pixel_format = desc.pixelformat
                guard ioctl(VISOR_VIDIOC_ENUM_FRAMESIZES, &size) else { break }
                sizeIndex += 1
                let (w, h): (UInt32, UInt32) = size.type == V4L2_FRMSIZE_TYPE_DISCRETE.rawValue
                    ? (size.discrete.width, size.discrete.height) : (size.stepwise.max_width, size.stepwise.max_height)
                modes.append(CameraMode(format: format, widthPixels: Int(w), heightPixels: Int(h),
                                        framesPerSecond: frameRates(desc.pixelformat, w, h)))
                if size.type != V4L2_FRMSIZE_TYPE_DISCRETE.rawValue { break }
            }
        }
        return modes
    }

    private func frameRates(_ fourcc: UInt32, _ width: UInt32, _ height: UInt32) -> [Double] {
        var rates: [Double] = []
        var index: UInt32 = 0
        while true {
            var interval = v4l2_frmivalenum()
            interval.index = index
            interval.pixel_format = fourcc
            interval.width = width
            interval.height = height
            guard ioctl(VISOR_VIDIOC_ENUM_FRAMEINTERVALS, &interval) else { break }
            index += 1
            let fraction = interval.type == V4L2_FRMIVAL_TYPE_DISCRETE.rawValue ? interval.discrete : interval.stepwise.min
            if fraction.numerator > 0 { rates.append(Double(fraction.denominator) / Double(fraction.numerator)) }
            if interval.type != V4L2_FRMIVAL_TYPE_DISCRETE.rawValue { break }
        }
        return rates
    }

    public func describe() -> CameraDescription {
        CameraDescription(path: path, card: card, driver: driver, modes: modes())
    }

    // MARK: negotiation

    /// Picks the mode nearest to the request (formats Visor converts only: YUYV, then MJPEG, unless
    /// one is asked for), sets it, and reports what the driver granted.
    /// - Throws: `VisorError` if the camera offers neither format, or refuses the setting.
    @discardableResult
    public func configure(widthPixels: Int, heightPixels: Int, framesPerSecond: Double,
                          format preferred: CameraPixelFormat? = nil) throws -> CameraGrant {
        let usable = modes().filter { [.yuyv, .mjpeg].contains($0.format) && (preferred == nil || $0.format == preferred) }
        guard !usable.isEmpty else {
            let offered = Set(modes().map(\.format.description)).sorted().joined(separator: ", ")
            throw VisorError("camera \(path) offers no \(preferred.map { "\($0)" } ?? "YUYV or MJPEG") format (it offers \(offered.isEmpty ? "none" : offered))")
        }
        func cost(_ m: CameraMode) -> Double {
            let area = abs(log(Double(m.widthPixels * m.heightPixels) / Double(max(1, widthPixels * heightPixels))))
            let rate = m.framesPerSecond.map { abs(log($0 / framesPerSecond)) }.min() ?? 1
            return area * 4 + rate + (m.format == .yuyv ? 0 : 0.01)
        }
        let mode = usable.min { cost($0) < cost($1) }!
        var fmt = v4l2_format()
        fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        fmt.fmt.pix.width = UInt32(mode.widthPixels)
        fmt.fmt.pix.height = UInt32(mode.heightPixels)
        fmt.fmt.pix.pixelformat = mode.format.fourcc
        fmt.fmt.pix.field = V4L2_FIELD_NONE.rawValue
        guard ioctl(VISOR_VIDIOC_S_FMT, &fmt) else { throw failure("cannot set the format \(mode.format) \(mode.widthPixels)x\(mode.heightPixels)") }
        let rate = mode.framesPerSecond.min { abs($0 - framesPerSecond) < abs($1 - framesPerSecond) } ?? framesPerSecond
        var parm = v4l2_streamparm()
        parm.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        parm.parm.capture.timeperframe = v4l2_fract(numerator: 1000, denominator: UInt32((rate * 1000).rounded()))
        var grantedRate = rate
        if ioctl(VISOR_VIDIOC_S_PARM, &parm), parm.parm.capture.timeperframe.numerator > 0 {
            grantedRate = Double(parm.parm.capture.timeperframe.denominator) / Double(parm.parm.capture.timeperframe.numerator)
        }
        let granted = CameraGrant(format: CameraPixelFormat(fourcc: fmt.fmt.pix.pixelformat), widthPixels: Int(fmt.fmt.pix.width),
                                  heightPixels: Int(fmt.fmt.pix.height), framesPerSecond: grantedRate,
                                  bytesPerLine: Int(fmt.fmt.pix.bytesperline))
        grant = granted
        logger.info("\(path): asked \(widthPixels)x\(heightPixels)@\(framesPerSecond), granted \(granted.format) \(granted.widthPixels)x\(granted.heightPixels)@\(granted.framesPerSecond)")
        return granted
    }

    // MARK: streaming

    /// Requests `bufferCount` MMAP buffers, maps and queues them, and starts streaming.
    public func start(bufferCount: Int = 4) throws {
        guard grant != nil else { throw VisorError("camera \(path): configure it before starting") }
        var request = v4l2_requestbuffers()
        request.count = UInt32(bufferCount)
        request.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        request.memory = V4L2_MEMORY_MMAP.rawValue
        guard ioctl(VISOR_VIDIOC_REQBUFS, &request) else { throw failure("cannot get streaming buffers") }
        guard request.count >= 2 else { throw VisorError("camera \(path) gave only \(request.count) buffer(s); streaming needs two or more") }
        for index in 0..<request.count {
            var buffer = v4l2_buffer()
            buffer.index = index
            buffer.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
            buffer.memory = V4L2_MEMORY_MMAP.rawValue
            guard ioctl(VISOR_VIDIOC_QUERYBUF, &buffer) else { throw failure("cannot query buffer \(index)") }
            let pointer = v4l2_mmap(nil, Int(buffer.length), PROT_READ | PROT_WRITE, MAP_SHARED, fd, Int64(buffer.m.offset))
            guard let pointer, pointer != MAP_FAILED else { throw failure("cannot map buffer \(index)") }
            buffers.append((pointer, Int(buffer.length)))
            guard ioctl(VISOR_VIDIOC_QBUF, &buffer) else { throw failure("cannot queue buffer \(index)") }
        }
        var type = Int32(V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue)
        guard ioctl(VISOR_VIDIOC_STREAMON, &type) else { throw failure("cannot start streaming") }
        streaming = true
    }

    /// Waits up to `timeoutMilliseconds` for the next frame, converts it into `frame` (packed RGB,
    /// buffer reused while the size holds) and gives the buffer back to the driver. Returns nil
    /// on a timeout.
    /// - Throws: `VisorError` when the camera is gone (unplugged) or a frame cannot be decoded.
    public func nextFrame(into frame: inout Frame, timeoutMilliseconds: Int32 = 2000) throws -> CapturedFrame? {
        guard let grant else { throw VisorError("camera \(path) is not streaming") }
        var captured: CapturedFrame?
        _ = try nextRawFrame(timeoutMilliseconds: timeoutMilliseconds) { data, info in
            try decoder.decode(data, layout: grant.bufferLayout, into: &frame)
            frame.captureTimeNanoseconds = info.captureTimeNanoseconds
            captured = info
        }
        return captured
    }

    /// Waits up to `timeoutMilliseconds` for the next frame and hands `body` the bytes as the
    /// camera sent them, still in the mapped buffer, which goes back to the driver when `body`
    /// returns. Returns false on a timeout.
    /// - Throws: `VisorError` when the camera is gone (unplugged), or what `body` throws.
    public func nextRawFrame(timeoutMilliseconds: Int32 = 2000, _ body: (UnsafeRawBufferPointer, CapturedFrame) throws -> Void) throws -> Bool {
        guard streaming else { throw VisorError("camera \(path) is not streaming") }
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, timeoutMilliseconds)
        if ready < 0 { if errno == EINTR { return false }; throw disconnected(errno) }
        if ready == 0 { return false }
        if descriptor.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 && descriptor.revents & Int16(POLLIN) == 0 {
            throw disconnected(ENODEV)
        }
        var buffer = v4l2_buffer()
        buffer.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        buffer.memory = V4L2_MEMORY_MMAP.rawValue
        guard visor_v4l2_ioctl(fd, VISOR_VIDIOC_DQBUF, &buffer) == 0 else {
            if errno == EAGAIN || errno == EINTR { return false }
            throw disconnected(errno)
        }
        defer { var requeue = buffer; _ = visor_v4l2_ioctl(fd, VISOR_VIDIOC_QBUF, &requeue) }
        var dropped: UInt32 = 0
        if let last = lastSequence, buffer.sequence > last &+ 1 { dropped = buffer.sequence &- last &- 1 }
        lastSequence = buffer.sequence
        droppedFrames += Int(dropped)
        let time = UInt64(buffer.timestamp.tv_sec) * 1_000_000_000 + UInt64(buffer.timestamp.tv_usec) * 1000
        try body(UnsafeRawBufferPointer(start: buffers[Int(buffer.index)].pointer, count: Int(buffer.bytesused)),
                 CapturedFrame(captureTimeNanoseconds: time, sequence: buffer.sequence, droppedBefore: dropped))
        return true
    }

    /// Stops streaming and unmaps the buffers.
    public func stop() {
        if streaming {
            var type = Int32(V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue)
            _ = visor_v4l2_ioctl(fd, VISOR_VIDIOC_STREAMOFF, &type)
            streaming = false
        }
        for buffer in buffers { v4l2_munmap(buffer.pointer, buffer.length) }
        buffers.removeAll()
    }

    // MARK: helpers

    private func ioctl<T>(_ request: UInt, _ argument: inout T) -> Bool {
        while true {
            let result = withUnsafeMutablePointer(to: &argument) { visor_v4l2_ioctl(fd, request, $0) }
            if result == 0 { return true }
            if errno != EINTR { return false }
        }
    }

    private func failure(_ what: String) -> VisorError {
        let code = errno
        if code == EBUSY { return VisorError("camera \(path) is busy: another program is using it; close that program and try again") }
        if code == ENODEV || code == ENOTCONN || code == EIO { return disconnected(code) }
        return VisorError("camera \(path): \(what): \(String(cString: strerror(code)))")
    }

    private func disconnected(_ code: Int32) -> VisorError {
        VisorError("camera \(path) stopped delivering frames (\(String(cString: strerror(code)))): it was unplugged or its driver stopped; plug it back in and start again")
    }
}
