import Foundation
import VisorCore
import VisorNeural

/// A face found in a frame: its box and six keypoints (eyes, nose tip, mouth, ear tragions) in
/// frame pixels, and the detector's score (0 to 1).
public struct FaceDetection: Equatable, Sendable {
    /// x, y, width, height.
    public var box: [Double]
    public var keypoints: [(x: Double, y: Double)]
    public var score: Double
    /// Which pass found it: `short` (the short-range model on the whole view), `full` (the
    /// full-range model on the whole view) or `tile` (the full-range model on a tile).
    public var pass = "short"

    public static func == (a: FaceDetection, b: FaceDetection) -> Bool {
        a.box == b.box && a.score == b.score && a.keypoints.map(\.x) == b.keypoints.map(\.x) && a.keypoints.map(\.y) == b.keypoints.map(\.y)
    }

    /// Intersection over union of two x, y, width, height boxes.
    public static func iou(_ a: [Double], _ b: [Double]) -> Double {
        let w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]), h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
        guard w > 0, h > 0 else { return 0 }
        let inter = w * h
        return inter / (a[2] * a[3] + b[2] * b[3] - inter)
    }
}

/// MediaPipe's BlazeFace face detectors run by Visor's own TFLite interpreter: the short-range
/// model (128x128 input, faces within about 2 m) and the full-range model (192x192, up to about
/// 5 m). The frame is letterboxed into the model's square input, the raw outputs decoded against
/// the model's SSD anchors, and overlapping detections merged by weighted non-maximum suppression.
public final class FaceDetector {
    public enum Model: String, Sendable, CaseIterable {
        case shortRange = "face_detection_short_range"
        case fullRange = "face_detection_full_range"

        var inputSize: Int { self == .shortRange ? 128 : 192 }
        /// MediaPipe's settings for each model.
        var minimumScore: Double { self == .shortRange ? 0.5 : 0.6 }
    }

    public struct Anchor: Sendable { public var x: Float; public var y: Float }

    public let model: Model
    public let interpreter: TFLiteInterpreter
    public let anchors: [Anchor]
    public var minimumScore: Double
    public var suppressionThreshold = 0.3
    private var letterbox = (scale: 1.0, padX: 0.0, padY: 0.0, originX: 0.0, originY: 0.0)
    /// Per column and per row of the model's input: the first source pixel of the bilinear
    /// sample (-1 where the letterbox's border is), the second, and the second's weight.
    private var columns: [(first: Int, second: Int, weight: Float)] = []
    private var rows: [(first: Int, second: Int, weight: Float)] = []

    /// The model file shipped with Visor.
    public static func modelPath(_ model: Model) -> String? {
        Bundle.module.url(forResource: "Models/\(model.rawValue)", withExtension: "tflite")?.path
    }

    /// - Parameter kernels: the interpreter's family of kernels (by default the CPU's best, or
    ///   `VISOR_KERNELS`).
    public init(model: Model = .shortRange, path: String? = nil, kernels: KernelFamily? = nil) throws {
        guard let file = path ?? Self.modelPath(model) else { throw VisorError("the face model \(model.rawValue).tflite is missing from Visor's installation") }
        self.model = model
        interpreter = try TFLiteInterpreter(model: TFLiteModel(path: file), kernels: kernels)
        anchors = Self.anchors(for: model)
        minimumScore = model.minimumScore
        let outputs = interpreter.model.outputs.map { interpreter.model.tensors[$0].elementCount }
        guard outputs.sorted() == [anchors.count, anchors.count * 16] else {
            throw VisorError("\(file) is not a BlazeFace model: outputs of \(outputs) values for \(anchors.count) anchors")
        }
    }

