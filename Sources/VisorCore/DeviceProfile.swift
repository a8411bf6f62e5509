import Foundation

/// A device Visor simulates: its display, camera, microphone, frame budget and the modelled
/// latencies of its slow stages. Profiles are data (one JSON file a device), loaded and validated
/// here; a bad one is an error naming the field.
public struct DeviceProfile: Codable, Equatable, Sendable {
    public enum ColourDepth: String, Codable, CaseIterable, Sendable {
        case full
        case colours16 = "16-colour"
        case green4bit = "green-4bit"
        case mono1bit = "1-bit"
    }

    public enum Eye: String, Codable, Sendable { case left, right, both }

    public struct Rect: Codable, Equatable, Sendable {
        public var x: Int
        public var y: Int
        public var width: Int
        public var height: Int
        public init(x: Int, y: Int, width: Int, height: Int) { self.x = x; self.y = y; self.width = width; self.height = height }
    }

    public struct Display: Codable, Equatable, Sendable {
        public var widthPixels: Int
        public var heightPixels: Int
        public var colour: ColourDepth
        /// The colour of a monochrome display's lit pixels, as `#RRGGBB` (default white).
        public var tint: String?
        public var eye: Eye
        /// Diagonal field of view of the display, in degrees.
        public var fieldOfViewDegrees: Double
        /// Centre of the display in the wearer's view, as fractions of the view (0.5, 0.5 is straight ahead).
        public var centreX: Double
        public var centreY: Double
        /// Where text goes, in display pixels, and how many lines fit.
        public var textArea: Rect
        public var textLines: Int
        public var refreshHertz: Double
        /// Reading speed assumed for legibility checks.
        public var wordsPerMinute: Int?

        enum CodingKeys: String, CodingKey {
            case widthPixels = "width_px", heightPixels = "height_px", colour, tint, eye
            case fieldOfViewDegrees = "field_of_view_deg", centreX = "centre_x", centreY = "centre_y"
            case textArea = "text_area", textLines = "text_lines", refreshHertz = "refresh_hz"
            case wordsPerMinute = "words_per_minute"
        }
    }

    public struct Camera: Codable, Equatable, Sendable {
        public var widthPixels: Int
        public var heightPixels: Int
        public var framesPerSecond: Double
        enum CodingKeys: String, CodingKey { case widthPixels = "width_px", heightPixels = "height_px", framesPerSecond = "fps" }
    }

    public struct Microphone: Codable, Equatable, Sendable {
        public var sampleRateHertz: Int
        enum CodingKeys: String, CodingKey { case sampleRateHertz = "sample_rate_hz" }
    }

    /// The glasses' IMU: gyroscope and accelerometer at `rate_hz` (nil when not published).
    public struct Imu: Codable, Equatable, Sendable {
        public var rateHertz: Double?
        public var magnetometer: Bool?
        enum CodingKeys: String, CodingKey { case rateHertz = "rate_hz", magnetometer }
    }

    public var name: String
    public var title: String
    public var display: Display
    /// Nil for glasses without a camera (Visor still shows the world view from the session).
    public var camera: Camera?
    public var microphone: Microphone
    /// Nil for glasses without an IMU (head motion then comes from the camera's view).
    public var imu: Imu?
    /// The touchpad gestures and buttons the hardware has; nil or empty for none.
    public var inputs: [InputKind]?
    /// The time the fast path may take per frame, in milliseconds.
    public var frameBudgetMilliseconds: Double
    /// Modelled latency of each slow stage on the device, in milliseconds, for deterministic replay.
    public var modelledLatencyMilliseconds: [String: Double]
    /// Where each figure was published: field path to source.
    public var sources: [String: String]

    enum CodingKeys: String, CodingKey {
        case name, title, display, camera, microphone, imu, inputs
        case frameBudgetMilliseconds = "frame_budget_ms"
        case modelledLatencyMilliseconds = "modelled_latency_ms"
        case sources
    }

    /// A slow stage's modelled latency in nanoseconds. A profile loaded through `DeviceProfiles`
    /// gives every registered stage's key (an unknown or missing key is refused there); one built
    /// in code that lacks a key gets 100 ms.
    public func modelledLatencyNanoseconds(_ stage: String) -> UInt64 {
        UInt64(((modelledLatencyMilliseconds[stage] ?? 100) * 1_000_000).rounded())
    }

    public var frameBudgetNanoseconds: UInt64 { UInt64((frameBudgetMilliseconds * 1_000_000).rounded()) }

    /// Decodes and validates a profile.
    /// - Throws: `VisorError` naming the file and the field that is missing, mistyped or out of range.
    public static func load(from data: Data, source: String) throws -> DeviceProfile {
        let profile: DeviceProfile
        let tree = try? JSONSerialization.jsonObject(with: data)
        if let tree, let problem = fieldProblem(tree, known: knownFields) { throw VisorError("profile \(source): \(problem)") }
        do {
            profile = try JSONDecoder().decode(DeviceProfile.self, from: data)
        } catch let error as DecodingError {
            throw VisorError("profile \(source): \(describe(error))")
        } catch {
            throw VisorError("profile \(source): \(error.localizedDescription)")
        }
        if let problem = profile.validationProblem() { throw VisorError("profile \(source): \(problem)") }
        return profile
    }

