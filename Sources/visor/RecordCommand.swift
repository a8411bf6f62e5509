import ArgumentParser
import Foundation
import VisorCore
import VisorPerception
import VisorDevices
import VisorMedia
import VisorRuntime
import VisorSession

struct Record: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Record a session from a camera and a microphone (MCAP, as replay and Foxglove read it).",
        discussion: """
        Exit status: 0 when every sensor recorded to the end; 1 on an error (the file keeps what was written before it); 2 when a sensor failed and the recording went on with the other.

        Frames are stored as JPEG (an MJPEG camera's own JPEGs, or YUYV frames compressed with libturbojpeg), or as the camera's raw pixels with --raw; audio as 16-bit PCM. Ctrl-C finishes a valid, indexed file. Every complete chunk is on disk as it is written, so a recording cut off by a crash or a power loss keeps them (visor inspect and replay read it).

        Examples:
          visor record -o walk.mcap --camera /dev/video0 --mic default --duration 30
          visor record -o quiet.mcap --camera /tmp/cam/video0 --mic none --raw
        """
    )

    @Option(name: .shortAndLong, help: "The session file to write.")
    var output: String

    @Flag(help: "Store frames as the camera sent them (foxglove.RawImage) instead of JPEG.")
    var raw = false

    @Option(help: "JPEG quality for frames the camera sends raw (default 85).")
    var quality: Int = 85

    @Option(help: ArgumentHelp("Redact bystanders: faces are blurred before frames are written (they are stored as JPEG, or rgb8 with --raw).", valueName: "faces"))
    var redact: String?

    @OptionGroup var sensors: SensorArguments

    func validate() throws {
        try sensors.validate()
        if let redact, redact != "faces" { throw ValidationError("--redact takes faces; got \"\(redact)\"") }
        guard (1...100).contains(quality) else { throw ValidationError("--quality must be between 1 and 100") }
    }

    func run() throws {
        try reportingErrors(stoppable: true) {
            try checkOutputs([("session", output)], inputs: [("camera", sensors.options.cameraPath)])
            let capture = try SensorCapture(sensors.options)
            let redactor = redact == "faces" ? try FaceRedactor() : nil
            let writer = try SessionWriter(path: output, storage: redactor != nil && raw ? .raw : .jpeg(quality: quality))
            var metadata = ["visor_version": visorVersion]
            if let camera = capture.camera, let grant = capture.grant {
                metadata["camera_device"] = camera.path
                metadata["camera_card"] = camera.card
                metadata["camera_driver"] = camera.driver
                metadata["camera_format"] = "\(grant.format) \(grant.widthPixels)x\(grant.heightPixels) at \(grant.framesPerSecond) fps"
                metadata["frame_storage"] = redactor != nil ? (raw ? "raw rgb8" : "jpeg") : raw ? "raw \(grant.format)" : "jpeg"
                metadata["redact"] = redactor != nil ? "faces" : "none"
            }
            if let mic = capture.microphone {
                metadata["microphone_device"] = mic.device
                metadata["microphone_format"] = "S16_LE \(mic.sampleRateHertz) Hz, \(mic.channelCount) channel(s), \(mic.periodFrames)-frame periods"
            }
            try writer.addMetadata(name: "visor.record", metadata)
            // The writer, and what went wrong with it, are shared with the microphone's thread.
            struct Recording {
                let writer: SessionWriter
                var error: Error?
                var blocks = 0
            }
            let recording = Locked(Recording(writer: writer))
            var frames = 0
            let jpeg = JPEGCodec()
            let decoder = CameraBufferDecoder()
            var decoded = Frame(widthPixels: 0, heightPixels: 0, pixels: [], captureTimeNanoseconds: 0)
            let stop = stopCondition(duration: sensors.duration)
            let shouldStop = { @Sendable () -> Bool in recording.withLock { $0.error != nil } || stop() }
            func store(_ body: (SessionWriter) throws -> Void) {
                recording.withLock { r in
                    guard r.error == nil else { return }
                    do { try body(r.writer) } catch { r.error = error }
                }
            }
            // Keys typed while recording are the glasses' controls, stored on /input at their time.
            let keyboard = TerminalScreen(keysOnly: true)
            keyboard.enter()
            defer { keyboard.leave() }
            var inputs = 0
            print("recording to \(output); Ctrl-C stops; t tap, y double tap, l long press, ] and [ swipe, c capture")
            let (faults, ended) = capture.run(shouldStop: shouldStop, poll: {
                for case .input(let kind) in keyboard.keys() {
                    var now = timespec()
                    clock_gettime(CLOCK_MONOTONIC, &now)
                    store { try $0.writeInput(kind, source: "keyboard", timeNanoseconds: UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)) }
                    inputs += 1
                }
            }, onFrame: { input, info in
                store { writer in
                    guard case .buffer(let bytes, let layout) = input else { return }
                    if let redactor {
                        // Faces are blurred before anything is written: decode, blur, store.
                        try decoder.decode(bytes, layout: layout, into: &decoded)
                        decoded.captureTimeNanoseconds = info.captureTimeNanoseconds
                        redactor.redact(&decoded)
                        try writer.writeFrame(decoded)
                        frames += 1
                        return
                    }
                    switch layout {
                    case .jpeg:
                        // An MJPEG webcam's frame is stored as it came.
                        try writer.writeCameraBuffer(bytes, jpeg: true, encoding: "", widthPixels: 0, heightPixels: 0, stepBytes: 0,
                                                     captureTimeNanoseconds: info.captureTimeNanoseconds)
                    case .packed(let encoding, let width, let height, let step) where raw:
                        try writer.writeCameraBuffer(bytes, jpeg: false, encoding: encoding.rawValue, widthPixels: width, heightPixels: height,
                                                     stepBytes: step, captureTimeNanoseconds: info.captureTimeNanoseconds)
                    case .packed:
                        try decoder.decode(bytes, layout: layout, into: &decoded)
                        let data = try jpeg.encode(rgb: decoded.pixels, widthPixels: decoded.widthPixels, heightPixels: decoded.heightPixels, quality: quality)
                        try data.withUnsafeBytes {
                            try writer.writeCameraBuffer($0, jpeg: true, encoding: "", widthPixels: 0, heightPixels: 0, stepBytes: 0,
                                                         captureTimeNanoseconds: info.captureTimeNanoseconds)
                        }
                    }
                    frames += 1
                }
            }, onAudio: { block in
                recording.withLock { r in
                    guard r.error == nil else { return }
                    do { try r.writer.writeAudio(block); r.blocks += 1 } catch { r.error = error }
                }
            })
            for note in ended { printError("note: \(note)") }
            for fault in faults { printError("error: \(fault); the recording goes on with what is left") }
            let (failure, blocks) = recording.withLock { ($0.error, $0.blocks) }
            do { try recording.withLock { try $0.writer.finish() } } catch {
                printError("error: \(oneLine(error)); the chunks written before it are kept (visor inspect reads them)")
                throw ExitCode(1)
            }
            if let failure {
                printError("error: \(oneLine(failure)); the recording up to then is kept in \(output)")
                throw ExitCode(1)
            }
            let droppedNote = capture.camera.map { $0.droppedFrames > 0 ? ", \($0.droppedFrames) frames dropped by the camera" : "" } ?? ""
            let overrunNote = capture.microphone.map { $0.overruns > 0 ? ", \($0.overruns) microphone overruns" : "" } ?? ""
            print("wrote \(output): \(frames) frames and \(blocks) audio blocks\(inputs > 0 ? ", \(inputs) inputs" : "")\(droppedNote)\(overrunNote)")
            if !faults.isEmpty { throw ExitCode(2) }
        }
    }
}
