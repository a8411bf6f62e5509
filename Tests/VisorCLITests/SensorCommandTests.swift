import Foundation
import VisorCore
import VisorMedia
import VisorSession
import VisorTestSupport
import XCTest

/// `record`, `live`, and other programs, against Visor's virtual camera and microphone.
final class SensorCommandTests: XCTestCase {
    private var servers: [Process] = []
    private var directory: URL!
    private var mountPoint: URL { directory.appendingPathComponent("cam") }
    private var environment: [String: String] = ProcessInfo.processInfo.environment

    override func setUpWithError() throws {
        guard FileManager.default.fileExists(atPath: "/dev/fuse") else { throw XCTSkip("no /dev/fuse on this machine") }
        directory = try TestSupport.temporaryDirectory(self)
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
    }

    override func tearDown() {
        for server in servers where server.isRunning { server.terminate(); server.waitUntilExit() }
        _ = try? TestSupport.run("/bin/umount", ["-l", mountPoint.path])
    }

    /// Starts `visor vcam` on a fixture and `visor vmic` on its audio; returns the camera's path.
    private func startDevices(_ fixture: String, arguments: [String] = [], micArguments: [String] = []) throws -> String {
        servers.append(try startVisor(["vcam", TestSupport.fixture(fixture), "--mount", mountPoint.path] + arguments))
        let device = mountPoint.appendingPathComponent("video0").path
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: device) { usleep(20_000) }
        let vmic = try TestSupport.visor(arguments: ["vmic", TestSupport.fixture(fixture), "--name", "test_mic", "--wav", directory.appendingPathComponent("mic.wav").path] + micArguments)
        if vmic.status == 0 {
            let config = directory.appendingPathComponent("alsa.conf")
            try vmic.stdout.write(to: config, atomically: true, encoding: .utf8)
            environment["ALSA_CONFIG_PATH"] = "/usr/share/alsa/alsa.conf:\(config.path)"
        }
        return device
    }

    /// Starts `visor` in the background with this test's environment, its output discarded
    /// unless `errors` is given.
    private func startVisor(_ arguments: [String], errors: Pipe? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestSupport.visorPath)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors ?? FileHandle.nullDevice
        try process.run()
        return process
    }

    private func visor(_ arguments: [String]) throws -> TestSupport.Run {
        try TestSupport.run(TestSupport.visorPath, arguments, environment: environment)
    }

    func testRecordFromTheVirtualCameraAndMicrophone() throws {
        let device = try startDevices("street.mcap", arguments: ["--no-loop"])
        let out = directory.appendingPathComponent("walk.mcap").path
        let run = try visor(["record", "-o", out, "--camera", device, "--mic", "test_mic", "--duration", "7.5"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("the recording it plays has ended"), run.stderr)
        let inspect = try visor(["inspect", out, "--json"])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any])
        let channels = try XCTUnwrap(json["channels"] as? [[String: Any]])
        func channel(_ schema: String) -> [String: Any]? { channels.first { $0["schema"] as? String == schema } }
        let frames = try XCTUnwrap(channel("foxglove.CompressedImage")?["message_count"] as? Int)
        let blocks = try XCTUnwrap(channel("foxglove.RawAudio")?["message_count"] as? Int)
        XCTAssertEqual(Double(frames), 60, accuracy: 60 * 0.02, "the source's 60 frames")
        XCTAssertEqual(Double(blocks), 300, accuracy: 300 * 0.02, "the source's 300 blocks of 20 ms")
        let audioSpan = Double((channel("foxglove.RawAudio")?["last_time_ns"] as? Int ?? 0) - (channel("foxglove.RawAudio")?["first_time_ns"] as? Int ?? 0)) / 1e9
        XCTAssertEqual(audioSpan, 5.98, accuracy: 0.1, "the source's audio lasts 5.98 s")
        let frameSpan = Double((channel("foxglove.CompressedImage")?["last_time_ns"] as? Int ?? 0) - (channel("foxglove.CompressedImage")?["first_time_ns"] as? Int ?? 0)) / 1e9
        XCTAssertEqual(frameSpan, 5.9, accuracy: 0.1, "the source's frames span 5.9 s")
        let metadata = try XCTUnwrap((json["metadata"] as? [[String: Any]])?.first { $0["name"] as? String == "visor.record" }?["metadata"] as? [String: String])
        XCTAssertEqual(metadata["camera_driver"], "visor-vcam")
        XCTAssertEqual(metadata["camera_format"], "YUYV 640x480 at 10.0 fps")
        XCTAssertEqual(metadata["microphone_device"], "test_mic")
        XCTAssertNotNil(metadata["visor_version"])
        // Replay reads what record wrote, and so does the official Python reader, every message decoded.
        XCTAssertEqual(try visor(["replay", out, "--headless"]).status, 0)
        let official = try TestSupport.python("read_with_official.py", [out])
        XCTAssertEqual(official.status, 0, official.stderr)
    }

    /// Each way `record` stores a frame: an MJPEG camera's JPEG as it came, YUYV encoded to JPEG,
    /// and with redaction decoded, blurred and stored (JPEG, or rgb8 with --raw). Every file is
    /// read back by replay with every frame decoded.
    func testRecordStoresEachCameraFormatAndRedactsBeforeWriting() throws {
        let device = try startDevices("street.mcap")
        for (name, extra, schema, format) in [("mjpeg", ["--format", "mjpeg"], "foxglove.CompressedImage", "MJPG"),
                                              ("yuyv", [], "foxglove.CompressedImage", "YUYV"),
                                              ("redacted", ["--redact", "faces"], "foxglove.CompressedImage", "YUYV"),
                                              ("redacted-raw", ["--redact", "faces", "--raw", "--format", "mjpeg"], "foxglove.RawImage", "MJPG")] {
            let out = directory.appendingPathComponent("\(name).mcap").path
            let run = try visor(["record", "-o", out, "--camera", device, "--mic", "none", "--duration", "2"] + extra)
            XCTAssertEqual(run.status, 0, "\(name): \(run.stderr)")
            let inspect = try visor(["inspect", out, "--json"])
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any])
            let channels = try XCTUnwrap(json["channels"] as? [[String: Any]])
            let frames = try XCTUnwrap(channels.first { $0["schema"] as? String == schema }?["message_count"] as? Int, "\(name): \(channels)")
            XCTAssertGreaterThanOrEqual(frames, 8, "\(name): 2 s at 10 fps")
            let metadata = (json["metadata"] as? [[String: Any]])?.first { $0["name"] as? String == "visor.record" }?["metadata"] as? [String: String]
            XCTAssertTrue(metadata?["camera_format"]?.hasPrefix(format) ?? false, "\(name): \(String(describing: metadata))")
            let transcript = directory.appendingPathComponent("\(name).jsonl").path
            let replay = try visor(["replay", out, "--headless", "--stages", "none", "--transcript", transcript])
            XCTAssertEqual(replay.status, 0, "\(name): \(replay.stderr)")
            let decoded = try TestSupport.transcriptEvents(transcript).filter { $0["kind"] as? String == "frame" }
            XCTAssertEqual(decoded.count, frames, "\(name): every frame decodes")
            XCTAssertTrue(decoded.allSatisfy { $0["width"] as? Int == 640 && $0["height"] as? Int == 480 }, name)
        }
    }

    func testRecordKeepsGoingWhenTheCameraDiesAndKeepsWhatItHad() throws {
        let device = try startDevices("street.mcap")
        let out = directory.appendingPathComponent("cut.mcap").path
        let errors = Pipe()
        let recorder = try startVisor(["record", "-o", out, "--camera", device, "--mic", "test_mic", "--duration", "3"], errors: errors)
        sleep(1)
        kill(servers[0].processIdentifier, SIGKILL)
        recorder.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(recorder.terminationStatus, 2, stderr)
        XCTAssertTrue(stderr.contains("camera \(device) stopped delivering frames"), stderr)
        let source = try SessionSource(path: out)
        XCTAssertTrue(source.reader.usedIndex, "a finished, indexed file")
        XCTAssertGreaterThan(source.cameraMessageCount, 3)
        let audio = source.reader.statistics.channelMessageCounts[source.audioChannel!.id] ?? 0
        XCTAssertGreaterThan(audio, 120, "the microphone went on for 3 s")
    }

    func testKilledRecorderLeavesAReadableRecording() throws {
        let device = try startDevices("street.mcap", arguments: ["--fps", "30"])
        let out = directory.appendingPathComponent("killed.mcap").path
        let recorder = try startVisor(["record", "-o", out, "--camera", device, "--mic", "none", "--raw"])
        sleep(3)
        kill(recorder.processIdentifier, SIGKILL)
        recorder.waitUntilExit()
        let inspect = try visor(["inspect", out, "--json"])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        XCTAssertTrue(inspect.stderr.contains("damaged"), inspect.stderr)
        let source = try SessionSource(path: out)
        XCTAssertFalse(source.reader.usedIndex)
        XCTAssertGreaterThan(source.cameraMessageCount, 1, "every complete chunk of raw frames is kept")
        let replay = try visor(["replay", out, "--headless"])
        XCTAssertEqual(replay.status, 2, replay.stderr)
        XCTAssertEqual(replay.stderrLines.count, 1, replay.stderr)
    }

    func testLiveRunsThePipelineOnTheVirtualDevices() throws {
        let device = try startDevices("codes.mcap")
        let transcript = directory.appendingPathComponent("live.jsonl").path
        let run = try visor(["live", "--camera", device, "--mic", "none", "--headless", "--duration", "2", "--transcript", transcript,
                             "--profile", "even-g1"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("capture_to_hud"), run.stdout)
        let events = try TestSupport.transcriptEvents(transcript)
        XCTAssertGreaterThan(events.filter { $0["kind"] as? String == "frame" }.count, 10)
        XCTAssertTrue(events.contains { $0["kind"] as? String == "code" && $0["payload"] as? String == "Thalassiodracon" })
    }

    /// Keys typed while `visor record` runs in a real terminal (tmux) are stored on `/input` as
    /// the glasses' controls, at their time, and a replay of the recording acts on them.
    func testRecordStoresTheKeysAsInputs() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else { return XCTFail("tmux is not installed (tools/setup installs it)") }
        let device = try startDevices("codes.mcap")
        let out = directory.appendingPathComponent("keys.mcap").path
        let socket = "visor-test-\(UUID().uuidString.prefix(8))"
        defer { _ = try? TestSupport.tmux(socket: socket, ["kill-server"]) }
        let command = "\(TestSupport.visorPath) record --camera \(device) --mic none --duration 4 -o \(out); echo VISOR-EXITED $?; sleep 60"
        XCTAssertEqual(try TestSupport.tmux(socket: socket, ["new-session", "-d", "-s", "rec", "-x", "120", "-y", "20", "sh", "-c", command]).status, 0)
        func screen() throws -> String { try TestSupport.tmux(socket: socket, ["capture-pane", "-p", "-t", "rec"]).stdout }
        var deadline = Date().addingTimeInterval(15)
        while Date() < deadline, !(try screen().contains("recording to")) { usleep(100_000) }
        usleep(1_000_000)
        XCTAssertEqual(try TestSupport.tmux(socket: socket, ["send-keys", "-t", "rec", "c"]).status, 0)
        usleep(300_000)
        XCTAssertEqual(try TestSupport.tmux(socket: socket, ["send-keys", "-t", "rec", "t"]).status, 0)
        deadline = Date().addingTimeInterval(20)
        while Date() < deadline, !(try screen().contains("VISOR-EXITED")) { usleep(100_000) }
        let shown = try screen()
        XCTAssertTrue(shown.contains("VISOR-EXITED 0"), shown)
        XCTAssertTrue(shown.contains("2 inputs"), shown)
        let source = try SessionSource(path: out)
        let channel = try XCTUnwrap(source.inputChannel, "the recording has an input channel")
        let kinds = try source.reader.messages(channelIDs: [channel.id]).map { try source.decodeInput($0) }
        XCTAssertEqual(kinds, [.capture, .tap])
        // Replayed, the capture button takes a photo.
        let transcript = directory.appendingPathComponent("keys.jsonl").path
        let replay = try visor(["replay", out, "--headless", "--no-model", "--transcript", transcript,
                                "--gallery", directory.appendingPathComponent("photos").path, "--memory", directory.appendingPathComponent("m.sqlite").path])
        XCTAssertEqual(replay.status, 0, replay.stderr)
        let inputs = try TestSupport.transcriptEvents(transcript).filter { $0["kind"] as? String == "input" }
        XCTAssertEqual(inputs.compactMap { $0["action"] as? String }, ["take_photo", "wake"])
        XCTAssertEqual(inputs.first?["source"] as? String, "session")
    }

    /// A virtual IMU beside the virtual camera: `--imu` plays a session's IMU track in real time,
    /// and the head's motion comes from it (a turn at 60 degrees a second after a second still).
    func testLiveTakesHeadMotionFromAVirtualIMU() throws {
        let device = try startDevices("codes.mcap")
        let track = directory.appendingPathComponent("imu.mcap").path
        let writer = try SessionWriter(path: track)
        for i in 0..<2000 {  // 10 s, longer than the run
            let t = Double(i) / 200
            let turn = t >= 1 ? 60 * Double.pi / 180 : 0
            let message = ImuMessage(timestamp: FoxgloveTimestamp(nanoseconds: UInt64(t * 1e9)), frameID: "imu", sensor: "test",
                                     angularVelocity: Vector3(0, turn, 0), linearAcceleration: Vector3(0, 9.81, 0))
            try writer.write(topic: "/imu", schema: VisorSchema.imu.name, descriptor: VisorSchema.imu.fileDescriptorSet,
                             logTime: UInt64(t * 1e9), payload: message.encoded())
        }
        try writer.finish()
        let transcript = directory.appendingPathComponent("live-imu.jsonl").path
        let run = try visor(["live", "--camera", device, "--mic", "none", "--headless", "--duration", "5", "--transcript", transcript, "--imu", track])
        XCTAssertEqual(run.status, 0, run.stderr)
        let motions = try TestSupport.transcriptEvents(transcript).filter { $0["kind"] as? String == "motion" }
        XCTAssertEqual(motions.map { $0["state"] as? String }, ["still", "turning"], "\(motions)")
        XCTAssertTrue(motions.allSatisfy { $0["source"] as? String == "imu" })
        XCTAssertEqual(try XCTUnwrap(motions.last?["rate_deg_s"] as? Double), 60, accuracy: 3)
        let noIMU = try visor(["live", "--camera", device, "--mic", "none", "--headless", "--duration", "1", "--imu", TestSupport.fixture("codes.mcap")])
        XCTAssertNotEqual(noIMU.status, 0)
        XCTAssertTrue(noIMU.stderr.contains("has no IMU channel"), noIMU.stderr)
    }

    /// The microphone alone (no camera): wake phrases and commands through the real ALSA path
    /// (`visor vmic` playing the commands fixture), published as they are heard.
    func testLiveHearsCommandsFromTheMicrophoneAlone() throws {
        _ = try startDevices("commands.mcap")
        let transcript = directory.appendingPathComponent("mic.jsonl").path
        let run = try visor(["live", "--camera", "none", "--mic", "test_mic", "--headless", "--duration", "8.5", "--transcript", transcript,
                             "--speaker", "null"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let events = try TestSupport.transcriptEvents(transcript)
        let heard = events.filter { ["wake", "command"].contains($0["kind"] as? String ?? "") }
        XCTAssertEqual(heard.compactMap { ($0["phrase"] ?? $0["intent"]) as? String },
                       ["hey glasses", "what_am_i_looking_at", "okay glasses", "read_this"], "\(heard)")
        // Published while running, not all at the end: each within a second of the speech's end.
        for event in heard {
            let published = event["time_ns"] as? Int ?? 0, ended = event["end_ns"] as? Int ?? 0
            XCTAssertLessThan(published - ended, 1_000_000_000, "\(event)")
        }
        // The assistant answers live, through the speaker (ALSA's null device here): with no
        // camera there is nothing in view to describe or read, and it says so.
        let answers = events.filter { $0["kind"] as? String == "overlay" && $0["action"] as? String == "show" }.compactMap { $0["text"] as? String }
        XCTAssertEqual(answers.filter { $0 == "listening..." }.count, 2, "\(answers)")
        XCTAssertTrue(answers.contains { $0.hasPrefix("Nothing I can name") }, "\(answers)")
        XCTAssertTrue(answers.contains("I see no text to read."), "\(answers)")
        let spoken = events.filter { $0["kind"] as? String == "speech" && $0["action"] as? String == "start" }
        XCTAssertEqual(spoken.count, 2, "\(spoken)")
        XCTAssertTrue(run.stdout.contains("wake_to_overlay"), run.stdout)
        XCTAssertFalse(run.stderr.contains("no speaker"), run.stderr)
    }

    /// The camera stops for 3 s and comes back: the run goes on, the microphone never stops, and
    /// the gap is reported.
    func testLiveRidesOutACameraStall() throws {
        let device = try startDevices("street.mcap", arguments: ["--stall-after", "2.5", "--stall-for", "3"], micArguments: ["--loop"])
        let transcript = directory.appendingPathComponent("stall.jsonl").path
        let run = try visor(["live", "--camera", device, "--mic", "test_mic", "--headless", "--duration", "8", "--transcript", transcript,
                             "--stages", "codes", "--speaker", "none"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let events = try TestSupport.transcriptEvents(transcript)
        let stall = try XCTUnwrap(events.first { $0["kind"] as? String == "camera_stall" }, "\(run.stderr)")
        XCTAssertEqual(stall["seconds"] as? Double ?? 0, 3.0, accuracy: 0.7)
        let frames = events.filter { $0["kind"] as? String == "frame" }.compactMap { $0["time_ns"] as? Int }
        let from = stall["from_ns"] as? Int ?? 0
        XCTAssertGreaterThan(frames.filter { $0 <= from }.count, 10, "frames before the stall")
        XCTAssertGreaterThan(frames.filter { $0 > from }.count, 10, "and after it")
        XCTAssertTrue(run.stderrLines.contains { $0.contains("note: the camera delivered no frames for 3.") || $0.contains("note: the camera delivered no frames for 2.") }, run.stderr)
        let blocks = Int(run.stdout.split(separator: "\n").first { $0.hasPrefix("live:") }?.split(separator: " ")[4] ?? "") ?? 0
        XCTAssertGreaterThan(blocks, 350, "the microphone went on through the stall (50 blocks a second): \(run.stdout)")
    }

    /// The reader falls behind the microphone once: the overrun is recovered, counted and
    /// reported, and what is said after it is still heard.
    func testLiveRidesOutAMicrophoneOverrun() throws {
        _ = try startDevices("commands.mcap", micArguments: ["--overrun-at", "0.5"])
        let transcript = directory.appendingPathComponent("overrun.jsonl").path
        let run = try visor(["live", "--camera", "none", "--mic", "test_mic", "--headless", "--duration", "8.5", "--transcript", transcript,
                             "--stages", "speech"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains(", 1 microphone overrun (audio lost)"), run.stdout)
        let heard = try TestSupport.transcriptEvents(transcript).filter { ["wake", "command"].contains($0["kind"] as? String ?? "") }
        XCTAssertEqual(heard.compactMap { ($0["phrase"] ?? $0["intent"]) as? String },
                       ["hey glasses", "what_am_i_looking_at", "okay glasses", "read_this"], "\(heard)")
    }

    func testLiveWithoutDevicesIsAClearError() throws {
        var run = try visor(["live", "--camera", "/dev/video-missing", "--mic", "none", "--headless"])
        XCTAssertEqual(run.status, 1)
        XCTAssertEqual(run.stderrLines, ["visor: error: no camera at /dev/video-missing (no such device); `visor devices` lists the cameras"])
        run = try visor(["record", "-o", directory.appendingPathComponent("x.mcap").path, "--camera", "none", "--mic", "no_such_pcm"])
        XCTAssertEqual(run.status, 1)
        XCTAssertEqual(run.stderrLines.count, 1, run.stderr)
        XCTAssertTrue(run.stderr.contains("no microphone named no_such_pcm"), run.stderr)
        run = try visor(["live", "--camera", "none", "--mic", "none"])
        XCTAssertEqual(run.status, 64)
    }

    func testOtherProgramsReadTheVirtualCamera() throws {
        let device = try startDevices("street.mcap", arguments: ["--fps", "30"])
        for tool in ["v4l2-ctl", "ffmpeg", "unshare"] where (try? TestSupport.run("/usr/bin/env", ["which", tool]))?.status != 0 {
            throw XCTSkip("\(tool) is not installed (tools/setup installs it)")
        }
        // v4l2-ctl looks up /sys/dev/char/<rdev>/uevent; a FUSE file's rdev is 0:0, so give it one.
        let sys = directory.appendingPathComponent("sys/0:0")
        try FileManager.default.createDirectory(at: sys, withIntermediateDirectories: true)
        try "MAJOR=0\nMINOR=0\nDEVNAME=video0\n".write(to: sys.appendingPathComponent("uevent"), atomically: true, encoding: .utf8)
        let raw = directory.appendingPathComponent("v4l2-ctl.yuyv").path
        let v4l2 = try TestSupport.run("/usr/bin/env", ["unshare", "-m", "sh", "-c",
            "mount --bind \(sys.deletingLastPathComponent().path) /sys/dev/char && v4l2-ctl -d \(device) --set-fmt-video=width=640,height=480,pixelformat=YUYV --stream-mmap --stream-count=30 --stream-to=\(raw)"])
        XCTAssertEqual(v4l2.status, 0, v4l2.stderr)
        let captured = [UInt8](try Data(contentsOf: URL(fileURLWithPath: raw)))
        XCTAssertEqual(captured.count, 30 * 640 * 480 * 2)
        let frame0 = try firstSessionFrame("street.mcap")
        var expected = [UInt8](repeating: 0, count: 640 * 480 * 2)
        frame0.pixels.withUnsafeBufferPointer { src in expected.withUnsafeMutableBufferPointer { PixelConverter.convertRGBToYUYV(src, widthPixels: 640, heightPixels: 480, into: $0) } }
        XCTAssertTrue(captured.prefix(expected.count).elementsEqual(expected), "v4l2-ctl's first frame is the session's first, byte for byte")

        let rgb = directory.appendingPathComponent("ffmpeg.rgb").path
        let ffmpeg = try TestSupport.run("/usr/bin/env", ["ffmpeg", "-v", "error", "-y", "-f", "v4l2", "-input_format", "yuyv422", "-video_size", "640x480",
                                                          "-i", device, "-frames:v", "5", "-f", "rawvideo", "-pix_fmt", "rgb24", rgb])
        XCTAssertEqual(ffmpeg.status, 0, ffmpeg.stderr)
        let frames = [UInt8](try Data(contentsOf: URL(fileURLWithPath: rgb)))
        XCTAssertEqual(frames.count, 5 * 640 * 480 * 3)
    }

    private func firstSessionFrame(_ fixture: String) throws -> Frame {
        var samples = try SessionSource(path: TestSupport.fixture(fixture)).samples()
        while let sample = try samples.next() { if case .frame(let f) = sample { return f } }
        throw XCTSkip("no frame")
    }
}

extension SensorCommandTests {
    func testFullDiskKeepsWhatWasRecorded() throws {
        let device = try startDevices("street.mcap", arguments: ["--fps", "30"])
        let small = directory.appendingPathComponent("small-disk")
        try FileManager.default.createDirectory(at: small, withIntermediateDirectories: true)
        guard (try TestSupport.run("/bin/mount", ["-t", "tmpfs", "-o", "size=2600k", "tmpfs", small.path])).status == 0 else {
            throw XCTSkip("cannot mount a small tmpfs here (needs root)")
        }
        defer { _ = try? TestSupport.run("/bin/umount", ["-l", small.path]) }
        let out = small.appendingPathComponent("full.mcap").path
        let run = try visor(["record", "-o", out, "--camera", device, "--mic", "none", "--duration", "8"])
        XCTAssertEqual(run.status, 1, run.stderr)
        XCTAssertEqual(run.stderrLines.count, 1, run.stderr)
        XCTAssertTrue(run.stderr.contains("the disk is full"), run.stderr)
        let source = try SessionSource(path: out)
        XCTAssertGreaterThan(source.cameraMessageCount, 10, "the chunks that fitted are readable")
        XCTAssertEqual(source.reader.corruptChunks.count, 0)
    }
}

extension SensorCommandTests {
    func testCtrlCFinishesAValidIndexedFile() throws {
        let device = try startDevices("street.mcap")
        let out = directory.appendingPathComponent("interrupted.mcap").path
        let recorder = try startVisor(["record", "-o", out, "--camera", device, "--mic", "test_mic", "--raw"])
        sleep(2)
        kill(recorder.processIdentifier, SIGINT)
        recorder.waitUntilExit()
        XCTAssertEqual(recorder.terminationStatus, 0)
        let reader = try MCAPReader(path: out)
        XCTAssertTrue(reader.usedIndex, "Ctrl-C leaves a summary and footer")
        XCTAssertNil(reader.damage)
        XCTAssertGreaterThan(reader.statistics.messageCount, 50)
        // Raw YUYV frames as the camera sent them, which the official reader decodes too.
        XCTAssertEqual(try SessionSource(reader: reader).cameraSchema, "foxglove.RawImage")
        let official = try TestSupport.python("read_with_official.py", [out])
        XCTAssertEqual(official.status, 0, official.stderr)
        XCTAssertTrue(official.stdout.contains("foxglove.RawImage"))
    }
}

extension SensorCommandTests {
    func testLiveGoesOnWithTheCameraWhenTheMicrophoneVanishes() throws {
        let device = try startDevices("street.mcap")
        let plugin = URL(fileURLWithPath: TestSupport.visorPath).deletingLastPathComponent().appendingPathComponent("libasound_module_pcm_visor.so").path
        let config = directory.appendingPathComponent("vanishing.conf")
        try """
        pcm_type.visor { lib "\(plugin)" }
        pcm.vanishing_mic { type visor file "\(TestSupport.fixture("goforward.raw"))" disconnect_after 0.5 }
        """.write(to: config, atomically: true, encoding: .utf8)
        environment["ALSA_CONFIG_PATH"] = "/usr/share/alsa/alsa.conf:\(config.path)"
        let transcript = directory.appendingPathComponent("live.jsonl").path
        let run = try visor(["live", "--camera", device, "--mic", "vanishing_mic", "--headless", "--duration", "2.5", "--transcript", transcript])
        XCTAssertEqual(run.status, 2, run.stderr)
        XCTAssertEqual(run.stderrLines.filter { $0.contains("microphone vanishing_mic stopped delivering audio") }.count, 1, run.stderr)
        let frames = try TestSupport.transcriptEvents(transcript).filter { $0["kind"] as? String == "frame" }
        XCTAssertGreaterThan(frames.count, 15, "the camera went on for the whole 2.5 s at 10 fps (25 frames)")
    }
}

/// Hardening: signals, concurrent writers and a camera lost during `live`.
extension SensorCommandTests {
    /// A closed terminal or a dropped SSH session (SIGHUP) ends a recording as Ctrl-C does: a
    /// finished, indexed file.
    func testSIGHUPFinishesARecording() throws {
        let device = try startDevices("street.mcap")
        let out = directory.appendingPathComponent("hangup.mcap").path
        let recorder = try startVisor(["record", "-o", out, "--camera", device, "--mic", "test_mic"])
        sleep(2)
        kill(recorder.processIdentifier, SIGHUP)
        recorder.waitUntilExit()
        XCTAssertEqual(recorder.terminationReason, .exit, "not killed by the signal")
        XCTAssertEqual(recorder.terminationStatus, 0)
        let reader = try MCAPReader(path: out)
        XCTAssertTrue(reader.usedIndex, "SIGHUP leaves a summary and footer")
        XCTAssertNil(reader.damage)
        let source = try SessionSource(reader: reader)
        XCTAssertGreaterThan(source.cameraMessageCount, 10)
        XCTAssertGreaterThan(reader.statistics.channelMessageCounts[source.audioChannel?.id ?? 0] ?? 0, 50, "and the audio")
    }

    /// Two recorders to one file: the second is refused at once and the first's file is whole.
    func testTwoRecordersCannotShareAFile() throws {
        _ = try startDevices("street.mcap")
        let out = directory.appendingPathComponent("same.mcap").path
        let first = try startVisor(["record", "-o", out, "--camera", "none", "--mic", "test_mic", "--duration", "3"])
        for _ in 0..<100 where ((try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0) == 0 { usleep(20_000) }
        let second = try visor(["record", "-o", out, "--camera", "none", "--mic", "test_mic", "--duration", "1"])
        XCTAssertEqual(second.status, 1, second.stderr)
        XCTAssertEqual(second.stderrLines.count, 1, second.stderr)
        XCTAssertTrue(second.stderr.contains("being written by another process"), second.stderr)
        first.waitUntilExit()
        XCTAssertEqual(first.terminationStatus, 0)
        let reader = try MCAPReader(path: out)
        XCTAssertTrue(reader.usedIndex)
        XCTAssertGreaterThan(reader.statistics.messageCount, 100, "three seconds of 20 ms blocks")
    }

    /// `live --headless --transcript` killed outright keeps every event up to then.
    func testAKilledLiveRunKeepsItsTranscript() throws {
        let device = try startDevices("street.mcap")
        let transcript = directory.appendingPathComponent("killed.jsonl").path
        let live = try startVisor(["live", "--camera", device, "--mic", "none", "--headless", "--stages", "none", "--transcript", transcript])
        sleep(3)
        kill(live.processIdentifier, SIGKILL)
        live.waitUntilExit()
        let frames = try TestSupport.transcriptEvents(transcript).filter { $0["kind"] as? String == "frame" }
        XCTAssertGreaterThan(frames.count, 5, "frames at 10 fps for about 2 s")
    }

    /// The camera dies during `live`: the loss is reported at once, and the microphone goes on
    /// being heard and answered on its own clock.
    func testLiveGoesOnHearingAndAnsweringWhenTheCameraDies() throws {
        let device = try startDevices("commands.mcap")
        let transcript = directory.appendingPathComponent("lost.jsonl").path
        let live = try startVisor(["live", "--camera", device, "--mic", "test_mic", "--headless", "--duration", "12", "--transcript", transcript,
                                   "--stages", "speech,assistant", "--no-model", "--speaker", "null"])
        // The camera dies once it has delivered a frame (on a busy machine the run may take a
        // few seconds to start), and before the first command at 5 s.
        for _ in 0..<300 where !((try? String(contentsOfFile: transcript, encoding: .utf8)) ?? "").contains("\"kind\":\"frame\"") { usleep(10_000) }
        sleep(1)
        kill(servers[0].processIdentifier, SIGKILL)
        live.waitUntilExit()
        XCTAssertEqual(live.terminationStatus, 2, "a sensor failed")
        let events = try TestSupport.transcriptEvents(transcript)
        let lastFrame = try XCTUnwrap(events.last { $0["kind"] as? String == "frame" }?["time_ns"] as? Int)
        let lost = try XCTUnwrap(events.first { $0["kind"] as? String == "sensor_lost" }, "the loss is in the transcript")
        XCTAssertTrue((lost["reason"] as? String ?? "").contains("camera"), "\(lost)")
        XCTAssertLessThan((lost["time_ns"] as? Int ?? 0) - lastFrame, 2_000_000_000, "reported within the camera's timeout, not at the end")
        // Commands spoken after the camera died (okay glasses at 5 s, hey glasses at 9 s) are
        // heard and answered, stamped with their own times, not the last frame's.
        let heard = events.filter { ["wake", "command"].contains($0["kind"] as? String ?? "") && ($0["time_ns"] as? Int ?? 0) > lastFrame }
        XCTAssertGreaterThanOrEqual(heard.count, 2, "\(heard)")
        XCTAssertEqual(Set(heard.compactMap { $0["time_ns"] as? Int }).count, heard.count, "each at its own time: \(heard)")
        let answers = events.filter { $0["kind"] as? String == "overlay" && $0["action"] as? String == "show" && ($0["time_ns"] as? Int ?? 0) > lastFrame }
        XCTAssertGreaterThanOrEqual(answers.count, 2, "answered after the loss: \(answers)")
        let spoken = events.filter { $0["kind"] as? String == "speech" && $0["action"] as? String == "start" && ($0["time_ns"] as? Int ?? 0) > lastFrame }
        XCTAssertGreaterThanOrEqual(spoken.count, 1, "and said while running")
    }
}

/// The virtual devices as a user meets them: a folder already served, a server that was killed,
/// and the listing of what there is.
extension SensorCommandTests {
    func testVcamRefusesAServedFolderAndNamesADeadMount() throws {
        _ = try startDevices("street.mcap")
        let second = try visor(["vcam", TestSupport.fixture("codes.mcap"), "--mount", mountPoint.path])
        XCTAssertEqual(second.status, 1, second.stderr)
        XCTAssertEqual(second.stderrLines.count, 1, second.stderr)
        XCTAssertTrue(second.stderr.contains("is already a mount point"), second.stderr)
        kill(servers[0].processIdentifier, SIGKILL)
        servers[0].waitUntilExit()
        let dead = try visor(["vcam", TestSupport.fixture("codes.mcap"), "--mount", mountPoint.path])
        XCTAssertEqual(dead.status, 1, dead.stderr)
        XCTAssertEqual(dead.stderrLines.count, 1, dead.stderr)
        XCTAssertTrue(dead.stderr.contains("is a dead FUSE mount") && dead.stderr.contains("fusermount3 -u \(mountPoint.path)"), dead.stderr)
    }

    /// The virtual microphone is a microphone: listed with the capture PCMs, not as a speaker.
    func testDevicesListsTheVirtualMicrophoneAsAMicrophoneOnly() throws {
        _ = try startDevices("street.mcap")
        let run = try visor(["devices"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let lines = run.stdout.split(separator: "\n").map(String.init)
        let microphones = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("microphones") })
        let speakers = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("speakers") })
        XCTAssertTrue(lines[microphones..<speakers].contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix("test_mic") }, run.stdout)
        XCTAssertFalse(lines[speakers...].contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix("test_mic") }, run.stdout)
    }
}

/// `live` in a real terminal (tmux) when the camera dies: the loss is on screen at once, and the
/// panel goes on showing what is heard and answered, over the last frame.
extension SensorCommandTests {
    func testLiveShowsTheCameraLossAndKeepsItsPanelGoing() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else { return XCTFail("tmux is not installed (tools/setup installs it)") }
        let device = try startDevices("commands.mcap")
        let socket = "visor-live-\(UUID().uuidString.prefix(8))"
        @discardableResult
        func tmux(_ arguments: [String]) throws -> TestSupport.Run { try TestSupport.tmux(socket: socket, arguments) }
        addTeardownBlock { _ = try? tmux(["kill-server"]) }
        func screen() throws -> String { try tmux(["capture-pane", "-p", "-t", "visor"]).stdout }
        func waitFor(_ what: String, seconds: Double, _ condition: () throws -> Bool) throws {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline { if try condition() { return }; usleep(100_000) }
            XCTFail("timed out waiting for \(what); screen:\n\(try screen())")
        }
        let command = "\(TestSupport.visorPath) live --camera \(device) --mic test_mic --stages speech,assistant --no-model --speaker null --duration 14; "
            + "echo VISOR-EXITED $?; sleep 60"
        let started = try tmux(["new-session", "-d", "-s", "visor", "-x", "160", "-y", "50", "env", "OMP_THREAD_LIMIT=1",
                                "ALSA_CONFIG_PATH=\(environment["ALSA_CONFIG_PATH"] ?? "")", "XDG_DATA_HOME=\(TestSupport.dataHome)", "sh", "-c", command])
        XCTAssertEqual(started.status, 0, started.stderr)
        try waitFor("the view and panel", seconds: 20) { try screen().contains("VISOR laptop") }
        kill(servers[0].processIdentifier, SIGKILL)
        try waitFor("the loss on screen", seconds: 3) { try screen().contains("lost: camera") }
        XCTAssertFalse(try screen().contains("okay glasses"), "not heard yet")
        // "okay glasses" at 5 s, said after the camera died: the panel shows it while running.
        try waitFor("what is heard after the loss, in the panel", seconds: 9) { try screen().contains("okay glasses") }
        XCTAssertFalse(try screen().contains("VISOR-EXITED"), "while running, not at the end")
        try waitFor("live to end", seconds: 15) { try screen().contains("VISOR-EXITED 2") }
    }
}
