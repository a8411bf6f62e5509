import Dispatch
import Foundation
import Logging
import VisorCore
import VisorDevices
import VisorMedia

/// What `live` and `record` capture from.
public struct SensorOptions {
    /// A V4L2 device path, or nil for no camera.
    public var cameraPath: String?
    /// An ALSA capture PCM, or nil for no microphone.
    public var microphone: String?
    public var widthPixels = 640
    public var heightPixels = 480
    public var framesPerSecond = 30.0
    public var format: CameraPixelFormat?
    public init() {}
}

/// The camera and the microphone, each on its own thread, until told to stop or both are gone.
/// A sensor that fails is reported and the other keeps running.
public final class SensorCapture {
    public let camera: V4L2Camera?
    public let microphone: ALSAMicrophone?
    public let grant: CameraGrant?
    private let logger = Logger(label: "visor.sensors")

    /// Opens and configures the sensors.
    /// - Throws: `VisorError` naming the device when one cannot be opened.
    public init(_ options: SensorOptions) throws {
        guard options.cameraPath != nil || options.microphone != nil else {
            throw VisorError("nothing to capture: give a camera or a microphone (both are none)")
        }
        if let path = options.cameraPath {
            let camera = try V4L2Camera(path: path)
            grant = try camera.configure(widthPixels: options.widthPixels, heightPixels: options.heightPixels,
                                         framesPerSecond: options.framesPerSecond, format: options.format)
            try camera.start()
            self.camera = camera
        } else {
            camera = nil
            grant = nil
        }
        microphone = try options.microphone.map { try ALSAMicrophone(device: $0) }
    }

    /// Captures until `shouldStop` says so or every sensor has ended. Frames are handed over on the
    /// calling thread, still in the device's buffer; audio blocks on the microphone's thread.
    /// Returns what went wrong with each sensor that failed (`faults`), and the sensors whose
    /// recording simply ended (`ended`: a virtual microphone's file), one line each.
    /// - Parameters:
    ///   - onFault: told at once, on the failing sensor's thread, when a sensor fails.
    ///   - whileNoCamera: called on the calling thread about a hundred times a second while the
    ///     microphone runs without a camera (none was given, or it failed): with no frames to
    ///     publish at, the caller publishes what was heard here, on the microphone's clock.
    ///   - poll: called on the calling thread between frames and while there is no camera.
    public func run(shouldStop: @escaping @Sendable () -> Bool,
                    poll: () -> Void = {},
                    onFrame: (FrameInput, CapturedFrame) throws -> Void,
                    onAudio: @escaping @Sendable (AudioBlock) throws -> Void,
                    onFault: @escaping @Sendable (String) -> Void = { _ in },
                    whileNoCamera: () -> Void = {}) -> (faults: [String], ended: [String]) {
        let faults = Locked<[String]>([])
        let ended = Locked<[String]>([])
        var microphoneThread: WorkerThread?
        if let microphone {
            microphoneThread = WorkerThread(name: "visor-microphone") {
                var block = AudioBlock(sampleRateHertz: microphone.sampleRateHertz, channelCount: microphone.channelCount, samples: [], captureTimeNanoseconds: 0)
                do {
                    while !shouldStop() {
                        guard try microphone.read(into: &block) else {
                            ended.withLock { $0.append("microphone \(microphone.device): the recording it plays has ended") }
                            break
                        }
                        try onAudio(block)
                    }
                } catch {
                    let fault = (error as? VisorError)?.message ?? "\(error)"
                    faults.withLock { $0.append(fault) }
                    onFault(fault)
                }
            }
        }
        if let camera, let grant {
            do {
                while !shouldStop() {
                    poll()
                    if shouldStop() { break }
                    _ = try camera.nextRawFrame(timeoutMilliseconds: 500) { bytes, info in
                        try onFrame(.buffer(bytes, layout: grant.bufferLayout), info)
                    }
                }
            } catch {
                let fault = (error as? VisorError)?.message ?? "\(error)"
                faults.withLock { $0.append(fault) }
                onFault(fault)
            }
            camera.stop()
        }
        if let microphoneThread {
            while !microphoneThread.hasFinished && !shouldStop() { poll(); whileNoCamera(); usleep(10_000) }
            // A microphone whose driver hangs never returns from its read: stop waiting for it
            // after two seconds, and say so, rather than hang the run.
            if !microphoneThread.join(timeoutSeconds: 2), let microphone {
                faults.withLock { $0.append("microphone \(microphone.device) stopped responding: no audio for 2 s after the run ended; left behind") }
            }
        }
        return (faults.value, ended.value)
    }
}