    /// SSD anchors as MediaPipe generates them for BlazeFace: fixed-size anchors at the centre of
    /// every cell of each feature map; layers that share a stride share a map.
    public static func anchors(for model: Model) -> [Anchor] {
        let strides = model == .shortRange ? [8, 16, 16, 16] : [4]
        // Short range: one anchor for aspect ratio 1 and one interpolated, per layer; full range: one.
        let perLayer = model == .shortRange ? 2 : 1
        var anchors: [Anchor] = []
        var layer = 0
        while layer < strides.count {
            var last = layer
            while last < strides.count && strides[last] == strides[layer] { last += 1 }
            let repeats = (last - layer) * perLayer
            let size = Int((Double(model.inputSize) / Double(strides[layer])).rounded(.up))
            for y in 0..<size {
                for x in 0..<size {
                    for _ in 0..<repeats {
                        anchors.append(Anchor(x: (Float(x) + 0.5) / Float(size), y: (Float(y) + 0.5) / Float(size)))
                    }
                }
            }
            layer = last
        }
        return anchors
    }

    /// Faces in a packed-RGB frame, or in a part of it (x, y, width, height), best first, in frame pixels.
    public func detect(_ frame: Frame, region: [Int]? = nil) -> [FaceDetection] {
        prepare(frame, region: region)
        interpreter.invoke()
        return decode()
    }

    /// Letterboxes the frame, or a part of it, into the model's input (bilinear, black borders),
    /// values in [-1, 1].
    public func prepare(_ frame: Frame, region: [Int]? = nil) {
        let size = model.inputSize
        let input = interpreter.input()
        let fw = frame.widthPixels, fh = frame.heightPixels
        let r = region ?? [0, 0, fw, fh]
        let ox = max(0, min(fw, r[0])), oy = max(0, min(fh, r[1]))
        let w = min(fw - ox, r[2]), h = min(fh - oy, r[3])
        guard w > 0, h > 0 else { input.update(repeating: -1); return }
        let scale = Double(size) / Double(max(w, h))
        let padX = (Double(size) - Double(w) * scale) / 2, padY = (Double(size) - Double(h) * scale) / 2
        letterbox = (scale, padX, padY, Double(ox), Double(oy))
        // Where each column and row samples the frame: worked out once a call, not once a pixel.
        func samples(_ count: Int, pad: Double, extent: Int, into table: inout [(first: Int, second: Int, weight: Float)]) {
            table.removeAll(keepingCapacity: true)
            for i in 0..<count {
                let s = (Double(i) + 0.5 - pad) / scale - 0.5
                guard s > -1, s < Double(extent) else { table.append((-1, -1, 0)); continue }
                let first = max(0, min(extent - 1, Int(s.rounded(.down))))
                table.append((first, min(extent - 1, first + 1), Float(max(0, s - Double(first)))))
            }
        }
        samples(size, pad: padX, extent: w, into: &columns)
        samples(size, pad: padY, extent: h, into: &rows)
        frame.pixels.withUnsafeBufferPointer { px in
            columns.withUnsafeBufferPointer { columns in
                for y in 0..<size {
                    let row = rows[y], out = input.baseAddress! + y * size * 3
                    guard row.first >= 0 else { out.update(repeating: -1, count: size * 3); continue }
                    let fy = row.weight
                    let line0 = px.baseAddress! + ((oy + row.first) * fw + ox) * 3, line1 = px.baseAddress! + ((oy + row.second) * fw + ox) * 3
                    for x in 0..<size {
                        let column = columns[x], o = out + x * 3
                        guard column.first >= 0 else { o[0] = -1; o[1] = -1; o[2] = -1; continue }
                        let fx = column.weight, a = column.first * 3, b = column.second * 3
                        for c in 0..<3 {
                            let p00 = Float(line0[a + c]), p01 = Float(line0[b + c]), p10 = Float(line1[a + c]), p11 = Float(line1[b + c])
                            let top = p00 + (p01 - p00) * fx, bottom = p10 + (p11 - p10) * fx
                            o[c] = (top + (bottom - top) * fy) / 127.5 - 1
                        }
                    }
                }
            }
        }
    }

