import CChafa
import CMallocCounter
import Logging
import CV4L2
import CV4LConvert
import VisorDevices
import VisorMedia
import Dispatch
import Foundation
import VisorCore
import VisorDisplay
import VisorPerception
import VisorRuntime
import VisorSession

/// Visor's benchmarks, beside the code they measure. Each prints one JSON object per line so
/// that `tools/bench-*` scripts can set them side by side with their references.
///
///   visor-benchmarks mcap-read FILE [PASSES]
///     Reads every message of FILE (chunks decompressed and CRC-checked), PASSES times; with
///     decoding, also parses each message's Foxglove protobuf. Prints seconds per pass.
///
///   visor-benchmarks fast-path FILE [ROUNDS]
///     Runs every camera frame of FILE through the fast path (convert, light, HUD, terminal
///     encoding at 160x48 cells) ROUNDS times after a warm-up round, as `visor bench` does but
///     with the frames already in memory, and counts heap allocations per frame. Prints the
///     per-frame latencies' percentiles and the allocation count.
///
///   visor-benchmarks camera DEVICE [FRAMES]
///     Captures FRAMES frames (YUYV 640x480) from DEVICE with Visor's V4L2 code as fast as the
///     device delivers them: frames per second and this process's CPU time per frame. Then
///     converts the captured YUYV frames to RGB with Visor's converter and with libv4lconvert's,
///     alternating, and prints both timings and their ratio.

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("visor-benchmarks: \(message)\n".utf8))
    exit(64)
}

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

func mcapRead(path: String, passes: Int) throws {
    let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    for mode in ["messages", "decoded"] {
        var seconds: [Double] = []
        var frames = 0, messages = 0
        for _ in 0..<passes {
            let start = now()
            let reader = try MCAPReader(path: path)
            let imageChannels = Set(reader.channels.values.filter {
                SessionSource.imageSchemas.contains(reader.schemas[$0.schemaID]?.name ?? "")
            }.map(\.id))
            let schemaOf = Dictionary(uniqueKeysWithValues: reader.channels.values.map { ($0.id, reader.schemas[$0.schemaID]?.name ?? "") })
            frames = 0; messages = 0
            var checksum = 0
            for message in reader.messages() {
                messages += 1
                if imageChannels.contains(message.channelID) { frames += 1 }
                if mode == "decoded" {
                    switch schemaOf[message.channelID] {
                    case FoxgloveSchema.compressedImage.name: checksum &+= try CompressedImageMessage.decode(message.data).data.count
                    case FoxgloveSchema.rawImage.name: checksum &+= try RawImageMessage.decode(message.data).data.count
                    case FoxgloveSchema.rawAudio.name: checksum &+= try RawAudioMessage.decode(message.data).data.count
                    default: break
                    }
                } else {
                    checksum &+= message.data.count
                }
            }
            seconds.append(Double(now() - start) / 1e9)
            precondition(checksum > 0)
        }
        let line = "{\"reader\":\"visor\",\"mode\":\"\(mode)\",\"bytes\":\(size),\"messages\":\(messages),\"frames\":\(frames),\"seconds\":[\(seconds.map { String($0) }.joined(separator: ","))]}"
        print(line)
    }
}

