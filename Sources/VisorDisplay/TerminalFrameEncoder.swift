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
    public var box: [Int]
    /// Printable ASCII.
    public var label: [UInt8]
    public var red: UInt8, green: UInt8, blue: UInt8

    public init(box: [Int], label: String, red: UInt8, green: UInt8, blue: UInt8) {
        self.box = box
        // Labels carry what a sign or a code said: only printable ASCII reaches the terminal.
        self.label = label.utf8.prefix(48).map { $0 >= 0x20 && $0 < 0x7F ? $0 : UInt8(ascii: "?") }
        self.red = red; self.green = green; self.blue = blue
    }
}

/// Encodes frames as 24-bit colour half-block text: each cell shows two vertically stacked
/// pixels, the upper as the foreground of `▀` and the lower as the background. Colour escapes
/// are only written when a colour changes along a row. The output buffer is reused.
public final class TerminalFrameEncoder {
    public private(set) var output: [UInt8] = []
    private var cellPixels: [UInt8] = []
    private var lastView = TerminalSize(columns: 0, rows: 0)
    /// Per cell: the annotation whose label covers it (index << 8 | character), or -1.
    private var labelCells: [Int32] = []
    private var laidOut: (annotations: [Annotation], view: TerminalSize, frameWidth: Int, frameHeight: Int) = ([], TerminalSize(columns: 0, rows: 0), 0, 0)
    private static let decimal: [[UInt8]] = (0...255).map { Array(String($0).utf8) }
    private static let upperHalfBlock: [UInt8] = Array("▀".utf8)

    public init() {}

    /// The cell grid a `width` x `height` frame takes at most `maxColumns` x `maxRows` cells,
    /// keeping its shape (a half-block cell is as wide as half its height).
    public static func viewSize(frameWidth: Int, frameHeight: Int, maxColumns: Int, maxRows: Int) -> TerminalSize {
        guard frameWidth > 0, frameHeight > 0, maxColumns > 0, maxRows > 0 else { return TerminalSize(columns: 0, rows: 0) }
        let scale = min(Double(maxColumns) / Double(frameWidth), Double(maxRows * 2) / Double(frameHeight))
        return TerminalSize(columns: max(1, Int(Double(frameWidth) * scale)), rows: max(1, Int(Double(frameHeight) * scale / 2)))
    }

    /// Encodes `frame` into `output` at `view` cells, starting at the top-left corner of the
    /// screen, with the HUD's lines drawn over its top rows as the see-through display would show
    /// them (bright green text on the dimmed world). Clears the screen first when the view's size
    /// changed since the last frame.
    ///
    /// Annotations are drawn as one-pixel box outlines in their colour, with their label in the
    /// cells above the box (inside it when the box touches the top).
    public func encode(_ frame: Frame, view: TerminalSize, hud: HUDState? = nil, annotations: [Annotation] = []) {
        output.removeAll(keepingCapacity: true)
        guard view.columns > 0, view.rows > 0 else { return }
        Resampler.areaAverage(frame, width: view.columns, height: view.rows * 2, into: &cellPixels)
        layOut(annotations, view: view, frameWidth: frame.widthPixels, frameHeight: frame.heightPixels)
        if view != lastView { ByteText.append("\u{1B}[2J", to: &output); lastView = view }
        ByteText.append("\u{1B}[H", to: &output)
        let empty: [UInt8] = []
        cellPixels.withUnsafeBufferPointer { px in
            for row in 0..<view.rows {
                var lastForeground = -1, lastBackground = -1, labelRun = -1
                let hudLine = hud.map { row < $0.lineCount ? $0.lines[row] : empty } ?? empty
                let hudCount = hudLine.count
                for column in 0..<view.columns {
                    let top = (2 * row * view.columns + column) * 3
                    let bottom = ((2 * row + 1) * view.columns + column) * 3
                    let label = annotations.isEmpty ? -1 : labelCells[row * view.columns + column]
                    if label >= 0 {
                        let a = annotations[Int(label >> 8)]
                        // Colours once per run of a label's characters, so its text reads as one.
                        if labelRun != Int(label >> 8) {
                            setColor(background: true, Int(a.red), Int(a.green), Int(a.blue))
                            setColor(background: false, 0, 0, 0)
                            labelRun = Int(label >> 8)
                        }
                        lastForeground = -1; lastBackground = -1
                        output.append(a.label[Int(label & 255)])
                        continue
                    }
                    labelRun = -1
                    if hudCount > 0 && column <= hudCount {
                        let r = (Int(px[top]) + Int(px[bottom])) / 5, g = (Int(px[top + 1]) + Int(px[bottom + 1])) / 5
                        let b = (Int(px[top + 2]) + Int(px[bottom + 2])) / 5
                        setColor(background: true, r, g, b)
                        setColor(background: false, 120, 255, 140)
                        lastForeground = -1; lastBackground = -1
                        output.append(column < hudCount ? hudLine[column] : UInt8(ascii: " "))
                        continue
                    }
                    let fg = Int(px[top]) << 16 | Int(px[top + 1]) << 8 | Int(px[top + 2])
                    let bg = Int(px[bottom]) << 16 | Int(px[bottom + 1]) << 8 | Int(px[bottom + 2])
                    if fg != lastForeground { setColor(background: false, fg >> 16, (fg >> 8) & 255, fg & 255); lastForeground = fg }
                    if bg != lastBackground { setColor(background: true, bg >> 16, (bg >> 8) & 255, bg & 255); lastBackground = bg }
                    output.append(contentsOf: Self.upperHalfBlock)
                }
                ByteText.append("\u{1B}[0m\r\n", to: &output)
            }
        }
    }

