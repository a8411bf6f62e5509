import CZlib
import Foundation
import VisorCore
import VisorMedia

/// The size of a terminal in character cells.
public struct TerminalSize: Equatable, Sendable {
    public var columns: Int
    public var rows: Int
    public init(columns: Int, rows: Int) { self.columns = columns; self.rows = rows }
}

/// A detection drawn over the view: a box outline in frame pixels and a label above it.
public struct Annotation: Equatable, Sendable {
    /// x, y, width, height in frame pixels.
    public var box: PixelRect
    /// Printable ASCII.
    public var label: [UInt8]
    public var red: UInt8, green: UInt8, blue: UInt8

    public init(box: PixelRect, label: String, red: UInt8, green: UInt8, blue: UInt8) {
        self.box = box
        // Labels carry what a sign or a code said: only printable ASCII reaches the terminal.
        self.label = label.utf8.prefix(48).map { $0 >= 0x20 && $0 < 0x7F ? $0 : UInt8(ascii: "?") }
        self.red = red; self.green = green; self.blue = blue
    }
}

/// A line of the side panel: printable text (sparklines included) in a colour.
public struct PanelLine: Equatable, Sendable {
    public var text: String
    public var colour: UInt32
    public init(_ text: String, colour: UInt32 = 0xC8C8C8) { self.text = text; self.colour = colour }
}

/// How the view is drawn.
public enum TerminalMode: String, CaseIterable, Sendable {
    /// `▀` with a foreground and a background colour: two pixels a cell.
    case halfBlocks = "half"
    /// Unicode 13 block sextants: six pixels a cell, in two colours.
    case sextants
    /// The kitty graphics protocol: the view as an image, the panel as text.
    case kitty
}

/// Colours a terminal takes.
public enum TerminalColours: String, Sendable {
    case truecolour = "24bit"
    /// xterm's 256-colour palette (the 6x6x6 cube and the grey ramp).
    case palette256 = "256"
    /// No colour at all (`NO_COLOR`): the view as characters of increasing ink by brightness,
    /// text as plain text.
    case none
}

/// What the terminal can do, from its environment: 24-bit colour when `COLORTERM` says
/// `truecolor` or `24bit`, else the 256-colour palette; the kitty protocol under kitty.
public func detectTerminal(_ environment: [String: String]) -> (mode: TerminalMode, colours: TerminalColours) {
    let colourTerm = (environment["COLORTERM"] ?? "").lowercased()
    let term = (environment["TERM"] ?? "").lowercased()
    // no-color.org: a NO_COLOR that is set and not empty turns colour off, whatever else is set.
    if let noColour = environment["NO_COLOR"], !noColour.isEmpty { return (.halfBlocks, .none) }
    let truecolour = colourTerm == "truecolor" || colourTerm == "24bit" || term.contains("direct") || term == "xterm-kitty"
    let kitty = term == "xterm-kitty" || environment["KITTY_WINDOW_ID"] != nil
    return (kitty ? .kitty : .halfBlocks, truecolour ? .truecolour : .palette256)
}

/// Whether the terminal can draw the view at all: `TERM=dumb` (Emacs' shell, some CI logs) has no
/// cursor movement and no colour.
public func terminalCanDraw(_ environment: [String: String]) -> Bool {
    (environment["TERM"] ?? "").lowercased() != "dumb"
}

/// Encodes the wearer's view as terminal output: the world with the HUD's light added where the
/// display sits, detections boxed and labelled, and a side panel of text. The screen is kept as
/// a grid of cells; only cells that changed since the last frame are rewritten (unless `diffing`
/// is off; a change of 4 levels or less a channel is not a change), and a change of size clears
/// and redraws. Buffers are reused frame to frame.
public final class TerminalFrameEncoder {
    public var mode: TerminalMode = .halfBlocks
    public var colours: TerminalColours = .truecolour
    public var diffing = true
    /// Show the HUD (the `h` key) and the detections (the `d` key).
    public var showsHUD = true
    public var showsDetections = true
    public private(set) var output: [UInt8] = []

    struct Cell: Equatable {
        var glyph: UInt32
        var foreground: UInt32
        var background: UInt32
    }

