import CPocketSphinx
import Foundation
import VisorCore

/// PocketSphinx with three searches over one acoustic model: keyword spotting for the wake
/// phrases, a JSGF grammar of the assistant's commands, and the language model for free
/// dictation. One decoder, one search active at a time; audio is 16 kHz mono.
public final class SpeechDecoder {
    public enum Search: String, Sendable {
        case wake, commands, dictation
    }

    /// A word of a hypothesis, timed in 10 ms frames from the start of the utterance.
    public struct Word: Equatable, Sendable {
        public var text: String
        public var startFrame: Int
        public var endFrame: Int
        /// The segment's log posterior probability (higher is surer).
        public var probability: Int32
    }

    public static let sampleRateHertz = 16_000
    /// Debian's `pocketsphinx-en-us`.
    public static let defaultModelDirectory = "/usr/share/pocketsphinx/model/en-us"

    private let decoder: OpaquePointer
    private var active: Search?

    /// - Parameters:
    ///   - wakePhrases: phrases keyword spotting listens for.
    ///   - commands: the command phrases the grammar accepts after a wake phrase.
    ///   - wakeThreshold: the keyword spotting threshold, as a power of ten (lower is more eager).
    /// - Throws: `VisorError` naming a missing model file or a word the dictionary lacks.
    public init(wakePhrases: [String], commands: [String], modelDirectory: String = SpeechDecoder.defaultModelDirectory,
                wakeThresholdExponent: Int = -10) throws {
        let paths = ["hmm": "\(modelDirectory)/en-us", "dict": "\(modelDirectory)/cmudict-en-us.dict", "lm": "\(modelDirectory)/en-us.lm.bin"]
        for (what, path) in paths where !FileManager.default.fileExists(atPath: path) {
            throw VisorError("the PocketSphinx \(what == "hmm" ? "acoustic model" : what == "dict" ? "dictionary" : "language model") is missing: \(path) (install pocketsphinx-en-us)")
        }
        // Its log goes nowhere; errors come back as return values.
        err_set_logfp(nil)
        let arguments = ["visor", "-hmm", paths["hmm"]!, "-dict", paths["dict"]!, "-logfn", "/dev/null"]
        var argv = arguments.map { strdup($0) }
        defer { argv.forEach { free($0) } }
        guard let config = argv.withUnsafeMutableBufferPointer({ visor_ps_config(Int32($0.count), $0.baseAddress) }) else {
            throw VisorError("PocketSphinx rejected its configuration")
        }
        defer { cmd_ln_free_r(config) }
        guard let decoder = ps_init(config) else { throw VisorError("PocketSphinx could not load its model from \(modelDirectory)") }
        self.decoder = decoder

        for word in Set((wakePhrases + commands).flatMap { $0.split(separator: " ").map(String.init) }) {
            // Throwing from here on runs deinit, which frees the decoder.
            guard let pronunciation = ps_lookup_word(decoder, word) else {
                throw VisorError("the speech dictionary has no word \"\(word)\"")
            }
            free(pronunciation)
        }
        let keyphrases = wakePhrases.map { "\($0) /1e\(wakeThresholdExponent)/\n" }.joined()
        let keyfile = FileManager.default.temporaryDirectory.appendingPathComponent("visor-kws-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).txt").path
        defer { unlink(keyfile) }
        let grammar = "#JSGF V1.0;\ngrammar commands;\npublic <command> = " + commands.map { "( \($0) )" }.joined(separator: " | ") + ";\n"
        try keyphrases.write(toFile: keyfile, atomically: false, encoding: .utf8)
        guard ps_set_kws(decoder, Search.wake.rawValue, keyfile) == 0 else { throw VisorError("PocketSphinx rejected the wake phrases \(wakePhrases)") }
        guard ps_set_jsgf_string(decoder, Search.commands.rawValue, grammar) == 0 else { throw VisorError("PocketSphinx rejected the command grammar") }
        guard ps_set_lm_file(decoder, Search.dictation.rawValue, paths["lm"]!) == 0 else { throw VisorError("PocketSphinx could not load its language model") }
    }

    deinit { ps_free(decoder) }

    /// Starts an utterance in a search, ending any utterance in progress.
    public func start(_ search: Search) {
        if active != nil { ps_end_utt(decoder) }
        ps_set_search(decoder, search.rawValue)
        ps_start_utt(decoder)
        active = search
    }

    public func process(_ samples: UnsafeBufferPointer<Int16>) {
        guard active != nil, let base = samples.baseAddress, !samples.isEmpty else { return }
        ps_process_raw(decoder, base, samples.count, 0, 0)
    }

    /// The best hypothesis so far (for keyword spotting: a wake phrase heard), or nil.
    public var hypothesis: String? {
        var score: Int32 = 0
        guard let hyp = ps_get_hyp(decoder, &score) else { return nil }
        let text = String(cString: hyp)
        return text.isEmpty ? nil : text
    }