func fastPath(path: String, rounds: Int) throws {
    let source = try SessionSource(path: path)
    let messages = Array(source.messages()).filter { $0.channelID == source.cameraChannel.id }
    guard !messages.isEmpty else { fail("\(path) has no camera frames") }
    let profile = try DeviceProfiles.load("laptop")
    let pipeline = try Pipeline(
        fastStages: [ConvertStage(schema: source.cameraSchema, topic: source.cameraChannel.topic), LightStage(), MotionStage(), HUDStage(),
                     try DisplayStage(profile: profile), { let t = TerminalStage(); t.panelColumns = 0; return t }()],
        slowStages: [], options: Pipeline.Options(profile: profile))
    let terminal: (size: TerminalSize, write: (UnsafeRawBufferPointer) -> Void) = (TerminalSize(columns: 160, rows: 49), { _ in })
    var perFrame: [UInt64] = []
    perFrame.reserveCapacity(messages.count * rounds)
    var allocationsAfterWarmUp: UInt64 = 0
    for round in 0...rounds {
        let allocationsBefore = visor_allocation_count()
        for message in messages {
            let start = now()
            try pipeline.process(message, sessionTime: message.logTime, wallClock: nil, arrival: start, terminal: terminal)
            if round > 0 { perFrame.append(now() - start) }
        }
        if round > 0 { allocationsAfterWarmUp += visor_allocation_count() - allocationsBefore }
    }
    perFrame.sort()
    func percentile(_ p: Double) -> Double { Double(perFrame[min(perFrame.count - 1, Int(Double(perFrame.count) * p))]) / 1e6 }
    let frame = pipeline.state.frame
    print("{\"benchmark\":\"fast-path\",\"frames\":\(perFrame.count),\"width\":\(frame.widthPixels),\"height\":\(frame.heightPixels),"
        + "\"p50_ms\":\(percentile(0.5)),\"p90_ms\":\(percentile(0.9)),\"p99_ms\":\(percentile(0.99)),\"max_ms\":\(percentile(1)),"
        + "\"allocations\":\(allocationsAfterWarmUp),\"allocations_per_frame\":\(Double(allocationsAfterWarmUp) / Double(perFrame.count))}")
    // Each stage on its own, outside the pipeline, to see where allocations happen.
    var state = FrameState()
    state.terminalView = terminal.size
    var stageAllocations = [UInt64](repeating: 0, count: pipeline.fastStages.count)
    for round in 0...2 {
        for message in messages {
            state.input = .message(message)
            for (i, stage) in pipeline.fastStages.enumerated() {
                let before = visor_allocation_count()
                try stage.process(&state)
                if round > 0 { stageAllocations[i] += visor_allocation_count() - before }
            }
        }
    }
    for (i, (name, series)) in zip(pipeline.metrics.fastStageNames, pipeline.metrics.fastStages).enumerated() {
        if let s = series.summary {
            print("{\"stage\":\"\(name)\",\"p50_ms\":\(Double(s.p50) / 1e6),\"p99_ms\":\(Double(s.p99) / 1e6),\"allocations_per_frame\":\(Double(stageAllocations[i]) / Double(2 * messages.count))}")
        }
    }
}

func cpuNanoseconds() -> UInt64 {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let user = UInt64(usage.ru_utime.tv_sec) * 1_000_000_000 + UInt64(usage.ru_utime.tv_usec) * 1000
    let system = UInt64(usage.ru_stime.tv_sec) * 1_000_000_000 + UInt64(usage.ru_stime.tv_usec) * 1000
    return user + system
}

