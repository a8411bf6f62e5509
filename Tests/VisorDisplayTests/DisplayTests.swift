import Foundation
import VisorCore
import VisorDisplay
import VisorMedia
import VisorTestSupport
import XCTest

/// The shipped device profiles, read from their files as data (the runtime loads the same files).
enum ShippedProfiles {
    static func all() throws -> [DeviceProfile] {
        let folder = TestSupport.packageRoot.appendingPathComponent("Sources/VisorRuntime/Profiles")
        return try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" }
            .map { try DeviceProfile.load(from: Data(contentsOf: $0), source: $0.lastPathComponent) }
            .sorted { $0.name < $1.name }
    }

    static func named(_ name: String) throws -> DeviceProfile {
        try XCTUnwrap(try all().first { $0.name == name }, "no shipped profile \(name)")
    }
}

/// The simulated display: the HUD in device pixels from a real bitmap font, where it sits in the
/// view, and the checks that it can be read. Snapshots are compared pixel for pixel with the PNGs
/// in Tests/Snapshots (`VISOR_UPDATE_SNAPSHOTS=1` rewrites them after a deliberate change).
final class DisplayTests: XCTestCase {
    static let lines = ["0:02  light 38% good", "code Thalassiodracon", "> what_time_is_it: what time is it"]

    private func compare(_ pixels: [UInt8], width: Int, height: Int, snapshot name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = TestSupport.packageRoot.appendingPathComponent("Tests/Snapshots/\(name).png").path
        if ProcessInfo.processInfo.environment["VISOR_UPDATE_SNAPSHOTS"] == "1" {
            try PNGCodec.write(pixels, width: width, height: height, to: path)
            chmod(path, 0o644)
            return
        }
        let data = try XCTUnwrap(FileManager.default.contents(atPath: path), "missing snapshot \(name).png", file: file, line: line)
        var expected: [UInt8] = []
        let size = try data.withUnsafeBytes { try PNGCodec.decode($0, into: &expected) }
        XCTAssertEqual(size.width, width, name, file: file, line: line)
        XCTAssertEqual(size.height, height, name, file: file, line: line)
        let differing = zip(pixels, expected).filter { $0 != $1 }.count
        XCTAssertEqual(differing, 0, "\(name): \(differing) bytes differ from the committed snapshot", file: file, line: line)
    }

    func testEveryProfilesHUDMatchesItsSnapshot() throws {
        for profile in try ShippedProfiles.all() {
            let renderer = try HUDRenderer(display: profile.display)
            renderer.render(Self.lines)
            XCTAssertFalse(renderer.laidOut.isEmpty, profile.name)
            XCTAssertTrue(renderer.pixels.contains { $0 != 0 }, "\(profile.name): text was drawn")
            try compare(renderer.pixels, width: profile.display.widthPixels, height: profile.display.heightPixels, snapshot: "hud-\(profile.name)")
        }
    }

    func testEveryProfilesComposedViewMatchesItsSnapshot() throws {
        let jpeg = try XCTUnwrap(FileManager.default.contents(atPath: TestSupport.fixture("scene-320.jpg")))
        var world: [UInt8] = []
        let size = try jpeg.withUnsafeBytes { try JPEGCodec().decode($0, into: &world) }
        for profile in try ShippedProfiles.all() {
            let renderer = try HUDRenderer(display: profile.display)
            renderer.render(Self.lines)
            var view = world
            ViewCompositor.blend(hud: renderer.pixels, display: profile.display, into: &view, viewWidth: size.width, viewHeight: size.height)
            // Additive: the world is never darkened, and brightened only inside the display.
            let rect = ViewCompositor.displayRect(profile.display, viewWidth: size.width, viewHeight: size.height)
            for y in 0..<size.height where y % 7 == 0 {
                for x in 0..<size.width where x % 7 == 0 {
                    let i = (y * size.width + x) * 3
                    XCTAssertGreaterThanOrEqual(view[i + 1], world[i + 1])
                    if x < rect.x || y < rect.y || x >= rect.x + rect.width || y >= rect.y + rect.height {
                        XCTAssertEqual(view[i + 1], world[i + 1], "\(profile.name): outside the display at \(x),\(y)")
                    }
                }
            }
            try compare(view, width: size.width, height: size.height, snapshot: "view-\(profile.name)")
        }
    }

