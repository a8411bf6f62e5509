import Foundation
import VisorTestSupport
import XCTest

/// `visor replay` inside a real terminal (tmux), read back with `capture-pane`.
final class TerminalSessionTests: XCTestCase {
    private var socket = ""

    override func setUp() {
        socket = "visor-test-\(UUID().uuidString.prefix(8))"
    }

    override func tearDown() {
        _ = try? tmux("kill-server")
    }

    @discardableResult
    private func tmux(_ arguments: String...) throws -> TestSupport.Run { try tmux(arguments: arguments) }

    @discardableResult
    private func tmux(arguments: [String]) throws -> TestSupport.Run { try TestSupport.tmux(socket: socket, arguments) }

    private func screen() throws -> String { try tmux("capture-pane", "-p", "-t", "visor").stdout }

    private func waitFor(_ what: String, seconds: Double = 20, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return }
            usleep(100_000)
        }
        XCTFail("timed out waiting for \(what); screen:\n\(try screen())")
    }

    /// Starts a replay of the commands fixture in a 160x50 tmux window; `marker` names its transcript.
    private func startReplay(marker: String) throws {
        let command = "\(TestSupport.visorPath) replay \(TestSupport.fixture("commands.mcap")) --speed 1 --stages codes "
            + "--transcript /tmp/\(marker).jsonl; echo VISOR-EXITED $?; sleep 60"
        let run = try tmux("new-session", "-d", "-s", "visor", "-x", "160", "-y", "50", "env", "OMP_THREAD_LIMIT=1", "sh", "-c", command)
        XCTAssertEqual(run.status, 0, run.stderr)
        addTeardownBlock { unlink("/tmp/\(marker).jsonl") }
    }

    private func visorPID(_ marker: String) throws -> Int32? {
        // visor itself, not the shell whose command line also names the transcript.
        let run = try TestSupport.run("/usr/bin/pgrep", ["-f", "^[^ ]*visor replay .*transcript /tmp/\(marker).jsonl"])
        return run.stdout.split(separator: "\n").compactMap { Int32($0) }.first
    }

    func testTheHUDAndPanelShowAndSIGTERMRestoresTheTerminal() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else { return XCTFail("tmux is not installed (tools/setup installs it)") }
        let marker = "visor-tmux-\(UUID().uuidString.prefix(8))"
        try startReplay(marker: marker)
        // The side panel shows the HUD as the device lays it out, and the stages.
        try waitFor("the HUD text in the panel") { let s = try screen(); return s.contains("light") && s.contains("VISOR laptop") }
        let shown = try screen()
        XCTAssertTrue(shown.contains("HUD 640x480"), shown)
        XCTAssertTrue(shown.contains("convert"), shown)
        XCTAssertEqual(try tmux("display", "-p", "-t", "visor", "#{alternate_on} #{cursor_flag}").stdout.trimmingCharacters(in: .whitespacesAndNewlines), "1 0",
                       "the view is drawn on the alternate screen with the cursor hidden")
        let pid = try XCTUnwrap(try visorPID(marker))
        kill(pid, SIGTERM)
        try waitFor("visor to exit") { try screen().contains("VISOR-EXITED") }
        XCTAssertEqual(try tmux("display", "-p", "-t", "visor", "#{alternate_on} #{cursor_flag}").stdout.trimmingCharacters(in: .whitespacesAndNewlines), "0 1",
                       "back on the normal screen with the cursor shown")
        XCTAssertTrue(try screen().contains("stopped early"))
    }

    /// Ctrl-C twice: the second exits at once (as ffmpeg's does), and the terminal is still put back.
    func testTwoSignalsExitAtOnceAndRestoreTheTerminal() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else { return XCTFail("tmux is not installed (tools/setup installs it)") }
        let marker = "visor-tmux-\(UUID().uuidString.prefix(8))"
        try startReplay(marker: marker)
        try waitFor("the view") { try screen().contains("VISOR laptop") }
        let pid = try XCTUnwrap(try visorPID(marker))
        kill(pid, SIGINT)
        kill(pid, SIGINT)
        try waitFor("visor to exit") { try screen().contains("VISOR-EXITED") }
        let shown = try screen()
        XCTAssertTrue(shown.contains("VISOR-EXITED 130"), shown)
        XCTAssertEqual(try tmux("display", "-p", "-t", "visor", "#{alternate_on} #{cursor_flag}").stdout.trimmingCharacters(in: .whitespacesAndNewlines), "0 1",
                       "back on the normal screen with the cursor shown")
    }

    func testKeysPauseAndQuit() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else { return XCTFail("tmux is not installed (tools/setup installs it)") }
        let marker = "visor-tmux-\(UUID().uuidString.prefix(8))"
        try startReplay(marker: marker)
        try waitFor("the first frames") { try screen().contains("VISOR laptop") }
        try tmux("send-keys", "-t", "visor", " ")
        usleep(500_000)
        func frameNumber() throws -> Int? {
            let line = try screen().split(separator: "\n").first { $0.contains("VISOR laptop") } ?? ""
            return line.split(separator: " ").firstIndex(of: "frame").flatMap { i in Int(line.split(separator: " ")[i + 1]) }
        }
        let paused = try frameNumber()
        usleep(2_500_000)
        XCTAssertEqual(try frameNumber(), paused, "no frame is drawn while paused (1 fps fixture, 2.5 s)")
        try tmux("send-keys", "-t", "visor", "Right")
        try waitFor("one step") { try frameNumber() == (paused ?? -10) + 1 }
        try tmux("send-keys", "-t", "visor", "q")
        try waitFor("q to quit") { try screen().contains("VISOR-EXITED 0") }
    }
}