    /// Draws the annotations' outlines into the cell pixels, and places their labels (again only
    /// when the annotations, the view or the frame size changed).
    private func layOut(_ annotations: [Annotation], view: TerminalSize, frameWidth: Int, frameHeight: Int) {
        guard !annotations.isEmpty, frameWidth > 0, frameHeight > 0 else { return }
        let width = view.columns, height = view.rows * 2
        func px(_ x: Int) -> Int { min(width - 1, max(0, x * width / frameWidth)) }
        func py(_ y: Int) -> Int { min(height - 1, max(0, y * height / frameHeight)) }
        cellPixels.withUnsafeMutableBufferPointer { pixels in
            for a in annotations where a.box.count == 4 {
                let x0 = px(a.box[0]), x1 = px(a.box[0] + a.box[2] - 1), y0 = py(a.box[1]), y1 = py(a.box[1] + a.box[3] - 1)
                func plot(_ x: Int, _ y: Int) {
                    let i = (y * width + x) * 3
                    pixels[i] = a.red; pixels[i + 1] = a.green; pixels[i + 2] = a.blue
                }
                for x in x0...max(x0, x1) { plot(x, y0); plot(x, max(y0, y1)) }
                for y in y0...max(y0, y1) { plot(x0, y); plot(max(x0, x1), y) }
            }
        }
        if laidOut.annotations == annotations && laidOut.view == view && laidOut.frameWidth == frameWidth && laidOut.frameHeight == frameHeight { return }
        laidOut = (annotations, view, frameWidth, frameHeight)
        if labelCells.count != view.columns * view.rows { labelCells = [Int32](repeating: -1, count: view.columns * view.rows) }
        for i in labelCells.indices { labelCells[i] = -1 }
        for (index, a) in annotations.enumerated() where a.box.count == 4 && !a.label.isEmpty {
            let top = py(a.box[1]) / 2
            let row = top > 0 ? top - 1 : top
            let column = px(a.box[0])
            for (k, _) in a.label.prefix(min(255, view.columns - column)).enumerated() {
                labelCells[row * view.columns + column + k] = Int32(index << 8 | k)
            }
        }
    }

    @inline(__always)
    private func setColor(background: Bool, _ r: Int, _ g: Int, _ b: Int) {
        if background { ByteText.append("\u{1B}[48;2;", to: &output) } else { ByteText.append("\u{1B}[38;2;", to: &output) }
        output.append(contentsOf: Self.decimal[r]); output.append(0x3B)
        output.append(contentsOf: Self.decimal[g]); output.append(0x3B)
        output.append(contentsOf: Self.decimal[b]); output.append(0x6D)
    }

}
