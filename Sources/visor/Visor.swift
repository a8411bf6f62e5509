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
        let arguments = Array(CommandLine.arguments.dropFirst())
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch let status as ExitCode {
            Foundation.exit(status.rawValue)
        } catch {
            // A wrong flag is one line, as every other error is; help and --version print in full.
            let code = exitCode(for: error)
            guard code == .validationFailure else { exit(withError: error) }
            let first = message(for: error).split(separator: "\n").first.map(String.init) ?? "bad arguments"
            let text = first.hasPrefix("Error: ") ? String(first.dropFirst(7)) : first
            let subcommand = arguments.first { name in configuration.subcommands.contains { $0.configuration.commandName == name } }
            printError("error: \(text) (visor \(subcommand.map { $0 + " " } ?? "")--help lists the options)")
            Foundation.exit(code.rawValue)
        }
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
/// Says in one line when a session's footer or summary is damaged (everything readable is read).
func warnAboutSummary(_ reader: MCAPReader) {
    if let problem = reader.summaryProblem { printError("warning: \(reader.path): \(problem)") }
}

func printError(_ line: String) {
    FileHandle.standardError.write(Data("visor: \(line)\n".utf8))
}

/// Runs a command body, turning any error into one line on stderr and exit status 1.
/// - Parameter stoppable: installs the signal policy (`StopSignal`): a command that records or
///   replays stops at its next sample on SIGINT, SIGTERM or SIGHUP and finishes what it writes.
func reportingErrors(stoppable: Bool = false, _ body: () throws -> Void) throws {
    Visor.bootstrapLogging()
    if stoppable { StopSignal.install() }
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

/// Checks every output a command was given before it starts (so that a bad path fails at once,
/// not after the run), and that no output is one of its inputs or another output.
func checkOutputs(_ outputs: [(role: String, path: String?)], inputs: [(role: String, path: String?)]) throws {
    let named = outputs.compactMap { o in o.path.map { (role: o.role, path: $0) } }
    for output in named { try OutputFile.check(output.path, role: output.role) }
    try OutputFile.checkDistinct(outputs: named, inputs: inputs.compactMap { i in i.path.map { (role: i.role, path: $0) } })
}
