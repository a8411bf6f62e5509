import Foundation
import ArgumentParser
import VisorAssistant
import VisorCore
import VisorDisplay
import VisorPerception
import VisorRuntime

/// Options that `replay` and `bench` share: the device profile, the slow stages, scheduling.
struct RuntimeOptions: ParsableArguments {
    @Option(help: "Device profile: a name from `visor profiles`, or a profile file (default laptop).")
    var profile: String = DeviceProfiles.defaultName

    @Option(help: ArgumentHelp("Stages to run, comma-separated: \(StageRegistry.listing), or none (default: all).", valueName: "LIST"))
    var stages: String = StageRegistry.listing.replacingOccurrences(of: " ", with: "")

    @Option(help: ArgumentHelp("Wake phrases to listen for, comma-separated (default \"hey glasses,okay glasses\").", valueName: "PHRASES"))
    var wake: String?

    @Option(help: ArgumentHelp("Speech recognition: pocketsphinx (the default) or whisper (Whisper base through whisper.cpp, on stretches of voice).", valueName: "ENGINE"))
    var asr: String = "pocketsphinx"

    @Option(help: ArgumentHelp("The Whisper model in whisper.cpp's format (default Whisper base from tools/setup).", valueName: "FILE.bin"))
    var whisperModel: String?

    @Option(help: "Worker threads for the slow stages (default: the cores less one, at least 1: the frame thread and the speech thread need the rest).")
    var workers: Int = max(1, ProcessInfo.processInfo.activeProcessorCount - 1)

    @Option(help: ArgumentHelp("The wearer's profile (YAML): name, goals, interests, verbosity, notifications, wake phrases, voice.", valueName: "FILE"))
    var wearer: String?

    @Option(help: ArgumentHelp("The assistant's memory (SQLite), kept across runs (default $XDG_DATA_HOME/visor/memory.sqlite).", valueName: "FILE"))
    var memory: String?

    @Option(help: ArgumentHelp("The language model (GGUF) that phrases answers (default SmolLM2-135M-Instruct from tools/setup).", valueName: "FILE.gguf"))
    var model: String?

    @Flag(help: "Answer from templates only, without the language model.")
    var noModel = false

    @Option(help: ArgumentHelp("Where \"take a photo\" saves JPEGs (default $XDG_DATA_HOME/visor/gallery).", valueName: "DIR"))
    var gallery: String?

    func validate() throws {
        guard (1...64).contains(workers) else { throw ValidationError("--workers must be between 1 and 64") }
        if let wake, wake.split(separator: ",").allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            throw ValidationError("--wake needs at least one phrase")
        }
        do { _ = try StageRegistry.parse(stages) } catch let error as VisorError { throw ValidationError(error.message) }
        if SpeechRecognition(name: asr) == nil { throw ValidationError("--asr must be whisper or pocketsphinx") }
        if whisperModel != nil && asr != "whisper" { throw ValidationError("--whisper-model needs --asr whisper") }
        if model != nil && noModel { throw ValidationError("--model and --no-model contradict each other") }
        for (flag, value) in [("--wearer", wearer), ("--memory", memory), ("--model", model), ("--gallery", gallery), ("--whisper-model", whisperModel)] where value?.isEmpty == true {
            throw ValidationError("\(flag) needs a path")
        }
    }

    /// Visor's data folder: $XDG_DATA_HOME/visor, else ~/.local/share/visor.
    static var dataDirectory: String {
        let env = ProcessInfo.processInfo.environment
        if let xdg = env["XDG_DATA_HOME"], xdg.hasPrefix("/") { return xdg + "/visor" }
        return (env["HOME"] ?? NSHomeDirectory()) + "/.local/share/visor"
    }

    static var defaultMemoryPath: String { dataDirectory + "/memory.sqlite" }

    /// The wearer's profile, or the default one.
    func loadWearer() throws -> WearerProfile {
        try wearer.map { try WearerProfile.load(path: $0) } ?? WearerProfile()
    }

    /// The assistant, when its stage is asked for: the wearer's profile, the memory, the model
    /// (loaded once) and the voice. Characters per line come from the device's text area.
    /// A deterministic run keeps the model's threads fixed (its answers must not depend on the
    /// machine's load); others size them by the cores free.
    func makeAssistant(profile: DeviceProfile, wearerProfile: WearerProfile, deterministic: Bool) throws -> Assistant? {
        guard stageNames.contains(AssistantStage.name) else { return nil }
        return try Assistant.make(profile: profile, wearer: wearerProfile, memoryPath: memory ?? Self.defaultMemoryPath,
                                  modelPath: model, useModel: !noModel, galleryDirectory: gallery ?? Self.dataDirectory + "/gallery",
                                  adaptiveThreads: !deterministic)
    }

    /// The stages asked for (validated already), in the registry's order.
    var registrations: [StageRegistration] { (try? StageRegistry.parse(stages)) ?? [] }

    var stageNames: [String] { registrations.map(\.name) }

    /// The wake phrases when the speech stage runs, else nil: --wake, else the wearer's, else the defaults.
    func wakePhrases(wearer: WearerProfile) -> [String]? {
        guard stageNames.contains(SpeechStage.name) else { return nil }
        guard let wake else { return wearer.wakePhrases ?? SpeechListener.defaultWakePhrases }
        return wake.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// What recognises speech (validated already).
    var recognition: SpeechRecognition { SpeechRecognition(name: asr, whisperModel: whisperModel) ?? .pocketsphinx }

    func makeSlowStages() throws -> [SlowStage] {
        try registrations.compactMap { try $0.makeFrameStage() }
    }

    func loadProfile() throws -> DeviceProfile { try DeviceProfiles.load(profile) }

    /// The files these options read, which no output may overwrite.
    var inputFiles: [(role: String, path: String?)] {
        [("wearer profile", wearer), ("language model", model), ("Whisper model", whisperModel), ("device profile", DeviceProfiles.isName(profile) ? nil : profile)]
    }
}

