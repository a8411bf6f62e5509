import Foundation
import VisorCore

/// Reads a wake phrase and a command out of free text, as a recogniser writes it ("Hey, glasses!
/// What am I looking at?"): without case or punctuation, contractions spelt out, a few common
/// phrasings of each command accepted, fillers before a command skipped.
public struct SpokenCommands: Sendable {
    /// One way of saying a command.
    struct Phrasing: Sendable {
        var words: [String]
        var intent: VoiceIntent
        var takesWords: Bool
    }

    /// Phrasings beyond each command's own phrase, by intent. A phrasing that takes words is
    /// followed by what they are ("where did I park" the car).
    static let alternatives: [VoiceIntent: [String]] = [
        .whatAmILookingAt: ["what am i seeing", "what is this", "what is that", "what do you see", "what is in front of me",
                            "what am i looking"],
        .readThis: ["read that", "read it", "read this for me", "read that for me", "what does it say", "what does this say",
                    "what does that say", "read the sign"],
        .goOn: ["continue", "keep going", "keep reading", "read more", "go ahead"],
        .takePhoto: ["take a picture", "take photo", "take picture", "take a photograph", "snap a photo", "take a photo of this"],
        .rememberThis: ["remember that", "make a note", "take a note", "note this", "note that", "remember"],
        .whatDidISee: ["what have i seen", "what did i just see", "what did i look at"],
        .whatTimeIsIt: ["what is the time", "tell me the time", "what time"],
        .stop: ["be quiet", "cancel", "never mind", "stop talking", "shut up"],
        .whereIs: ["where are", "where did i put", "where did i leave", "where did i park", "where was"],
    ]

    /// Words said before a command that do not change it.
    static let fillers: Set<String> = ["um", "uh", "er", "so", "and", "please", "now", "ok", "okay", "well", "hey", "can", "could",
                                       "would", "you", "just", "oh", "but"]

    /// Other spellings of a wake phrase's words as recognisers write them.
    static let soundAlikes: [String: Set<String>] = [
        "hey": ["hey", "hay", "hi", "hei"],
        "okay": ["okay", "ok", "k"],
        "glasses": ["glasses", "glass"],
    ]

    let wakePhrases: [[String]]
    let phrasings: [Phrasing]

    public init(wakePhrases: [String], commands: [VoiceCommand] = VoiceCommand.defaults) {
        self.wakePhrases = wakePhrases.map(Self.words).filter { !$0.isEmpty }
        var phrasings: [Phrasing] = []
        for command in commands {
            phrasings.append(Phrasing(words: Self.words(command.phrase), intent: command.intent, takesWords: command.takesWords))
            for alternative in Self.alternatives[command.intent] ?? [] {
                phrasings.append(Phrasing(words: Self.words(alternative), intent: command.intent, takesWords: command.takesWords))
            }
        }
        // Longest first: "what time is it" before "what time", "remember this" before "remember".
        self.phrasings = phrasings.sorted { $0.words.count > $1.words.count }
    }