    private var cellPixels: [UInt8] = []
    private var cells: [Cell] = []
    private var previous: [Cell] = []
    private var screen = TerminalSize(columns: 0, rows: 0)
    private var kittyPixels: [UInt8] = []
    private var kittyCompressed: [UInt8] = []
    private static let decimal: [[UInt8]] = (0...255).map { Array(String($0).utf8) }
    private static let empty = Cell(glyph: 0x20, foreground: 0, background: 0)
    /// Sextant glyphs by pattern (bit 0 top left, 1 top right, 2 middle left, ... 5 bottom right).
    static let sextantGlyphs: [UInt32] = (0..<64).map { p in
        switch p {
        case 0: return 0x20
        case 63: return 0x2588
        case 21: return 0x258C
        case 42: return 0x2590
        default: return 0x1FB00 + UInt32(p - 1 - (p > 21 ? 1 : 0) - (p > 42 ? 1 : 0))
        }
    }

    public init() {}

    /// The pattern of a sextant glyph (or of space, the full block and the left and right halves).
    public static func sextantPattern(_ glyph: UInt32) -> Int? { sextantGlyphs.firstIndex(of: glyph) }

    /// The cell grid a `width` x `height` frame takes at most `maxColumns` x `maxRows` cells,
    /// keeping its shape (a cell is half as wide as it is high).
    public static func viewSize(frameWidth: Int, frameHeight: Int, maxColumns: Int, maxRows: Int) -> TerminalSize {
        guard frameWidth > 0, frameHeight > 0, maxColumns > 0, maxRows > 0 else { return TerminalSize(columns: 0, rows: 0) }
        let scale = min(Double(maxColumns) / Double(frameWidth), Double(maxRows * 2) / Double(frameHeight))
        return TerminalSize(columns: max(1, Int(Double(frameWidth) * scale)), rows: max(1, Int(Double(frameHeight) * scale / 2)))
    }

    /// Encodes one frame into `output`.
    /// - Parameters:
    ///   - view: the cells the world view takes, from the top-left corner.
    ///   - screen: the whole grid drawn (view plus panel); the view's size when nil.
    ///   - hud: HUD lines drawn as text over the view's top rows, when there is no `display`.
    ///   - display: the HUD in device pixels, added to the view where the display sits.
    ///   - panel: lines drawn to the right of the view.
    public func encode(_ frame: Frame, view: TerminalSize, screen requested: TerminalSize? = nil, hud: HUDState? = nil,
                       display: HUDRenderer? = nil, annotations: [Annotation] = [], panel: [PanelLine] = []) {
        output.removeAll(keepingCapacity: true)
        guard view.columns > 0, view.rows > 0 else { return }
        let screen = requested.map { TerminalSize(columns: max($0.columns, view.columns), rows: max($0.rows, view.rows)) } ?? view
        let resized = screen != self.screen
        if resized {
            self.screen = screen
            cells = [Cell](repeating: Self.empty, count: screen.columns * screen.rows)
            previous = cells
            ByteText.append("\u{1B}[0m\u{1B}[2J", to: &output)
        } else {
            for i in cells.indices { cells[i] = Self.empty }
        }
        let shown = showsDetections ? annotations : []
        let mode = colours == .none ? TerminalMode.halfBlocks : self.mode
        let pixelsPerCell = mode == .sextants ? (2, 3) : (1, 2)
        let pw = view.columns * pixelsPerCell.0, ph = view.rows * pixelsPerCell.1
        if mode != .kitty {
            Resampler.areaAverage(frame, width: pw, height: ph, into: &cellPixels)
            if showsHUD, let display {
                ViewCompositor.blend(hud: display.pixels, display: display.display, into: &cellPixels, viewWidth: pw, viewHeight: ph)
            }
            drawBoxes(shown, width: pw, height: ph, frameWidth: frame.widthPixels, frameHeight: frame.heightPixels, into: &cellPixels)
            if colours == .none { fillInk(view) } else if mode == .sextants { fillSextants(view) } else { fillHalfBlocks(view) }
        }
        placeLabels(shown, view: view, frameWidth: frame.widthPixels, frameHeight: frame.heightPixels)
        if display == nil, showsHUD, let hud { placeHUDText(hud, view: view) }
        placePanel(panel, column: view.columns + 1)
        if mode == .kitty { kittyImage(frame, view: view, display: showsHUD ? display : nil, annotations: shown) }
        emit(full: resized || !diffing)
    }

    /// The glyph and colours of a cell of the last frame encoded (for measuring colour error).
    public func cell(column: Int, row: Int) -> (glyph: UInt32, foreground: UInt32, background: UInt32) {
        let c = previous[row * screen.columns + column]
        return (c.glyph, c.foreground, c.background)
    }

    // MARK: Cells

    /// Characters from blank to full ink by the brightness of the cell's two pixels.
    static let inkRamp: [UInt32] = Array(" .:-=+*#%@".unicodeScalars.map(\.value))

