import VisorCore

/// One stage Visor can run, as the command line, the help text and profile validation see it:
/// its name, what it does and draws, what it consumes, and the device profile's latency keys it
/// uses. A stage that analyses frames registers its factory here; speech (audio blocks) and the
/// assistant (what was heard) are built by the runner from their own settings.
public struct StageRegistration: Sendable {
    public enum Input: String, Sendable { case frames, audio, heard }

    public let name: String
    public let summary: String
    public let draws: String
    public let input: Input
    /// Keys of the profile's `modelled_latency_ms` this stage reads.
    public let latencyKeys: [String]
    private let factory: (@Sendable () throws -> SlowStage)?

    /// A stage on frames, built by `make`.
    public init(name: String, summary: String, draws: String, latencyKeys: [String], make: @escaping @Sendable () throws -> SlowStage) {
        self.init(name: name, summary: summary, draws: draws, input: .frames, latencyKeys: latencyKeys, factory: make)
    }

    init(name: String, summary: String, draws: String, input: Input, latencyKeys: [String], factory: (@Sendable () throws -> SlowStage)? = nil) {
        self.name = name; self.summary = summary; self.draws = draws
        self.input = input; self.latencyKeys = latencyKeys; self.factory = factory
    }

    /// A new instance of a frame stage; nil for speech and the assistant.
    public func makeFrameStage() throws -> SlowStage? { try factory?() }
}

extension SpeechStage {
    public static let registration = StageRegistration(
        name: name, summary: "speech: the wake phrase, commands and dictation (PocketSphinx, or Whisper with --asr whisper)",
        draws: "what was heard, on the status line", input: .audio, latencyKeys: ["speech", "speech_whisper"])
}

extension AssistantStage {
    public static let registration = StageRegistration(
        name: name, summary: "the assistant: answers, notes and cues from what is seen and heard",
        draws: "its overlay text in the HUD", input: .heard, latencyKeys: ["assistant", "language_model", "speech_synthesis"])
}

/// Every stage Visor has, in the order they are listed and run. A new stage is its own file
/// (a type with a `registration`) and one entry here.
public enum StageRegistry {
    public static let all: [StageRegistration] = [
        CodesStage.registration, TextStage.registration, FacesStage.registration,
        SpeechStage.registration, AssistantStage.registration,
    ]

    public static var names: [String] { all.map(\.name) }

    public static func named(_ name: String) -> StageRegistration? { all.first { $0.name == name } }

    /// Every latency key a device profile must give.
    public static var latencyKeys: [String] { all.flatMap(\.latencyKeys) }

    /// "codes (QR codes and barcodes (ZBar)), text (...)": for help text.
    public static var listing: String { all.map(\.name).joined(separator: ", ") }

    /// The stages a `--stages` value names ("none" for none), in the registry's order.
    /// - Throws: `VisorError` for an empty list, an unknown name or a name given twice.
    public static func parse(_ list: String) throws -> [StageRegistration] {
        if list.trimmingCharacters(in: .whitespaces) == "none" { return [] }
        let names = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw VisorError("--stages names no stage; give some of \(listing), or none") }
        for name in names where named(name) == nil {
            throw VisorError("unknown stage \"\(name)\" in --stages (stages: \(listing), or none)")
        }
        if let twice = names.first(where: { name in names.filter { $0 == name }.count > 1 }) {
            throw VisorError("--stages names \(twice) twice")
        }
        return all.filter { names.contains($0.name) }
    }

    /// What is wrong with a profile's `modelled_latency_ms` for these stages: a key no stage uses
    /// (a misspelt name would silently fall back), or a stage's key missing; nil when it fits.
    public static func latencyProblem(_ profile: DeviceProfile) -> String? {
        let keys = latencyKeys
        for key in profile.modelledLatencyMilliseconds.keys.sorted() where !keys.contains(key) {
            return "unknown key modelled_latency_ms.\(key) (keys: \(keys.joined(separator: ", ")))"
        }
        if let missing = keys.first(where: { profile.modelledLatencyMilliseconds[$0] == nil }) {
            return "missing field modelled_latency_ms.\(missing) (every stage's modelled latency is needed)"
        }
        return nil
    }
}
