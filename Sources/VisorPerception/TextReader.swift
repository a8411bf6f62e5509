import CTesseract
import Foundation
import Logging
import VisorCore

/// A word Tesseract read, in frame coordinates.
public struct RecognizedWord: Equatable, Sendable {
    public var text: String
    /// Tesseract's per-word confidence, 0 to 100.
    public var confidence: Double
    /// x, y, width, height in frame pixels.
    public var box: PixelRect

    public init(text: String, confidence: Double, box: PixelRect) {
        self.text = text; self.confidence = confidence; self.box = box
    }
}

/// Reads the words in a region of a frame with Tesseract's C API: LSTM only, sparse-text page
/// mode, per-word confidences (the page's mean confidence is high even on blank input).
///
/// Tesseract's OpenMP threads make it slower on a small machine; the process must start with
/// `OMP_THREAD_LIMIT=1` in its environment (libgomp reads it when it loads), which the `visor`
/// command arranges.
/// Where Leptonica's messages go (a C callback cannot capture a logger).
private let leptonicaLogger = Logger(label: "visor.leptonica")

public final class TextReader {
    /// Words under this confidence are dropped (FINDINGS.md: about 70 keeps real words, drops noise).
    public var minimumConfidence = 70.0
    /// Words of whole-view reads in the sparse layout under this confidence are dropped: there
    /// Tesseract reads bits of texture and parts of words at 70 to 80 (the page layout, which
    /// finds lines before words, keeps the regions' cut).
    public var minimumWholeViewConfidence = 80.0
    private let api: OpaquePointer
    private var grey: [UInt8] = []
    private let logger = Logger(label: "visor.text")