    /// Decodes the model's last outputs into faces in frame pixels.
    public func decode() -> [FaceDetection] {
        let model = interpreter.model
        let boxesIndex = model.tensors[model.outputs[0]].elementCount == anchors.count * 16 ? 0 : 1
        let raw = interpreter.output(boxesIndex), scores = interpreter.output(1 - boxesIndex)
        let scale = Float(self.model.inputSize)
        var candidates: [(score: Double, values: [Double])] = []
        for (i, anchor) in anchors.enumerated() {
            let logit = min(100, max(-100, Double(scores[i])))
            let score = 1 / (1 + exp(-logit))
            guard score >= minimumScore else { continue }
            let r = raw.baseAddress! + i * 16
            let cx = r[0] / scale + anchor.x, cy = r[1] / scale + anchor.y
            let w = r[2] / scale, h = r[3] / scale
            var values = [Double(cx - w / 2), Double(cy - h / 2), Double(w), Double(h)]
            for k in 0..<6 { values += [Double(r[4 + 2 * k] / scale + anchor.x), Double(r[5 + 2 * k] / scale + anchor.y)] }
            candidates.append((score, values))
        }
        return Self.weightedSuppression(candidates, threshold: suppressionThreshold).map { score, v in
            // From the model's unit square back to frame pixels.
            let size = Double(self.model.inputSize)
            func fx(_ x: Double) -> Double { (x * size - letterbox.padX) / letterbox.scale + letterbox.originX }
            func fy(_ y: Double) -> Double { (y * size - letterbox.padY) / letterbox.scale + letterbox.originY }
            let box = [fx(v[0]), fy(v[1]), v[2] * size / letterbox.scale, v[3] * size / letterbox.scale]
            let keypoints = (0..<6).map { k in (x: fx(v[4 + 2 * k]), y: fy(v[5 + 2 * k])) }
            return FaceDetection(box: box, keypoints: keypoints, score: score, pass: self.model == .shortRange ? "short" : "full")
        }
    }

    /// MediaPipe's weighted non-maximum suppression: the best remaining detection and every
    /// detection overlapping it by more than `threshold` become one, their coordinates averaged
    /// by score; the best score is kept.
    static func weightedSuppression(_ candidates: [(score: Double, values: [Double])], threshold: Double) -> [(Double, [Double])] {
        var remaining = candidates.sorted { $0.score > $1.score }
        var kept: [(Double, [Double])] = []
        while let best = remaining.first {
            var merged = [Double](repeating: 0, count: best.values.count), total = 0.0
            var rest: [(score: Double, values: [Double])] = []
            for c in remaining {
                if FaceDetection.iou(Array(best.values[0..<4]), Array(c.values[0..<4])) > threshold {
                    for k in merged.indices { merged[k] += c.values[k] * c.score }
                    total += c.score
                } else {
                    rest.append(c)
                }
            }
            kept.append((best.score, merged.map { $0 / total }))
            remaining = rest
        }
        return kept
    }
}

/// Both BlazeFace models as Visor uses them. The whole view is searched by the short-range model
/// (faces near) and the full-range one (further away); a face a few percent of the view wide is
/// only a few pixels of either model's input, so the full-range model also searches overlapping
/// tiles of the view, magnified. Detections of one face by several passes are merged.
public final class FaceFinder {
    /// Which tiles of the view are searched as well as the whole.
    public enum Tiles: Sendable {
        /// None: the whole view only.
        case none
        /// One tile a call, in turn: a face too small for the whole view is found within nine calls.
        case rotating
        /// All of them every call (redaction: no face may slip through).
        case all
    }

    /// The overlapping tiles, as fractions of the view (x, y, width, height): three by three,
    /// each four tenths of the view, so that a face 24 pixels wide in a 640x480 frame is about
    /// 18 pixels of the full-range model's input.
    public static let tileFractions: [[Double]] = [0.0, 0.3, 0.6].flatMap { y in [0.0, 0.3, 0.6].map { x in [x, y, 0.4, 0.4] } }

    private let near: FaceDetector
    private let far: FaceDetector
    private let farScore: Double
    private let tileScore: Double
    private var nextTile = 0

    /// - Parameters:
    ///   - nearScore, farScore, tileScore: the least score kept from the short-range model, the
    ///     full-range model on the whole view, and on a tile (MediaPipe's own by default).
    public init(nearScore: Double = 0.5, farScore: Double = 0.6, tileScore: Double = 0.6) throws {
        near = try FaceDetector(model: .shortRange)
        far = try FaceDetector(model: .fullRange)
        near.minimumScore = nearScore
        far.minimumScore = min(farScore, tileScore)
        self.farScore = farScore
        self.tileScore = tileScore
    }