func cameraBenchmark(device: String, frames count: Int) throws {
    LoggingSystem.bootstrap { label in var h = StreamLogHandler.standardError(label: label); h.logLevel = .error; return h }
    let camera = try V4L2Camera(path: device)
    let grant = try camera.configure(widthPixels: 640, heightPixels: 480, framesPerSecond: 1000, format: .yuyv)
    try camera.start(bufferCount: 4)
    var captured: [[UInt8]] = []
    var frame = Frame(widthPixels: 0, heightPixels: 0, pixels: [], captureTimeNanoseconds: 0)
    // Warm up, then time frames captured and converted to RGB, as `visor live` takes them.
    for _ in 0..<5 { _ = try camera.nextFrame(into: &frame) }
    let wallStart = now(), cpuStart = cpuNanoseconds()
    var got = 0
    while got < count { if try camera.nextFrame(into: &frame) != nil { got += 1 } }
    let wall = Double(now() - wallStart) / 1e9, cpu = Double(cpuNanoseconds() - cpuStart) / 1e9
    while captured.count < 20 {
        _ = try camera.nextRawFrame { bytes, _ in captured.append(Array(bytes)) }
    }
    print("{\"benchmark\":\"camera-capture\",\"frames\":\(count),\"width\":\(grant.widthPixels),\"height\":\(grant.heightPixels),"
        + "\"fps\":\(Double(count) / wall),\"cpu_ms_per_frame\":\(cpu * 1000 / Double(count)),\"dropped\":\(camera.droppedFrames)}")
    camera.stop()

    // YUYV to RGB: Visor's converter against libv4lconvert's, on the same frames.
    let fd = open(device, O_RDWR | O_NONBLOCK)
    guard fd >= 0, let converter = v4lconvert_create(fd) else { fail("libv4lconvert could not start on \(device)") }
    defer { v4lconvert_destroy(converter); close(fd) }
    var source = v4l2_format()
    source.type = V4L2_BUF_TYPE_VIDEO_CAPTURE.rawValue
    source.fmt.pix.width = 640; source.fmt.pix.height = 480
    source.fmt.pix.pixelformat = VISOR_PIX_FMT_YUYV; source.fmt.pix.bytesperline = 1280
    source.fmt.pix.sizeimage = 640 * 480 * 2; source.fmt.pix.field = V4L2_FIELD_NONE.rawValue
    var destination = source
    destination.fmt.pix.pixelformat = VISOR_PIX_FMT_RGB24; destination.fmt.pix.bytesperline = 1920
    destination.fmt.pix.sizeimage = 640 * 480 * 3
    var ours = [UInt8](repeating: 0, count: 640 * 480 * 3), theirs = ours
    var oursTimes: [Double] = [], theirsTimes: [Double] = []
    var totalDifference = 0, comparedBytes = 0
    for round in 0..<10 {
        for yuyv in captured {
            var start = now()
            try yuyv.withUnsafeBytes { try PixelConverter.convertToRGB($0, encoding: .yuyv, widthPixels: 640, heightPixels: 480, stepBytes: 1280, into: &ours) }
            oursTimes.append(Double(now() - start) / 1e6)
            start = now()
            let n = yuyv.withUnsafeBufferPointer { src in
                theirs.withUnsafeMutableBufferPointer { dst in
                    v4lconvert_convert(converter, &source, &destination, UnsafeMutablePointer(mutating: src.baseAddress!), Int32(src.count), dst.baseAddress!, Int32(dst.count))
                }
            }
            theirsTimes.append(Double(now() - start) / 1e6)
            guard n == Int32(theirs.count) else { fail("libv4lconvert converted \(n) bytes: \(String(cString: v4lconvert_get_error_message(converter)))") }
            if round == 0 {
                for i in 0..<ours.count { totalDifference += abs(Int(ours[i]) - Int(theirs[i])) }
                comparedBytes += ours.count
            }
        }
    }
    oursTimes.sort(); theirsTimes.sort()
    let oursMedian = oursTimes[oursTimes.count / 2], theirsMedian = theirsTimes[theirsTimes.count / 2]
    print("{\"benchmark\":\"yuyv-to-rgb\",\"frames\":\(oursTimes.count),\"visor_median_ms\":\(oursMedian),\"libv4lconvert_median_ms\":\(theirsMedian),"
        + "\"speedup\":\(theirsMedian / oursMedian),\"mean_channel_difference\":\(Double(totalDifference) / Double(comparedBytes))}")
}

