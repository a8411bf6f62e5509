import Foundation
import VisorCore

/// Draws the HUD in the device's own pixels: text from a bitmap font, word-wrapped by glyph
/// widths into the profile's text area and line count, in the display's colour depth. Black is
/// unlit (a see-through display adds light; it cannot darken the world).
public final class HUDRenderer {
    public let display: DeviceProfile.Display
    public let font: BitmapFont
    /// Characters of the fixed-width font one line of the text area holds.
    public var charactersPerLine: Int {
        let advance = font.glyph("M")?.advance ?? 8
        return max(1, display.textArea.width / max(1, advance))
    }
    /// Device pixels, packed RGB, `display.widthPixels * display.heightPixels * 3`.
    public private(set) var pixels: [UInt8]
    /// The lines as laid out on the device by the last `render`.
    public private(set) var laidOut: [String] = []
    /// True when the last `render` had more text than the text area holds (the rest was cut).
    public private(set) var overflowed = false
    private var lastLines: [String]?
    private let ink: (UInt8, UInt8, UInt8)
    /// Colours of lines that start with a given text (a code in view in amber, what was heard in
    /// white), quantised to the display; other lines take the ink.
    private let lineColours: [(prefix: String, colour: (UInt8, UInt8, UInt8))]

    /// Debian's `fonts-spleen` (BSD-2): fixed-width bitmap fonts from 5x8 to 32x64.
    public static let fontDirectory = "/usr/share/fonts/X11/misc"
    public static let fontSizes = ["32x64", "16x32", "12x24", "8x16", "6x12", "5x8"]

    /// - Parameter fontPath: a PCF font to use; by default the largest Spleen size whose line
    ///   height fits the text area's height divided by its line count.
    public init(display: DeviceProfile.Display, fontPath: String? = nil) throws {
        self.display = display
        let lineBudget = display.textArea.height / max(1, display.textLines)
        if let fontPath {
            font = try BitmapFont(path: fontPath)
        } else {
            let size = Self.fontSizes.first { Int($0.split(separator: "x")[1])! <= lineBudget } ?? "5x8"
            let path = "\(Self.fontDirectory)/spleen-\(size).pcf.gz"
            guard FileManager.default.fileExists(atPath: path) else {
                throw VisorError("the HUD font is missing: \(path) (install fonts-spleen)")
            }
            font = try BitmapFont(path: path)
        }
        pixels = [UInt8](repeating: 0, count: display.widthPixels * display.heightPixels * 3)
        ink = Self.inkColour(display)
        lineColours = [("code ", Self.quantise((255, 190, 0), for: display)), ("> ", Self.quantise((255, 255, 255), for: display)),
                       ("listening", Self.quantise((255, 255, 255), for: display)), ("\"", Self.quantise((255, 255, 255), for: display))]
    }

    /// The colour of lit text on this display: a light green in full colour, the nearest of
    /// the 16 colours, the brightest green level, or the tint of a monochrome display.
    public static func inkColour(_ display: DeviceProfile.Display) -> (UInt8, UInt8, UInt8) {
        quantise((120, 255, 140), for: display)
    }

    /// The 16 colours of the classic terminal palette (VGA).
    static let palette16: [(UInt8, UInt8, UInt8)] = [
        (0, 0, 0), (170, 0, 0), (0, 170, 0), (170, 85, 0), (0, 0, 170), (170, 0, 170), (0, 170, 170), (170, 170, 170),
        (85, 85, 85), (255, 85, 85), (85, 255, 85), (255, 255, 85), (85, 85, 255), (255, 85, 255), (85, 255, 255), (255, 255, 255),
    ]

    /// A colour as the display can show it: as is in full colour; the nearest of the 16 colours;
    /// its brightness in 16 levels of green; or, on a 1-bit display, the tint when bright enough.
    public static func quantise(_ c: (UInt8, UInt8, UInt8), for display: DeviceProfile.Display) -> (UInt8, UInt8, UInt8) {
        let luma = (77 * Int(c.0) + 150 * Int(c.1) + 29 * Int(c.2)) >> 8
        switch display.colour {
        case .full: return c
        case .colours16:
            return palette16.min { a, b in
                func d(_ p: (UInt8, UInt8, UInt8)) -> Int {
                    let dr = Int(p.0) - Int(c.0), dg = Int(p.1) - Int(c.1), db = Int(p.2) - Int(c.2)
                    return dr * dr + dg * dg + db * db
                }
                return d(a) < d(b)
            }!
        case .green4bit: return (0, UInt8(luma / 16 * 17), 0)
        case .mono1bit:
            guard luma >= 64 else { return (0, 0, 0) }
            guard let tint = display.tint, tint.count == 7, let v = UInt32(tint.dropFirst(), radix: 16) else { return (255, 255, 255) }
            return (UInt8(v >> 16), UInt8((v >> 8) & 255), UInt8(v & 255))
        }
    }