    public func find(_ frame: Frame, tiles: Tiles = .none) -> [FaceDetection] {
        // Passes in order of trust, so that one face keeps the box of one model from call to
        // call (sizes are compared over time): the short-range model's for a face near, then
        // the full-range model's on the whole view, then on a tile.
        var found = near.detect(frame).sorted { $0.score > $1.score } + far.detect(frame).filter { $0.score >= farScore }.sorted { $0.score > $1.score }
        let w = Double(frame.widthPixels), h = Double(frame.heightPixels)
        let chosen: [[Double]]
        switch tiles {
        case .none: chosen = []
        case .all: chosen = Self.tileFractions
        case .rotating:
            chosen = [Self.tileFractions[nextTile]]
            nextTile = (nextTile + 1) % Self.tileFractions.count
        }
        for t in chosen {
            let region = [Int(t[0] * w), Int(t[1] * h), Int(t[2] * w), Int(t[3] * h)]
            found += far.detect(frame, region: region).filter { $0.score >= tileScore }.sorted { $0.score > $1.score }
                .map { var face = $0; face.pass = "tile"; return face }
        }
        // One face found by several passes is one face: the first pass's box stands.
        var kept: [FaceDetection] = []
        for face in found
        where !kept.contains(where: { FaceDetection.iou($0.box, face.box) > 0.3 || Self.inside(face.box, $0.box) }) {
            kept.append(face)
        }
        return kept
    }

    /// Whether a detection looks like a face on closer inspection, for the patterns the models
    /// score like faces (paper, paving, leaves, buildings). In the middle three fifths of the box:
    /// in a colour view, some of it must be skin-toned (YCbCr, Cb 77-127 and Cr 133-173: a third
    /// of the pixels); and its texture must be a face's, smooth for its contrast (the mean step
    /// between neighbours of a 24x24 copy at most its standard deviation), not text or foliage.
    public static func plausible(_ face: FaceDetection, in frame: Frame) -> Bool {
        let w = frame.widthPixels, h = frame.heightPixels
        let x0 = max(0, Int(face.box[0] + face.box[2] * 0.2)), x1 = min(w, Int(face.box[0] + face.box[2] * 0.8))
        let y0 = max(0, Int(face.box[1] + face.box[3] * 0.2)), y1 = min(h, Int(face.box[1] + face.box[3] * 0.8))
        guard x1 - x0 >= 3, y1 - y0 >= 3 else { return false }
        let n = 24
        var luma = [Double](repeating: 0, count: n * n)
        var skin = 0, chroma = 0.0, count = 0
        frame.pixels.withUnsafeBufferPointer { px in
            for y in y0..<y1 {
                for x in x0..<x1 {
                    let i = (y * w + x) * 3
                    let r = Double(px[i]), g = Double(px[i + 1]), b = Double(px[i + 2])
                    let cb = 128 - 0.169 * r - 0.331 * g + 0.5 * b, cr = 128 + 0.5 * r - 0.419 * g - 0.081 * b
                    if cb >= 77 && cb <= 127 && cr >= 133 && cr <= 173 { skin += 1 }
                    chroma += abs(cb - 128) + abs(cr - 128)
                    count += 1
                }
            }
            // A 24x24 copy, sampled bilinearly at cell centres.
            for j in 0..<n {
                let sy = Double(y0) + (Double(j) + 0.5) * Double(y1 - y0) / Double(n) - 0.5
                let yi = max(y0, min(y1 - 1, Int(sy))), yn = min(y1 - 1, yi + 1), fy = max(0, sy - Double(yi))
                for k in 0..<n {
                    let sx = Double(x0) + (Double(k) + 0.5) * Double(x1 - x0) / Double(n) - 0.5
                    let xi = max(x0, min(x1 - 1, Int(sx))), xn = min(x1 - 1, xi + 1), fx = max(0, sx - Double(xi))
                    func l(_ x: Int, _ y: Int) -> Double {
                        let i = (y * w + x) * 3
                        return 0.299 * Double(px[i]) + 0.587 * Double(px[i + 1]) + 0.114 * Double(px[i + 2])
                    }
                    let top = l(xi, yi) * (1 - fx) + l(xn, yi) * fx, bottom = l(xi, yn) * (1 - fx) + l(xn, yn) * fx
                    luma[j * n + k] = top * (1 - fy) + bottom * fy
                }
            }
        }
        if chroma / Double(count) >= 10 && Double(skin) < Double(count) / 3 { return false }
        let mean = luma.reduce(0, +) / Double(luma.count)
        let deviation = (luma.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(luma.count)).squareRoot()
        var steps = 0.0
        for j in 0..<n {
            for k in 0..<(n - 1) { steps += abs(luma[j * n + k + 1] - luma[j * n + k]) + abs(luma[(k + 1) * n + j] - luma[k * n + j]) }
        }
        let meanStep = steps / Double(n * (n - 1))
        return meanStep <= deviation + 1
    }

