import Foundation
import VisorCore
import Yams

/// Who wears the glasses and what they care about: read from a YAML file. Every field is
/// optional; a field of the wrong type, a value out of range or an unknown field is an error
/// that names it.
///
/// ```yaml
/// name: Ada
/// goals: [find parking near the station]
/// interests: [coffee, trains]
/// verbosity: brief            # brief, normal or detailed
/// notifications:
///   per_minute: 2             # proactive cues at most, in any minute
///   minimum_priority: normal  # low, normal, high or urgent
///   quiet_when_moving: true   # no cues while the head turns or the wearer walks
///   repeat_after_s: 600       # the same cue again only after this long
/// wake_phrases: [hey glasses]
/// voice:
///   name: slt
///   rate: 1.0                 # 1.2 speaks 20 % faster
///   speak: true               # false shows answers without saying them
/// ```
public struct WearerProfile: Equatable, Sendable {
    public enum Verbosity: String, Sendable, CaseIterable { case brief, normal, detailed }

    public struct Notifications: Equatable, Sendable {
        public var perMinute = 2
        public var minimumPriority = OverlayItem.Priority.normal
        public var quietWhenMoving = true
        public var repeatAfterSeconds: Double = 600
        public init() {}
    }

    public struct Voice: Equatable, Sendable {
        public var name = "slt"
        public var rate: Double = 1
        public var speak = true
        public init() {}
    }

    public var name = ""
    public var goals: [String] = []
    public var interests: [String] = []
    public var verbosity = Verbosity.normal
    public var notifications = Notifications()
    public var wakePhrases: [String]?
    public var voice = Voice()

    public init() {}

    /// Reads a profile file.
    /// - Throws: `VisorError` naming the file and the field at fault.
    public static func load(path: String) throws -> WearerProfile {
        let data = try InputFile.read(path, role: "wearer profile", limitBytes: 1 << 20)
        guard let text = String(data: data, encoding: .utf8) else { throw VisorError("wearer profile \(path): not UTF-8 text") }
        do {
            return try parse(text)
        } catch let error as VisorError {
            throw VisorError("wearer profile \(path): \(error.message)")
        }
    }

    /// Parses a profile's YAML.
    public static func parse(_ text: String) throws -> WearerProfile {
        guard text.utf8.count <= 1 << 20 else { throw VisorError("the profile is larger than 1 MB") }
        // Anchors and aliases let a few lines expand to gigabytes ("billion laughs"); a profile
        // has no use for them.
        if text.range(of: #"(^|[\s\[\{,:-])[&*][^\s\]\},]"#, options: .regularExpression) != nil {
            throw VisorError("anchors and aliases (& and *) are not allowed in a profile")
        }
        let node: Any?
        do {
            node = try Yams.load(yaml: text)
        } catch {
            throw VisorError("not valid YAML: \(String(describing: error).split(separator: "\n").first ?? "")")
        }
        var profile = WearerProfile()
        guard let node else { return profile }
        guard let root = node as? [String: Any] else { throw VisorError("the profile must be a mapping of fields") }
        for (key, value) in root.sorted(by: { $0.key < $1.key }) {
            switch key {
            case "name": profile.name = try string(value, "name", maxLength: 100)
            case "goals": profile.goals = try strings(value, "goals")
            case "interests": profile.interests = try strings(value, "interests")
            case "verbosity":
                let s = try string(value, "verbosity", maxLength: 20)
                guard let v = Verbosity(rawValue: s) else { throw VisorError("field verbosity: \"\(s)\" is not one of brief, normal, detailed") }
                profile.verbosity = v
            case "wake_phrases":
                let phrases = try strings(value, "wake_phrases")
                guard !phrases.isEmpty else { throw VisorError("field wake_phrases: give at least one phrase") }
                for p in phrases where p.split(separator: " ").count < 2 || !p.allSatisfy({ $0.isLetter || $0 == " " }) {
                    throw VisorError("field wake_phrases: \"\(p)\" must be two or more words of letters")
                }
                profile.wakePhrases = phrases.map { $0.lowercased() }
            case "notifications":
                guard let map = value as? [String: Any] else { throw VisorError("field notifications: must be a mapping") }
                for (k, v) in map.sorted(by: { $0.key < $1.key }) {
                    let field = "notifications.\(k)"
                    switch k {
                    case "per_minute":
                        let n = try int(v, field)
                        guard (0...60).contains(n) else { throw VisorError("field \(field): \(n) is not between 0 and 60") }
                        profile.notifications.perMinute = n
                    case "minimum_priority":
                        let s = try string(v, field, maxLength: 20)
                        guard let p = OverlayItem.Priority(name: s) else { throw VisorError("field \(field): \"\(s)\" is not one of low, normal, high, urgent") }
                        profile.notifications.minimumPriority = p
                    case "quiet_when_moving": profile.notifications.quietWhenMoving = try bool(v, field)
                    case "repeat_after_s":
                        let d = try double(v, field)
                        guard d >= 0 && d <= 86_400 else { throw VisorError("field \(field): \(d) is not between 0 and 86400") }
                        profile.notifications.repeatAfterSeconds = d
                    default: throw VisorError("field \(field): unknown (known: per_minute, minimum_priority, quiet_when_moving, repeat_after_s)")
                    }
                }
            case "voice":
                guard let map = value as? [String: Any] else { throw VisorError("field voice: must be a mapping") }
                for (k, v) in map.sorted(by: { $0.key < $1.key }) {
                    let field = "voice.\(k)"
                    switch k {
                    case "name":
                        let s = try string(v, field, maxLength: 20)
                        guard s == "slt" else { throw VisorError("field \(field): \"\(s)\" is not a voice Visor has (slt)") }
                        profile.voice.name = s
                    case "rate":
                        let d = try double(v, field)
                        guard d >= 0.5 && d <= 2 else { throw VisorError("field \(field): \(d) is not between 0.5 and 2") }
                        profile.voice.rate = d
                    case "speak": profile.voice.speak = try bool(v, field)
                    default: throw VisorError("field \(field): unknown (known: name, rate, speak)")
                    }
                }
            default:
                throw VisorError("field \(key): unknown (known: name, goals, interests, verbosity, notifications, wake_phrases, voice)")
            }
        }
        return profile
    }

    private static func string(_ value: Any, _ field: String, maxLength: Int) throws -> String {
        guard let s = value as? String else { throw VisorError("field \(field): must be text") }
        guard s.count <= maxLength else { throw VisorError("field \(field): longer than \(maxLength) characters") }
        return s
    }

    private static func strings(_ value: Any, _ field: String) throws -> [String] {
        guard let list = value as? [Any] else { throw VisorError("field \(field): must be a list of text") }
        guard list.count <= 50 else { throw VisorError("field \(field): more than 50 entries") }
        return try list.enumerated().map { i, v in
            let s = try string(v, "\(field)[\(i)]", maxLength: 200).trimmingCharacters(in: .whitespaces)
            guard !s.isEmpty else { throw VisorError("field \(field)[\(i)]: empty") }
            return s
        }
    }

    private static func int(_ value: Any, _ field: String) throws -> Int {
        guard let n = value as? Int else { throw VisorError("field \(field): must be a whole number") }
        return n
    }

    private static func double(_ value: Any, _ field: String) throws -> Double {
        if let n = value as? Int { return Double(n) }
        guard let d = value as? Double, d.isFinite else { throw VisorError("field \(field): must be a number") }
        return d
    }

    private static func bool(_ value: Any, _ field: String) throws -> Bool {
        guard let b = value as? Bool else { throw VisorError("field \(field): must be true or false") }
        return b
    }
}