/// Accuracy and cost of the perception stages on the committed fixtures, as JSON lines.
func perception(fixtures: String) throws {
    func replay(_ name: String, stages: [SlowStage], listen: Bool) throws -> (events: [[String: Any]], result: ReplayResult) {
        let transcript = FileManager.default.temporaryDirectory.appendingPathComponent("visor-bench-\(getpid())-\(name).jsonl").path
        defer { unlink(transcript) }
        var options = ReplayOptions(profile: try DeviceProfiles.load("laptop"))
        options.deterministic = true
        options.slowStages = stages
        options.wakePhrases = listen ? SpeechListener.defaultWakePhrases : nil
        options.transcriptPath = transcript
        let result = try ReplayRunner(source: SessionSource(path: "\(fixtures)/\(name)"), options: options).run()
        let events = try String(contentsOfFile: transcript, encoding: .utf8).split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        return (events, result)
    }
    func json(_ object: [String: Any]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }
    func ms(_ s: LatencySummary?) -> [String: Double] {
        guard let s else { return [:] }
        return ["p50_ms": Double(s.p50) / 1e6, "p99_ms": Double(s.p99) / 1e6]
    }

    // Text: the sign's seven words, and nothing on the coffee table.
    let sign = ["NOTICE", "DOUBLE", "PARKING", "PROHIBITED", "AT", "ALL", "TIMES"]
    let signRun = try replay("sign.mcap", stages: [try TextStage()], listen: false)
    let readings = signRun.events.filter { $0["kind"] as? String == "text" }.compactMap { $0["text"] as? String }
    let best = readings.map { Set($0.split(separator: " ").map(String.init)).intersection(sign).count }.max() ?? 0
    let coffee = try replay("speech.mcap", stages: [try TextStage()], listen: false).events.filter { $0["kind"] as? String == "text" }.count
    print(json(["stage": "text", "sign_words_read": best, "sign_words": sign.count, "text_events_on_coffee": coffee,
                "final_reading": readings.last ?? ""].merging(ms(signRun.result.metrics.slowStages[0].latency.summary)) { a, _ in a }))

    // Codes.
    let codesRun = try replay("codes.mcap", stages: [try CodesStage()], listen: false)
    let payloads = codesRun.events.filter { $0["kind"] as? String == "code" }.compactMap { $0["payload"] as? String }
    print(json(["stage": "codes", "payloads": payloads].merging(ms(codesRun.result.metrics.slowStages[0].latency.summary)) { a, _ in a }))

    // Speech: wake phrases and commands against the truth, false alarms on speech without the phrase.
    let truth = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/commands-truth.json"))) as! [[String: Any]]
    let commandsRun = try replay("commands.mcap", stages: [], listen: true)
    let heard = commandsRun.events
    func near(_ event: [String: Any], _ truth: [String: Any]) -> Bool {
        abs(Double(event["start_ns"] as? Int ?? 0) / 1e9 - (truth["start_s"] as! Double)) <= 0.3
            && abs(Double(event["end_ns"] as? Int ?? 0) / 1e9 - (truth["end_s"] as! Double)) <= 0.3
    }
    var wakeHits = 0, commandHits = 0
    let wakes = heard.filter { $0["kind"] as? String == "wake" }, commands = heard.filter { $0["kind"] as? String == "command" }
    for line in truth {
        if let w = line["wake"] as? [String: Any], wakes.contains(where: { $0["phrase"] as? String == w["phrase"] as? String && near($0, w) }) { wakeHits += 1 }
        if let c = line["said"] as? [String: Any], let intent = c["intent"] as? String,
           commands.contains(where: { $0["intent"] as? String == intent && abs(Double($0["start_ns"] as? Int ?? 0) / 1e9 - (c["start_s"] as! Double)) <= 0.3 }) { commandHits += 1 }
    }
    let falseOnCommands = wakes.count - wakeHits
    let falseElsewhere = try ["speech.mcap", "street.mcap"].map { try replay($0, stages: [], listen: true).events.filter { $0["kind"] as? String == "wake" }.count }.reduce(0, +)
    let audioSeconds = Double(commandsRun.result.lastSampleTimeNanoseconds) / 1e9
    print(json(["stage": "speech", "wake_phrases_said": truth.filter { $0["wake"] != nil }.count, "wake_hits": wakeHits,
                "false_wakes_commands_fixture": falseOnCommands, "false_wakes_real_speech": falseElsewhere,
                "commands_said": truth.filter { ($0["said"] as? [String: Any])?["intent"] is String }.count, "commands_right": commandHits,
                "per_block": ms(commandsRun.result.metrics.speech.summary), "heard": ms(commandsRun.result.metrics.speechResults.summary),
                "audio_seconds": audioSeconds]))

    // Dictation word error rate on real read speech.
    let speechTruth = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/speech-truth.json"))) as! [String: Any]
    let decoder = try SpeechDecoder(wakePhrases: ["hey glasses"], commands: ["stop"])
    var errors = 0, words = 0, audio = 0.0, decoding = 0.0
    for name in ["speech.mcap", "street.mcap"] {
        var samples: [Int16] = []
        var iterator = try SessionSource(path: "\(fixtures)/\(name)").samples()
        while let sample = try iterator.next() { if case .audio(let block) = sample { samples += block.samples } }
        for clip in speechTruth[name] as! [[String: Any]] {
            let from = Int((clip["at_s"] as! Double) * 16000)
            let to = min(samples.count, from + Int((clip["duration_s"] as! Double + 0.3) * 16000))
            let start = now()
            let said = decoder.transcribe(Array(samples[from..<to])).map(\.text).joined(separator: " ")
            decoding += Double(now() - start) / 1e9
            audio += Double(to - from) / 16000
            let e = wordErrorRate(reference: clip["words"] as! String, hypothesis: said)
            errors += e.errors; words += e.words
            print(json(["clip": clip["clip"] as! String, "reference": clip["words"] as! String, "heard": said, "errors": e.errors, "words": e.words]))
        }
    }
    print(json(["stage": "dictation", "word_error_rate": Double(errors) / Double(words), "errors": errors, "words": words,
                "real_time_factor": decoding / audio]))
}

