import CFUSE
import CV4L2
import Dispatch
import Foundation
import Logging
import VisorCore
import VisorMedia
import VisorSession

/// A V4L2 camera in user space: a FUSE file system whose `video0` file answers the V4L2 ioctls
/// as a UVC webcam does (formats, sizes, rates, MMAP streaming with poll, sequence numbers and
/// monotonic timestamps), and whose `video0-read` file serves the read() I/O method. Frames come
/// from a session, paced at its recorded rate or at `framesPerSecond`. Needs no kernel module:
/// only /dev/fuse.
///
/// Its mutable state is touched by FUSE's thread, the pacer and `stop()`: every field is read
/// and written with `lock` held, which is why it is `@unchecked Sendable`.
public final class VirtualCamera: @unchecked Sendable {
    public struct Options {
        public var mountDirectory: String
        /// Frames per second to serve at; nil takes the session's rate.
        public var framesPerSecond: Double?
        /// Start the session again at its end (a camera never runs out).
        public var loop = true
        /// A fault for tests: no frames from this many seconds after streaming starts, for
        /// `stallSeconds`, then frames again (a camera whose USB link hiccups).
        public var stallAfterSeconds: Double?
        public var stallSeconds: Double = 0
        public init(mountDirectory: String) { self.mountDirectory = mountDirectory }
    }

    struct Mode: Equatable { var fourcc: UInt32; var width: Int; var height: Int }

    private enum BufferState { case dequeued, queued, done }
    private struct Buffer {
        var state = BufferState.dequeued
        var bytesUsed = 0
        var sequence: UInt32 = 0
        var timestamp = timeval()
    }

    static let streamingInode: fuse_ino_t = 2
    static let readInode: fuse_ino_t = 3
    static let maxBuffers = 8

    public let modes: [(width: Int, height: Int)]
    public let framesPerSecond: Double
    private let options: Options
    private let frames: FrameSupply
    private let logger = Logger(label: "visor.vcam")
    private let lock = NSLock()
    private var session: OpaquePointer?
    private var mode: Mode
    private let stride: Int
    private let arena: UnsafeMutableRawPointer
    private var buffers: [Buffer] = []
    private var owner: UInt64?
    private var streaming = false
    private var queued: [Int] = []
    private var done: [Int] = []
    private var waitingDequeues: [fuse_req_t] = []
    private var waitingReads: [(req: fuse_req_t, size: Int)] = []
    private var pollHandle: OpaquePointer?
    private var sequence: UInt32 = 0
    /// Changes whenever streaming stops, so a frame stored meanwhile is not handed out.
    private var streamGeneration = 0
    private var nextHandle: UInt64 = 1
    private var running = true
    private let cardName: String

