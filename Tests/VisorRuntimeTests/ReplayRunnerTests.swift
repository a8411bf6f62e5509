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
            var options = ReplayOptions(profile: try DeviceProfiles.load("laptop"))
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
            XCTAssertEqual(result.metrics.fastStage("convert")?.summary?.count, UInt64(frames.count))
            XCTAssertEqual(result.metrics.captureToHUD.summary?.count, UInt64(frames.count))
        }
    }

    func testLightLevelFollowsTheScene() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        func meanLight(_ fixture: String) throws -> Double {
            var options = ReplayOptions(profile: try DeviceProfiles.load("laptop"))
            options.transcriptPath = dir.appendingPathComponent("\(fixture).jsonl").path
            _ = try ReplayRunner(source: SessionSource(path: TestSupport.fixture(fixture)), options: options).run()
            let lights = try TestSupport.transcriptEvents(options.transcriptPath!).compactMap { ($0["light"] as? NSNumber)?.doubleValue }
            return lights.reduce(0, +) / Double(lights.count)
        }
        // A white page under a lamp is brighter than a street of trees and cars.
        XCTAssertGreaterThan(try meanLight("page.mcap"), try meanLight("sign.mcap") + 0.08)
    }

    func testReportHasTheDocumentedShape() throws {
        var options = ReplayOptions(profile: try DeviceProfiles.load("laptop"))
        options.slowStages = [try CodesStage()]
        options.deterministic = true
        WorkerThread.restoreDefaultSlice()
        let defaultSlice = WorkerThread.sliceNanoseconds
        let result = try ReplayRunner(source: SessionSource(path: TestSupport.fixture("codes.mcap")), options: options).run()
        // The short slice the run takes for the frame path ends with it: threads its caller
        // starts later would inherit it.
        XCTAssertEqual(WorkerThread.sliceNanoseconds, defaultSlice)
        let json = try JSONSerialization.jsonObject(with: result.reportJSON()) as? [String: Any] ?? [:]
        XCTAssertEqual(json["frames"] as? Int, 70)
        XCTAssertEqual(json["profile"] as? String, "laptop")
        XCTAssertEqual(json["scheduling"] as? String, "deterministic")
        XCTAssertEqual(json["frame_budget_ns"] as? Int, 33_300_000)
        let stages = json["stages"] as? [String: [String: Any]] ?? [:]
        // The verdict follows from the figures (which a sanitizer build slows down).
        let codesP50 = stages["codes"]?["p50_ns"] as? Int ?? .max
        let hudP99 = ((json["end_to_end"] as? [String: Any])?["capture_to_hud"] as? [String: Any])?["p99_ns"] as? Int ?? .max
        XCTAssertEqual(json["fits"] as? Bool, codesP50 <= 25_000_000 && hudP99 <= 33_300_000)
        XCTAssertEqual((json["verdict"] as? String)?.hasPrefix("fits laptop"), json["fits"] as? Bool)
        XCTAssertEqual(Set(stages.keys), ["convert", "light", "motion", "hud", "display", "codes"], "headless runs draw nothing")
        for (name, stage) in stages {
            XCTAssertEqual(stage["count"] as? Int, 70, name)
            let p50 = stage["p50_ns"] as? Int ?? -1, p90 = stage["p90_ns"] as? Int ?? -1
            let p99 = stage["p99_ns"] as? Int ?? -1, p999 = stage["p999_ns"] as? Int ?? -1, max = stage["max_ns"] as? Int ?? -1
            XCTAssertTrue(0 < p50 && p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= max, "\(name): \(p50) \(p90) \(p99) \(p999) \(max)")
            XCTAssertNotNil(stage["budget_misses"] as? Int, name)
        }
        XCTAssertEqual(stages["codes"]?["kind"] as? String, "slow")
        XCTAssertEqual(stages["codes"]?["drops"] as? Int, 0, "a 25 ms model on 100 ms frames never drops")
        XCTAssertEqual(stages["codes"]?["budget_ns"] as? Int, 25_000_000)
        XCTAssertNotNil(stages["codes"]?["queue_wait"] as? [String: Any])
        let endToEnd = json["end_to_end"] as? [String: Any] ?? [:]
        XCTAssertEqual((endToEnd["capture_to_hud"] as? [String: Any])?["count"] as? Int, 70)
        for reserved in ["capture_to_terminal", "wake_to_overlay", "command_to_overlay", "command_to_speech"] {
            XCTAssertTrue(endToEnd.keys.contains(reserved), "\(reserved) has its place, null until measured")
        }
    }
}
