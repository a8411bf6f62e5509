import Foundation
import VisorCore
import VisorDisplay
import XCTest
@testable import VisorRuntime

/// The display and terminal stages: legibility warnings, the side panel.
final class DisplayStageTests: XCTestCase {
    func testLegibilityWarnings() throws {
        var profile = try DeviceProfiles.load("laptop")
        profile.display.textArea = DeviceProfile.Rect(x: 0, y: 0, width: 200, height: 32)
        profile.display.textLines = 2
        let stage = try DisplayStage(profile: profile)
        var state = FrameState()
        state.frame = Frame(widthPixels: 64, heightPixels: 48, pixels: [UInt8](repeating: 250, count: 64 * 48 * 3), captureTimeNanoseconds: 0)
        func show(_ lines: [String], at seconds: Double) -> [String] {
            state.events.removeAll()
            state.sessionTimeNanoseconds = UInt64(seconds * 1e9)
            state.hud.lineCount = lines.count
            for (i, line) in lines.enumerated() { state.hud.lines[i] = Array(line.utf8) }
            stage.process(&state)
            return state.events.compactMap { event in event.fields.first { $0.0 == "reason" }.flatMap { if case .string(let s) = $0.1 { return s } else { return nil } } }
        }
        let first = show(["the car is on level three of the blue garage near the exit"], at: 0)
        XCTAssertTrue(first.contains("text_does_not_fit"), "\(first)")
        XCTAssertTrue(first.contains("low_contrast"), "a white scene behind an additive display: \(first)")
        XCTAssertTrue(show(["ok"], at: 0.5).contains("shown_too_briefly"), "twelve words need 3.6 s at 200 words a minute")
        XCTAssertEqual(show(["ok"], at: 0.6), [], "each warning once, until it changes")
    }
}

/// The side panel's lines: figures apart from their names, and a cut line that says so.
final class PanelTests: XCTestCase {
    func testStageNamesStayApartFromTheirFiguresAndCutLinesEndInAnEllipsis() {
        var state = FrameState()
        state.stats.stageNames = ["text", "assistant"]
        state.stats.latestNanoseconds = [181_930_000, 2_000_000]
        state.stats.drops = [0, 0]
        state.scene.texts = [TextSighting(text: "A VERY LONG SIGN THAT CANNOT FIT IN THE PANEL AT ALL", box: [0, 0, 10, 10], confidence: 0.9, captureTimeNanoseconds: 0)]
        let history: [[UInt64]] = [[1, 2, 3], [1, 2, 3]]
        let lines = TerminalStage.panel(state, history: history, profile: "laptop", width: 40).map(\.text)
        XCTAssertTrue(lines.contains { $0.hasPrefix("text     181.93 ") }, "\(lines)")
        XCTAssertTrue(lines.contains { $0.hasPrefix("assistan   2.00 ") }, "a long name is cut, not run into its figure: \(lines)")
        let sign = try? XCTUnwrap(lines.first { $0.hasPrefix(" text A VERY") })
        XCTAssertEqual(sign?.count, 40)
        XCTAssertEqual(sign?.last, "…")
        XCTAssertTrue(lines.allSatisfy { $0.count <= 40 }, "\(lines)")
    }
}
