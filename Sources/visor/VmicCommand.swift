import ArgumentParser
import Foundation
import VisorCore
import VisorMedia
import VisorSession

struct Vmic: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vmic",
        abstract: "Print the ALSA configuration that plays a recording as a microphone through Visor's ALSA plugin.",
        discussion: """
        The PCM it defines plays the WAV file (16-bit PCM), raw 16 kHz mono file, or session audio paced in real time, and reports the end of the recording (reads fail with "No data available"). A session's audio is written to a WAV file first (--wav, default beside the session's name in ~/.cache/visor/vmic).

        Examples:
          visor vmic Fixtures/speech.mcap > visor-mic.conf
          ALSA_CONFIG_PATH=/usr/share/alsa/alsa.conf:visor-mic.conf arecord -D visor_mic -f S16_LE -r 16000 out.wav
          visor vmic speech.wav --name glasses_mic >> ~/.asoundrc
        """
    )

    @Argument(help: "A session (MCAP), a WAV file or a raw 16 kHz mono S16LE file.")
    var recording: String

    @Option(help: "The PCM's name (default visor_mic).")
    var name: String = "visor_mic"

    @Flag(help: "Play the recording again and again, never ending (for long runs).")
    var loop = false

    @Option(help: ArgumentHelp("A fault for tests: the reader falls two buffers behind once, after this many seconds (an overrun).", valueName: "SECONDS"))
    var overrunAt: Double?

    @Option(help: "Where to write a session's audio as WAV.")
    var wav: String?

    func validate() throws {
        if let overrunAt, !(overrunAt > 0 && overrunAt.isFinite) { throw ValidationError("--overrun-at takes seconds, more than 0") }
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
            throw ValidationError("--name takes letters, digits, - and _")
        }
    }

    func run() throws {
        try reportingErrors {
            guard FileManager.default.fileExists(atPath: recording) else { throw VisorError("no such file: \(recording)") }
            // The plugin is built beside the executable.
            let executable = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
            let resolvedPlugin = executable.resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("libasound_module_pcm_visor.so").path
            guard FileManager.default.fileExists(atPath: resolvedPlugin) else {
                throw VisorError("Visor's ALSA plugin is not built beside visor (\(resolvedPlugin)); run swift build --product asound_module_pcm_visor")
            }
            var audioPath = URL(fileURLWithPath: recording).standardizedFileURL.path
            if MCAPReader.hasMagic(path: recording) {
                let source = try SessionSource(path: recording)
                guard let channel = source.audioChannel else { throw VisorError("\(recording) has no microphone channel (foxglove.RawAudio)") }
                var samples: [Int16] = []
                var rate = 16_000, channels = 1
                for message in source.reader.messages(channelIDs: [channel.id]) {
                    if case .audio(let block) = try source.decode(message) {
                        samples += block.samples; rate = block.sampleRateHertz; channels = block.channelCount
                    }
                }
                let out = wav ?? {
                    let dir = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/visor/vmic")
                    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                    return dir.appendingPathComponent(((recording as NSString).lastPathComponent as NSString).deletingPathExtension + ".wav").path
                }()
                try WAVFile.write(samples: samples, sampleRateHertz: rate, channelCount: channels, to: out)
                audioPath = URL(fileURLWithPath: out).standardizedFileURL.path
            }
            print("""
            # Visor's virtual microphone: \(name) plays \((recording as NSString).lastPathComponent) in real time.
            # Use it with ALSA_CONFIG_PATH=/usr/share/alsa/alsa.conf:THIS_FILE, or add it to ~/.asoundrc.
            pcm_type.visor {
                lib "\(resolvedPlugin)"
            }
            pcm.\(name) {
                type visor
                file "\(audioPath)"\(loop ? "\n    loop true" : "")\(overrunAt.map { "\n    overrun_at \($0)" } ?? "")
            }
            """)
        }
    }
}
