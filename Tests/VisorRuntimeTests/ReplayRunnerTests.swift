import Foundation
import VisorCore
import VisorSession
import VisorTestSupport
import XCTest
@testable import VisorRuntime

final class ReplayRunnerTests: XCTestCase {
    func testEveryFixtureReplaysWithOneFrameEventPerCameraMessage() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        for name in TestSupport.fixtureSessions {
            let source = try SessionSource(path: TestSupport.fixture(name))
            var options = ReplayOptions()
            options.transcriptPath = dir.appendingPathComponent("\(name).jsonl").path
            let result = try ReplayRunner(source: source, options: options).run()
            let events = try TestSupport.transcriptEvents(options.transcriptPath!)
            let frames = events.filter { $0["kind"] as? String == "frame" }
            XCTAssertEqual(UInt64(frames.count), source.cameraMessageCount, name)
            XCTAssertEqual(result.frames, frames.count, name)
            XCTAssertNil(result.damage)
            let times = frames.compactMap { ($0["time_ns"] as? NSNumber)?.uint64Value }
            XCTAssertEqual(times.first, 0, "\(name): time counts from the session's first message")
            XCTAssertEqual(times, times.sorted(), name)
            for frame in frames {
                let light = (frame["light"] as? NSNumber)?.doubleValue ?? -1
                XCTAssertTrue((0.02...0.98).contains(light), "\(name): light \(light) of a real scene")
            }
            XCTAssertEqual(result.metrics.summary("convert")?.count, UInt64(frames.count))
            XCTAssertEqual(result.metrics.summary("capture_to_hud")?.count, UInt64(frames.count))
        }
    }

    func testLightLevelFollowsTheScene() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        func meanLight(_ fixture: String) throws -> Double {
            var options = ReplayOptions()
            options.transcriptPath = dir.appendingPathComponent("\(fixture).jsonl").path
            _ = try ReplayRunner(source: SessionSource(path: TestSupport.fixture(fixture)), options: options).run()
            let lights = try TestSupport.transcriptEvents(options.transcriptPath!).compactMap { ($0["light"] as? NSNumber)?.doubleValue }
            return lights.reduce(0, +) / Double(lights.count)
        }
        // A white page under a lamp is brighter than a street of trees and cars.
        XCTAssertGreaterThan(try meanLight("page.mcap"), try meanLight("sign.mcap") + 0.08)
    }

    func testTranscriptIsIdenticalAcrossRuns() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        var transcripts: [Data] = []
        for run in 0..<3 {
            var options = ReplayOptions()
            options.transcriptPath = dir.appendingPathComponent("run\(run).jsonl").path
            _ = try ReplayRunner(source: SessionSource(path: TestSupport.fixture("speech.mcap")), options: options).run()
            transcripts.append(try Data(contentsOf: URL(fileURLWithPath: options.transcriptPath!)))
        }
        XCTAssertGreaterThan(transcripts[0].count, 1000)
        XCTAssertEqual(transcripts[0], transcripts[1])
        XCTAssertEqual(transcripts[1], transcripts[2])
    }

    func testReportHasTheDocumentedShape() throws {
        let result = try ReplayRunner(source: SessionSource(path: TestSupport.fixture("codes.mcap")), options: ReplayOptions()).run()
        let json = try JSONSerialization.jsonObject(with: result.reportJSON()) as? [String: Any] ?? [:]
        XCTAssertEqual(json["frames"] as? Int, 60)
        let stages = json["stages"] as? [String: [String: Any]] ?? [:]
        XCTAssertEqual(Set(stages.keys), ["convert", "light", "hud"], "headless runs draw nothing")
        for (name, stage) in stages {
            XCTAssertEqual(stage["count"] as? Int, 60, name)
            let p50 = stage["p50_ns"] as? Int ?? -1, p90 = stage["p90_ns"] as? Int ?? -1
            let p99 = stage["p99_ns"] as? Int ?? -1, max = stage["max_ns"] as? Int ?? -1
            XCTAssertTrue(0 < p50 && p50 <= p90 && p90 <= p99 && p99 <= max, "\(name): \(p50) \(p90) \(p99) \(max)")
        }
        let endToEnd = json["end_to_end"] as? [String: [String: Any]] ?? [:]
        XCTAssertEqual(endToEnd["capture_to_hud"]?["count"] as? Int, 60)
    }
}
