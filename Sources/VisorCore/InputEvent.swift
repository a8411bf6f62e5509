import Foundation

/// A touchpad gesture or a button press on the glasses.
public enum InputKind: String, Codable, CaseIterable, Sendable {
    /// Wakes the assistant, as the wake phrase does.
    case tap
    case doubleTap = "double_tap"
    /// Stops the assistant speaking.
    case longPress = "long_press"
    /// Scrolls a long answer on, or back.
    case swipeForward = "swipe_forward"
    case swipeBack = "swipe_back"
    /// The capture button: takes a photo.
    case capture
}

/// One input event at a time on the session's clock (nanoseconds since the session began).
public struct InputEvent: Equatable, Sendable {
    public var timeNanoseconds: UInt64
    public var kind: InputKind
    /// The control it came from: touchpad, button, keyboard, file.
    public var source: String

    public init(timeNanoseconds: UInt64, kind: InputKind, source: String) {
        self.timeNanoseconds = timeNanoseconds; self.kind = kind; self.source = source
    }

    /// Reads a `--input` file: one JSON object a line, `{"t": SECONDS, "kind": "tap"}` (`t` in
    /// seconds of session time; `source` optional), blank lines and `#` comments allowed.
    /// Returns the events in time order.
    /// - Throws: `VisorError` naming the file and line of anything else.
    public static func readLines(_ data: Data, source path: String) throws -> [InputEvent] {
        var events: [InputEvent] = []
        for (index, raw) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let at = "\(path) line \(index + 1)"
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                throw VisorError("\(at): not a JSON object (want {\"t\": SECONDS, \"kind\": \"tap\"})")
            }
            guard let seconds = (object["t"] as? NSNumber)?.doubleValue, seconds.isFinite, seconds >= 0, seconds < 1e6 else {
                throw VisorError("\(at): \"t\" must be the time in seconds from the session's start")
            }
            guard let name = object["kind"] as? String, let kind = InputKind(rawValue: name) else {
                throw VisorError("\(at): \"kind\" must be one of \(InputKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let unknown = Set(object.keys).subtracting(["t", "kind", "source"])
            if let key = unknown.sorted().first { throw VisorError("\(at): unknown field \"\(key)\"") }
            events.append(InputEvent(timeNanoseconds: UInt64((seconds * 1e9).rounded()), kind: kind, source: object["source"] as? String ?? "file"))
        }
        return events.enumerated().sorted { ($0.element.timeNanoseconds, $0.offset) < ($1.element.timeNanoseconds, $1.offset) }.map(\.element)
    }
}
