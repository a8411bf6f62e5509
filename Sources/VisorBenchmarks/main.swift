import CMallocCounter
import Dispatch
import Foundation
import VisorCore
import VisorDisplay
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
        fastStages: [ConvertStage(schema: source.cameraSchema, topic: source.cameraChannel.topic), LightStage(), HUDStage(), TerminalStage()],
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
            state.input = message
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

let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
case "fast-path":
    guard arguments.count >= 2 else { fail("usage: visor-benchmarks fast-path FILE [ROUNDS]") }
    let rounds = arguments.count >= 3 ? Int(arguments[arguments.startIndex + 2]) ?? 20 : 20
    do { try fastPath(path: arguments[arguments.startIndex + 1], rounds: rounds) } catch { fail("\(error)") }
case "mcap-read":
    guard arguments.count >= 2 else { fail("usage: visor-benchmarks mcap-read FILE [PASSES]") }
    let path = arguments[arguments.startIndex + 1]
    let passes = arguments.count >= 3 ? Int(arguments[arguments.startIndex + 2]) ?? 10 : 10
    do { try mcapRead(path: path, passes: passes) } catch { fail("\(error)") }
default:
    fail("usage: visor-benchmarks mcap-read FILE [PASSES] | fast-path FILE [ROUNDS]")
}