/// Encoding 640x480 frames to a 160x48-cell terminal frame, Visor against libchafa at the same
/// size and symbol set (half blocks, then sextants), side by side in one run: frames per second,
/// mean colour error of what each draws against the source (area-averaged to the cells' pixels),
/// and Visor's bytes per frame with and without cell diffing.
func terminalBenchmark(path: String, rounds: Int) throws {
    let source = try SessionSource(path: path)
    var frames: [Frame] = []
    var samples = source.samples()
    while let sample = try samples.next() { if case .frame(let f) = sample { frames.append(f) } }
    guard let first = frames.first, first.widthPixels == 640 else { fail("\(path) needs 640x480 frames") }
    let columns = 160, rows = 48
    let view = TerminalSize(columns: columns, rows: rows)

    /// Mean absolute error per channel of a cell grid drawn with 2x(1 or 3) pixels a cell.
    func colourError(sextants: Bool, frame: Frame, cell: (Int, Int) -> (UInt32, UInt32, UInt32)) -> Double {
        let sx = sextants ? 2 : 1, sy = sextants ? 3 : 2
        var reference: [UInt8] = []
        Resampler.areaAverage(frame, width: columns * sx, height: rows * sy, into: &reference)
        var total = 0
        for row in 0..<rows {
            for column in 0..<columns {
                let (glyph, fg, bg) = cell(column, row)
                let pattern: Int?
                if sextants {
                    pattern = TerminalFrameEncoder.sextantPattern(glyph)
                } else {
                    pattern = glyph == 0x2580 ? 0b01 : glyph == 0x2584 ? 0b10 : glyph == 0x2588 ? 0b11 : glyph == 0x20 ? 0 : nil
                }
                for k in 0..<(sx * sy) {
                    let lit = pattern.map { $0 & (1 << k) != 0 }
                    let colour: UInt32
                    if let lit { colour = lit ? fg : bg } else {
                        // A glyph outside the set: count it as the average of its two colours.
                        colour = ((fg >> 16 & 255) + (bg >> 16 & 255)) / 2 << 16 | ((fg >> 8 & 255) + (bg >> 8 & 255)) / 2 << 8 | ((fg & 255) + (bg & 255)) / 2
                    }
                    let x = column * sx + k % sx, y = row * sy + k / sx
                    let i = (y * columns * sx + x) * 3
                    total += abs(Int(colour >> 16 & 255) - Int(reference[i])) + abs(Int(colour >> 8 & 255) - Int(reference[i + 1]))
                        + abs(Int(colour & 255) - Int(reference[i + 2]))
                }
            }
        }
        return Double(total) / Double(columns * sx * rows * sy * 3)
    }

    chafa_set_n_threads(1)  // one thread each
    for sextants in [false, true] {
        let encoder = TerminalFrameEncoder()
        encoder.mode = sextants ? .sextants : .halfBlocks
        encoder.diffing = false
        let config = chafa_canvas_config_new()
        chafa_canvas_config_set_geometry(config, Int32(columns), Int32(rows))
        chafa_canvas_config_set_canvas_mode(config, CHAFA_CANVAS_MODE_TRUECOLOR)
        let symbols = chafa_symbol_map_new()
        chafa_symbol_map_add_by_tags(symbols, sextants ? CHAFA_SYMBOL_TAG_SEXTANT : CHAFA_SYMBOL_TAG_VHALF)
        chafa_canvas_config_set_symbol_map(config, symbols)
        let canvas = chafa_canvas_new(config)
        var oursTimes: [Double] = [], theirsTimes: [Double] = []
        var oursError = 0.0, theirsError = 0.0, oursBytes = 0, theirsBytes = 0, measured = 0
        for round in 0...rounds {
            for frame in frames {
                // Alternate who goes first, so neither always runs on a warm cache.
                for turn in (round % 2 == 0 ? [0, 1] : [1, 0]) {
                    let start = now()
                    if turn == 0 {
                        encoder.encode(frame, view: view)
                        if round > 0 { oursTimes.append(Double(now() - start) / 1e6); oursBytes += encoder.output.count }
                    } else {
                        frame.pixels.withUnsafeBufferPointer {
                            chafa_canvas_draw_all_pixels(canvas, CHAFA_PIXEL_RGB8, $0.baseAddress, 640, Int32(frame.heightPixels), 640 * 3)
                        }
                        let printed = chafa_canvas_print(canvas, nil)
                        if round > 0 { theirsTimes.append(Double(now() - start) / 1e6); theirsBytes += Int(printed?.pointee.len ?? 0) }
                        g_string_free(printed, 1)
                    }
                }
                if round == 1 {
                    oursError += colourError(sextants: sextants, frame: frame) { c, r in encoder.cell(column: c, row: r) }
                    theirsError += colourError(sextants: sextants, frame: frame) { c, r in
                        var fg: Int32 = 0, bg: Int32 = 0
                        chafa_canvas_get_colors_at(canvas, Int32(c), Int32(r), &fg, &bg)
                        return (chafa_canvas_get_char_at(canvas, Int32(c), Int32(r)), UInt32(bitPattern: fg) & 0xFFFFFF, UInt32(bitPattern: bg) & 0xFFFFFF)
                    }
                    measured += 1
                }
            }
        }
        chafa_canvas_unref(canvas)
        chafa_symbol_map_unref(symbols)
        chafa_canvas_config_unref(config)
        // Bytes with cell diffing: the same frames in order, only changed cells rewritten.
        let diffing = TerminalFrameEncoder()
        diffing.mode = encoder.mode
        var diffBytes = 0
        for frame in frames { diffing.encode(frame, view: view); diffBytes += diffing.output.count }
        oursTimes.sort(); theirsTimes.sort()
        let ours = oursTimes[oursTimes.count / 2], theirs = theirsTimes[theirsTimes.count / 2]
        print("{\"benchmark\":\"terminal\",\"symbols\":\"\(sextants ? "sextants" : "half blocks")\",\"cells\":\"\(columns)x\(rows)\",\"frames\":\(oursTimes.count),"
            + "\"visor_median_ms\":\(ours),\"chafa_median_ms\":\(theirs),\"visor_fps\":\(1000 / ours),\"chafa_fps\":\(1000 / theirs),\"speedup\":\(theirs / ours),"
            + "\"visor_colour_error\":\(oursError / Double(measured)),\"chafa_colour_error\":\(theirsError / Double(measured)),"
            + "\"visor_bytes_per_frame\":\(oursBytes / oursTimes.count),\"visor_bytes_per_frame_diffed\":\(diffBytes / frames.count),"
            + "\"chafa_bytes_per_frame\":\(theirsBytes / theirsTimes.count)}")
    }
}