    /// - Throws: `VisorError` when the session has no camera frames or the directory is unusable.
    public init(sessionPath: String, options: Options) throws {
        frames = try FrameSupply(path: sessionPath, loop: options.loop)
        let native = (frames.width, frames.height)
        var sizes = [native]
        if native.0 >= 320 && native.0 % 4 == 0 && native.1 % 2 == 0 { sizes.append((native.0 / 2, native.1 / 2)) }
        modes = sizes
        framesPerSecond = options.framesPerSecond ?? frames.framesPerSecond
        self.options = options
        mode = Mode(fourcc: VISOR_PIX_FMT_YUYV, width: native.0, height: native.1)
        let frameBytes = native.0 * native.1 * 2
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        stride = (frameBytes + page - 1) / page * page
        arena = UnsafeMutableRawPointer.allocate(byteCount: stride * Self.maxBuffers, alignment: page)
        arena.initializeMemory(as: UInt8.self, repeating: 0, count: stride * Self.maxBuffers)
        cardName = "Visor vcam: \((sessionPath as NSString).lastPathComponent)"
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: options.mountDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw VisorError("mount point \(options.mountDirectory) is not a directory; create it first (mkdir -p \(options.mountDirectory))")
        }
    }

    deinit { arena.deallocate() }

    /// The size of the device file: every buffer, so that a mapping never runs past its end.
    var fileSize: Int { stride * Self.maxBuffers }

    /// Mounts the file system and serves until `stop()` or SIGINT, SIGTERM or SIGHUP, then unmounts.
    public func run(onMounted: () -> Void = {}) throws {
        var ops = fuse_lowlevel_ops()
        installCallbacks(&ops)
        let argv = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: 2)
        argv[0] = strdup("visor-vcam")
        argv[1] = nil
        defer { free(argv[0]); argv.deallocate() }
        var args = fuse_args(argc: 1, argv: argv, allocated: 0)
        let userdata = Unmanaged.passUnretained(self).toOpaque()
        guard let se = fuse_session_new(&args, &ops, MemoryLayout<fuse_lowlevel_ops>.size, userdata) else {
            throw VisorError("FUSE could not start a session (is /dev/fuse there?)")
        }
        session = se
        defer { fuse_session_destroy(se); session = nil }
        guard fuse_set_signal_handlers(se) == 0 else { throw VisorError("FUSE could not install its signal handlers") }
        defer { fuse_remove_signal_handlers(se) }
        guard fuse_session_mount(se, options.mountDirectory) == 0 else {
            throw VisorError("cannot mount the virtual camera at \(options.mountDirectory): FUSE refused (is something mounted there already? try fusermount3 -u \(options.mountDirectory))")
        }
        defer { fuse_session_unmount(se) }
        let pacer = WorkerThread(name: "visor-vcam-pacer") { [unowned self] in self.paceFrames() }
        onMounted()
        _ = fuse_session_loop(se)
        lock.lock()
        running = false
        lock.unlock()
        pacer.join()
    }

    /// Ends `run()` from another thread.
    public func stop() {
        lock.lock()
        running = false
        let se = session
        lock.unlock()
        if let se { fuse_session_exit(se) }
    }

    // MARK: frames

    private func paceFrames() {
        let interval = 1e9 / framesPerSecond
        let start = DispatchTime.now().uptimeNanoseconds
        var tick: UInt64 = 0
        var scratch: [UInt8] = []
        let jpeg = JPEGCodec()
        while true {
            tick += 1
            let due = start + UInt64(Double(tick) * interval)
            while DispatchTime.now().uptimeNanoseconds < due {
                lock.lock(); let stillRunning = running; lock.unlock()
                if !stillRunning { return }
                usleep(UInt32(max(100, min(5000, (due &- DispatchTime.now().uptimeNanoseconds) / 1000))))
            }
            lock.lock()
            let wanted = streaming || !waitingReads.isEmpty
            let current = mode
            lock.unlock()
            guard wanted else { continue }
            if let after = options.stallAfterSeconds {
                let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                if elapsed >= after && elapsed < after + options.stallSeconds { continue }
            }
            guard let frame = frames.next() else { continue }
            var rgb = frame.pixels
            if current.width != frame.widthPixels {
                PixelConverter.halveRGB(frame.pixels, widthPixels: frame.widthPixels, heightPixels: frame.heightPixels, into: &scratch)
                rgb = scratch
            }
            var encoded: [UInt8]
            if current.fourcc == VISOR_PIX_FMT_MJPEG {
                guard let jpegBytes = try? jpeg.encode(rgb: rgb, widthPixels: current.width, heightPixels: current.height, quality: 90) else { continue }
                encoded = jpegBytes
            } else {
                encoded = [UInt8](repeating: 0, count: current.width * current.height * 2)
                rgb.withUnsafeBufferPointer { src in
                    encoded.withUnsafeMutableBufferPointer { PixelConverter.convertRGBToYUYV(src, widthPixels: current.width, heightPixels: current.height, into: $0) }
                }
            }
            encoded.withUnsafeBytes { bytes in deliver(bytes, mode: current) }
        }
    }

    /// Hands a produced frame to the client: into the first queued buffer (pushed into the page
    /// cache so the client's mapping sees it), or dropped when none is queued; and to waiting readers.
    private func deliver(_ bytes: UnsafeRawBufferPointer, mode produced: Mode) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let stamp = timeval(tv_sec: now.tv_sec, tv_usec: now.tv_nsec / 1000)
        lock.lock()
        guard produced == mode else { lock.unlock(); return }
        for (req, size) in waitingReads {
            _ = fuse_reply_buf(req, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), min(size, bytes.count))
        }
        waitingReads.removeAll()
        guard streaming else { lock.unlock(); return }
        defer { sequence &+= 1 }
        guard !queued.isEmpty else { lock.unlock(); return }  // no buffer queued: the frame is dropped
        let index = queued.removeFirst()
        let generation = streamGeneration
        let count = min(bytes.count, stride)
        let target = arena + index * stride
        target.copyMemory(from: bytes.baseAddress!, byteCount: count)
        buffers[index].bytesUsed = count
        buffers[index].sequence = sequence
        buffers[index].timestamp = stamp
        let se = session
        lock.unlock()
        // Outside the lock: the kernel may wait on a page that a read request of ours holds.
        if let se {
            var vector = fuse_bufvec(count: 1, idx: 0, off: 0, buf: fuse_buf(size: count, flags: fuse_buf_flags(0), mem: target, fd: -1, pos: 0))
            _ = fuse_lowlevel_notify_store(se, Self.streamingInode, off_t(index * stride), &vector, fuse_buf_copy_flags(0))
        }
        lock.lock()
        defer { lock.unlock() }
        // Streaming stopped, or the buffers were freed, while the frame was being stored.
        guard generation == streamGeneration, index < buffers.count else { return }
        buffers[index].state = .done
        done.append(index)
        if !waitingDequeues.isEmpty { replyDequeue(waitingDequeues.removeFirst()) }
        if let handle = pollHandle {
            fuse_lowlevel_notify_poll(handle)
            fuse_pollhandle_destroy(handle)
            pollHandle = nil
        }
    }

    // MARK: V4L2 ioctls (called on the FUSE thread)

    func handleIoctl(_ req: fuse_req_t, _ ino: fuse_ino_t, command: UInt, fh: UInt64, nonblocking: Bool,
                     input: UnsafeRawPointer?, inputSize: Int, outputSize: Int) {
        func reply<T>(_ value: T) {
            var copy = value
            withUnsafeBytes(of: &copy) { raw in _ = fuse_reply_ioctl(req, 0, raw.baseAddress, min(raw.count, outputSize)) }
        }
        func read<T>(_ type: T.Type) -> T? {
            guard let input, inputSize >= MemoryLayout<T>.size else { return nil }
            return input.loadUnaligned(as: T.self)
        }
        func fail(_ code: Int32) {
            logger.debug("ioctl 0x\(String(command, radix: 16)) (in \(inputSize), out \(outputSize) bytes) fails: \(String(cString: strerror(code)))")
            _ = fuse_reply_err(req, code)
        }
        lock.lock()
        defer { lock.unlock() }
        switch command {
        case VISOR_VIDIOC_QUERYCAP:
            var caps = v4l2_capability()
            fill(&caps.driver, "visor-vcam")
            fill(&caps.card, cardName)
            fill(&caps.bus_info, "platform:visor-vcam")
            caps.version = 0x0006_0100
            let device = ino == Self.readInode ? UInt32(V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_READWRITE) : UInt32(V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING)
            caps.device_caps = device
            caps.capabilities = device | UInt32(V4L2_CAP_DEVICE_CAPS)
            reply(caps)
        case VISOR_VIDIOC_ENUM_FMT:
            guard var desc = read(v4l2_fmtdesc.self), desc.type == V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue, desc.index < 2 else { return fail(EINVAL) }
            let mjpeg = desc.index == 1
            desc.pixelformat = mjpeg ? VISOR_PIX_FMT_MJPEG : VISOR_PIX_FMT_YUYV
            desc.flags = mjpeg ? UInt32(V4L2_FMT_FLAG_COMPRESSED) : 0
            fill(&desc.description, mjpeg ? "Motion-JPEG" : "YUYV 4:2:2")
            reply(desc)
        case VISOR_VIDIOC_G_FMT:
            guard var format = read(v4l2_format.self), format.type == V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue else { return fail(EINVAL) }
            describe(mode, into: &format)
            reply(format)
        case VISOR_VIDIOC_S_FMT, VISOR_VIDIOC_TRY_FMT:
            guard var format = read(v4l2_format.self), format.type == V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue else { return fail(EINVAL) }
            let chosen = nearestMode(fourcc: format.fmt.pix.pixelformat, width: Int(format.fmt.pix.width), height: Int(format.fmt.pix.height))
            if command == VISOR_VIDIOC_S_FMT {
                if owner != nil && owner != fh || streaming { return fail(EBUSY) }
                mode = chosen
            }
            describe(chosen, into: &format)
            reply(format)
        case VISOR_VIDIOC_ENUM_FRAMESIZES:
            guard var size = read(v4l2_frmsizeenum.self), [VISOR_PIX_FMT_YUYV, VISOR_PIX_FMT_MJPEG].contains(size.pixel_format),
                  Int(size.index) < modes.count else { return fail(EINVAL) }
            size.type = V4L2_FRMSIZE_TYPE_DISCRETE.rawValue
            size.discrete = v4l2_frmsize_discrete(width: UInt32(modes[Int(size.index)].width), height: UInt32(modes[Int(size.index)].height))
            reply(size)
        case VISOR_VIDIOC_ENUM_FRAMEINTERVALS:
            guard var interval = read(v4l2_frmivalenum.self), interval.index == 0,
                  modes.contains(where: { $0.width == Int(interval.width) && $0.height == Int(interval.height) }) else { return fail(EINVAL) }
            interval.type = V4L2_FRMIVAL_TYPE_DISCRETE.rawValue
            interval.discrete = timePerFrame
            reply(interval)
        case VISOR_VIDIOC_G_PARM, VISOR_VIDIOC_S_PARM:
            guard var parm = read(v4l2_streamparm.self), parm.type == V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue else { return fail(EINVAL) }
            parm.parm.capture = v4l2_captureparm()
            parm.parm.capture.capability = UInt32(V4L2_CAP_TIMEPERFRAME)
            parm.parm.capture.timeperframe = timePerFrame
            parm.parm.capture.readbuffers = 2
            reply(parm)
        case VISOR_VIDIOC_ENUMINPUT:
            guard var input = read(v4l2_input.self), input.index == 0 else { return fail(EINVAL) }
            fill(&input.name, "Camera")
            input.type = UInt32(V4L2_INPUT_TYPE_CAMERA)
            reply(input)
        case VISOR_VIDIOC_G_INPUT:
            reply(Int32(0))
        case VISOR_VIDIOC_S_INPUT:
            guard read(Int32.self) == 0 else { return fail(EINVAL) }
            reply(Int32(0))
        case VISOR_VIDIOC_REQBUFS:
            guard var request = read(v4l2_requestbuffers.self), request.type == V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue,
                  request.memory == V4L2_MEMORY_MMAP.rawValue, ino == Self.streamingInode else { return fail(EINVAL) }
            if let owner, owner != fh { return fail(EBUSY) }
            if streaming { return fail(EBUSY) }
            if request.count == 0 {
                releaseBuffers()
            } else {
                let count = min(Int(request.count), Self.maxBuffers)
                buffers = Array(repeating: Buffer(), count: count)
                owner = fh
                request.count = UInt32(count)
            }
            request.capabilities = UInt32(V4L2_BUF_CAP_SUPPORTS_MMAP)
            reply(request)
        case VISOR_VIDIOC_QUERYBUF, VISOR_VIDIOC_QBUF:
            guard var buffer = read(v4l2_buffer.self), owner == fh, Int(buffer.index) < buffers.count,
                  buffer.type == V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue else { return fail(EINVAL) }
            let index = Int(buffer.index)
            if command == VISOR_VIDIOC_QBUF {
                guard buffers[index].state == .dequeued else { return fail(EINVAL) }
                buffers[index].state = .queued
                queued.append(index)
            }
            describe(index, into: &buffer)
            reply(buffer)
        case VISOR_VIDIOC_DQBUF:
            guard owner == fh else { return fail(EINVAL) }
            if !done.isEmpty { return replyDequeue(req) }
            guard streaming else { return fail(EINVAL) }
            if nonblocking { return fail(EAGAIN) }
            waitingDequeues.append(req)
        case VISOR_VIDIOC_STREAMON:
            guard owner == fh, !buffers.isEmpty else { return fail(EINVAL) }
            if !streaming { streaming = true; sequence = 0 }
            _ = fuse_reply_ioctl(req, 0, nil, 0)
        case VISOR_VIDIOC_STREAMOFF:
            guard owner == fh else { return fail(EINVAL) }
            stopStreaming()
            _ = fuse_reply_ioctl(req, 0, nil, 0)
        default:
            fail(ENOTTY)
        }
    }

    private var timePerFrame: v4l2_fract { v4l2_fract(numerator: 1000, denominator: UInt32((framesPerSecond * 1000).rounded())) }

    private func nearestMode(fourcc: UInt32, width: Int, height: Int) -> Mode {
        let format = fourcc == VISOR_PIX_FMT_MJPEG ? VISOR_PIX_FMT_MJPEG : VISOR_PIX_FMT_YUYV
        let size = modes.min { abs($0.width * $0.height - width * height) < abs($1.width * $1.height - width * height) }!
        return Mode(fourcc: format, width: size.width, height: size.height)
    }

    private func describe(_ mode: Mode, into format: inout v4l2_format) {
        var pix = v4l2_pix_format()
        pix.width = UInt32(mode.width)
        pix.height = UInt32(mode.height)
        pix.pixelformat = mode.fourcc
        pix.field = V4L2_FIELD_NONE.rawValue
        pix.bytesperline = mode.fourcc == VISOR_PIX_FMT_YUYV ? UInt32(mode.width * 2) : 0
        pix.sizeimage = UInt32(mode.width * mode.height * 2)
        pix.colorspace = mode.fourcc == VISOR_PIX_FMT_YUYV ? V4L2_COLORSPACE_SMPTE170M.rawValue : V4L2_COLORSPACE_JPEG.rawValue
        format.fmt.pix = pix
    }

    private func describe(_ index: Int, into buffer: inout v4l2_buffer) {
        let b = buffers[index]
        buffer.memory = V4L2_MEMORY_MMAP.rawValue
        buffer.length = UInt32(mode.width * mode.height * 2)
        buffer.m.offset = UInt32(index * stride)
        buffer.bytesused = UInt32(b.bytesUsed)
        buffer.field = V4L2_FIELD_NONE.rawValue
        var flags = UInt32(V4L2_BUF_FLAG_MAPPED | V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC | V4L2_BUF_FLAG_TSTAMP_SRC_EOF)
        if b.state == .queued { flags |= UInt32(V4L2_BUF_FLAG_QUEUED) }
        if b.state == .done { flags |= UInt32(V4L2_BUF_FLAG_DONE) }
        buffer.flags = flags
        buffer.sequence = b.sequence
        buffer.timestamp = b.timestamp
    }

    /// Replies to a DQBUF with the oldest filled buffer. Call with the lock held.
    private func replyDequeue(_ req: fuse_req_t) {
        let index = done.removeFirst()
        var buffer = v4l2_buffer()
        buffer.index = UInt32(index)
        buffer.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
        describe(index, into: &buffer)
        buffer.flags &= ~UInt32(V4L2_BUF_FLAG_DONE)
        buffers[index].state = .dequeued
        _ = withUnsafeBytes(of: &buffer) { fuse_reply_ioctl(req, 0, $0.baseAddress, $0.count) }
    }

    private func stopStreaming() {
        streaming = false
        streamGeneration += 1
        for req in waitingDequeues { _ = fuse_reply_err(req, EINVAL) }
        waitingDequeues.removeAll()
        queued.removeAll()
        done.removeAll()
        for i in buffers.indices { buffers[i].state = .dequeued }
    }

    /// Frees the buffers; their owner closed the device or asked for zero.
    private func releaseBuffers() {
        stopStreaming()
        buffers.removeAll()
        owner = nil
        if let handle = pollHandle { fuse_pollhandle_destroy(handle); pollHandle = nil }
    }

    // MARK: file operations (called on the FUSE thread)

    func openHandle(_ ino: fuse_ino_t) -> UInt64 {
        lock.lock(); defer { lock.unlock() }
        nextHandle += 1
        return nextHandle
    }

    func release(_ fh: UInt64) {
        lock.lock(); defer { lock.unlock() }
        if owner == fh { releaseBuffers() }
    }

    func readMapped(_ req: fuse_req_t, size: Int, offset: Int) {
        lock.lock(); defer { lock.unlock() }
        let end = min(offset + size, fileSize)
        guard offset < end else { _ = fuse_reply_buf(req, nil, 0); return }
        _ = fuse_reply_buf(req, (arena + offset).assumingMemoryBound(to: CChar.self), end - offset)
    }

    func readFrame(_ req: fuse_req_t, size: Int) {
        lock.lock(); defer { lock.unlock() }
        waitingReads.append((req, size))
    }

    func poll(_ req: fuse_req_t, ino: fuse_ino_t, handle: OpaquePointer?) {
        lock.lock(); defer { lock.unlock() }
        if ino == Self.readInode {
            if let handle { fuse_pollhandle_destroy(handle) }
            _ = fuse_reply_poll(req, UInt32(POLLIN | POLLRDNORM))
            return
        }
        if !done.isEmpty {
            if let handle { fuse_pollhandle_destroy(handle) }
            _ = fuse_reply_poll(req, UInt32(POLLIN | POLLRDNORM))
            return
        }
        if let handle {
            if let old = pollHandle { fuse_pollhandle_destroy(old) }
            pollHandle = handle
        }
        _ = fuse_reply_poll(req, streaming ? 0 : UInt32(POLLERR))
    }

    private func fill<T>(_ field: inout T, _ text: String) {
        withUnsafeMutableBytes(of: &field) { raw in
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            let bytes = Array(text.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
        }
    }
}