    /// The first thing wrong with the profile's values, naming the field, or nil.
    public func validationProblem() -> String? {
        func check(_ ok: Bool, _ field: String, _ why: String) -> String? { ok ? nil : "\(field) \(why)" }
        let d = display, t = display.textArea
        let checks: [String?] = [
            check(!name.isEmpty && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" }, "name", "must be letters, digits and dashes"),
            check((1...8192).contains(d.widthPixels), "display.width_px", "must be between 1 and 8192"),
            check((1...8192).contains(d.heightPixels), "display.height_px", "must be between 1 and 8192"),
            check(d.fieldOfViewDegrees > 0 && d.fieldOfViewDegrees < 180, "display.field_of_view_deg", "must be between 0 and 180 degrees"),
            check((0...1).contains(d.centreX), "display.centre_x", "must be between 0 and 1"),
            check((0...1).contains(d.centreY), "display.centre_y", "must be between 0 and 1"),
            check(t.x >= 0 && t.y >= 0 && t.width > 0 && t.height > 0 && t.x + t.width <= d.widthPixels && t.y + t.height <= d.heightPixels,
                  "display.text_area", "must lie inside the \(d.widthPixels)x\(d.heightPixels) display"),
            check(d.textLines >= 1 && d.textLines <= t.height, "display.text_lines", "must be at least 1 and fit the text area's height"),
            check(d.refreshHertz > 0 && d.refreshHertz <= 1000, "display.refresh_hz", "must be between 0 and 1000"),
            check((d.wordsPerMinute ?? 200) > 0, "display.words_per_minute", "must be positive"),
            check(d.tint.map { $0.count == 7 && $0.hasPrefix("#") && UInt32($0.dropFirst(), radix: 16) != nil } ?? true,
                  "display.tint", "must be a colour written #RRGGBB"),
            check(camera.map { $0.widthPixels > 0 && $0.heightPixels > 0 } ?? true, "camera.width_px", "and camera.height_px must be positive"),
            check(camera.map { $0.framesPerSecond > 0 && $0.framesPerSecond <= 1000 } ?? true, "camera.fps", "must be between 0 and 1000"),
            check((4000...192_000).contains(microphone.sampleRateHertz), "microphone.sample_rate_hz", "must be between 4000 and 192000"),
            check(imu?.rateHertz.map { $0 > 0 && $0 <= 10_000 } ?? true, "imu.rate_hz", "must be between 0 and 10000"),
            check(frameBudgetMilliseconds > 0 && frameBudgetMilliseconds <= 10_000, "frame_budget_ms", "must be between 0 and 10000"),
        ]
        if let first = checks.compactMap({ $0 }).first { return first }
        for (stage, ms) in modelledLatencyMilliseconds.sorted(by: { $0.key < $1.key }) where !(ms >= 0 && ms <= 60_000) {
            return "modelled_latency_ms.\(stage) must be between 0 and 60000"
        }
        return nil
    }

    /// The fields a profile may have, by object: `free` marks an object whose keys are free
    /// (stage names, source paths), `whole` a field that takes a whole number.
    private indirect enum Fields { case object([String: Fields]), free, value, whole }

    private static let knownFields: Fields = .object([
        "name": .value, "title": .value, "frame_budget_ms": .value, "modelled_latency_ms": .free, "sources": .free,
        "display": .object([
            "width_px": .whole, "height_px": .whole, "colour": .value, "tint": .value, "eye": .value, "field_of_view_deg": .value,
            "centre_x": .value, "centre_y": .value, "text_lines": .whole, "refresh_hz": .value, "words_per_minute": .whole,
            "text_area": .object(["x": .whole, "y": .whole, "width": .whole, "height": .whole]),
        ]),
        "camera": .object(["width_px": .whole, "height_px": .whole, "fps": .value]),
        "microphone": .object(["sample_rate_hz": .whole]),
        "imu": .object(["rate_hz": .value, "magnetometer": .value]),
        "inputs": .value,
    ])

    /// A field the profile may not have (a misspelt name is refused, not ignored), or a fraction
    /// where a whole number belongs (which the decoder reports only as "not valid JSON").
    private static func fieldProblem(_ value: Any, known: Fields, path: String = "") -> String? {
        switch known {
        case .object(let fields):
            guard let object = value as? [String: Any] else { return nil }
            for key in object.keys.sorted() {
                let here = path.isEmpty ? key : path + "." + key
                guard let sub = fields[key] else { return "unknown field \(here) (a misspelt name is not ignored)" }
                if let found = fieldProblem(object[key]!, known: sub, path: here) { return found }
            }
            return nil
        case .whole:
            guard let number = value as? NSNumber, !(value is Bool), number.doubleValue != number.doubleValue.rounded() else { return nil }
            return "field \(path) should be a whole number, not \(number)"
        case .free, .value:
            return nil
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context, _ key: CodingKey? = nil) -> String {
            let keys = context.codingPath + (key.map { [$0] } ?? [])
            return keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing field \(path(context, key))"
        case .typeMismatch(let type, let context): return "field \(path(context)) should be \(typeName(type))"
        case .valueNotFound(let type, let context): return "field \(path(context)) should be \(typeName(type)), not null"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "not valid JSON" }
            return "field \(path(context)) has a value that is not allowed (\(context.debugDescription))"
        @unknown default: return "unreadable"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type: return "a whole number"
        case is Double.Type: return "a number"
        case is String.Type: return "text"
        default: return "an object"
        }
    }
}
