import Foundation
import VisorCore
import VisorMedia
import VisorSession
import VisorNeural
import VisorAssistant

/// libFuzzer entry point, built only by `tools/fuzz` (with `-sanitize=fuzzer,address`). The
/// first byte picks the target, so one binary fuzzes them all:
///   0: the MCAP reader (summary or scan, every message, metadata, attachments)
///   1: the Foxglove protobuf message decoders
///   2: the JPEG and PNG decoders
///   3: the device profile parser
///   4: the TFLite model reader and interpreter planner (a model that loads is also run once)
///   5: the wearer profile parser (YAML)
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let selector = start.load(as: UInt8.self) % 6
    let body = Data(bytes: start + 1, count: count - 1)
    switch selector {
    case 0:
        guard let reader = try? MCAPReader(data: body, name: "fuzz") else { return 0 }
        var total = 0
        for message in reader.messages() { total &+= message.data.count }
        _ = try? reader.metadata()
        _ = try? reader.attachments()
        _ = total
    case 1:
        let bytes = Array(body)[...]
        _ = try? CompressedImageMessage.decode(bytes)
        _ = try? RawImageMessage.decode(bytes)
        _ = try? RawAudioMessage.decode(bytes)
    case 2:
        var pixels: [UInt8] = []
        body.withUnsafeBytes { raw in
            _ = try? JPEGCodec().decode(raw, into: &pixels, maxPixels: 4_000_000)
            _ = try? PNGCodec.decode(raw, into: &pixels, maxPixels: 4_000_000)
        }
    case 3:
        _ = try? DeviceProfile.load(from: body, source: "fuzz")
    case 5:
        _ = try? WearerProfile.parse(String(decoding: body, as: UTF8.self))
    default:
        if let model = try? TFLiteModel(bytes: [UInt8](body), name: "fuzz"),
           // Bounded: a model that plans more than 64 MB of tensors is not run here.
           model.tensors.reduce(0, { $0 + $1.elementCount }) < 16_000_000,
           let interpreter = try? TFLiteInterpreter(model: model) {
            interpreter.invoke()
        }
    }
    return 0
}

#if !VISOR_FUZZING
/// Without libFuzzer: runs each file given through the same entry point, for regression tests.
@main
struct ReplayInputs {
    static func main() {
        for path in CommandLine.arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("visor-fuzz: cannot read \(path)\n".utf8))
                exit(1)
            }
            data.withUnsafeBytes { raw in
                if let base = raw.baseAddress { _ = fuzzOneInput(base, raw.count) }
            }
        }
    }
}
#endif

#if VISOR_FUZZING
/// SwiftPM names an executable's entry point after its target; hand it to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<Int32>,
                     _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

@_cdecl("VisorFuzz_main")
func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments) { data, size in
        guard let data else { return 0 }
        return fuzzOneInput(UnsafeRawPointer(data), size)
    }
}
#endif
