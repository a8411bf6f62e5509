import Foundation
import VisorCore
import VisorSession
import VisorTestSupport
import XCTest
@testable import VisorRuntime

/// Light, motion and scene changes on the real fixtures, through a deterministic replay.
final class ImageStatisticsTests: XCTestCase {
    private func events(_ fixture: String) throws -> [[String: Any]] {
        try replayEvents(fixture, kinds: ["light", "motion", "scene_change"])
    }

    func testAFixedCameraIsStillAndNeverChangesScene() throws {
        let street = try events("street.mcap")
        let motions = street.filter { $0["kind"] as? String == "motion" }.compactMap { $0["state"] as? String }
        XCTAssertEqual(motions, ["still"], "vtest.avi is filmed from a fixed camera")
        XCTAssertFalse(street.contains { $0["kind"] as? String == "scene_change" })
        let light = try XCTUnwrap(street.first { $0["kind"] as? String == "light" })
        XCTAssertEqual(light["low_light"] as? Bool, false)
        XCTAssertEqual(light["glare"] as? Bool, false)
    }

    func testTheSceneChangesWhenOneCodeGivesWayToTheNext() throws {
        let changes = try events("codes.mcap").filter { $0["kind"] as? String == "scene_change" }
        XCTAssertEqual(changes.compactMap { $0["time_ns"] as? Int }, [3_000_000_000, 5_000_000_000], "exactly at the cuts, 3 s and 5 s in")
    }

    func testAPannedViewTurns() throws {
        let motions = try events("sign.mcap").filter { $0["kind"] as? String == "motion" }.compactMap { $0["state"] as? String }
        XCTAssertTrue(motions.contains("turning"), "the import pans across the sign: \(motions)")
        XCTAssertFalse(motions.contains("walking"))
    }

    func testDarkFramesAreLowLight() throws {
        let stage = LightStage()
        var state = FrameState()
        state.frame = Frame(widthPixels: 64, heightPixels: 48, pixels: [UInt8](repeating: 12, count: 64 * 48 * 3), captureTimeNanoseconds: 0)
        stage.process(&state)
        XCTAssertTrue(state.scene.lowLight)
        XCTAssertEqual(state.events.first?.kind, .light)
        state.events.removeAll()
        stage.process(&state)
        XCTAssertTrue(state.events.isEmpty, "reported once, until it changes")
    }
}

/// ZBar on the real codes fixture, through the runtime.
final class CodeReadingTests: XCTestCase {
    func testReadsTheQRCodeAndBothCode128PayloadsOnceEach() throws {
        let codes = try replayEvents("codes.mcap", kinds: ["code"]) { $0.slowStages = [try CodesStage()] }
        let read = codes.map { "\($0["symbology"] as? String ?? "?"):\($0["payload"] as? String ?? "?")" }
        XCTAssertEqual(read, ["QR-Code:Thalassiodracon", "CODE-128:Rana temporaria", "CODE-128:Foramenifera"])
        let times = codes.compactMap { $0["source_time_ns"] as? Int }
        XCTAssertEqual(times.map { $0 / 1_000_000_000 }, [0, 3, 5], "each read on the first frames it is in view")
    }
}
