import Foundation
import VisorCore
import XCTest

/// What other processes keep busy is read from /proc, in cores, and sizes a thread pool.
final class CoreLoadTests: XCTestCase {
    func testThreadsFollowTheCoresOthersLeaveFree() {
        XCTAssertEqual(CoreLoad.threads(limit: 2, cores: 2, othersBusy: 0), 2)
        XCTAssertEqual(CoreLoad.threads(limit: 2, cores: 2, othersBusy: 0.2), 2, "a little noise leaves both cores")
        XCTAssertEqual(CoreLoad.threads(limit: 2, cores: 2, othersBusy: 1.0), 1, "a process burning one core leaves one")
        XCTAssertEqual(CoreLoad.threads(limit: 2, cores: 2, othersBusy: 2.0), 1, "never none")
        XCTAssertEqual(CoreLoad.threads(limit: 4, cores: 8, othersBusy: 1.0), 4, "at most the limit")
        XCTAssertEqual(CoreLoad.threads(limit: 8, cores: 8, othersBusy: 2.5), 5)
    }

    /// A process burning a core is seen as about one more core busy (whatever else the machine
    /// is doing: the difference is judged, with a margin), and this process's own work is not.
    func testAProcessBurningACoreIsSeenAndOurOwnWorkIsNot() throws {
        let load = CoreLoad()
        usleep(300_000)
        _ = try XCTUnwrap(load.othersBusyCores(), "/proc/stat is readable")
        // Our own work: a second of spinning on this thread.
        let end = DispatchTime.now().uptimeNanoseconds + 1_000_000_000
        var spins = 0
        while DispatchTime.now().uptimeNanoseconds < end { spins &+= 1 }
        let whileWeWorked = try XCTUnwrap(load.othersBusyCores())
        usleep(1_000_000)
        let quiet = try XCTUnwrap(load.othersBusyCores())
        let burner = Process()
        burner.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        burner.arguments = ["python3", "-c", "while True: pass"]
        try burner.run()
        defer { burner.terminate(); burner.waitUntilExit() }
        usleep(300_000)
        _ = load.othersBusyCores()
        usleep(1_000_000)
        let burning = try XCTUnwrap(load.othersBusyCores())
        XCTAssertGreaterThan(burning - quiet, 0.5, "a burner: \(quiet) cores busy before, \(burning) with it")
        XCTAssertLessThan(whileWeWorked, quiet + 0.6, "our own spinning (\(spins) spins) is not others' load: \(whileWeWorked) against \(quiet)")
    }
}
