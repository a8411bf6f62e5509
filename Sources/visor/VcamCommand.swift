import ArgumentParser
import Foundation
import VisorCore
import VisorSession
import VisorVirtualDevices

struct Vcam: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vcam",
        abstract: "Serve a recording as a V4L2 camera at DIR/video0 (FUSE, no kernel module), until Ctrl-C.",
        discussion: """
        Any V4L2 program reads DIR/video0: MMAP streaming with poll, YUYV and MJPEG, the recording's size and half of it, frames paced at the recording's rate (or --fps), sequence numbers and monotonic timestamps. DIR/video0-read serves the read() method. A video file (anything FFmpeg reads) is imported first.

        Examples:
          mkdir -p /tmp/cam && visor vcam Fixtures/street.mcap --mount /tmp/cam
          visor live --camera /tmp/cam/video0 --mic none
        """
    )

    @Argument(help: "A session (MCAP) or a video file.")
    var recording: String

    @Option(help: "The directory to mount the camera on (created if missing).")
    var mount: String

    @Option(help: "Frames per second to serve (default: the recording's rate).")
    var fps: Double?

    @Flag(help: "Stop serving frames at the end of the recording instead of starting again.")
    var noLoop = false

    @Option(help: ArgumentHelp("A fault for tests: stop delivering frames this many seconds after starting...", valueName: "SECONDS"))
    var stallAfter: Double?

    @Option(help: ArgumentHelp("...for this long, then deliver them again (default 3).", valueName: "SECONDS"))
    var stallFor: Double = 3

    func validate() throws {
        if let stallAfter, !(stallAfter >= 0 && stallAfter.isFinite) { throw ValidationError("--stall-after takes seconds, 0 or more") }
        if !(stallFor > 0 && stallFor.isFinite) { throw ValidationError("--stall-for takes seconds, more than 0") }
        if let fps, !(fps > 0 && fps <= 1000) { throw ValidationError("--fps must be more than 0 and at most 1000") }
    }

    func run() throws {
        try reportingErrors {
            try checkMountPoint(mount)
            do { try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true) } catch {
                throw VisorError("cannot create the mount folder \(mount): \(error.localizedDescription)")
            }
            var sessionPath = recording
            var temporary: String?
            if !MCAPReader.hasMagic(path: recording) {
                guard FileManager.default.fileExists(atPath: recording) else { throw VisorError("no such file: \(recording)") }
                let path = FileManager.default.temporaryDirectory.appendingPathComponent("visor-vcam-\(getpid()).mcap").path
                var plan = ImportPlan()
                plan.videoPath = recording
                _ = try SessionImporter.run(plan, outputPath: path)
                sessionPath = path
                temporary = path
            }
            defer { if let temporary { try? FileManager.default.removeItem(atPath: temporary) } }
            var options = VirtualCamera.Options(mountDirectory: mount)
            options.framesPerSecond = fps
            options.loop = !noLoop
            options.stallAfterSeconds = stallAfter
            options.stallSeconds = stallFor
            let camera = try VirtualCamera(sessionPath: sessionPath, options: options)
            try camera.run {
                let sizes = camera.modes.map { "\($0.width)x\($0.height)" }.joined(separator: ", ")
                print("serving \(recording) as a V4L2 camera at \(mount)/video0 (YUYV and MJPEG, \(sizes), \(String(format: "%.1f", camera.framesPerSecond)) fps); Ctrl-C stops")
                fflush(nil)
            }
            print("unmounted \(mount)")
        }
    }
}

/// Refuses a folder that cannot take the camera: a dead FUSE mount (its server was killed), or a
/// folder on which something is mounted already (a second vcam would hide the first).
private func checkMountPoint(_ path: String) throws {
    var info = stat()
    if stat(path, &info) != 0 {
        if errno == ENOTCONN { throw deadMount(path) }
        return  // missing: created next
    }
    guard (info.st_mode & S_IFMT) == S_IFDIR else { throw VisorError("--mount \(path) is not a folder") }
    var parent = stat()
    let parentPath = ((path as NSString).standardizingPath as NSString).deletingLastPathComponent
    if stat(parentPath.isEmpty ? "." : parentPath, &parent) == 0, parent.st_dev != info.st_dev {
        // A dead FUSE mount may still answer stat from the kernel's cache; listing it asks the
        // server, and a dead one's connection says ENOTCONN.
        if let dir = opendir(path) {
            errno = 0
            let entry = readdir(dir)
            let code = errno
            closedir(dir)
            if entry == nil && code == ENOTCONN { throw deadMount(path) }
        } else if errno == ENOTCONN {
            throw deadMount(path)
        }
        throw VisorError("\(path) is already a mount point (another visor vcam serving there?); stop it, or unmount it with `fusermount3 -u \(path)`")
    }
}

private func deadMount(_ path: String) -> VisorError {
    VisorError("\(path) is a dead FUSE mount (a vcam that was killed); unmount it with `fusermount3 -u \(path)` or `umount -l \(path)`, then try again")
}