/// BlazeFace inference, Visor's interpreter against Google's runtime (ai-edge-litert through
/// Tests/Interop/tflite_reference.py, one thread, XNNPACK as it ships), same model and input,
/// side by side in one run: blocks of invocations alternate between the two, so that both see
/// the machine in the same state (a busy neighbour or a change of clock speed slows both), and
/// each block's median ratio is kept; the figure is the median of those ratios. Also Visor's
/// heap allocations per inference.
func faceBenchmark(image: String, runs: Int) throws {
    guard let jpeg = FileManager.default.contents(atPath: image) else { fail("cannot read \(image)") }
    var pixels: [UInt8] = []
    let size = try jpeg.withUnsafeBytes { try JPEGCodec().decode($0, into: &pixels) }
    let frame = Frame(widthPixels: size.width, heightPixels: size.height, pixels: pixels, captureTimeNanoseconds: 0)
    let block = 10
    func median(_ values: [Double]) -> Double { values.isEmpty ? .nan : values.sorted()[values.count / 2] }
    for model in FaceDetector.Model.allCases {
        let detector = try FaceDetector(model: model)
        detector.prepare(frame)
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("visor-face-\(getpid()).f32")
        try Data(buffer: UnsafeBufferPointer(detector.interpreter.input())).write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "Tests/Interop/tflite_reference.py", FaceDetector.modelPath(model)!, input.path,
                             input.path + ".out", "--serve"]
        let requests = Pipe(), replies = Pipe()
        process.standardInput = requests
        process.standardOutput = replies
        process.standardError = FileHandle.nullDevice
        try process.run()
        var lines = LineReader(replies.fileHandleForReading)
        guard lines.next() == "ready" else { fail("the reference runtime did not start (is ai-edge-litert installed? tools/setup)") }
        func reference(_ count: Int) -> [Double] {
            requests.fileHandleForWriting.write(Data("\(count)\n".utf8))
            guard let line = lines.next(), let times = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [Double] else {
                fail("the reference runtime stopped answering")
            }
            return times
        }
        // Warm both for half a second each (clock speed, caches, the just-built binary's pages):
        // a first block measured cold once read 1.10 where the next runs read 0.87.
        let warm = now() + 500_000_000
        while now() < warm { detector.interpreter.invoke() }
        var warmed = 0.0
        while warmed < 500 { warmed += reference(block).reduce(0, +) }
        var ours: [Double] = [], theirs: [Double] = [], ratios: [Double] = []
        ours.reserveCapacity(runs)
        var allocations: UInt64 = 0
        while ours.count < runs {
            var mine: [Double] = []
            mine.reserveCapacity(block)
            let before = visor_allocation_count()
            for _ in 0..<block {
                let start = now()
                detector.interpreter.invoke()
                mine.append(Double(now() - start) / 1e6)
            }
            allocations += visor_allocation_count() - before
            let others = reference(block)
            ours += mine
            theirs += others
            ratios.append(median(mine) / median(others))
        }
        try? requests.fileHandleForWriting.close()
        process.waitUntilExit()
        for k in 0..<2 { try? FileManager.default.removeItem(atPath: input.path + ".out.\(k).f32") }
        if ProcessInfo.processInfo.environment["VISOR_PROFILE"] != nil {
            let steps = detector.interpreter.profile(runs: 100)
            var kinds: [String: Double] = [:]
            for (step, ms) in steps {
                print(String(format: "%8.4f ms  %@", ms, step))
                kinds[String(step.prefix { $0 != " " }), default: 0] += ms
            }
            print(kinds.sorted { $0.value > $1.value }.map { String(format: "%@ %.3f ms", $0.key, $0.value) }.joined(separator: ", "))
        }
        print("{\"benchmark\":\"face-inference\",\"model\":\"\(model.rawValue)\",\"kernels\":\"\(detector.interpreter.kernels.rawValue)\",\"runs\":\(ours.count),"
            + "\"visor_median_ms\":\(median(ours)),\"reference_median_ms\":\(median(theirs)),\"visor_over_reference\":\(median(ratios)),"
            + "\"allocations_per_inference\":\(Double(allocations) / Double(ours.count))}")
    }
}