    /// Whether most of box a lies inside box b.
    static func inside(_ a: [Double], _ b: [Double]) -> Bool {
        let w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]), h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
        return w > 0 && h > 0 && w * h >= 0.6 * a[2] * a[3]
    }
}

/// Blurs bystanders' faces out of frames before they are kept: every frame is searched
/// (`FaceFinder`),
/// and the faces found on the last few frames are blurred too, so that a face the detector
/// misses on one frame (motion blur, a turn of the head) does not slip through. Each face's box
/// is grown by a third and replaced by a two-by-two mosaic of its mean colours.
public final class FaceRedactor {
    private let finder: FaceFinder
    private var recent: [[[Double]]] = []
    /// Frames a face's box is still blurred after it was last found.
    public var holdFrames = 3
    /// Mosaic cells across a face's box: 2, so that no eye, nose or mouth survives (a finer mosaic
    /// still reads as a face to the detector).
    public var cells = 2

    public init() throws { finder = try FaceFinder() }

    /// Blurs the faces in `frame` (packed RGB) in place; returns the boxes blurred.
    @discardableResult
    public func redact(_ frame: inout Frame) -> [[Double]] {
        recent.append(finder.find(frame, tiles: .all).map(\.box))
        if recent.count > holdFrames + 1 { recent.removeFirst(recent.count - holdFrames - 1) }
        let boxes = recent.flatMap { $0 }
        for box in boxes { pixelate(&frame, box) }
        return boxes
    }

    private func pixelate(_ frame: inout Frame, _ box: [Double]) {
        let grow = 1.0 / 6
        let x0 = max(0, Int(box[0] - box[2] * grow)), y0 = max(0, Int(box[1] - box[3] * grow))
        let x1 = min(frame.widthPixels, Int((box[0] + box[2] * (1 + grow)).rounded(.up)))
        let y1 = min(frame.heightPixels, Int((box[1] + box[3] * (1 + grow)).rounded(.up)))
        guard x1 > x0, y1 > y0 else { return }
        let cell = max(4, max(x1 - x0, y1 - y0) / cells)
        let width = frame.widthPixels
        frame.pixels.withUnsafeMutableBufferPointer { px in
            for cy in stride(from: y0, to: y1, by: cell) {
                for cx in stride(from: x0, to: x1, by: cell) {
                    let ex = min(x1, cx + cell), ey = min(y1, cy + cell)
                    var sum = (0, 0, 0)
                    for y in cy..<ey { for x in cx..<ex { let i = (y * width + x) * 3; sum.0 += Int(px[i]); sum.1 += Int(px[i + 1]); sum.2 += Int(px[i + 2]) } }
                    let n = (ex - cx) * (ey - cy)
                    for y in cy..<ey { for x in cx..<ex {
                        let i = (y * width + x) * 3
                        px[i] = UInt8(sum.0 / n); px[i + 1] = UInt8(sum.1 / n); px[i + 2] = UInt8(sum.2 / n)
                    } }
                }
            }
        }
    }
}