    /// Greedy word wrap by glyph widths: words move to the next line when they do not fit; a
    /// word wider than the whole line is broken between glyphs.
    public func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = [], current = "", currentWidth = 0
        let space = font.width(of: " ")
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            var word = Substring(word)
            var wordWidth = font.width(of: word)
            if !current.isEmpty && currentWidth + space + wordWidth <= width {
                current += " " + word; currentWidth += space + wordWidth
                continue
            }
            if !current.isEmpty { lines.append(current); current = ""; currentWidth = 0 }
            while wordWidth > width {
                var piece = "", pieceWidth = 0
                for scalar in word.unicodeScalars {
                    let w = font.glyph(scalar)?.advance ?? 0
                    if pieceWidth + w > width && !piece.isEmpty { break }
                    piece.unicodeScalars.append(scalar); pieceWidth += w
                }
                lines.append(piece)
                word = word.dropFirst(piece.count)
                wordWidth = font.width(of: word)
            }
            current = String(word); currentWidth = wordWidth
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }

    /// Lays out and draws the HUD's lines (each wrapped on its own); redraws only when they changed.
    public func render(_ lines: [String]) {
        guard lines != lastLines else { return }
        lastLines = lines
        let area = display.textArea
        var laid: [String] = [], colours: [(UInt8, UInt8, UInt8)] = []
        for line in lines {
            let wrapped = wrap(line, width: area.width)
            laid += wrapped
            let colour = lineColours.first { line.hasPrefix($0.prefix) }?.colour ?? ink
            colours += Array(repeating: colour, count: wrapped.count)
        }
        overflowed = laid.count > display.textLines
        laidOut = Array(laid.prefix(display.textLines))
        for i in pixels.indices { pixels[i] = 0 }
        let lineHeight = font.lineHeight
        for (row, line) in laidOut.enumerated() {
            var penX = area.x
            let baseline = area.y + row * lineHeight + font.ascent
            for scalar in line.unicodeScalars {
                guard let glyph = font.glyph(scalar) else { continue }
                draw(glyph, x: penX + glyph.leftBearing, top: baseline - glyph.ascent, clip: area, colour: colours[row])
                penX += glyph.advance
            }
        }
    }

    private func draw(_ glyph: BitmapFont.Glyph, x: Int, top: Int, clip: DeviceProfile.Rect, colour: (UInt8, UInt8, UInt8)) {
        let width = display.widthPixels
        for gy in 0..<glyph.height {
            let y = top + gy
            guard y >= clip.y, y < clip.y + clip.height, y < display.heightPixels else { continue }
            for gx in 0..<glyph.width where glyph.bits[gy * glyph.width + gx] != 0 {
                let px = x + gx
                guard px >= clip.x, px < clip.x + clip.width, px < width, px >= 0, y >= 0 else { continue }
                let i = (y * width + px) * 3
                pixels[i] = colour.0; pixels[i + 1] = colour.1; pixels[i + 2] = colour.2
            }
        }
    }
}

/// Where the display sits in the wearer's view, and the additive blend of its light over the world.
public enum ViewCompositor {
    /// The camera's diagonal field of view assumed when a profile does not give one (a typical
    /// webcam or glasses camera).
    public static let defaultCameraFieldOfViewDegrees = 70.0

    /// The display's rectangle in a `width` x `height` view: its angular size against the
    /// camera's, its shape, centred where the profile puts it.
    public static func displayRect(_ display: DeviceProfile.Display, viewWidth: Int, viewHeight: Int,
                                   cameraFieldOfViewDegrees: Double = defaultCameraFieldOfViewDegrees) -> DeviceProfile.Rect {
        let fraction = tan(display.fieldOfViewDegrees * .pi / 360) / tan(cameraFieldOfViewDegrees * .pi / 360)
        let viewDiagonal = (Double(viewWidth * viewWidth + viewHeight * viewHeight)).squareRoot()
        let deviceDiagonal = (Double(display.widthPixels * display.widthPixels + display.heightPixels * display.heightPixels)).squareRoot()
        let scale = fraction * viewDiagonal / deviceDiagonal
        let w = max(1, Int((Double(display.widthPixels) * scale).rounded()))
        let h = max(1, Int((Double(display.heightPixels) * scale).rounded()))
        let x = Int((display.centreX * Double(viewWidth)).rounded()) - w / 2
        let y = Int((display.centreY * Double(viewHeight)).rounded()) - h / 2
        return DeviceProfile.Rect(x: x, y: y, width: w, height: h)
    }

    /// Adds the HUD's light (device pixels, area-sampled to the display's rectangle) to the view
    /// in place. Black HUD pixels leave the world as it is.
    public static func blend(hud: [UInt8], display: DeviceProfile.Display, into view: inout [UInt8], viewWidth: Int, viewHeight: Int,
                             cameraFieldOfViewDegrees: Double = defaultCameraFieldOfViewDegrees) {
        let rect = displayRect(display, viewWidth: viewWidth, viewHeight: viewHeight, cameraFieldOfViewDegrees: cameraFieldOfViewDegrees)
        let dw = display.widthPixels, dh = display.heightPixels
        guard dw > 0, dh > 0, hud.count >= dw * dh * 3 else { return }
        for vy in max(0, rect.y)..<min(viewHeight, rect.y + rect.height) {
            let sy0 = (vy - rect.y) * dh / rect.height, sy1 = max(sy0 + 1, (vy - rect.y + 1) * dh / rect.height)
            for vx in max(0, rect.x)..<min(viewWidth, rect.x + rect.width) {
                let sx0 = (vx - rect.x) * dw / rect.width, sx1 = max(sx0 + 1, (vx - rect.x + 1) * dw / rect.width)
                var r = 0, g = 0, b = 0
                for sy in sy0..<min(dh, sy1) {
                    for sx in sx0..<min(dw, sx1) {
                        let i = (sy * dw + sx) * 3
                        r += Int(hud[i]); g += Int(hud[i + 1]); b += Int(hud[i + 2])
                    }
                }
                let n = max(1, (min(dh, sy1) - sy0) * (min(dw, sx1) - sx0))
                guard r | g | b != 0 else { continue }
                let o = (vy * viewWidth + vx) * 3
                view[o] = UInt8(min(255, Int(view[o]) + r / n))
                view[o + 1] = UInt8(min(255, Int(view[o + 1]) + g / n))
                view[o + 2] = UInt8(min(255, Int(view[o + 2]) + b / n))
            }
        }
    }
}
