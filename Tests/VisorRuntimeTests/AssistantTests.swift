import Foundation
import VisorAssistant
import VisorCore
import VisorMedia
import VisorPerception
import VisorSession
import VisorTestSupport
import XCTest
@testable import VisorRuntime

/// The assistant end to end on the committed fixtures: spoken audio through PocketSphinx, the
/// scene through Tesseract, answers phrased by SmolLM2 through llama.cpp, memory in SQLite, speech
/// from flite.
final class AssistantTests: XCTestCase {
    struct Run {
        var events: [[String: Any]]
        var transcript: String
        var directory: URL
    }

    private func replay(_ fixture: String, memory: String, wearer: WearerProfile = WearerProfile(), stages: [SlowStage]? = nil,
                        listen: Bool = true, configure: (inout ReplayOptions) -> Void = { _ in }) throws -> Run {
        let dir = try TestSupport.temporaryDirectory(self)
        let profile = try DeviceProfiles.load("laptop")
        var options = ReplayOptions(profile: profile)
        options.transcriptPath = dir.appendingPathComponent("t.jsonl").path
        options.deterministic = true
        options.slowStages = try stages ?? [TextStage()]
        options.wakePhrases = listen ? (wearer.wakePhrases ?? SpeechListener.defaultWakePhrases) : nil
        options.assistant = try Assistant.make(profile: profile, wearer: wearer, memoryPath: memory,
                                               galleryDirectory: dir.appendingPathComponent("gallery").path)
        configure(&options)
        _ = try ReplayRunner(source: SessionSource(path: TestSupport.fixture(fixture)), options: options).run()
        let text = try String(contentsOfFile: options.transcriptPath!, encoding: .utf8)
        return Run(events: try TestSupport.transcriptEvents(options.transcriptPath!), transcript: text, directory: dir)
    }

    private func kind(_ events: [[String: Any]], _ kind: String) -> [[String: Any]] { events.filter { $0["kind"] as? String == kind } }

    /// The events after the command with `intent` and before the next wake phrase.
    private func answer(to intent: String, in events: [[String: Any]]) throws -> [[String: Any]] {
        let start = try XCTUnwrap(events.firstIndex { $0["kind"] as? String == "command" && $0["intent"] as? String == intent }, intent)
        let rest = events[(start + 1)...]
        let end = rest.firstIndex { $0["kind"] as? String == "wake" } ?? events.endIndex
        return Array(events[(start + 1)..<end])
    }

    private func shown(_ events: [[String: Any]]) -> [String] {
        kind(events, "overlay").filter { ["show", "update"].contains($0["action"] as? String) && $0["source"] as? String != "cue" }.compactMap { $0["text"] as? String }
    }

    private func said(_ events: [[String: Any]]) -> [String] {
        kind(events, "speech").filter { $0["action"] as? String == "start" }.compactMap { $0["text"] as? String }
    }

    /// whisper.cpp and llama.cpp in one process, each with its own ggml (libvisor-whisper keeps
    /// its ggml to itself): the command heard by Whisper, the answer phrased by the model.
    func testWhisperAndTheLanguageModelRunInOneProcess() throws {
        let memoryPath = try TestSupport.temporaryDirectory(self).appendingPathComponent("memory.sqlite").path
        let run = try replay("commands.mcap", memory: memoryPath) { $0.recognition = .whisper() }
        let looking = try answer(to: "what_am_i_looking_at", in: run.events)
        let model = try XCTUnwrap(kind(looking, "model").first, "the language model ran on the command Whisper heard")
        XCTAssertGreaterThan(model["generated_tokens"] as? Int ?? 0, 0, "\(model)")
        XCTAssertTrue(shown(looking).contains { $0.contains("NOTICE") }, "\(shown(looking))")
        let noted = shown(try answer(to: "remember_this", in: run.events))
        XCTAssertTrue(noted.contains { $0.hasPrefix("Noted:") && $0.contains("level") && !$0.lowercased().contains("remember") }, "\(noted)")
    }