    /// - Parameters:
    ///   - language: a traineddata name installed with Tesseract (`eng`).
    ///   - dataPath: the tessdata folder, or nil for Tesseract's own default (or `TESSDATA_PREFIX`).
    /// - Throws: `VisorError` when the language data cannot be loaded.
    public init(language: String = "eng", dataPath: String? = nil) throws {
        if ProcessInfo.processInfo.environment["OMP_THREAD_LIMIT"] != "1" {
            Logger(label: "visor.text").warning("OMP_THREAD_LIMIT is not 1: Tesseract will start OpenMP threads and run slower")
        }
        // Leptonica's messages ("box outside rectangle") are library noise: into the log at debug.
        leptSetStderrHandler { message in
            guard let message else { return }
            leptonicaLogger.debug("\(String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        guard let api = TessBaseAPICreate() else { throw VisorError("Tesseract could not be started") }
        guard TessBaseAPIInit2(api, dataPath, language, OEM_LSTM_ONLY) == 0 else {
            TessBaseAPIDelete(api)
            throw VisorError("Tesseract has no '\(language)' language data (install tesseract-ocr-\(language))")
        }
        self.api = api
        // Its own messages would go to standard error.
        TessBaseAPISetVariable(api, "debug_file", "/dev/null")
    }

    deinit {
        TessBaseAPIEnd(api)
        TessBaseAPIDelete(api)
    }

    /// The words read in a region of a packed-RGB frame. A region found too tight (a word
    /// touching its left or right edge: a letter may be cut off) is read again grown by its
    /// height on each side and a third of it above and below, and the reading with more letters
    /// stands. Where nothing was read, the grown region is read once more in the single-block
    /// layout: a plate of one or two lines whose words the sparse layout does not find. A band at
    /// the top or bottom of the region where nothing was read, and tall enough for a line of
    /// text, is read again on its own, with local (tiled Otsu) thresholding: one global threshold
    /// for the whole region loses a line printed on a darker colour (the black-on-orange header
    /// of a black-on-white sign).
    ///
    /// Nothing is read where the words already read in the same frame (the whole view, `known`)
    /// span the region (`covers`): on a page, the whole view reads every line whole, and reading
    /// its regions, and again grown, would only read those lines twice more. Nor is a cut region
    /// read again grown where `known` holds a word at least as long over each word at its edge.
    /// - Parameter known: the words read in the same frame by other passes (the whole view).
    public func read(_ frame: Frame, region box: PixelRect, known: [RecognizedWord] = []) -> [RecognizedWord] {
        guard !Self.covers(known, across: box) else { return [] }
        let words = readRegion(frame, region: box, layout: .sparse)
        let edge = 2
        let cut = words.filter { $0.box.x <= box.x + edge || $0.box.maxX >= box.maxX - edge }
        guard words.isEmpty || !cut.isEmpty else { return words }
        if !words.isEmpty, cut.allSatisfy({ word in known.contains { Self.overlaps($0.box, word.box) && $0.text.count >= word.text.count } }) {
            return words
        }
        let dx = max(16, box.height), dy = max(8, box.height / 3)
        let x0 = max(0, box.x - dx), y0 = max(0, box.y - dy)
        let grown = PixelRect(x: x0, y: y0, width: min(frame.widthPixels, box.maxX + dx) - x0, height: min(frame.heightPixels, box.maxY + dy) - y0)
        let again = readRegion(frame, region: grown, layout: words.isEmpty ? .block : .sparse)
        func letters(_ words: [RecognizedWord]) -> Int { words.reduce(0) { $0 + $1.text.count } }
        return letters(again) > letters(words) ? again : words
    }

    /// Whether two boxes share columns and half the height of the shorter.
    static func overlaps(_ a: PixelRect, _ b: PixelRect) -> Bool {
        let across = min(a.maxX, b.maxX) - max(a.x, b.x), down = min(a.maxY, b.maxY) - max(a.y, b.y)
        return across > 0 && down * 2 >= min(a.height, b.height)
    }

    /// Whether the words that lie in a box (half their height inside it, at least) span three
    /// quarters of its width between them, and, each counted with half its height above and
    /// below (the space between lines), three quarters of its height.
    static func covers(_ words: [RecognizedWord], across box: PixelRect) -> Bool {
        let inside = words.filter { word in
            let down = min(word.box.maxY, box.maxY) - max(word.box.y, box.y)
            return down * 2 >= word.box.height && word.box.maxX > box.x && word.box.x < box.maxX
        }
        func covered(_ spans: [(Int, Int)], from low: Int, to high: Int) -> Int {
            var covered = 0, end = low
            for (start, stop) in spans.map({ (max($0.0, low), min($0.1, high)) }).sorted(by: { $0.0 < $1.0 }) where stop > end {
                covered += stop - max(start, end)
                end = stop
            }
            return covered
        }
        let across = covered(inside.map { ($0.box.x, $0.box.maxX) }, from: box.x, to: box.maxX)
        let down = covered(inside.map { ($0.box.y - $0.box.height / 2, $0.box.maxY + $0.box.height / 2) }, from: box.y, to: box.maxY)
        return across * 4 >= box.width * 3 && down * 4 >= box.height * 3
    }

    private func readRegion(_ frame: Frame, region box: PixelRect, layout: Layout) -> [RecognizedWord] {
        var words = readOnce(frame, region: box, layout: layout)
        guard !words.isEmpty else { return words }
        let top = words.map { $0.box.y }.min()!, bottom = words.map { $0.box.maxY }.max()!
        let lineHeight = words.map { $0.box.height }.sorted()[words.count / 2]
        if top - box.y >= lineHeight * 3 / 2 {
            words = readOnce(frame, region: PixelRect(x: box.x, y: box.y, width: box.width, height: top - box.y), localThreshold: true) + words
        }
        if box.maxY - bottom >= lineHeight * 3 / 2 {
            words += readOnce(frame, region: PixelRect(x: box.x, y: bottom, width: box.width, height: box.maxY - bottom), localThreshold: true)
        }
        return words
    }

    /// How Tesseract lays out the page it is given.
    public enum Layout: Sendable {
        /// As much text as it can find, in no particular order (Tesseract's sparse-text mode):
        /// scattered signs and labels.
        case sparse
        /// Columns, blocks and lines (Tesseract's automatic page segmentation): pages and paragraphs.
        case page
        /// One block of lines (Tesseract's single-block mode): a sign's plate.
        case block
    }

    /// The words of the whole frame, read at its own size in one layout. The whole view is what
    /// Tesseract alone would be given; region reads add to it, they do not replace it.
    public func readWhole(_ frame: Frame, layout: Layout) -> [RecognizedWord] {
        readOnce(frame, region: [0, 0, frame.widthPixels, frame.heightPixels], layout: layout, scale: 1,
                 minimumConfidence: layout == .sparse ? minimumWholeViewConfidence : minimumConfidence)
    }

    /// The words read in one region. Regions up to 320 pixels high are enlarged twice (bilinear)
    /// first, unless a scale is given: Tesseract's LSTM reads letters about 30 pixels high best.
    private func readOnce(_ frame: Frame, region box: PixelRect, localThreshold: Bool = false,
                          layout: Layout = .sparse, scale fixedScale: Int? = nil, minimumConfidence: Double? = nil) -> [RecognizedWord] {
        let cut = minimumConfidence ?? self.minimumConfidence
        let x0 = max(0, box.x), y0 = max(0, box.y)
        let x1 = min(frame.widthPixels, box.maxX), y1 = min(frame.heightPixels, box.maxY)
        guard x1 - x0 >= 8, y1 - y0 >= 8 else { return [] }
        let scale = fixedScale ?? ((y1 - y0) <= 320 ? 2 : 1)
        let width = (x1 - x0) * scale, height = (y1 - y0) * scale
        if grey.count < width * height { grey = [UInt8](repeating: 0, count: width * height) }
        let stride = frame.widthPixels * 3
        frame.pixels.withUnsafeBufferPointer { src in
            grey.withUnsafeMutableBufferPointer { dst in
                func luma(_ x: Int, _ y: Int) -> Int {
                    let p = y * stride + x * 3
                    return (77 * Int(src[p]) + 150 * Int(src[p + 1]) + 29 * Int(src[p + 2])) >> 8
                }
                if scale == 1 {
                    for y in 0..<height {
                        var p = (y0 + y) * stride + x0 * 3
                        for x in 0..<width {
                            dst[y * width + x] = UInt8(truncatingIfNeeded: (77 &* Int(src[p]) &+ 150 &* Int(src[p + 1]) &+ 29 &* Int(src[p + 2])) >> 8)
                            p += 3
                        }
                    }
                    return
                }
                for y in 0..<height {
                    // Sample at pixel centres: (y + 0.5) / scale - 0.5 in source pixels, in quarters.
                    let sy4 = max(0, (4 * y + 2) / scale - 2), syi = min(y1 - y0 - 1, sy4 / 4), fy = sy4 % 4
                    let syn = min(y1 - y0 - 1, syi + 1)
                    for x in 0..<width {
                        let sx4 = max(0, (4 * x + 2) / scale - 2), sxi = min(x1 - x0 - 1, sx4 / 4), fx = sx4 % 4
                        let sxn = min(x1 - x0 - 1, sxi + 1)
                        let top = luma(x0 + sxi, y0 + syi) * (4 - fx) + luma(x0 + sxn, y0 + syi) * fx
                        let bottom = luma(x0 + sxi, y0 + syn) * (4 - fx) + luma(x0 + sxn, y0 + syn) * fx
                        dst[y * width + x] = UInt8(truncatingIfNeeded: (top * (4 - fy) + bottom * fy + 8) / 16)
                    }
                }
            }
        }
        var words: [RecognizedWord] = []
        grey.withUnsafeBufferPointer { buffer in
            let mode: TessPageSegMode = switch layout {
            case .sparse: PSM_SPARSE_TEXT
            case .page: PSM_AUTO
            case .block: PSM_SINGLE_BLOCK
            }
            TessBaseAPISetPageSegMode(api, mode)
            TessBaseAPISetImage(api, buffer.baseAddress, Int32(width), Int32(height), 1, Int32(width))
            TessBaseAPISetSourceResolution(api, 300)
            TessBaseAPISetVariable(api, "thresholding_method", localThreshold ? "1" : "0")
            guard TessBaseAPIRecognize(api, nil) == 0, let iterator = TessBaseAPIGetIterator(api) else {
                logger.debug("Tesseract recognised nothing in \(box)")
                return
            }
            defer { TessResultIteratorDelete(iterator) }
            repeat {
                guard let raw = TessResultIteratorGetUTF8Text(iterator, RIL_WORD) else { continue }
                let text = String(cString: raw)
                TessDeleteText(raw)
                let confidence = Double(TessResultIteratorConfidence(iterator, RIL_WORD))
                var left: Int32 = 0, top: Int32 = 0, right: Int32 = 0, bottom: Int32 = 0
                TessPageIteratorBoundingBox(TessResultIteratorGetPageIterator(iterator), RIL_WORD, &left, &top, &right, &bottom)
                let cleaned = Self.clean(text)
                guard confidence >= cut, !cleaned.isEmpty else { continue }
                let found = RecognizedWord(text: cleaned, confidence: confidence, box: [
                    x0 + Int(left) / scale, y0 + Int(top) / scale, Int(right - left) / scale, Int(bottom - top) / scale,
                ])
                words += split(found, letterSpans: Self.mightBeTwoWords(cleaned) ? letterSpans(iterator) : []) { x0 + $0 / scale }
            } while TessResultIteratorNext(iterator, RIL_WORD) != 0
        }
        TessBaseAPIClear(api)
        return words
    }

    /// Two words read as one ("NOPARKING": on a sign the gap between words can be narrower than
    /// the gap Tesseract expects) come back as two: when the whole is not in Tesseract's
    /// dictionary, its widest gap between letters is clearly wider than its others (half as wide
    /// again, and a pixel more), and the two sides of that gap are dictionary words. Evenly
    /// spaced letters are never split (a word of another language, typewriter print). The boxes
    /// are cut at the gap.
    /// - Parameters:
    ///   - letterSpans: each letter's left and right edge in the pixels Tesseract read, in order.
    ///   - toFrame: those pixels' x in the frame.
    func split(_ word: RecognizedWord, letterSpans: [(left: Int, right: Int)], toFrame: (Int) -> Int) -> [RecognizedWord] {
        let letters = Array(word.text)
        guard Self.mightBeTwoWords(word.text), letterSpans.count == letters.count, !isDictionaryWord(word.text) else { return [word] }
        let gaps = (1..<letters.count).map { letterSpans[$0].left - letterSpans[$0 - 1].right }
        guard let widest = gaps.indices.max(by: { gaps[$0] < gaps[$1] }) else { return [word] }
        let others = gaps.enumerated().filter { $0.offset != widest }.map(\.element).sorted()
        let typical = others[others.count / 2]
        let cut = widest + 1
        guard cut >= 2, letters.count - cut >= 2, gaps[widest] * 2 >= typical * 3 + 2,
              isDictionaryWord(String(letters[..<cut])), isDictionaryWord(String(letters[cut...])) else { return [word] }
        let middle = toFrame(letterSpans[widest].right), start = toFrame(letterSpans[cut].left), end = word.box.x + word.box.width
        var first = word, second = word
        first.text = String(letters[..<cut]); first.box.width = max(1, middle - word.box.x)
        second.text = String(letters[cut...]); second.box.x = start; second.box.width = max(1, end - start)
        return [first, second]
    }

    /// Letters only, five or more, in one case: what a split may apply to.
    static func mightBeTwoWords(_ text: String) -> Bool {
        text.count >= 5 && text.allSatisfy(\.isLetter) && (text.allSatisfy(\.isUppercase) || text.allSatisfy(\.isLowercase))
    }

    /// The left and right edges, in the pixels Tesseract read, of each letter of the word the
    /// iterator is at; empty when its symbols are not the word's letters one for one (punctuation
    /// was cleaned).
    private func letterSpans(_ iterator: OpaquePointer) -> [(left: Int, right: Int)] {
        guard let copy = TessResultIteratorCopy(iterator) else { return [] }
        defer { TessResultIteratorDelete(copy) }
        let page = TessResultIteratorGetPageIterator(copy)
        var spans: [(left: Int, right: Int)] = []
        var text = ""
        repeat {
            var left: Int32 = 0, top: Int32 = 0, right: Int32 = 0, bottom: Int32 = 0
            TessPageIteratorBoundingBox(page, RIL_SYMBOL, &left, &top, &right, &bottom)
            if let raw = TessResultIteratorGetUTF8Text(copy, RIL_SYMBOL) { text += String(cString: raw); TessDeleteText(raw) }
            spans.append((Int(left), Int(right)))
            if TessPageIteratorIsAtFinalElement(page, RIL_WORD, RIL_SYMBOL) != 0 { break }
        } while TessPageIteratorNext(page, RIL_SYMBOL) != 0
        return text.allSatisfy(\.isLetter) && text.count == spans.count ? spans : []
    }

    /// Whether Tesseract's language data holds the word in its dictionary.
    func isDictionaryWord(_ word: String) -> Bool { TessBaseAPIIsValidWord(api, word) != 0 }

    /// The word without the punctuation Tesseract reads at its edges from sign borders and
    /// shadows; empty when no letter or digit is left, or when a single letter stands alone
    /// (a lone glyph is far more often a mark than a word in a scene).
    static func clean(_ word: String) -> String {
        let trimmed = word.trimmingCharacters(in: CharacterSet.alphanumerics.inverted)
        guard trimmed.unicodeScalars.contains(where: { CharacterSet.alphanumerics.contains($0) }) else { return "" }
        if trimmed.count == 1, let c = trimmed.first, c.isLetter, c != "A", c != "I", c != "a" { return "" }
        return trimmed
    }
}
