import VisorCore
import VisorMedia

/// The size of a terminal in character cells.
public struct TerminalSize: Equatable, Sendable {
    public var columns: Int
    public var rows: Int
    public init(columns: Int, rows: Int) { self.columns = columns; self.rows = rows }
}

/// Encodes frames as 24-bit colour half-block text: each cell shows two vertically stacked
/// pixels, the upper as the foreground of `▀` and the lower as the background. Colour escapes
/// are only written when a colour changes along a row. The output buffer is reused.
public final class TerminalFrameEncoder {
    public private(set) var output: [UInt8] = []
    private var cellPixels: [UInt8] = []
    private var lastView = TerminalSize(columns: 0, rows: 0)
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
    public func encode(_ frame: Frame, view: TerminalSize, hud: HUDState? = nil) {
        output.removeAll(keepingCapacity: true)
        guard view.columns > 0, view.rows > 0 else { return }
        Resampler.areaAverage(frame, width: view.columns, height: view.rows * 2, into: &cellPixels)
        if view != lastView { ByteText.append("\u{1B}[2J", to: &output); lastView = view }
        ByteText.append("\u{1B}[H", to: &output)
        let empty: [UInt8] = []
        cellPixels.withUnsafeBufferPointer { px in
            for row in 0..<view.rows {
                var lastForeground = -1, lastBackground = -1
                let hudLine = hud.map { row < $0.lineCount ? $0.lines[row] : empty } ?? empty
                let hudCount = hudLine.count
                for column in 0..<view.columns {
                    let top = (2 * row * view.columns + column) * 3
                    let bottom = ((2 * row + 1) * view.columns + column) * 3
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

    @inline(__always)
    private func setColor(background: Bool, _ r: Int, _ g: Int, _ b: Int) {
        if background { ByteText.append("\u{1B}[48;2;", to: &output) } else { ByteText.append("\u{1B}[38;2;", to: &output) }
        output.append(contentsOf: Self.decimal[r]); output.append(0x3B)
        output.append(contentsOf: Self.decimal[g]); output.append(0x3B)
        output.append(contentsOf: Self.decimal[b]); output.append(0x6D)
    }

}