    private func fillInk(_ view: TerminalSize) {
        for row in 0..<view.rows {
            for column in 0..<view.columns {
                var sum = 0
                for half in 0..<2 {
                    let p = ((row * 2 + half) * view.columns + column) * 3
                    sum += Int(cellPixels[p]) * 299 + Int(cellPixels[p + 1]) * 587 + Int(cellPixels[p + 2]) * 114
                }
                let level = min(Self.inkRamp.count - 1, sum * Self.inkRamp.count / (2 * 255 * 1000 + 1))
                cells[row * screen.columns + column] = Cell(glyph: Self.inkRamp[level], foreground: 0, background: 0)
            }
        }
    }

    private func fillHalfBlocks(_ view: TerminalSize) {
        cellPixels.withUnsafeBufferPointer { px in
            for row in 0..<view.rows {
                for column in 0..<view.columns {
                    let top = (2 * row * view.columns + column) * 3, bottom = ((2 * row + 1) * view.columns + column) * 3
                    cells[row * screen.columns + column] = Cell(
                        glyph: 0x2580,
                        foreground: UInt32(px[top]) << 16 | UInt32(px[top + 1]) << 8 | UInt32(px[top + 2]),
                        background: UInt32(px[bottom]) << 16 | UInt32(px[bottom + 1]) << 8 | UInt32(px[bottom + 2]))
                }
            }
        }
    }

    /// Each cell's six pixels split in two by brightness around their mean; each side takes its
    /// mean colour, and the pattern picks the sextant.
    private func fillSextants(_ view: TerminalSize) {
        let pw = view.columns * 2
        cellPixels.withUnsafeBufferPointer { px in
            for row in 0..<view.rows {
                for column in 0..<view.columns {
                    var luma = (0, 0, 0, 0, 0, 0), offsets = (0, 0, 0, 0, 0, 0)
                    var total = 0
                    withUnsafeMutableBytes(of: &luma) { l in
                        withUnsafeMutableBytes(of: &offsets) { o in
                            let lp = l.bindMemory(to: Int.self), op = o.bindMemory(to: Int.self)
                            for k in 0..<6 {
                                let i = ((row * 3 + k / 2) * pw + column * 2 + k % 2) * 3
                                op[k] = i
                                lp[k] = 77 * Int(px[i]) + 150 * Int(px[i + 1]) + 29 * Int(px[i + 2])
                                total += lp[k]
                            }
                        }
                    }
                    var pattern = 0
                    var fg = (0, 0, 0, 0), bg = (0, 0, 0, 0)
                    withUnsafeBytes(of: &luma) { l in
                        withUnsafeBytes(of: &offsets) { o in
                            let lp = l.bindMemory(to: Int.self), op = o.bindMemory(to: Int.self)
                            for k in 0..<6 {
                                let i = op[k]
                                if lp[k] * 6 > total {
                                    pattern |= 1 << k
                                    fg.0 += Int(px[i]); fg.1 += Int(px[i + 1]); fg.2 += Int(px[i + 2]); fg.3 += 1
                                } else {
                                    bg.0 += Int(px[i]); bg.1 += Int(px[i + 1]); bg.2 += Int(px[i + 2]); bg.3 += 1
                                }
                            }
                        }
                    }
                    func pack(_ c: (Int, Int, Int, Int)) -> UInt32 {
                        c.3 == 0 ? 0 : UInt32(c.0 / c.3) << 16 | UInt32(c.1 / c.3) << 8 | UInt32(c.2 / c.3)
                    }
                    let background = bg.3 == 0 ? pack(fg) : pack(bg)
                    cells[row * screen.columns + column] = Cell(glyph: Self.sextantGlyphs[pattern], foreground: pack(fg), background: background)
                }
            }
        }
    }

    private func drawBoxes(_ annotations: [Annotation], width: Int, height: Int, frameWidth: Int, frameHeight: Int, into pixels: inout [UInt8]) {
        guard !annotations.isEmpty, frameWidth > 0, frameHeight > 0 else { return }
        func px(_ x: Int) -> Int { min(width - 1, max(0, x * width / frameWidth)) }
        func py(_ y: Int) -> Int { min(height - 1, max(0, y * height / frameHeight)) }
        pixels.withUnsafeMutableBufferPointer { p in
            for a in annotations {
                let x0 = px(a.box.x), x1 = max(x0, px(a.box.maxX - 1)), y0 = py(a.box.y), y1 = max(y0, py(a.box.maxY - 1))
                func plot(_ x: Int, _ y: Int) {
                    let i = (y * width + x) * 3
                    p[i] = a.red; p[i + 1] = a.green; p[i + 2] = a.blue
                }
                for x in x0...x1 { plot(x, y0); plot(x, y1) }
                for y in y0...y1 { plot(x0, y); plot(x1, y) }
            }
        }
    }