    func testWrapsByGlyphWidthsIntoTheTextArea() throws {
        var display = try ShippedProfiles.named("laptop").display
        display.textArea = DeviceProfile.Rect(x: 0, y: 0, width: 80, height: 32)
        display.textLines = 2
        let renderer = try HUDRenderer(display: display)
        XCTAssertEqual(renderer.font.name, "spleen-8x16.pcf.gz", "16-pixel lines fit 32 pixels for 2 lines")
        XCTAssertEqual(renderer.wrap("read this sign aloud", width: 80), ["read this", "sign aloud"])
        XCTAssertEqual(renderer.wrap("Thalassiodracon", width: 80), ["Thalassiod", "racon"], "a word wider than the line is broken")
        renderer.render(["what am i looking at now"])
        XCTAssertEqual(renderer.laidOut, ["what am i", "looking at"])
        XCTAssertTrue(renderer.overflowed)
    }

    func testInkFollowsTheColourDepth() throws {
        let ink = try Dictionary(uniqueKeysWithValues: ShippedProfiles.all().map { ($0.name, HUDRenderer.inkColour($0.display)) })
        XCTAssertTrue(ink["even-g1"]! == (0x3C, 0xFF, 0x6E), "1-bit: the display's tint")
        XCTAssertTrue(ink["brilliant-frame"]! == (85, 255, 85), "16 colours: bright green of the palette")
        // Other colours (a code in amber) as each depth shows them.
        let amber: (UInt8, UInt8, UInt8) = (255, 190, 0)
        let displays = try Dictionary(uniqueKeysWithValues: ShippedProfiles.all().map { ($0.name, $0.display) })
        XCTAssertTrue(HUDRenderer.quantise(amber, for: displays["laptop"]!) == amber)
        XCTAssertTrue(HUDRenderer.quantise(amber, for: displays["brilliant-frame"]!) == (255, 255, 85), "nearest of the 16")
        var green = displays["laptop"]!
        green.colour = .green4bit
        XCTAssertTrue(HUDRenderer.quantise(amber, for: green) == (0, 187, 0), "brightness in 16 green levels")
        XCTAssertTrue(HUDRenderer.quantise(amber, for: displays["even-g1"]!) == (0x3C, 0xFF, 0x6E))
        XCTAssertTrue(HUDRenderer.quantise((30, 30, 30), for: displays["even-g1"]!) == (0, 0, 0), "dark is unlit")
        let renderer = try HUDRenderer(display: try ShippedProfiles.named("even-g1").display)
        renderer.render(["hello"])
        let colours = Set(stride(from: 0, to: renderer.pixels.count, by: 3).map { renderer.pixels[$0] << 0 | 0 }.map { Int($0) })
        XCTAssertEqual(colours, [0, 0x3C], "a 1-bit display has two levels")
    }
}

/// The terminal renderer's output in each mode.
final class TerminalRendererTests: XCTestCase {
    private func frame(_ shade: UInt8 = 0) -> Frame {
        var pixels = [UInt8](repeating: 0, count: 64 * 48 * 3)
        for y in 0..<48 { for x in 0..<64 { let i = (y * 64 + x) * 3; pixels[i] = UInt8(x * 4); pixels[i + 1] = UInt8(y * 5); pixels[i + 2] = shade } }
        return Frame(widthPixels: 64, heightPixels: 48, pixels: pixels, captureTimeNanoseconds: 0)
    }

    func testModesAndColourDepths() {
        let view = TerminalSize(columns: 32, rows: 12)
        let half = TerminalFrameEncoder()
        half.encode(frame(), view: view)
        var text = String(decoding: half.output, as: UTF8.self)
        XCTAssertTrue(text.contains("▀") && text.contains("\u{1B}[38;2;") && text.contains("\u{1B}[48;2;"))

        let sextants = TerminalFrameEncoder()
        sextants.mode = .sextants
        sextants.encode(frame(), view: view)
        text = String(decoding: sextants.output, as: UTF8.self)
        XCTAssertTrue(text.unicodeScalars.contains { (0x1FB00...0x1FB3B).contains($0.value) }, "block sextants")
        XCTAssertFalse(text.contains("▀"))

        let palette = TerminalFrameEncoder()
        palette.colours = .palette256
        palette.encode(frame(), view: view)
        text = String(decoding: palette.output, as: UTF8.self)
        XCTAssertTrue(text.contains("\u{1B}[38;5;") && !text.contains("\u{1B}[38;2;"))
        XCTAssertEqual(TerminalFrameEncoder.xterm256(255, 0, 0), 196)
        XCTAssertEqual(TerminalFrameEncoder.xterm256(128, 128, 128), 244)

        let kitty = TerminalFrameEncoder()
        kitty.mode = .kitty
        kitty.encode(frame(), view: view)
        text = String(decoding: kitty.output, as: UTF8.self)
        XCTAssertTrue(text.contains("\u{1B}_Ga=T,f=24,o=z"), "a kitty graphics command")
        XCTAssertTrue(text.contains("s=64,v=48,c=32,r=12"))
    }

