import Foundation
import VisorCore
import VisorDevices
import VisorMedia
import VisorSession
import VisorTestSupport
import XCTest

/// The real V4L2 capture code (libv4l2, MMAP streaming, poll) against Visor's virtual camera,
/// served by the real `visor vcam` over FUSE.
final class VirtualCameraTests: XCTestCase {
    private var server: Process?
    private var mountPoint: URL!

    override func setUpWithError() throws {
        guard FileManager.default.fileExists(atPath: "/dev/fuse") else { throw XCTSkip("no /dev/fuse on this machine") }
        mountPoint = try TestSupport.temporaryDirectory(self).appendingPathComponent("cam")
    }

    override func tearDown() {
        if let server, server.isRunning { server.terminate(); server.waitUntilExit() }
        // A killed server leaves a dead mount behind.
        _ = try? TestSupport.run("/bin/umount", ["-l", mountPoint.path])
    }

    private func startServer(_ fixture: String = "street.mcap", fps: String = "100") throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestSupport.visorPath)
        process.arguments = ["vcam", TestSupport.fixture(fixture), "--mount", mountPoint.path, "--fps", fps]
        process.standardOutput = FileHandle.nullDevice
        let log = mountPoint.deletingLastPathComponent().appendingPathComponent("vcam.log")
        XCTAssertTrue(FileManager.default.createFile(atPath: log.path, contents: nil))
        process.standardError = try FileHandle(forWritingTo: log)
        process.environment = ProcessInfo.processInfo.environment.merging(["VISOR_LOG_LEVEL": "debug"]) { $1 }
        try process.run()
        server = process
        let device = mountPoint.appendingPathComponent("video0").path
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: device) { usleep(20_000) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: device), "the virtual camera did not appear")
        return device
    }

    /// The session's frames in the working pixel format.
    private func sessionFrames(_ fixture: String) throws -> [Frame] {
        let source = try SessionSource(path: TestSupport.fixture(fixture))
        var frames: [Frame] = []
        var samples = source.samples()
        while let sample = try samples.next() { if case .frame(let f) = sample { frames.append(f) } }
        return frames
    }

    /// Mean absolute difference per channel, over every byte.
    private func meanError(_ a: [UInt8], _ b: [UInt8]) -> Double {
        precondition(a.count == b.count)
        var total = 0
        a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in
            for i in 0..<x.count { total += abs(Int(x[i]) - Int(y[i])) }
        } }
        return Double(total) / Double(a.count)
    }

    func testStreamsAHundredYUYVFramesEqualToTheSession() throws {
        let device = try startServer()
        let camera = try V4L2Camera(path: device)
        XCTAssertEqual(camera.driver, "visor-vcam")
        let grant = try camera.configure(widthPixels: 640, heightPixels: 480, framesPerSecond: 100, format: .yuyv)
        XCTAssertEqual(grant, CameraGrant(format: .yuyv, widthPixels: 640, heightPixels: 480, framesPerSecond: 100, bytesPerLine: 1280))
        try camera.start(bufferCount: 4)
        let reference = try sessionFrames("street.mcap")
        var expectedByFrame: [Int: [UInt8]] = [:]
        var captured = 0
        var lastTime: UInt64 = 0
        var sequences: [UInt32] = []
        while captured < 100 {
            let got = try camera.nextRawFrame { bytes, info in
                let index = Int(info.sequence) % reference.count
                let expected = expectedByFrame[index] ?? {
                    var yuyv = [UInt8](repeating: 0, count: 640 * 480 * 2)
                    reference[index].pixels.withUnsafeBufferPointer { src in
                        yuyv.withUnsafeMutableBufferPointer { PixelConverter.convertRGBToYUYV(src, widthPixels: 640, heightPixels: 480, into: $0) }
                    }
                    expectedByFrame[index] = yuyv
                    return yuyv
                }()
                XCTAssertEqual(bytes.count, expected.count)
                let same = expected.withUnsafeBytes { memcmp($0.baseAddress!, bytes.baseAddress!, expected.count) == 0 }
                XCTAssertTrue(same, "frame \(info.sequence): every YUYV byte")
                XCTAssertGreaterThan(info.captureTimeNanoseconds, lastTime, "monotonic timestamps")
                lastTime = info.captureTimeNanoseconds
                sequences.append(info.sequence)
            }
            XCTAssertTrue(got, "a frame within 2 s")
            if !got { break }
            captured += 1
        }
        XCTAssertEqual(sequences, sequences.sorted())
        XCTAssertEqual(camera.droppedFrames, Int(sequences.last! - sequences.first!) + 1 - sequences.count, "drops counted from sequence gaps")
        // Converted to RGB, the frames are the session's within YUYV's chroma subsampling.
        var frame = Frame(widthPixels: 0, heightPixels: 0, pixels: [], captureTimeNanoseconds: 0)
        let info = try XCTUnwrap(try camera.nextFrame(into: &frame))
        let source = reference[Int(info.sequence) % reference.count]
        XCTAssertLessThan(meanError(frame.pixels, source.pixels), 6)
        camera.stop()
    }

    func testStreamsMJPEGWithinTheJPEGRoundTrip() throws {
        let device = try startServer("sign.mcap")
        let camera = try V4L2Camera(path: device)
        let grant = try camera.configure(widthPixels: 640, heightPixels: 480, framesPerSecond: 30, format: .mjpeg)
        XCTAssertEqual(grant.format, .mjpeg)
        try camera.start()
        let reference = try sessionFrames("sign.mcap")
        var frame = Frame(widthPixels: 0, heightPixels: 0, pixels: [], captureTimeNanoseconds: 0)
        var checked = 0
        while checked < 100 {
            guard let info = try camera.nextFrame(into: &frame) else { XCTFail("no frame within 2 s"); break }
            let source = reference[Int(info.sequence) % reference.count]
            XCTAssertEqual(frame.widthPixels, 640)
            XCTAssertLessThan(meanError(frame.pixels, source.pixels), 4, "frame \(info.sequence)")
            checked += 1
        }
    }

    func testNegotiatesTheNearestMode() throws {
        let device = try startServer()
        let camera = try V4L2Camera(path: device)
        let modes = camera.modes().filter { [.yuyv, .mjpeg].contains($0.format) }
        XCTAssertEqual(modes.map { "\($0.format) \($0.widthPixels)x\($0.heightPixels)" }.sorted(),
                       ["MJPG 320x240", "MJPG 640x480", "YUYV 320x240", "YUYV 640x480"])
        XCTAssertTrue(modes.allSatisfy { $0.framesPerSecond == [100] })
        var grant = try camera.configure(widthPixels: 1280, heightPixels: 720, framesPerSecond: 30, format: .mjpeg)
        XCTAssertEqual([grant.widthPixels, grant.heightPixels], [640, 480])
        XCTAssertEqual(grant.format, .mjpeg)
        grant = try camera.configure(widthPixels: 300, heightPixels: 200, framesPerSecond: 30)
        XCTAssertEqual([grant.widthPixels, grant.heightPixels], [320, 240])
        XCTAssertEqual(grant.format, .yuyv, "YUYV is preferred: no decoding")
        try camera.start()
        var frame = Frame(widthPixels: 0, heightPixels: 0, pixels: [], captureTimeNanoseconds: 0)
        XCTAssertNotNil(try camera.nextFrame(into: &frame))
        XCTAssertEqual(frame.widthPixels, 320)
        // A second client cannot take the streaming camera.
        let other = try V4L2Camera(path: device)
        XCTAssertThrowsError(try other.configure(widthPixels: 640, heightPixels: 480, framesPerSecond: 30)) {
            XCTAssertTrue(($0 as? VisorError)?.message.contains("is busy") ?? false, "\($0)")
        }
    }

    func testServerKilledMidStreamIsACleanError() throws {
        let device = try startServer()
        let camera = try V4L2Camera(path: device)
        try camera.configure(widthPixels: 640, heightPixels: 480, framesPerSecond: 100)
        try camera.start()
        var frame = Frame(widthPixels: 0, heightPixels: 0, pixels: [], captureTimeNanoseconds: 0)
        XCTAssertNotNil(try camera.nextFrame(into: &frame))
        kill(server!.processIdentifier, SIGKILL)
        server!.waitUntilExit()
        var caught: Error?
        for _ in 0..<5 {
            do { _ = try camera.nextFrame(into: &frame, timeoutMilliseconds: 500) } catch { caught = error; break }
        }
        let message = try XCTUnwrap((caught as? VisorError)?.message)
        XCTAssertTrue(message.hasPrefix("camera \(device) stopped delivering frames"), message)
    }

    func testMissingAndWrongDevices() throws {
        XCTAssertThrowsError(try V4L2Camera(path: "/dev/video-nope")) {
            XCTAssertEqual(($0 as? VisorError)?.message, "no camera at /dev/video-nope (no such device); `visor devices` lists the cameras")
        }
        XCTAssertThrowsError(try V4L2Camera(path: "/dev/null")) {
            XCTAssertTrue(($0 as? VisorError)?.message.hasPrefix("/dev/null is not a V4L2 device") ?? false, "\($0)")
        }
    }
}

