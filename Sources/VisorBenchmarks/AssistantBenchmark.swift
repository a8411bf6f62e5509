import Dispatch
import Foundation
import VisorAssistant
import VisorCore

/// The assistant's parts alone, on one core's worth of quiet: the language model's load time and
/// its prompt and generation speed on the assistant's own prompts, flite's synthesis time, and a
/// template answer.
func assistantBenchmark(runs: Int) throws {
    func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
    func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
    guard let path = LanguageModel.defaultModelPath() else { throw VisorError("no model: run tools/setup") }
    let threads = min(2, ProcessInfo.processInfo.activeProcessorCount)

    var loads: [Double] = []
    for _ in 0..<5 {
        let start = now()
        _ = try LanguageModel(path: path, threads: threads)
        loads.append(Double(now() - start) / 1e6)
    }
    let questions = [
        ("A sign reads \"NOTICE DOUBLE PARKING PROHIBITED AT ALL TIMES\"", "What am I looking at?"),
        ("You noted: the car is on level three", "Where is the car?"),
        ("You read: NOTICE DOUBLE PARKING PROHIBITED AT ALL TIMES\n- You took a photo\n- You noted: the car is on level three", "What did I see?"),
    ]
    /// The model's speed and answer time on the assistant's questions, `runs` rounds.
    func measure(_ model: LanguageModel) throws -> (prompt: Double, generated: Double, answer: Double, threads: Int) {
        try model.prefill(model.chatPrompt(system: Assistant.systemPrompt, user: ""))
        var promptRates: [Double] = [], generationRates: [Double] = [], answers: [Double] = [], threads: [Int] = []
        for _ in 0..<runs {
            for (facts, question) in questions {
                let start = now()
                let (_, t) = try model.phrase(system: Assistant.systemPrompt, user: "Facts:\n- \(facts)\nQuestion: \(question)", maxTokens: 40)
                answers.append(Double(now() - start) / 1e6)
                promptRates.append(t.promptTokensPerSecond)
                if t.generatedTokens > 0 { generationRates.append(t.generatedTokensPerSecond) }
                threads.append(t.threads)
            }
        }
        return (median(promptRates), median(generationRates), median(answers), threads.sorted()[threads.count / 2])
    }
    // Quiet: as the runtime loads it outside deterministic runs (threads sized by the cores free).
    let quiet = try measure(try LanguageModel(path: path, threads: threads, adaptiveThreads: true))
    print(String(format: "{\"benchmark\":\"language-model\",\"model\":\"%@\",\"threads\":%d,\"load_median_ms\":%.1f,\"answer_median_ms\":%.1f,\"prompt_tokens_per_second_median\":%.0f,\"generated_tokens_per_second_median\":%.0f}",
                 LanguageModel.defaultModelName, quiet.threads, median(loads), quiet.answer, quiet.prompt, quiet.generated))
    // Contended: another process burns one core throughout (and only while these run); the same
    // model with its threads sized by the cores free, and with all of them as before.
    do {
        let burner = Process()
        burner.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        burner.arguments = ["python3", "-c", "while True: pass"]
        try burner.run()
        defer { burner.terminate(); burner.waitUntilExit() }
        usleep(500_000)
        let adaptive = try measure(try LanguageModel(path: path, threads: threads, adaptiveThreads: true))
        let fixed = try measure(try LanguageModel(path: path, threads: threads))
        for (name, r) in [("adaptive", adaptive), ("fixed", fixed)] {
            print(String(format: "{\"benchmark\":\"language-model-contended\",\"threads_policy\":\"%@\",\"threads\":%d,\"answer_median_ms\":%.1f,\"prompt_tokens_per_second_median\":%.0f,\"generated_tokens_per_second_median\":%.0f,\"generated_over_quiet\":%.2f,\"prompt_over_quiet\":%.2f}",
                         name, r.threads, r.answer, r.prompt, r.generated, r.generated / quiet.generated, r.prompt / quiet.prompt))
        }
    }

    let voice = try SpeechSynthesizer()
    let sentence = "It says: NOTICE DOUBLE PARKING PROHIBITED AT ALL TIMES"
    var synthesis: [Double] = []
    var samples = 0
    for _ in 0..<max(5, runs) {
        let start = now()
        samples = voice.synthesize(sentence).count
        synthesis.append(Double(now() - start) / 1e6)
    }
    let seconds = Double(samples) / Double(SpeechSynthesizer.sampleRateHertz)
    print(String(format: "{\"benchmark\":\"speech-synthesis\",\"voice\":\"slt\",\"audio_seconds\":%.2f,\"synthesis_median_ms\":%.1f,\"real_time_factor\":%.3f}",
                 seconds, median(synthesis), median(synthesis) / 1000 / seconds))

    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("visor-bench-assistant-\(getpid())").path
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let assistant = Assistant(configuration: AssistantConfiguration(), memory: try Memory(path: folder + "/memory.sqlite"), model: nil, voice: nil)
    var scene = SceneContext()
    scene.texts = [TextSighting(text: "NOTICE DOUBLE PARKING PROHIBITED AT ALL TIMES", box: [0, 0, 1, 1], confidence: 1, captureTimeNanoseconds: 0)]
    var templates: [Double] = []
    for i in 0..<max(20, runs) {
        let heard = HeardSpeech(command: .whatAmILookingAt, words: "", startNanoseconds: 0, endNanoseconds: 1)
        let start = now()
        _ = assistant.respond(to: heard, scene: scene, frame: nil, sessionTime: UInt64(i), wallClock: nil)
        templates.append(Double(now() - start) / 1e6)
    }
    print(String(format: "{\"benchmark\":\"template-answer\",\"median_ms\":%.3f}", median(templates)))
}