    /// Labels go in the cells above their box (inside it when the box touches the top).
    private func placeLabels(_ annotations: [Annotation], view: TerminalSize, frameWidth: Int, frameHeight: Int) {
        guard frameWidth > 0, frameHeight > 0 else { return }
        for a in annotations where !a.label.isEmpty {
            let top = min(view.rows - 1, max(0, a.box.y * view.rows / frameHeight))
            let row = top > 0 ? top - 1 : top
            let column = min(view.columns - 1, max(0, a.box.x * view.columns / frameWidth))
            let colour = UInt32(a.red) << 16 | UInt32(a.green) << 8 | UInt32(a.blue)
            for (k, byte) in a.label.prefix(view.columns - column).enumerated() {
                cells[row * screen.columns + column + k] = Cell(glyph: UInt32(byte), foreground: 0, background: colour)
            }
        }
    }

    /// The HUD as text over the view's top rows, green on the dimmed world (no device display).
    private func placeHUDText(_ hud: HUDState, view: TerminalSize) {
        for row in 0..<min(hud.lineCount, view.rows) {
            let line = hud.lines[row]
            for column in 0..<min(view.columns, line.count + 1) {
                let i = row * screen.columns + column
                let c = cells[i]
                let dim = { (v: UInt32) -> UInt32 in ((v >> 16 & 255) * 2 / 5) << 16 | ((v >> 8 & 255) * 2 / 5) << 8 | (v & 255) * 2 / 5 }
                cells[i] = Cell(glyph: column < line.count ? UInt32(line[column]) : 0x20, foreground: 0x78FF8C, background: dim(c.background))
            }
        }
    }

    private func placePanel(_ panel: [PanelLine], column start: Int) {
        guard start < screen.columns else { return }
        for (row, line) in panel.prefix(screen.rows).enumerated() {
            var column = start
            for scalar in line.text.unicodeScalars {
                guard column < screen.columns else { break }
                let v = scalar.value
                cells[row * screen.columns + column] = Cell(glyph: v >= 0x20 && v != 0x7F ? v : 0x3F, foreground: line.colour, background: 0)
                column += 1
            }
        }
    }

    // MARK: Output

    private func emit(full: Bool) {
        var cursor = (-1, -1)
        var foreground: UInt32 = .max, background: UInt32 = .max
        for row in 0..<screen.rows {
            for column in 0..<screen.columns {
                let i = row * screen.columns + column
                let cell = cells[i]
                if !full && Self.looksSame(cell, previous[i]) {
                    // What is on screen stays the reference, so small changes cannot creep.
                    cells[i] = previous[i]
                    continue
                }
                if cursor != (row, column) {
                    output.append(0x1B); output.append(0x5B)
                    ByteText.append(row + 1, to: &output); output.append(0x3B)
                    ByteText.append(column + 1, to: &output); output.append(0x48)
                }
                if cell.foreground != foreground { setColour(background: false, cell.foreground); foreground = cell.foreground }
                if cell.background != background { setColour(background: true, cell.background); background = cell.background }
                appendUTF8(cell.glyph)
                cursor = (row, column + 1)
            }
        }
        if colours != .none { ByteText.append("\u{1B}[0m", to: &output) }
        output.append(0x1B); output.append(0x5B)
        ByteText.append(screen.rows + 1, to: &output)
        ByteText.append(";1H", to: &output)
        swap(&cells, &previous)
    }

    /// The same glyph with colours within 4 levels a channel (the noise of a still camera's
    /// frames, which no one can see) is not rewritten.
    @inline(__always)
    static func looksSame(_ a: Cell, _ b: Cell) -> Bool {
        guard a.glyph == b.glyph else { return false }
        if a.foreground == b.foreground && a.background == b.background { return true }
        @inline(__always) func close(_ x: UInt32, _ y: UInt32) -> Bool {
            abs(Int(x >> 16 & 255) - Int(y >> 16 & 255)) <= 4 && abs(Int(x >> 8 & 255) - Int(y >> 8 & 255)) <= 4 && abs(Int(x & 255) - Int(y & 255)) <= 4
        }
        return close(a.foreground, b.foreground) && close(a.background, b.background)
    }