    /// The finished utterance's best hypotheses, best first (from its word lattice), at most
    /// `limit`, each once.
    public func alternatives(limit: Int) -> [String] {
        guard var nbest = ps_nbest(decoder) else { return [] }
        var seen: [String] = []
        var examined = 0
        while seen.count < limit && examined < limit * 20 {
            guard let next = ps_nbest_next(nbest) else { return seen }  // the iterator is freed at its end
            nbest = next
            examined += 1
            var score: Int32 = 0
            guard let hyp = ps_nbest_hyp(nbest, &score) else { continue }
            let text = String(cString: hyp).split(separator: " ").filter { !$0.hasPrefix("<") && !$0.hasPrefix("[") }
                .map { $0.split(separator: "(").first.map(String.init) ?? String($0) }.joined(separator: " ")
            if !text.isEmpty && !seen.contains(text) { seen.append(text) }
        }
        ps_nbest_free(nbest)
        return seen
    }

    /// The words of the current hypothesis (silences and fillers left out), timed from the start
    /// of the utterance. Debian's PocketSphinx numbers segment frames from an origin that moves
    /// from utterance to utterance; a grammar or language-model segmentation covers the whole
    /// utterance, so its last frame is the utterance's last, which fixes the origin. Keyword
    /// spotting's detections do not cover it: their frames are left as they come (`relative` false).
    public func words(relative: Bool = true) -> [Word] {
        var words: [Word] = []
        var lastFrame = 0
        var segment = ps_seg_iter(decoder)
        while let s = segment {
            let text = String(cString: ps_seg_word(s))
            var start: Int32 = 0, end: Int32 = 0, acoustic: Int32 = 0, language: Int32 = 0, backoff: Int32 = 0
            ps_seg_frames(s, &start, &end)
            let probability = ps_seg_prob(s, &acoustic, &language, &backoff)
            lastFrame = max(lastFrame, Int(end))
            if !text.hasPrefix("<"), !text.hasPrefix("["), !text.hasPrefix("++") {
                // Alternative pronunciations come back as word(2); keyphrases with a trailing space.
                let base = (text.split(separator: "(").first.map(String.init) ?? text).trimmingCharacters(in: .whitespaces)
                words.append(Word(text: base, startFrame: Int(start), endFrame: Int(end), probability: probability))
            }
            segment = ps_seg_next(s)
        }
        guard relative else { return words }
        let origin = lastFrame + 1 - Int(ps_get_n_frames(decoder))
        return words.map { Word(text: $0.text, startFrame: $0.startFrame - origin, endFrame: $0.endFrame - origin, probability: $0.probability) }
    }

    /// Free dictation of a whole recording (16 kHz mono) with the language model.
    public func transcribe(_ samples: [Int16]) -> [Word] {
        start(.dictation)
        samples.withUnsafeBufferPointer { process($0) }
        finish()
        return words()
    }

    /// Ends the utterance; the final hypothesis stays readable through `hypothesis` and `words()`.
    public func finish() {
        guard active != nil else { return }
        ps_end_utt(decoder)
        active = nil
    }
}

/// Word error rate: the word-level edit distance (substitutions, insertions, deletions) between
/// a reference and a hypothesis, over the number of reference words. Both are compared as
/// transcripts write them (`scoringWords`).
public func wordErrorRate(reference: String, hypothesis: String) -> (errors: Int, words: Int) {
    let ref = scoringWords(reference), hyp = scoringWords(hypothesis)
    var previous = Array(0...hyp.count)
    for (i, r) in ref.enumerated() {
        var current = [i + 1] + Array(repeating: 0, count: hyp.count)
        for (j, h) in hyp.enumerated() {
            current[j + 1] = min(previous[j] + (r == h ? 0 : 1), previous[j + 1] + 1, current[j] + 1)
        }
        previous = current
    }
    return (previous[hyp.count], ref.count)
}

/// Words as a reference transcript writes them: lower case, no punctuation, hyphenated words
/// apart ("ill-disposed" is "ill disposed"), abbreviations spelt out ("Mr." is "mister") and
/// numbers under a hundred in words ("10" is "ten").
public func scoringWords(_ text: String) -> [String] {
    let spelt = ["mr": "mister", "mrs": "missus", "dr": "doctor"]
    let units = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
                 "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
    let tens = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
    var out: [String] = []
    for raw in text.lowercased().split(whereSeparator: { $0.isWhitespace || $0 == "-" || $0 == "\u{2014}" }) {
        let word = String(raw.filter { $0.isLetter || $0.isNumber || $0 == "'" })
        guard !word.isEmpty else { continue }
        if let n = Int(word), n >= 0, n < 100 {
            if n < 20 { out.append(units[n]) } else { out.append(tens[n / 10]); if n % 10 > 0 { out.append(units[n % 10]) } }
        } else {
            out.append(spelt[word] ?? word)
        }
    }
    return out
}
