import VisorCore

/// Finds where text is likely to be in a frame, so that the OCR engine reads a few small regions
/// instead of the whole view (which is slower and reads worse: FINDINGS.md).
///
/// Works on a grey copy about 320 pixels wide, cut into 8x8 cells. A cell is a text candidate
/// when it is crossed by many strong, alternating vertical strokes (dense horizontal gradient
/// sign changes, 16 or more in a cell) and spans a high contrast: printed letters, not foliage or shading. Candidate
/// cells are joined across one-cell gaps (between words and lines), grouped into connected blocks, and blocks
/// that are too small, too sparse or too large to be a sign or a label are dropped. The best few
/// blocks, scored by stroke density, come back as boxes in frame pixels with a margin.
public final class TextRegionFinder {
    public struct Region: Equatable, Sendable {
        /// x, y, width, height in frame pixels.
        public var box: PixelRect
        /// Mean stroke density of the block's cells (0 to 1): higher is more text-like.
        public var score: Double
    }

    public static let cellSize = 8
    /// The most regions returned per frame.
    public var maxRegions = 3

    private var grey: [UInt8] = []
    private var candidate: [Bool] = []
    private var density: [Double] = []
    private var label: [Int32] = []
    private var stack: [Int] = []

    public init() {}

    /// Likely text regions of the frame (packed RGB), best first.
    public func find(in frame: Frame) -> [Region] {
        let factor = max(1, frame.widthPixels / 320)
        let width = frame.widthPixels / factor, height = frame.heightPixels / factor
        let cell = Self.cellSize
        let columns = width / cell, rows = height / cell
        guard columns >= 4, rows >= 4 else { return [] }
        downscale(frame, factor: factor, width: width, height: height)
        scoreCells(width: width, columns: columns, rows: rows)
        bridgeGaps(columns: columns, rows: rows)
        return blocks(columns: columns, rows: rows, scale: cell * factor, frameWidth: frame.widthPixels, frameHeight: frame.heightPixels)
    }

    /// Box-filtered luma at 1/factor of the frame's size.
    private func downscale(_ frame: Frame, factor: Int, width: Int, height: Int) {
        if grey.count != width * height { grey = [UInt8](repeating: 0, count: width * height) }
        let stride = frame.widthPixels * 3
        let area = UInt32(factor * factor)
        frame.pixels.withUnsafeBufferPointer { src in
            grey.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    for x in 0..<width {
                        var sum: UInt32 = 0
                        for dy in 0..<factor {
                            var p = (y * factor + dy) * stride + x * factor * 3
                            for _ in 0..<factor {
                                sum &+= (77 &* UInt32(src[p]) &+ 150 &* UInt32(src[p + 1]) &+ 29 &* UInt32(src[p + 2])) >> 8
                                p += 3
                            }
                        }
                        dst[y * width + x] = UInt8(truncatingIfNeeded: sum / area)
                    }
                }
            }
        }
    }

    /// Marks cells crossed by dense, high-contrast vertical strokes.
    private func scoreCells(width: Int, columns: Int, rows: Int) {
        let cells = columns * rows
        if candidate.count != cells {
            candidate = [Bool](repeating: false, count: cells)
            density = [Double](repeating: 0, count: cells)
            label = [Int32](repeating: 0, count: cells)
        }
        let cell = Self.cellSize
        let strong: Int32 = 36
        grey.withUnsafeBufferPointer { g in
            for row in 0..<rows {
                for column in 0..<columns {
                    var strokes = 0, low: UInt8 = 255, high: UInt8 = 0
                    for y in (row * cell)..<(row * cell + cell) {
                        let line = y * width
                        // A stroke edge is a strong horizontal gradient; count rises and falls
                        // separately so a single shadow edge does not count as text.
                        var lastSign: Int32 = 0
                        for x in max(1, column * cell)..<min(width - 1, column * cell + cell) {
                            let v = g[line + x]
                            low = min(low, v); high = max(high, v)
                            let d = Int32(g[line + x + 1]) - Int32(g[line + x - 1])
                            if d > strong || d < -strong {
                                let sign: Int32 = d > 0 ? 1 : -1
                                if sign != lastSign { strokes += 1; lastSign = sign }
                            }
                        }
                    }
                    let i = row * columns + column
                    // Up to one rise and one fall per stroke: 8 rows of at most ~4 changes.
                    density[i] = Double(strokes) / Double(cell * 4)
                    candidate[i] = strokes >= 16 && Int(high) - Int(low) >= 100
                }
            }
        }
    }

    /// Joins candidates separated by a single cell along a row (the gap between two words) or
    /// down a column (the gap between two lines).
    private func bridgeGaps(columns: Int, rows: Int) {
        for row in 0..<rows {
            let base = row * columns
            for column in 1..<(columns - 1) where !candidate[base + column] {
                if candidate[base + column - 1] && candidate[base + column + 1] { candidate[base + column] = true }
            }
        }
        for row in 1..<(rows - 1) {
            for column in 0..<columns where !candidate[row * columns + column] {
                if candidate[(row - 1) * columns + column] && candidate[(row + 1) * columns + column] { candidate[row * columns + column] = true }
            }
        }
    }

    private func blocks(columns: Int, rows: Int, scale: Int, frameWidth: Int, frameHeight: Int) -> [Region] {
        for i in label.indices { label[i] = 0 }
        var regions: [Region] = []
        var next: Int32 = 1
        for start in 0..<(columns * rows) where candidate[start] && label[start] == 0 {
            var minX = columns, minY = rows, maxX = 0, maxY = 0, count = 0
            var total = 0.0
            stack.removeAll(keepingCapacity: true)
            stack.append(start)
            label[start] = next
            while let i = stack.popLast() {
                let x = i % columns, y = i / columns
                minX = min(minX, x); maxX = max(maxX, x); minY = min(minY, y); maxY = max(maxY, y)
                count += 1
                total += density[i]
                for (nx, ny) in [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)] where nx >= 0 && ny >= 0 && nx < columns && ny < rows {
                    let n = ny * columns + nx
                    if candidate[n] && label[n] == 0 { label[n] = next; stack.append(n) }
                }
            }
            next += 1
            let boxWidth = maxX - minX + 1, boxHeight = maxY - minY + 1
            let fill = Double(count) / Double(boxWidth * boxHeight)
            // A word or more: at least 3 cells wide and 4 cells in all; compact; not most of the view.
            guard count >= 4, boxWidth >= 3, fill >= 0.3,
                  boxWidth * boxHeight * 3 <= columns * rows else { continue }
            let margin = scale
            let x0 = max(0, minX * scale - margin), y0 = max(0, minY * scale - margin)
            let x1 = min(frameWidth, (maxX + 1) * scale + margin), y1 = min(frameHeight, (maxY + 1) * scale + margin)
            regions.append(Region(box: [x0, y0, x1 - x0, y1 - y0], score: total / Double(count) * fill))
        }
        return Array(regions.sorted { $0.score > $1.score }.prefix(maxRegions))
    }
}
