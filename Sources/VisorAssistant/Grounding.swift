/// Checks that an answer says nothing its facts do not: every number, every name (a capitalised
/// word that does not start a sentence), every quoted word and every word for a kind of thing in
/// view ("picture", "man", "sign") in the answer must appear in the facts, and a quotation must be
/// quoted as a fact has it. A language model phrases facts; it must not add any. ("One" as a pronoun and "a
/// second" as time are not numbers.)
public enum Grounding {
    /// The words of `answer` that its facts do not support; empty when the answer is grounded.
    public static func unsupported(answer: String, facts: [String]) -> [String] {
        let factWords = Set(facts.flatMap { words(in: $0) }.map(normalise))
        var missing: [String] = []
        func check(_ word: String) {
            let key = normalise(word)
            if !key.isEmpty && !factWords.contains(key) && !missing.contains(word) { missing.append(word) }
        }
        // Quoted words, and a quotation as a whole: its words in the order and together as one
        // fact has them. Words of a sign shuffled into a new "quote" are word salad, even when
        // each word was read.
        let factSequences = facts.map { words(in: $0).map(normalise) }
        for quoted in quotedSpans(in: answer) {
            let said = words(in: quoted)
            for w in said { check(w) }
            let sequence = said.map(normalise)
            if sequence.count > 1, !factSequences.contains(where: { contains($0, run: sequence) }), !missing.contains("\"\(quoted)\"") {
                missing.append("\"\(quoted)\"")
            }
        }
        // Numbers (digits or number words) and names.
        var sentenceStart = true
        var previous = ""
        for token in tokens(in: answer) {
            let word = token.word
            defer { previous = word.lowercased() }
            if isNumber(word) && !notANumber(word, after: previous) {
                check(word)
            } else if !sentenceStart, let first = word.first, first.isUppercase, word != "I", !word.hasPrefix("I'") {
                check(word)
            }
            sentenceStart = token.endsSentence
        }
        // What kind of thing is in view: "a picture of a person" where the facts say a person
        // is in view is a claim the facts do not make.
        let factThings = Set(facts.flatMap { words(in: $0) }.compactMap(thingInView))
        for word in words(in: answer) {
            if let thing = thingInView(word), !factThings.contains(thing), !missing.contains(word) { missing.append(word) }
        }
        return missing
    }

    /// The kind of thing in view a word names (plural or singular), or nil for any other word.
    static func thingInView(_ word: String) -> String? {
        let lower = word.lowercased()
        if let singular = irregularPlurals[lower] { return singular }
        if thingsInView.contains(lower) { return lower }
        if lower.hasSuffix("s"), thingsInView.contains(String(lower.dropLast())) { return String(lower.dropLast()) }
        return nil
    }

    static let irregularPlurals = ["people": "person", "men": "man", "women": "woman", "children": "child"]

    /// Words that say what is in view, which a model adds from its own idea of a scene ("a
    /// picture", "a man", "a screen"): only the facts may say them.
    static let thingsInView: Set<String> = [
        "picture", "photo", "photograph", "image", "painting", "drawing", "poster", "screen", "television", "monitor",
        "statue", "mirror", "reflection", "video", "man", "woman", "boy", "girl", "child", "baby", "person", "crowd",
        "sign", "page", "book", "document", "menu", "label", "map", "code", "barcode",
    ]

    /// The clauses of `answer` that join words of separate facts into one claim: "You took a
    /// photo of a car on level three" from "You took a photo" and "You noted: the car is on level
    /// three". Each word may be in the facts, yet the claim is in none of them. A clause ends at a
    /// sentence's end, a comma, a semicolon or a colon, or before "and", "but", "while"; each must
    /// take the facts' words it uses from one fact. Empty when no clause mixes facts.
    public static func mixedClaims(answer: String, facts: [String]) -> [String] {
        guard facts.count > 1 else { return [] }
        var factsOfWord: [String: Set<Int>] = [:]
        for (i, fact) in facts.enumerated() {
            for word in words(in: fact) {
                let key = normalise(word)
                guard isContent(key) else { continue }
                factsOfWord[key, default: []].insert(i)
            }
        }
        var mixed: [String] = []
        for clause in clauses(in: answer) {
            var common: Set<Int>?
            for word in words(in: clause) {
                let key = normalise(word.hasSuffix("'s") ? String(word.dropLast(2)) : word)
                guard let sources = factsOfWord[key] else { continue }
                common = common.map { $0.intersection(sources) } ?? sources
            }
            if let common, common.isEmpty { mixed.append(clause.trimmingCharacters(in: .whitespaces)) }
        }
        return mixed
    }

