import Foundation
import VisorCore
import VisorDisplay
import VisorSession
import VisorTestSupport
import XCTest
@testable import VisorRuntime

/// The terminal view boxes and labels what the slow stages found.
final class TerminalAnnotationTests: XCTestCase {
    func testCodesAndTextAreBoxedAndLabelledInTheView() throws {
        final class Screen: @unchecked Sendable { var bytes: [UInt8] = [] }
        for (fixture, stage, label, colour) in [
            ("codes.mcap", try CodesStage() as SlowStage, "QR-Code Thalassiodracon", "255;190;0"),
            ("sign.mcap", try TextStage() as SlowStage, "NOTICE DOUBLE PARKING", "0;210;255"),
        ] {
            let screen = Screen()
            var options = ReplayOptions(profile: try DeviceProfiles.load("laptop"))
            options.deterministic = true
            options.slowStages = [stage]
            options.terminal = ReplayTerminal(size: { TerminalSize(columns: 120, rows: 40) }, write: { screen.bytes.append(contentsOf: $0) }, showsStatus: false)
            _ = try ReplayRunner(source: SessionSource(path: TestSupport.fixture(fixture)), options: options).run()
            let text = String(decoding: screen.bytes, as: UTF8.self)
            XCTAssertTrue(text.contains(label), "\(fixture): label \(label) not drawn")
            XCTAssertTrue(text.contains("\u{1B}[48;2;\(colour)m"), "\(fixture): no label background in the detection's colour")
            XCTAssertTrue(text.contains("\u{1B}[38;2;\(colour)m"), "\(fixture): no box outline in the detection's colour")
        }
    }

    func testLabelsAreSanitisedAndBoxesClipped() {
        let encoder = TerminalFrameEncoder()
        let frame = Frame(widthPixels: 64, heightPixels: 48, pixels: [UInt8](repeating: 40, count: 64 * 48 * 3), captureTimeNanoseconds: 0)
        let hostile = Annotation(box: [-20, 30, 500, 500], label: "pay\u{1B}[2Jload", red: 1, green: 2, blue: 3)
        encoder.encode(frame, view: TerminalSize(columns: 32, rows: 12), annotations: [hostile])
        let text = String(decoding: encoder.output, as: UTF8.self)
        XCTAssertTrue(text.contains("pay?[2Jload"), "the escape byte is replaced")
        XCTAssertEqual(text.components(separatedBy: "\u{1B}[2J").count, 2, "only the encoder's own clear-screen")
    }
}
