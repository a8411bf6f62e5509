import Foundation
import XCTest

/// Paths and processes the tests share: the package's fixtures, the built `visor`, Python.
public enum TestSupport {
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static func fixture(_ name: String) -> String {
        packageRoot.appendingPathComponent("Fixtures").appendingPathComponent(name).path
    }

    /// The committed sessions, by file name.
    public static let fixtureSessions = ["street.mcap", "sign.mcap", "page.mcap", "codes.mcap", "speech.mcap", "commands.mcap", "recall.mcap", "walk.mcap", "demo.mcap", "voices.mcap"]

    /// A fresh directory under the system's temporary directory, removed when the test ends.
    public static func temporaryDirectory(_ test: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("visor-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// The `visor` executable built beside the tests (tools/test builds it first).
    public static var visorPath: String {
        if let path = ProcessInfo.processInfo.environment["VISOR_BIN"] { return path }
        let besideTests = Bundle(for: Marker.self).bundleURL.deletingLastPathComponent().appendingPathComponent("visor").path
        if FileManager.default.isExecutableFile(atPath: besideTests) { return besideTests }
        return packageRoot.appendingPathComponent(".build/debug/visor").path
    }

    public struct Run {
        public var status: Int32
        /// False when the process died from a signal (a crash).
        public var exitedNormally: Bool
        public var stdout: String
        public var stderr: String
        public var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }
    }

    /// Runs a program to completion and captures its output.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        // Visor's data (memory, photos) goes to a folder of the test run's, never the user's.
        var env = environment ?? ProcessInfo.processInfo.environment
        if env["XDG_DATA_HOME"] == nil { env["XDG_DATA_HOME"] = dataHome }
        process.environment = env
        let directory = FileManager.default.temporaryDirectory
        let outURL = directory.appendingPathComponent("visor-out-\(UUID().uuidString)")
        let errURL = directory.appendingPathComponent("visor-err-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outURL); try? FileManager.default.removeItem(at: errURL) }
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try out.close(); try err.close()
        return Run(status: process.terminationStatus, exitedNormally: process.terminationReason == .exit,
                   stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
                   stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }

    /// The XDG data folder the `visor` processes of this test run share.
    public static let dataHome: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("visor-tests-data-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    public static func visor(_ arguments: String...) throws -> Run { try run(visorPath, arguments) }
    public static func visor(arguments: [String]) throws -> Run { try run(visorPath, arguments) }

    /// Runs tmux on a server of its own (`socket`, no configuration) with every inherited
    /// descriptor above 2 closed: the tmux server it forks would otherwise keep Foundation's exit
    /// watch on the client open until the server ends.
    public static func tmux(socket: String, _ arguments: [String]) throws -> Run {
        try run("/usr/bin/env", ["python3", "-c",
            "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:], close_fds=True, stdin=subprocess.DEVNULL).returncode)",
            "/usr/bin/tmux", "-L", socket, "-f", "/dev/null"] + arguments)
    }

    /// Runs `python3` (from PATH) on a script under Tests/Interop.
    public static func python(_ script: String, _ arguments: [String]) throws -> Run {
        let path = packageRoot.appendingPathComponent("Tests/Interop").appendingPathComponent(script).path
        return try run("/usr/bin/env", ["python3", path] + arguments)
    }

    /// The transcript's events as dictionaries.
    public static func transcriptEvents(_ path: String) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try text.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
        }
    }

    private final class Marker {}
}