/// Lines from a pipe, without Foundation's line APIs (which Linux lacks for file handles).
struct LineReader {
    let handle: FileHandle
    var buffer = Data()
    init(_ handle: FileHandle) { self.handle = handle }
    mutating func next() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                return line
            }
            let more = handle.availableData
            if more.isEmpty { return nil }
            buffer.append(more)
        }
    }
}

let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
case "camera":
    guard arguments.count >= 2 else { fail("usage: visor-benchmarks camera DEVICE [FRAMES]") }
    let count = arguments.count >= 3 ? Int(arguments[arguments.startIndex + 2]) ?? 300 : 300
    do { try cameraBenchmark(device: arguments[arguments.startIndex + 1], frames: count) } catch { fail("\(error)") }
case "fast-path":
    guard arguments.count >= 2 else { fail("usage: visor-benchmarks fast-path FILE [ROUNDS]") }
    let rounds = arguments.count >= 3 ? Int(arguments[arguments.startIndex + 2]) ?? 20 : 20
    do { try fastPath(path: arguments[arguments.startIndex + 1], rounds: rounds) } catch { fail("\(error)") }
case "mcap-read":
    guard arguments.count >= 2 else { fail("usage: visor-benchmarks mcap-read FILE [PASSES]") }
    let path = arguments[arguments.startIndex + 1]
    let passes = arguments.count >= 3 ? Int(arguments[arguments.startIndex + 2]) ?? 10 : 10
    do { try mcapRead(path: path, passes: passes) } catch { fail("\(error)") }