extension VirtualCameraTests {
    func testReadMethodServesWholeFramesAndUnmountsOnSIGTERM() throws {
        _ = try startServer("street.mcap")
        let readDevice = mountPoint.appendingPathComponent("video0-read").path
        let fd = open(readDevice, O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        var frame = [UInt8](repeating: 0, count: 640 * 480 * 2)
        for _ in 0..<3 {
            let n = frame.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            XCTAssertEqual(n, 640 * 480 * 2, "one whole YUYV frame a read()")
        }
        close(fd)
        server!.terminate()
        server!.waitUntilExit()
        XCTAssertEqual(server!.terminationStatus, 0, "a clean exit on SIGTERM")
        let mounts = try String(contentsOfFile: "/proc/mounts", encoding: .utf8)
        XCTAssertFalse(mounts.contains(mountPoint.path), "unmounted")
    }
}

extension VirtualCameraTests {
    func testServesAVideoFile() throws {
        let video = mountPoint.deletingLastPathComponent().appendingPathComponent("clip.mp4").path
        let ffmpeg = try TestSupport.run("/usr/bin/env", ["ffmpeg", "-v", "error", "-loop", "1", "-i", TestSupport.fixture("scene-320.jpg"),
                                                          "-t", "1", "-r", "10", "-pix_fmt", "yuv420p", video])
        XCTAssertEqual(ffmpeg.status, 0, ffmpeg.stderr)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestSupport.visorPath)
        process.arguments = ["vcam", video, "--mount", mountPoint.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        server = process
        let device = mountPoint.appendingPathComponent("video0").path
        for _ in 0..<300 where !FileManager.default.fileExists(atPath: device) { usleep(20_000) }
        let camera = try V4L2Camera(path: device)
        let grant = try camera.configure(widthPixels: 320, heightPixels: 240, framesPerSecond: 10)
        XCTAssertEqual([grant.widthPixels, grant.heightPixels], [320, 240], "the video's own size")
        try camera.start()
        var frame = Frame(widthPixels: 0, heightPixels: 0, pixels: [], captureTimeNanoseconds: 0)
        XCTAssertNotNil(try camera.nextFrame(into: &frame))
        XCTAssertEqual(frame.widthPixels, 320)
    }
}