    /// Text as words: lower case, contractions spelt out, punctuation gone ("What's this?" is
    /// "what is this").
    public static func words(_ text: String) -> [String] {
        let spelt: [String: [String]] = [
            "what's": ["what", "is"], "where's": ["where", "is"], "it's": ["it", "is"], "that's": ["that", "is"],
            "i'm": ["i", "am"], "o.k.": ["okay"], "ok": ["okay"], "let's": ["let", "us"],
        ]
        let lowered = text.lowercased().replacingOccurrences(of: "\u{2019}", with: "'")
        var out: [String] = []
        for raw in lowered.split(whereSeparator: { $0.isWhitespace || $0 == "," || $0 == "!" || $0 == "?" || $0 == ";" || $0 == ":" || $0 == "\"" || $0 == "-" }) {
            var token = String(raw)
            if let expansion = spelt[token] ?? spelt[token.trimmingCharacters(in: CharacterSet(charactersIn: "."))] {
                out += expansion; continue
            }
            token = String(token.unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) })
            if !token.isEmpty { out.append(spelt[token]?.first ?? token) }
        }
        return out
    }

    /// Where a wake phrase is in the words: the range of its words and the phrase, or nil.
    public func wake(in words: [String]) -> (range: Range<Int>, phrase: String)? {
        for start in words.indices {
            for phrase in wakePhrases where start + phrase.count <= words.count {
                let matches = phrase.indices.allSatisfy { i in
                    let said = words[start + i]
                    return said == phrase[i] || (Self.soundAlikes[phrase[i]]?.contains(said) ?? false)
                }
                if matches { return (start..<(start + phrase.count), phrase.joined(separator: " ")) }
            }
        }
        return nil
    }

    /// A word's sound, roughly: consonants as they sound ("th" and "t" alike, "ph" as "f", a hard
    /// "c" as "k"), vowels dropped but for a leading one, doubled letters once. "read this" and
    /// "redness" come out "rdts" and "rdns".
    static func soundKey(_ words: [String]) -> String {
        var key: [Character] = []
        for word in words {
            var letters = Array(word.filter(\.isLetter))
            var i = 0
            var out: [Character] = []
            while i < letters.count {
                let c = letters[i], next: Character? = i + 1 < letters.count ? letters[i + 1] : nil
                var sound: Character? = c
                switch c {
                case "a", "e", "i", "o", "u", "y", "h", "w": sound = (i == 0 && "aeiou".contains(c)) ? "a" : nil
                case "p" where next == "h": sound = "f"; i += 1
                case "t" where next == "h": sound = "t"; i += 1
                case "c" where next == "h": sound = "k"; i += 1
                case "c", "q": sound = (next == "e" || next == "i") ? "s" : "k"
                case "z": sound = "s"
                case "d": sound = "t"
                case "b": sound = "p"
                case "g": sound = "k"
                case "v": sound = "f"
                default: break
                }
                if let sound, out.last != sound { out.append(sound) }
                i += 1
            }
            letters = out
            key += letters
        }
        return String(key)
    }

    /// Edit distance between two strings.
    static func distance(_ a: String, _ b: String) -> Int { distance(Array(a), Array(b)) }

    /// Edit distance between two sequences.
    static func distance<T: Equatable>(_ a: [T], _ b: [T]) -> Int {
        var previous = Array(0...b.count)
        for i in a.indices {
            var current = [i + 1] + Array(repeating: 0, count: b.count)
            for j in b.indices {
                current[j + 1] = min(previous[j] + (a[i] == b[j] ? 0 : 1), previous[j + 1] + 1, current[j] + 1)
            }
            previous = current
        }
        return previous[b.count]
    }

    /// When a command is expected (straight after a wake phrase) and the words name none: the
    /// command that takes no words closest to all of them, either by sound, within a quarter of
    /// its sounds ("redness" for "read this", "take a soda" for "take a photo"), or by words,
    /// within two words in five ("what's it I see" for "what did I see"). Ties go to the first
    /// command in the list.
    public func closestCommand(to words: [String]) -> (intent: VoiceIntent, said: String)? {
        let spoken = Array(words.drop { Self.fillers.contains($0) || $0 == "a" || $0 == "the" })
        let heard = Self.soundKey(spoken)
        guard heard.count >= 2 else { return nil }
        var best: (intent: VoiceIntent, said: String, score: Double)?
        for phrasing in phrasings where !phrasing.takesWords {
            let key = Self.soundKey(phrasing.words)
            let bySound = Double(Self.distance(heard, key)) / Double(max(key.count, heard.count))
            let byWords = Double(Self.distance(spoken, phrasing.words)) / Double(max(spoken.count, phrasing.words.count))
            let score = min(bySound <= 0.25 ? bySound : .infinity, byWords <= 0.4 && phrasing.words.count >= 3 ? byWords : .infinity)
            if score < (best?.score ?? .infinity) {
                best = (phrasing.intent, phrasing.words.joined(separator: " "), score)
            }
        }
        return best.map { ($0.intent, $0.said) }
    }

    /// The command the words begin with (after fillers): its intent, the words of the command as
    /// said, and the words after it (a note, what to find); nil when they name no command.
    public func command(in words: [String]) -> (intent: VoiceIntent, said: String, rest: String, takesWords: Bool)? {
        var start = 0
        while true {
            for phrasing in phrasings where start + phrasing.words.count <= words.count {
                if Array(words[start..<(start + phrasing.words.count)]) == phrasing.words {
                    let end = start + phrasing.words.count
                    let rest = words[end...].joined(separator: " ")
                    // A command that takes no words is the whole utterance, but for a word or two
                    // ("stop please", "read this sign"); more is talk that mentions it.
                    if !phrasing.takesWords && words.count - end > 2 { break }
                    return (phrasing.intent, phrasing.words.joined(separator: " "), rest, phrasing.takesWords)
                }
            }
            guard start < words.count, Self.fillers.contains(words[start]), start < 3 else { return nil }
            start += 1
        }
    }
}