    /// Free-running (live, or a replay that does not model latencies), an answer the model phrases
    /// shows its template as soon as it is decided, and the model's verdict and the speech come
    /// when the model is done: the template's overlay is published at an earlier frame than they
    /// are. It used to wait for the whole answer, phrasing and voice included, though its latency
    /// was counted from when it was decided.
    func testTheTemplateAnswerShowsWhileTheModelPhrasesIt() throws {
        let memoryPath = try TestSupport.temporaryDirectory(self).appendingPathComponent("memory.sqlite").path
        // SmolLM2 and flite, paced at four times real time: the fixture's frames, a second apart,
        // come every 250 ms, which the model's phrasing of "what did I see" (its facts, then a
        // sentence: 300-500 ms here) outlasts, so the answer spans frames. Faster (8x), with a
        // core burned, the worker fell behind the session's end, where everything left is
        // published at once.
        let run = try replay("commands.mcap", memory: memoryPath, stages: []) { options in
            options.deterministic = false
            options.speed = .times(4)
        }
        // The worker answers one request after another: an answer's template is the last one
        // shown before its model's verdict, and its speech the first after.
        let events = run.events
        let verdict = try XCTUnwrap(events.firstIndex { $0["kind"] as? String == "model" && $0["intent"] as? String == "what_did_i_see" }, "\(events)")
        let template = try XCTUnwrap(events[..<verdict].last { $0["kind"] as? String == "overlay" && $0["action"] as? String == "show" && $0["source"] as? String == "template" })
        let speech = try XCTUnwrap(events[verdict...].first { $0["kind"] as? String == "speech" && $0["action"] as? String == "start" })
        XCTAssertLessThan(template["time_ns"] as! Int, events[verdict]["time_ns"] as! Int, "\(template) \(events[verdict])")
        XCTAssertLessThan(template["time_ns"] as! Int, speech["time_ns"] as! Int, "\(template) \(speech)")
    }

    func testEachSpokenCommandShowsAndSaysItsAnswer() throws {
        let memoryPath = try TestSupport.temporaryDirectory(self).appendingPathComponent("memory.sqlite").path
        var speechPath = ""
        let run = try replay("commands.mcap", memory: memoryPath) { options in
            speechPath = (options.transcriptPath! as NSString).deletingLastPathComponent + "/speech.wav"
            options.speechOutputPath = speechPath
        }
        let events = run.events
        let sign = "NOTICE DOUBLE PARKING PROHIBITED AT ALL TIMES"

        // Each wake phrase puts up "listening..." and the command takes it down.
        let listening = kind(events, "overlay").filter { $0["source"] as? String == "listening" }
        XCTAssertEqual(listening.count, 7, "\(listening)")

        // What am I looking at: the sign, phrased by the model (which really ran) or the template.
        let looking = try answer(to: "what_am_i_looking_at", in: events)
        XCTAssertTrue(shown(looking).allSatisfy { $0.contains("NOTICE") }, "\(shown(looking))")
        let model = try XCTUnwrap(kind(looking, "model").first, "the language model phrased the answer")
        XCTAssertGreaterThan(model["generated_tokens"] as? Int ?? 0, 0)
        XCTAssertEqual(said(looking).count, 1)
        XCTAssertTrue(said(looking)[0].contains("NOTICE"), "\(said(looking))")

        // Read this: the sign's words on the HUD and in the voice, and kept as a reading.
        let reading = try answer(to: "read_this", in: events)
        XCTAssertEqual(shown(reading), [sign])
        XCTAssertEqual(said(reading), ["It says: \(sign)"])
        XCTAssertEqual(kind(reading, "memory").first?["entry"] as? String, "reading")

        // Take a photo: a JPEG of the frame, readable by its owner only.
        let photo = try answer(to: "take_photo", in: events)
        let path = try XCTUnwrap(kind(photo, "photo").first?["path"] as? String)
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertEqual(Array(jpeg.prefix(3)), [0xFF, 0xD8, 0xFF])
        XCTAssertEqual(try jpeg.withUnsafeBytes { try JPEGCodec().dimensions(of: $0) }.width, 640)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int, 0o600)
        XCTAssertEqual(shown(photo), ["Photo saved."])

        // Remember this: the dictated note, with what was in view.
        let remember = try answer(to: "remember_this", in: events)
        let note = try XCTUnwrap(kind(remember, "memory").first?["text"] as? String)
        XCTAssertTrue(note.hasSuffix("car is on level three"), note)
        XCTAssertEqual(shown(remember), ["Noted: \(note)."])
        XCTAssertEqual(said(remember), ["I will remember: \(note)."])

        // What did I see: from memory, the reading, the photo and the note.
        let seen = try answer(to: "what_did_i_see", in: events)
        XCTAssertEqual(shown(seen).first, "You read: \(sign). You took a photo. You noted: \(note).")
        XCTAssertEqual(said(seen).count, 1)

        // What time is it: the session's time in replay (the command is heard at 26 s).
        let time = try answer(to: "what_time_is_it", in: events)
        XCTAssertEqual(shown(time), ["It is 0 minutes 26 seconds into the session."])

