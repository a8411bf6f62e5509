import Dispatch
import Foundation
import VisorCore
import VisorPerception
import VisorSession

/// Whisper on the commands of `Fixtures/commands.mcap`, each cut as the listener hears it (half a
/// second before its first word to a fifth of a second after its last), side by side in one run:
/// Visor's recogniser as the listener calls it for a command (the encoder over the command's own
/// window), whisper.cpp over its own whole 30 s window (the library as it comes), and the
/// reference, faster-whisper on the original CTranslate2 weights, greedy, in float32 and in int8.
/// Each on 2 threads, one after the other; medians over every command and run.
func whisperBenchmark(fixtures: String, runs: Int) throws {
    func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
    func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
    let rate = Double(WhisperRecognizer.sampleRateHertz)
    var audio: [Int16] = []
    var samples = try SessionSource(path: fixtures + "/commands.mcap").samples()
    while let sample = try samples.next() { if case .audio(let block) = sample { audio += block.samples } }
    guard let truth = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixtures + "/commands-truth.json"))) as? [[String: Any]] else {
        throw VisorError("commands-truth.json is not a list")
    }
    var clips: [[Int16]] = []
    for line in truth {
        guard let said = line["said"] as? [String: Any], let start = said["start_s"] as? Double, let end = said["end_s"] as? Double else { continue }
        let from = max(0, Int((start - 0.5) * rate)), to = min(audio.count, Int((end + 0.2) * rate))
        if from < to { clips.append(Array(audio[from..<to])) }
    }
    guard !clips.isEmpty else { throw VisorError("no command in commands-truth.json") }
    let whisper = try WhisperRecognizer(threads: 2)
    var ours: [Double] = [], whole: [Double] = []
    _ = try whisper.transcribe(clips[0], maxTokens: 24, window: .command)  // warm
    for _ in 0..<runs {
        for clip in clips {
            var start = now()
            _ = try whisper.transcribe(clip, maxTokens: 24, window: .command)
            ours.append(Double(now() - start) / 1e6)
            start = now()
            _ = try whisper.transcribe(clip, maxTokens: 24, window: .whole)
            whole.append(Double(now() - start) / 1e6)
        }
    }
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("visor-whisper-bench-\(getpid())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    var paths: [String] = []
    for (i, clip) in clips.enumerated() {
        let path = folder.appendingPathComponent("command-\(i).raw").path
        try clip.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: path)) }
        paths.append(path)
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "tools/benchlib/whisper_reference_bench.py", String(runs)] + paths
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0,
          let reference = try JSONSerialization.jsonObject(with: data) as? [String: [Double]], let float32 = reference["float32"], let int8 = reference["int8"],
          !float32.isEmpty, !int8.isEmpty else {
        throw VisorError("tools/benchlib/whisper_reference_bench.py failed (faster-whisper missing? run tools/setup)")
    }
    print(String(format: "{\"benchmark\":\"whisper-command\",\"commands\":%d,\"runs\":%d,\"visor_median_ms\":%.1f,\"whisper_cpp_whole_window_median_ms\":%.1f,"
                 + "\"faster_whisper_float32_median_ms\":%.1f,\"faster_whisper_int8_median_ms\":%.1f,\"visor_over_float32\":%.3f,\"visor_over_int8\":%.3f}",
                 clips.count, runs, median(ours), median(whole), median(float32), median(int8), median(ours) / median(float32), median(ours) / median(int8)))
}