    /// Whether `run` occurs in `words` as consecutive words.
    static func contains(_ words: [String], run: [String]) -> Bool {
        guard run.count <= words.count else { return false }
        return (0...(words.count - run.count)).contains { start in Array(words[start..<(start + run.count)]) == run }
    }

    private static func isContent(_ key: String) -> Bool {
        (key.count >= 3 || key.contains(where: \.isNumber)) && !framingWords.contains(key)
    }

    static func clauses(in text: String) -> [String] {
        var result: [String] = []
        var current = ""
        for piece in text.split(whereSeparator: { ".!?;:,\n".contains($0) }) {
            for word in piece.split(separator: " ", omittingEmptySubsequences: true) {
                if ["and", "but", "while"].contains(word.lowercased()), !current.isEmpty {
                    result.append(current); current = ""
                } else {
                    current += current.isEmpty ? String(word) : " " + word
                }
            }
            if !current.isEmpty { result.append(current); current = "" }
        }
        return result
    }

    /// How much of the facts' content the answer carries: the share of the facts' content words
    /// (not function words, not the facts' own framing such as "you noted") that it says. An
    /// answer that drifts off its facts carries little of them.
    public static func coverage(answer: String, facts: [String]) -> Double {
        func content(_ text: String) -> Set<String> {
            Set(words(in: text).map(normalise).filter { $0.count >= 3 && !framingWords.contains($0) })
        }
        let wanted = content(facts.joined(separator: " "))
        guard !wanted.isEmpty else { return 1 }
        let said = content(answer)
        return Double(wanted.intersection(said).count) / Double(wanted.count)
    }

    static let framingWords: Set<String> = [
        "the", "and", "are", "was", "were", "you", "your", "for", "that", "this", "with", "from", "has", "have", "had", "its",
        "noted", "note", "read", "reads", "says", "said", "saw", "see", "seen", "view", "took", "take", "there", "here", "what",
        "where", "which", "who", "into", "onto", "about", "all",
    ]

    static let numberWords: [String: String] = [
        "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
        "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
        "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19", "twenty": "20",
        "thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90",
        "hundred": "100", "thousand": "1000", "million": "1000000", "first": "1", "second": "2", "third": "3",
        "fourth": "4", "fifth": "5",
    ]

    /// Number words that, after these words, are not numbers: "the one on the left", "this one",
    /// "no one" (a pronoun); "a second", "per second" (a unit of time).
    static func notANumber(_ word: String, after previous: String) -> Bool {
        switch word.lowercased() {
        case "one": return ["the", "this", "that", "which", "no", "any", "every", "each", "another", "other", "last", "next", "some"].contains(previous)
        case "second": return ["a", "per", "that", "this"].contains(previous)
        default: return false
        }
    }

    static func isNumber(_ word: String) -> Bool {
        word.contains(where: \.isNumber) || numberWords[word.lowercased()] != nil
    }

    /// Lower case, number words as digits, digits without separators.
    static func normalise(_ word: String) -> String {
        let lower = word.lowercased()
        if let digits = numberWords[lower] { return digits }
        if lower.contains(where: \.isNumber) { return lower.filter { $0.isNumber || $0.isLetter } }
        return lower
    }

    static func words(in text: String) -> [String] { tokens(in: text).map(\.word) }

    struct Token { var word: String; var endsSentence: Bool }

    static func tokens(in text: String) -> [Token] {
        var result: [Token] = []
        var current = ""
        func flush(endsSentence: Bool) {
            if !current.isEmpty { result.append(Token(word: current, endsSentence: endsSentence)); current = "" }
            else if endsSentence, !result.isEmpty { result[result.count - 1].endsSentence = true }
        }
        let chars = Array(text)
        for (i, c) in chars.enumerated() {
            if c.isLetter || c.isNumber || (c == "'" && !current.isEmpty) || ((c == "." || c == ":" || c == ",") && !current.isEmpty && current.last!.isNumber && i + 1 < chars.count && chars[i + 1].isNumber) {
                current.append(c)
            } else {
                flush(endsSentence: c == "." || c == "!" || c == "?" || c == ":" || c == "\n")
            }
        }
        flush(endsSentence: true)
        return result.map { Token(word: $0.word.trimmingCharacters(in: ["'"]), endsSentence: $0.endsSentence) }
    }

    static func quotedSpans(in text: String) -> [String] {
        var spans: [String] = []
        var open: Character?
        var current = ""
        let closing: [Character: Character] = ["\"": "\"", "\u{201C}": "\u{201D}", "\u{2018}": "\u{2019}"]
        for c in text {
            if let o = open {
                if c == closing[o] { spans.append(current); current = ""; open = nil } else { current.append(c) }
            } else if closing[c] != nil {
                open = c
            }
        }
        return spans
    }
}