        // Stop: everything on the HUD goes and nothing is said.
        let stop = try answer(to: "stop", in: events)
        let hidden = kind(stop, "overlay").filter { $0["action"] as? String == "hide" && $0["reason"] as? String == "stopped" }
        XCTAssertFalse(hidden.isEmpty)
        XCTAssertEqual(said(stop), [])

        // A new wake phrase cuts the answer being spoken: "what am I looking at" is still being
        // said when "okay glasses" comes at 6 s.
        let cut = kind(events, "speech").filter { $0["action"] as? String == "interrupt" }
        XCTAssertTrue(cut.contains { ($0["text"] as? String)?.contains("NOTICE") == true && ($0["end_ns"] as? Int ?? 0) < 7_500_000_000 }, "\(cut)")

        // Everything said is in the WAV file, at its time: speech where an answer starts.
        let wav = try Data(contentsOf: URL(fileURLWithPath: speechPath))
        let samples = wav.dropFirst(44).withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        let readStart = try XCTUnwrap(kind(reading, "speech").first { $0["action"] as? String == "start" }?["start_ns"] as? Int)
        let at = readStart / 1_000_000_000 * 16_000 + (readStart % 1_000_000_000) * 16 / 1_000_000
        let loud = samples[at..<(at + 16_000)].map { abs(Int($0)) }.max() ?? 0
        XCTAssertGreaterThan(loud, 3000, "the answer is audible in the WAV at its start time")
        let before = samples[(at - 8_000)..<(at - 100)].map { abs(Int($0)) }.max() ?? 0
        XCTAssertLessThan(before, 100, "silence before it")

        // What the voice says is what the transcript says: PocketSphinx hears the sign's words.
        let spoken = Array(samples[at..<min(samples.count, at + 16_000 * 4)])
        let decoder = try SpeechDecoder(wakePhrases: SpeechListener.defaultWakePhrases, commands: VoiceCommand.defaults.map(\.phrase))
        decoder.start(.dictation)
        spoken.withUnsafeBufferPointer { decoder.process($0) }
        decoder.finish()
        let heard = decoder.words().map { $0.text }
        XCTAssertTrue(heard.contains("parking"), "\(heard)")
    }

    func testTwoRunsGiveTheSameTranscript() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let a = try replay("commands.mcap", memory: dir.appendingPathComponent("a.sqlite").path)
        let b = try replay("commands.mcap", memory: dir.appendingPathComponent("b.sqlite").path)
        // Photo paths differ (each run has its own gallery); all else is the same, model included.
        func normalised(_ r: Run) -> String { r.transcript.replacingOccurrences(of: r.directory.path, with: "DIR") }
        XCTAssertEqual(normalised(a), normalised(b))
    }

    func testMemorySurvivesARestartAndWhereIsFindsTheNote() throws {
        let memoryPath = try TestSupport.temporaryDirectory(self).appendingPathComponent("memory.sqlite").path
        _ = try replay("commands.mcap", memory: memoryPath)
        // A second run, a new process's worth of state: only the file carries the note over.
        let recall = try replay("recall.mcap", memory: memoryPath, stages: [])
        let command = try XCTUnwrap(kind(recall.events, "command").first)
        XCTAssertEqual(command["intent"] as? String, "where_is")
        XCTAssertEqual(command["words"] as? String, "the car")
        let answer = try self.answer(to: "where_is", in: recall.events)
        XCTAssertTrue(shown(answer).allSatisfy { $0.contains("car is on level three") }, "\(shown(answer))")
        XCTAssertTrue(said(answer).first?.contains("car is on level three") == true, "\(said(answer))")
        let memory = try Memory(path: memoryPath)
        XCTAssertEqual(try memory.search("car").first?.kind, .note)
    }

    func testNotificationBudgetHoldsOnAWalkFullOfText() throws {
        var wearer = WearerProfile()
        wearer.interests = ["sports", "conference centre", "image segmentation", "parking"]
        wearer.notifications.perMinute = 2
        wearer.notifications.quietWhenMoving = false
        let memoryPath = try TestSupport.temporaryDirectory(self).appendingPathComponent("memory.sqlite").path
        let run = try replay("walk.mcap", memory: memoryPath, wearer: wearer, listen: false)
        let texts = kind(run.events, "text")
        let cues = kind(run.events, "overlay").filter { $0["source"] as? String == "cue" }
        XCTAssertGreaterThan(texts.count, 8, "the walk is full of text")
        XCTAssertGreaterThanOrEqual(cues.count, 3, "\(cues)")
        let times = cues.compactMap { $0["time_ns"] as? Int }
        for t in times {
            XCTAssertLessThanOrEqual(times.filter { $0 >= t && $0 < t + 60_000_000_000 }.count, 2, "at most 2 cues in any minute: \(cues)")
        }
        XCTAssertEqual(Set(cues.compactMap { $0["text"] as? String }).count, cues.count, "no cue repeats")
        // Each cue names the interest it matched.
        for cue in cues { XCTAssertTrue(wearer.interests.contains { (cue["text"] as? String)?.contains("(\($0))") == true }, "\(cue)") }
        // With no interests, text alone raises nothing.
        let plain = try replay("walk.mcap", memory: memoryPath, listen: false)
        XCTAssertEqual(kind(plain.events, "overlay").filter { $0["source"] as? String == "cue" }.count, 0)
    }

    func testAQRCodeInViewIsPointedOutOnce() throws {
        let memoryPath = try TestSupport.temporaryDirectory(self).appendingPathComponent("memory.sqlite").path
        let run = try replay("codes.mcap", memory: memoryPath, stages: [CodesStage()], listen: false)
        let cues = kind(run.events, "overlay").filter { $0["source"] as? String == "cue" }
        let qr = cues.filter { ($0["text"] as? String)?.hasPrefix("QR: ") == true }
        XCTAssertEqual(qr.count, 1, "\(cues)")
        let payload = try XCTUnwrap(kind(run.events, "code").first { $0["symbology"] as? String == "QR-Code" }?["payload"] as? String)
        XCTAssertEqual(qr.first?["text"] as? String, "QR: \(payload)")
    }
}

