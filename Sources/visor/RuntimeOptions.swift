import Foundation
import ArgumentParser
import VisorCore
import VisorDisplay
import VisorPerception
import VisorRuntime

/// Options that `replay` and `bench` share: the device profile, the slow stages, scheduling.
struct RuntimeOptions: ParsableArguments {
    @Option(help: "Device profile: a name from `visor profiles`, or a profile file (default laptop).")
    var profile: String = DeviceProfiles.defaultName

    @Option(help: "Stages to run, comma-separated: codes, text, faces, speech, or none (default codes,text,faces,speech).")
    var stages: String = "codes,text,faces,speech"

    @Option(help: ArgumentHelp("Wake phrases to listen for, comma-separated (default \"hey glasses,okay glasses\").", valueName: "PHRASES"))
    var wake: String?

    @Option(help: "Worker threads for the slow stages (default: the cores less one, at least 1: the frame thread and the speech thread need the rest).")
    var workers: Int = max(1, ProcessInfo.processInfo.activeProcessorCount - 1)

    @Option(help: "The camera topic to use (default: the channel with a Foxglove image schema).")
    var cameraTopic: String?

    @Option(help: "The microphone topic to use (default: the channel with the foxglove.RawAudio schema).")
    var audioTopic: String?

    static let knownStages = ["codes", "text", "faces", "speech"]

    func validate() throws {
        guard (1...64).contains(workers) else { throw ValidationError("--workers must be between 1 and 64") }
        if let wake, wake.split(separator: ",").allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw ValidationError("--wake needs at least one phrase")
        }
        for name in stageNames where !Self.knownStages.contains(name) {
            throw ValidationError("unknown stage \"\(name)\" in --stages (stages: \(Self.knownStages.joined(separator: ", ")), or none)")
        }
    }

    var stageNames: [String] {
        stages == "none" ? [] : stages.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// The wake phrases when the speech stage runs, else nil.
    var wakePhrases: [String]? {
        guard stageNames.contains("speech") else { return nil }
        guard let wake else { return SpeechListener.defaultWakePhrases }
        return wake.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func makeSlowStages() throws -> [SlowStage] {
        try stageNames.filter { $0 != "speech" }.map { name -> SlowStage in
            switch name {
            case "text": return try TextStage()
            case "faces": return try FacesStage()
            default: return try CodesStage()
            }
        }
    }

    func loadProfile() throws -> DeviceProfile { try DeviceProfiles.load(profile) }
}

/// How the terminal view is drawn (replay and live).
struct DisplayOptions: ParsableArguments {
    @Option(help: ArgumentHelp("How to draw the view: half (half blocks), sextants (six pixels a cell) or kitty (the kitty graphics protocol); default: kitty under kitty, else half.", valueName: "MODE"))
    var render: String?

    @Option(help: ArgumentHelp("Colours: 24bit or 256 (default: 24bit when COLORTERM says truecolor or 24bit, else 256).", valueName: "DEPTH"))
    var colours: String?

    @Flag(help: "Rewrite every cell of every frame instead of only the cells that changed.")
    var noDiff = false

    func validate() throws {
        if let render, TerminalMode(rawValue: render) == nil {
            throw ValidationError("--render takes half, sextants or kitty; got \"\(render)\"")
        }
        if let colours, TerminalColours(rawValue: colours) == nil {
            throw ValidationError("--colours takes 24bit or 256; got \"\(colours)\"")
        }
    }

    /// The mode and colours asked for, or else what the terminal's environment says it has.
    var settings: (mode: TerminalMode, colours: TerminalColours, diffing: Bool) {
        let detected = detectTerminal(ProcessInfo.processInfo.environment)
        return (render.flatMap(TerminalMode.init(rawValue:)) ?? detected.mode,
                colours.flatMap(TerminalColours.init(rawValue:)) ?? detected.colours, !noDiff)
    }

    func configure(_ terminal: inout ReplayTerminal) {
        (terminal.mode, terminal.colours, terminal.diffing) = settings
    }

    func configure(_ encoder: TerminalFrameEncoder) {
        (encoder.mode, encoder.colours, encoder.diffing) = settings
    }
}

/// PNG snapshots (replay and live).
struct SnapshotOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Write PNG snapshots here: the composed view and the HUD alone at device resolution.", valueName: "DIR"))
    var snapshotDir: String?

    @Option(help: "Write a snapshot every N frames (default 30).")
    var snapshotEvery: Int = 30

    func validate() throws {
        guard snapshotEvery > 0 else { throw ValidationError("--snapshot-every must be 1 or more") }
    }
}