/// The glasses' controls from the keyboard.
extension TerminalSessionTests {
    func testKeysAreTheGlassesControls() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else { return XCTFail("tmux is not installed (tools/setup installs it)") }
        let marker = "visor-tmux-\(UUID().uuidString.prefix(8))"
        try startReplay(marker: marker)
        try waitFor("the first frames") { try screen().contains("VISOR laptop") }
        try tmux("send-keys", "-t", "visor", "t")
        usleep(1_500_000)
        try tmux("send-keys", "-t", "visor", "q")
        try waitFor("q to quit") { try screen().contains("VISOR-EXITED 0") }
        let events = try TestSupport.transcriptEvents("/tmp/\(marker).jsonl")
        let input = try XCTUnwrap(events.first { $0["kind"] as? String == "input" })
        XCTAssertEqual(input["source"] as? String, "keyboard")
        XCTAssertEqual(input["action"] as? String, "wake")
        XCTAssertTrue(events.contains { $0["kind"] as? String == "wake" && $0["phrase"] as? String == "tap" })
    }
}

/// The terminal as users have it: narrow, dumb, colourless; keys while paused.
extension TerminalSessionTests {
    /// Starts `visor replay` of the sign fixture in a tmux window of the given size, with extra
    /// environment (`VAR=value` words).
    private func start(columns: Int, rows: Int, environment: [String] = [], arguments: String = "") throws {
        let command = "\(TestSupport.visorPath) replay \(TestSupport.fixture("commands.mcap")) --speed 1 --stages none \(arguments); echo VISOR-EXITED $?; sleep 60"
        let run = try tmux(arguments: ["new-session", "-d", "-s", "visor", "-x", "\(columns)", "-y", "\(rows)", "env", "OMP_THREAD_LIMIT=1"]
                           + environment + ["sh", "-c", command])
        XCTAssertEqual(run.status, 0, run.stderr)
    }

    private func rows() throws -> [String] {
        try screen().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    /// In a 40x12 terminal the status line fits its row: one that wrapped scrolled the screen on
    /// every frame, leaving its tail on the last row.
    func testTheStatusLineFitsANarrowTerminal() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else { return XCTFail("tmux is not installed (tools/setup installs it)") }
        try start(columns: 40, rows: 12)
        try waitFor("a few frames") { try screen().contains("frame 3/") }
        for _ in 0..<3 {
            let shown = try rows().filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            let status = try XCTUnwrap(shown.last, "\(shown)")
            XCTAssertTrue(status.hasPrefix(" frame "), "the status line is the last row: \(shown)")
            XCTAssertLessThan(status.count, 40)
            XCTAssertEqual(try rows().filter { $0.contains("frame ") }.count, 1, "one status line: \(shown)")
            usleep(1_100_000)
        }
    }

    /// `TERM=dumb` draws nothing (one note, a headless run); `NO_COLOR` draws without a colour sequence.
    func testDumbAndColourlessTerminals() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else { return XCTFail("tmux is not installed (tools/setup installs it)") }
        try start(columns: 100, rows: 30, environment: ["TERM=dumb"], arguments: "--speed max")
        try waitFor("visor to exit") { try screen().contains("VISOR-EXITED") }
        let dumb = try screen()
        XCTAssertTrue(dumb.contains("TERM=dumb cannot draw the view"), dumb)
        XCTAssertTrue(dumb.contains("VISOR-EXITED 0"), dumb)
        XCTAssertTrue(dumb.contains("replayed 35 frames"), dumb)
        _ = try tmux("kill-server")

        try start(columns: 100, rows: 30, environment: ["NO_COLOR=1"])
        try waitFor("a few frames") { try screen().contains("frame 2/") }
        let escaped = try tmux(arguments: ["capture-pane", "-p", "-e", "-t", "visor"]).stdout
        XCTAssertFalse(escaped.contains("\u{1B}[38;") || escaped.contains("\u{1B}[48;"), "no colour sequence under NO_COLOR")
        let ink = Set("@%#*+=-:.")
        XCTAssertGreaterThan(try screen().filter { ink.contains($0) }.count, 200, "the view drawn as characters of ink")
    }

    /// While paused: the status line says so, and `h` hides the HUD at once, not at the next frame.
    func testKeysWhilePausedShowAtOnce() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else { return XCTFail("tmux is not installed (tools/setup installs it)") }
        try start(columns: 160, rows: 50)
        try waitFor("the first frames") { try screen().contains("VISOR laptop") }
        try tmux("send-keys", "-t", "visor", " ")
        try waitFor("the paused mark") { try screen().contains("PAUSED") }
        usleep(300_000)
        let before = try tmux(arguments: ["capture-pane", "-p", "-e", "-t", "visor"]).stdout
        try tmux("send-keys", "-t", "visor", "h")
        try waitFor("the HUD to go") { try tmux(arguments: ["capture-pane", "-p", "-e", "-t", "visor"]).stdout != before }
        XCTAssertTrue(try screen().contains("PAUSED"), "still paused")
        try tmux("send-keys", "-t", "visor", "q")
        try waitFor("q to quit") { try screen().contains("VISOR-EXITED 0") }
    }
}