/// Decoded frames of a session, one after another, from the start again at the end.
final class FrameSupply {
    let source: SessionSource
    let width: Int
    let height: Int
    let framesPerSecond: Double
    private let loop: Bool
    private var messages: MCAPMessageIterator
    private var frame = Frame(widthPixels: 0, heightPixels: 0, pixels: [], captureTimeNanoseconds: 0)
    private let decoder = FrameDecoder()

    init(path: String, loop: Bool) throws {
        source = try SessionSource(path: path)
        let count = source.cameraMessageCount
        guard count > 0 else { throw VisorError("\(path) has no camera frames to serve") }
        self.loop = loop
        decoder.rotationClockwiseDegrees = source.cameraRotationClockwiseDegrees
        var first = source.reader.messages(channelIDs: [source.cameraChannel.id])
        guard let message = first.next() else { throw VisorError("\(path) has no readable camera frames") }
        try decoder.decode(message, schema: source.cameraSchema, topic: source.cameraChannel.topic, into: &frame)
        guard frame.widthPixels % 2 == 0 else { throw VisorError("\(path): frames \(frame.widthPixels) pixels wide cannot be served as YUYV (the width must be even)") }
        width = frame.widthPixels
        height = frame.heightPixels
        // The recorded rate: frames over the camera channel's time span.
        var last: UInt64 = 0, firstTime: UInt64?
        for m in source.reader.messages(channelIDs: [source.cameraChannel.id]) { firstTime = firstTime ?? m.logTime; last = m.logTime }
        let span = Double(last &- (firstTime ?? last)) / 1e9
        framesPerSecond = count > 1 && span > 0 ? Double(count - 1) / span : 30
        messages = source.reader.messages(channelIDs: [source.cameraChannel.id])
    }

    /// The next frame in the working pixel format, or nil at the end (without `loop`).
    func next() -> Frame? {
        var message = messages.next()
        if message == nil && loop {
            messages = source.reader.messages(channelIDs: [source.cameraChannel.id])
            message = messages.next()
        }
        guard let message else { return nil }
        do {
            try decoder.decode(message, schema: source.cameraSchema, topic: source.cameraChannel.topic, into: &frame)
        } catch {
            return nil
        }
        guard frame.widthPixels == width, frame.heightPixels == height else { return nil }
        return frame
    }
}