case "terminal":
    guard arguments.count >= 2 else { fail("usage: visor-benchmarks terminal FILE [ROUNDS]") }
    let rounds = arguments.count >= 3 ? Int(arguments[arguments.startIndex + 2]) ?? 5 : 5
    do { try terminalBenchmark(path: arguments[arguments.startIndex + 1], rounds: rounds) } catch { fail("\(error)") }
case "faces":
    let runs = arguments.count >= 3 ? Int(arguments[arguments.startIndex + 2]) ?? 200 : 200
    do { try faceBenchmark(image: arguments.count >= 2 ? arguments[arguments.startIndex + 1] : "Fixtures/astronaut.jpg", runs: runs) } catch { fail("\(error)") }
case "assistant":
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = .warning
        return handler
    }
    do { try assistantBenchmark(runs: arguments.count >= 2 ? Int(arguments[arguments.startIndex + 1]) ?? 10 : 10) } catch { fail("\(error)") }
case "perception":
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = .warning
        return handler
    }
    do { try perception(fixtures: arguments.count >= 2 ? arguments[arguments.startIndex + 1] : "Fixtures") } catch { fail("\(error)") }
case "whisper":
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = .warning
        return handler
    }
    do { try whisperBenchmark(fixtures: "Fixtures", runs: arguments.count >= 2 ? Int(arguments[arguments.startIndex + 1]) ?? 5 : 5) } catch { fail("\(error)") }
default:
    fail("usage: visor-benchmarks mcap-read FILE [PASSES] | fast-path FILE [ROUNDS] | camera DEVICE [FRAMES] | perception [FIXTURES] | terminal FILE [ROUNDS] | faces [IMAGE.jpg] [RUNS] | assistant [RUNS] | whisper [RUNS]")
}