extension AssistantTests {
    /// Speech and the assistant are stages of the one scheduler: stepped inline on the test's
    /// thread they give the transcript their own threads give, and the trace shows where each ran.
    func testSpeechAndTheAssistantStepInlineAsOnTheirThreads() throws {
        var transcripts: [String] = []
        for workers in [2, 0] {
            let dir = try TestSupport.temporaryDirectory(self)
            let profile = try DeviceProfiles.load("laptop")
            var options = ReplayOptions(profile: profile)
            options.transcriptPath = dir.appendingPathComponent("t.jsonl").path
            options.tracePath = dir.appendingPathComponent("trace.json").path
            options.deterministic = true
            options.workerThreads = workers
            options.slowStages = [try TextStage()]
            options.wakePhrases = SpeechListener.defaultWakePhrases
            options.assistant = try Assistant.make(profile: profile, wearer: WearerProfile(), memoryPath: dir.appendingPathComponent("m.sqlite").path,
                                                   useModel: false, galleryDirectory: dir.appendingPathComponent("gallery").path)
            _ = try ReplayRunner(source: SessionSource(path: TestSupport.fixture("commands.mcap")), options: options).run()
            // Photos are saved under each run's own directory.
            let text = try String(contentsOfFile: options.transcriptPath!, encoding: .utf8)
            transcripts.append(text.replacingOccurrences(of: dir.path, with: "DIR"))

            let trace = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: options.tracePath!))) as! [String: Any]
            let events = trace["traceEvents"] as! [[String: Any]]
            var tracks: [Int: String] = [:]
            for e in events where e["name"] as? String == "thread_name" { tracks[e["tid"] as! Int] = (e["args"] as! [String: Any])["name"] as? String }
            func ranOn(_ stage: String) -> Set<String> {
                Set(events.filter { $0["ph"] as? String == "X" && $0["name"] as? String == stage }.compactMap { tracks[$0["tid"] as! Int] })
            }
            if workers == 0 {
                XCTAssertEqual(ranOn("speech"), ["async stages (inline)"])
                XCTAssertEqual(ranOn("assistant"), ["async stages (inline)"])
                XCTAssertEqual(ranOn("text"), ["async stages (inline)"])
            } else {
                XCTAssertEqual(ranOn("speech"), ["speech"], "the listener's own thread")
                XCTAssertEqual(ranOn("assistant"), ["async stages (on the frame thread)"], "deterministic answers are decided on the frame's thread")
                XCTAssertTrue(ranOn("text").isSubset(of: ["worker 1", "worker 2"]) && !ranOn("text").isEmpty)
            }
        }
        for kind in ["wake", "command", "overlay", "speech"] {
            XCTAssertTrue(transcripts[0].contains("\"kind\":\"\(kind)\""), "the run heard and answered: \(kind)")
        }
        XCTAssertEqual(transcripts[1], transcripts[0], "inline and threaded give the same transcript")
    }
}
