import ArgumentParser
import Foundation
import Logging
import VisorCore
import VisorSession

@main
struct Visor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "visor",
        abstract: "A smart-glasses runtime simulator: replays recorded sensor sessions through the device stack.",
        version: "0.1.0",
        subcommands: [Replay.self, Bench.self, Inspect.self, Import.self, Profiles.self, Devices.self, Vcam.self, Vmic.self, Record.self, Live.self, MemoryCommand.self]
    )

    static func main() {
        limitOpenMPThreads()
        main(nil)
    }

    /// Tesseract's OpenMP runtime reads `OMP_THREAD_LIMIT` once, when the library loads (before
    /// any of our code runs): started without it, visor sets it and runs itself again, so that OCR
    /// runs on one thread per worker (3x faster on a small machine than with OpenMP's threads).
    /// A value the user set is kept.
    private static func limitOpenMPThreads() {
        guard getenv("OMP_THREAD_LIMIT") == nil else { return }
        setenv("OMP_THREAD_LIMIT", "1", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // If the re-run failed, go on with OpenMP's threads: slower, not wrong.
    }

    static func bootstrapLogging() {
        let level = ProcessInfo.processInfo.environment["VISOR_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .error
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// Prints one line to standard error.
func printError(_ line: String) {
    FileHandle.standardError.write(Data("visor: \(line)\n".utf8))
}

/// Runs a command body, turning any error into one line on stderr and exit status 1.
func reportingErrors(_ body: () throws -> Void) throws {
    Visor.bootstrapLogging()
    do {
        try body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        printError("error: \(oneLine(error))")
        throw ExitCode(1)
    }
}

func oneLine(_ error: Error) -> String {
    let text: String
    if let e = error as? VisorError { text = e.message }
    else if let e = error as? MCAPError { text = e.description }
    else { text = error.localizedDescription }
    return text.split(separator: "\n").joined(separator: " ")
}
