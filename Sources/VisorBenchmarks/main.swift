import Dispatch
import Foundation
import VisorSession

/// Visor's benchmarks, beside the code they measure. Each prints one JSON object per line so
/// that `tools/bench-*` scripts can set them side by side with their references.
///
///   visor-benchmarks mcap-read FILE [PASSES]
///     Reads every message of FILE (chunks decompressed and CRC-checked), PASSES times; with
///     decoding, also parses each message's Foxglove protobuf. Prints seconds per pass.

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

let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
case "mcap-read":
    guard arguments.count >= 2 else { fail("usage: visor-benchmarks mcap-read FILE [PASSES]") }
    let path = arguments[arguments.startIndex + 1]
    let passes = arguments.count >= 3 ? Int(arguments[arguments.startIndex + 2]) ?? 10 : 10
    do { try mcapRead(path: path, passes: passes) } catch { fail("\(error)") }
default:
    fail("usage: visor-benchmarks mcap-read FILE [PASSES]")
}