/// Which channels of a session are the camera and the microphone (replay and bench; live has
/// devices, not topics).
struct TopicOptions: ParsableArguments {
    @Option(help: "The camera topic to use (default: the channel with a Foxglove image schema).")
    var cameraTopic: String?

    @Option(help: "The microphone topic to use (default: the channel with the foxglove.RawAudio schema).")
    var audioTopic: String?

    @Option(help: "The IMU topic to use for head motion (default: the busiest channel with the visor.Imu schema).")
    var imuTopic: String?
}

/// How the terminal view is drawn (replay and live).
struct DisplayOptions: ParsableArguments {
    @Option(help: ArgumentHelp("How to draw the view: half (half blocks), sextants (six pixels a cell) or kitty (the kitty graphics protocol); default: kitty under kitty, else half.", valueName: "MODE"))
    var render: String?

    @Option(help: ArgumentHelp("Colours: 24bit, 256 or none (default: none when NO_COLOR is set, 24bit when COLORTERM says truecolor or 24bit, else 256).", valueName: "DEPTH"))
    var colours: String?

    @Flag(help: "Rewrite every cell of every frame instead of only the cells that changed.")
    var noDiff = false

    func validate() throws {
        if let render, TerminalMode(rawValue: render) == nil {
            throw ValidationError("--render takes half, sextants or kitty; got \"\(render)\"")
        }
        if let colours, TerminalColours(rawValue: colours) == nil {
            throw ValidationError("--colours takes 24bit, 256 or none; got \"\(colours)\"")
        }
    }

    /// The mode and colours asked for, or else what the terminal's environment says it has.
    var settings: (mode: TerminalMode, colours: TerminalColours, diffing: Bool) {
        let detected = detectTerminal(ProcessInfo.processInfo.environment)
        return (render.flatMap(TerminalMode.init(rawValue:)) ?? detected.mode,
                colours.flatMap(TerminalColours.init(rawValue:)) ?? detected.colours, !noDiff)
    }

    /// Whether to draw: standard output is a terminal that can draw (not `TERM=dumb`). A dumb
    /// terminal gets one note and a headless run, as `--headless` would.
    func shouldDraw(headless: Bool) -> Bool {
        guard !headless, isatty(STDOUT_FILENO) == 1 else { return false }
        guard terminalCanDraw(ProcessInfo.processInfo.environment) else {
            printError("note: TERM=dumb cannot draw the view; running headless (--headless says so without this note)")
            return false
        }
        return true
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