    func testOnlyChangedCellsAreRewritten() {
        let encoder = TerminalFrameEncoder()
        let view = TerminalSize(columns: 32, rows: 12)
        encoder.encode(frame(), view: view)
        let full = encoder.output.count
        encoder.encode(frame(), view: view)
        XCTAssertLessThan(encoder.output.count, 32, "an unchanged frame rewrites nothing")
        var changed = frame()
        for i in 0..<(64 * 4 * 3) { changed.pixels[i] = 255 }  // the top 4 pixel rows: the top cell row
        encoder.encode(changed, view: view)
        XCTAssertLessThan(encoder.output.count, full / 3)
        XCTAssertGreaterThan(encoder.output.count, 32 * 3, "the top cell row, 32 three-byte glyphs")
        encoder.diffing = false
        encoder.encode(changed, view: view)
        XCTAssertGreaterThan(encoder.output.count, full * 9 / 10, "without diffing every cell is written")
    }

    func testTerminalDetection() {
        XCTAssertTrue(detectTerminal(["COLORTERM": "truecolor", "TERM": "xterm-256color"]) == (.halfBlocks, .truecolour))
        XCTAssertTrue(detectTerminal(["TERM": "xterm-256color"]) == (.halfBlocks, .palette256))
        XCTAssertTrue(detectTerminal(["TERM": "xterm-kitty"]) == (.kitty, .truecolour))
    }
}

final class HUDOverlayTests: XCTestCase {
    func testOverlaysTakeTheHUDByPriorityAndGoWhenTheyExpire() throws {
        var scene = SceneContext()
        scene.heard = [HeardSpeech(kind: .wake, label: "hey glasses", words: "hey glasses", startNanoseconds: 0, endNanoseconds: 1_000_000_000)]
        scene.overlays = [
            OverlayItem(id: 1, text: "COFFEE SHOP (coffee)", priority: .normal, shownAtNanoseconds: 0, expiresAtNanoseconds: 4_000_000_000),
            OverlayItem(id: 2, text: "It says: NOTICE", priority: .high, shownAtNanoseconds: 1_000_000_000, expiresAtNanoseconds: 9_000_000_000),
            OverlayItem(id: 3, text: "later", priority: .urgent, shownAtNanoseconds: 20_000_000_000, expiresAtNanoseconds: 30_000_000_000),
        ]
        var hud = HUDState()
        HUDComposer.compose(into: &hud, sessionTimeNanoseconds: 2_000_000_000, wallClockNanoseconds: nil, scene: scene)
        XCTAssertEqual(Array(hud.text.dropFirst()), ["It says: NOTICE", "COFFEE SHOP (coffee)"], "highest priority first; what was heard gives way")
        HUDComposer.compose(into: &hud, sessionTimeNanoseconds: 5_000_000_000, wallClockNanoseconds: nil, scene: scene)
        XCTAssertEqual(Array(hud.text.dropFirst()), ["It says: NOTICE"], "the cue expired")
        HUDComposer.compose(into: &hud, sessionTimeNanoseconds: 10_000_000_000, wallClockNanoseconds: nil, scene: scene)
        XCTAssertEqual(hud.lineCount, 1, "nothing up, nothing heard lately")
        // The device lays the overlay out in its text area, wrapped by glyph widths.
        let g1 = try ShippedProfiles.named("even-g1")
        let renderer = try HUDRenderer(display: g1.display)
        HUDComposer.compose(into: &hud, sessionTimeNanoseconds: 2_000_000_000, wallClockNanoseconds: nil, scene: scene)
        renderer.render(hud.text)
        XCTAssertTrue(renderer.laidOut.joined(separator: " ").contains("It says: NOTICE"), "\(renderer.laidOut)")
    }
}
