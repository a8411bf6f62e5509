import ArgumentParser
import Foundation
import VisorCore
import VisorDevices
import VisorRuntime

/// The options `live` and `record` share: which sensors, and what to ask of the camera.
struct SensorArguments: ParsableArguments {
    @Option(help: "The camera: a V4L2 device path, or none (default /dev/video0).")
    var camera: String = "/dev/video0"

    @Option(help: "The microphone: an ALSA capture PCM, or none (default: default).")
    var mic: String = "default"

    @Option(help: "Camera frame size WxH to ask for (default 640x480; the nearest offered is used).")
    var size: String = "640x480"

    @Option(help: "Camera frames per second to ask for (default 30).")
    var fps: Double = 30

    @Option(help: "Camera format: yuyv or mjpeg (default: YUYV when offered).")
    var format: String?

    @Option(help: "Stop after this many seconds (default: until Ctrl-C).")
    var duration: Double?

    func validate() throws {
        guard parsedSize != nil else { throw ValidationError("--size takes WxH, for example 640x480; got \"\(size)\"") }
        guard fps > 0 && fps <= 1000 else { throw ValidationError("--fps must be more than 0 and at most 1000; got \(fps)") }
        if let format, !["yuyv", "mjpeg"].contains(format.lowercased()) { throw ValidationError("--format takes yuyv or mjpeg") }
        if let duration, !(duration > 0) { throw ValidationError("--duration must be positive") }
        if camera == "none" && mic == "none" { throw ValidationError("give a camera or a microphone: both are none") }
    }

    var parsedSize: (Int, Int)? {
        let parts = size.lowercased().split(separator: "x")
        guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), w > 0, h > 0 else { return nil }
        return (w, h)
    }

    var options: SensorOptions {
        var o = SensorOptions()
        o.cameraPath = camera == "none" ? nil : camera
        o.microphone = mic == "none" ? nil : mic
        if let (w, h) = parsedSize { o.widthPixels = w; o.heightPixels = h }
        o.framesPerSecond = fps
        o.format = format.map { $0.lowercased() == "mjpeg" ? .mjpeg : .yuyv }
        return o
    }
}

/// Stops on a stop signal (`StopSignal`: Ctrl-C, SIGTERM, SIGHUP) or after the duration.
func stopCondition(duration: Double?) -> @Sendable () -> Bool {
    let deadline = duration.map { Date().addingTimeInterval($0) }
    return { StopSignal.requested || (deadline.map { Date() >= $0 } ?? false) }
}