    @inline(__always)
    private func appendUTF8(_ v: UInt32) {
        switch v {
        case ..<0x80: output.append(UInt8(v))
        case ..<0x800: output.append(UInt8(0xC0 | v >> 6)); output.append(UInt8(0x80 | v & 0x3F))
        case ..<0x10000:
            output.append(UInt8(0xE0 | v >> 12)); output.append(UInt8(0x80 | (v >> 6) & 0x3F)); output.append(UInt8(0x80 | v & 0x3F))
        default:
            output.append(UInt8(0xF0 | v >> 18)); output.append(UInt8(0x80 | (v >> 12) & 0x3F))
            output.append(UInt8(0x80 | (v >> 6) & 0x3F)); output.append(UInt8(0x80 | v & 0x3F))
        }
    }

    @inline(__always)
    private func setColour(background: Bool, _ rgb: UInt32) {
        let r = Int(rgb >> 16 & 255), g = Int(rgb >> 8 & 255), b = Int(rgb & 255)
        switch colours {
        case .none:
            return
        case .truecolour:
            ByteText.append(background ? "\u{1B}[48;2;" : "\u{1B}[38;2;", to: &output)
            output.append(contentsOf: Self.decimal[r]); output.append(0x3B)
            output.append(contentsOf: Self.decimal[g]); output.append(0x3B)
            output.append(contentsOf: Self.decimal[b]); output.append(0x6D)
        case .palette256:
            ByteText.append(background ? "\u{1B}[48;5;" : "\u{1B}[38;5;", to: &output)
            output.append(contentsOf: Self.decimal[Int(Self.xterm256(r, g, b))]); output.append(0x6D)
        }
    }

    /// The nearest colour of xterm's palette: the 6x6x6 cube or the 24-step grey ramp.
    public static func xterm256(_ r: Int, _ g: Int, _ b: Int) -> UInt8 {
        func level(_ v: Int) -> Int { v < 48 ? 0 : v < 115 ? 1 : (v - 35) / 40 }
        let levels = [0, 95, 135, 175, 215, 255]
        let (cr, cg, cb) = (level(r), level(g), level(b))
        let cube = 16 + 36 * cr + 6 * cg + cb
        let cubeError = (levels[cr] - r) * (levels[cr] - r) + (levels[cg] - g) * (levels[cg] - g) + (levels[cb] - b) * (levels[cb] - b)
        let mean = (r + g + b) / 3
        let grey = mean > 238 ? 23 : max(0, (mean - 3) / 10)
        let greyValue = 8 + 10 * grey
        let greyError = (greyValue - r) * (greyValue - r) + (greyValue - g) * (greyValue - g) + (greyValue - b) * (greyValue - b)
        return UInt8(greyError < cubeError ? 232 + grey : cube)
    }

    /// The composed view (world, HUD light, boxes) as one kitty image at up to 8x16 pixels a cell,
    /// zlib-compressed, in base64 chunks of 4096 bytes, placed at the top-left cell.
    private func kittyImage(_ frame: Frame, view: TerminalSize, display: HUDRenderer?, annotations: [Annotation]) {
        let w = min(frame.widthPixels, view.columns * 8), h = min(frame.heightPixels, view.rows * 16)
        guard w > 0, h > 0 else { return }
        Resampler.areaAverage(frame, width: w, height: h, into: &kittyPixels)
        if let display { ViewCompositor.blend(hud: display.pixels, display: display.display, into: &kittyPixels, viewWidth: w, viewHeight: h) }
        drawBoxes(annotations, width: w, height: h, frameWidth: frame.widthPixels, frameHeight: frame.heightPixels, into: &kittyPixels)
        var length = compressBound(uLong(kittyPixels.count))
        if kittyCompressed.count < Int(length) { kittyCompressed = [UInt8](repeating: 0, count: Int(length)) }
        let status = kittyCompressed.withUnsafeMutableBufferPointer { out in
            kittyPixels.withUnsafeBufferPointer { compress2(out.baseAddress, &length, $0.baseAddress, uLong($0.count), 1) }
        }
        guard status == Z_OK else { return }
        let encoded = Data(kittyCompressed[0..<Int(length)]).base64EncodedData()
        ByteText.append("\u{1B}[H", to: &output)
        var offset = 0
        var first = true
        while offset < encoded.count {
            let end = min(encoded.count, offset + 4096)
            output.append(contentsOf: Array("\u{1B}_G".utf8))
            if first {
                output.append(contentsOf: Array("a=T,f=24,o=z,q=2,C=1,i=1,s=\(w),v=\(h),c=\(view.columns),r=\(view.rows),".utf8))
                first = false
            }
            output.append(contentsOf: Array("m=\(end < encoded.count ? 1 : 0);".utf8))
            output.append(contentsOf: encoded[offset..<end])
            output.append(contentsOf: Array("\u{1B}\\".utf8))
            offset = end
        }
    }
}
