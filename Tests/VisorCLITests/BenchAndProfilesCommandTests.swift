import Foundation
import VisorTestSupport
import XCTest

final class BenchAndProfilesCommandTests: XCTestCase {
    func testProfilesListsTheShippedDevices() throws {
        let run = try TestSupport.visor("profiles")
        XCTAssertEqual(run.status, 0, run.stderr)
        for name in ["meta-ray-ban-display", "brilliant-frame", "even-g1", "brilliant-halo", "laptop"] {
            XCTAssertTrue(run.stdout.contains(name), name)
        }
        XCTAssertTrue(run.stdout.contains("(default)"))
        let one = try TestSupport.visor("profiles", "even-g1")
        XCTAssertEqual(one.status, 0)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(one.stdout.utf8)) as? [String: Any])
        XCTAssertNotNil((json["sources"] as? [String: String])?["display.text_area"])
    }

    func testBenchPrintsTheTableAndWritesJSONAndTrace() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let json = dir.appendingPathComponent("bench.json").path, trace = dir.appendingPathComponent("bench.trace.json").path
        let run = try TestSupport.visor("bench", TestSupport.fixture("codes.mcap"), "--repeat", "2", "--workers", "2", "--json", json, "--trace", trace)
        XCTAssertEqual(run.status, 0, run.stderr)
        // The verdict (fits or not: this is a debug build) closes the table.
        for expected in ["p99.9 ms", "drops", "misses", "convert", "terminal", "codes", "queue wait", "capture_to_terminal", "fit laptop"] {
            XCTAssertTrue(run.stdout.contains(expected), "\(expected) missing from:\n\(run.stdout)")
        }
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
        XCTAssertEqual(report["frames"] as? Int, 140)
        let stages = try XCTUnwrap(report["stages"] as? [String: [String: Any]])
        XCTAssertEqual(Set(stages.keys), ["convert", "light", "motion", "hud", "display", "terminal", "codes", "text", "faces"])
        XCTAssertEqual(stages["terminal"]?["count"] as? Int, 140)
        let codes = try XCTUnwrap(stages["codes"])
        XCTAssertEqual((codes["results"] as? Int ?? 0) + (codes["drops"] as? Int ?? 0), 140)
        let endToEnd = try XCTUnwrap(report["end_to_end"] as? [String: Any])
        XCTAssertEqual((endToEnd["capture_to_terminal"] as? [String: Any])?["count"] as? Int, 140)

        let traceJSON = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: trace))) as? [String: Any])
        let events = try XCTUnwrap(traceJSON["traceEvents"] as? [[String: Any]])
        let threadNames = events.filter { $0["name"] as? String == "thread_name" }.compactMap { ($0["args"] as? [String: Any])?["name"] as? String }
        XCTAssertTrue(Set(threadNames).isSuperset(of: ["fast: convert", "fast: light", "fast: motion", "fast: hud", "fast: terminal", "worker 1", "worker 2"]), "\(threadNames)")
        let spans = events.filter { $0["ph"] as? String == "X" }
        XCTAssertEqual(spans.filter { $0["name"] as? String == "convert" }.count, 140)
        XCTAssertEqual(spans.filter { $0["name"] as? String == "codes" }.count, codes["results"] as? Int)
        XCTAssertTrue(spans.allSatisfy { ($0["dur"] as? Double ?? -1) >= 0 && ($0["ts"] as? Double ?? -1) >= 0 })
    }

    func testDeterministicReplayGivesTheSameTranscriptEveryRun() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        var transcripts: [Data] = []
        for (n, workers) in ["1", "2", "2"].enumerated() {
            let path = dir.appendingPathComponent("t\(n).jsonl").path
            let run = try TestSupport.visor("replay", TestSupport.fixture("codes.mcap"), "--headless", "--deterministic",
                                            "--profile", "even-g1", "--workers", workers, "--transcript", path)
            XCTAssertEqual(run.status, 0, run.stderr)
            transcripts.append(try Data(contentsOf: URL(fileURLWithPath: path)))
        }
        XCTAssertTrue(String(decoding: transcripts[0], as: UTF8.self).contains("Thalassiodracon"))
        XCTAssertEqual(transcripts[0], transcripts[1])
        XCTAssertEqual(transcripts[1], transcripts[2])
    }

    func testBadProfilesAndOptions() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        var run = try TestSupport.visor("bench", TestSupport.fixture("codes.mcap"), "--profile", "google-glass")
        XCTAssertEqual(run.status, 1)
        XCTAssertEqual(run.stderrLines.count, 1, run.stderr)
        XCTAssertTrue(run.stderr.contains("no device profile named google-glass"))
        let bad = dir.appendingPathComponent("bad.json").path
        try Data(#"{"name": "bad", "title": "x"}"#.utf8).write(to: URL(fileURLWithPath: bad))
        run = try TestSupport.visor("replay", TestSupport.fixture("codes.mcap"), "--headless", "--profile", bad)
        XCTAssertEqual(run.status, 1)
        XCTAssertEqual(run.stderrLines, ["visor: error: profile \(bad): missing field display"])
        for arguments in [["bench", TestSupport.fixture("codes.mcap"), "--repeat", "0"], ["bench", TestSupport.fixture("codes.mcap"), "--stages", "telepathy"],
                          ["replay", TestSupport.fixture("codes.mcap"), "--workers", "0"]] {
            run = try TestSupport.visor(arguments: arguments)
            XCTAssertEqual(run.status, 64, "\(arguments): \(run.stderr)")
        }
    }
}
