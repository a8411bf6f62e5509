import Dispatch
import Logging
import VisorCore
import VisorPerception

/// QR codes and barcodes in view (ZBar), as a slow stage: `code` events when a code comes into
/// view, and the codes in view in the scene context.
public final class CodesStage: SlowStage {
    public let name = "codes"
    public let reads: Set<ContextKey> = [.frame]
    public let writes: Set<ContextKey> = [.codes]
    private let reader: CodeReader

    public init() throws { reader = try CodeReader() }

    public func analyze(_ frame: Frame) throws -> SlowStageOutput {
        let sightings = reader.read(frame)
        let events = reader.newlySeen(in: sightings).map { code in
            TranscriptEvent(kind: "code", fields: [
                ("payload", .string(code.payload)), ("symbology", .string(code.symbology)),
                ("payload_kind", .string(CodePayloadKind(payload: code.payload).rawValue)),
                ("box", .ints(code.box.map(Int64.init))),
            ])
        }
        return SlowStageOutput(events: events) { scene in scene.codes = sightings }
    }
}

/// Text in view, as a slow stage. Each frame it reads is read three ways, and the words merged:
/// the whole view in Tesseract's sparse-text layout (scattered signs), the whole view in its page
/// layout (paragraphs, columns), and the likely text regions found in Swift, enlarged for small
/// print. Readings are merged over frames into stable blocks of lines (`TextTracker`). `text`
/// events when a block appears or changes; the blocks in view in the scene context. It reads only
/// when the view is steady (not while walking, and sharp enough), since a blurred sign reads as noise.
public final class TextStage: SlowStage {
    public let name = "text"
    public let reads: Set<ContextKey> = [.frame, .motion]
    public let writes: Set<ContextKey> = [.text]
    /// The least sharpness (mean absolute Laplacian of the thumbnail) worth reading.
    public var minimumSharpness = 3.0
    private let finder = TextRegionFinder()
    private let reader: TextReader
    private let tracker = TextTracker()
    private let logger = Logger(label: "visor.text")

    public init(language: String = "eng") throws { reader = try TextReader(language: language) }

    public func wants(_ scene: SceneContext) -> Bool {
        scene.motion != ImageStatistics.Motion.walking.rawValue && scene.sharpness >= minimumSharpness
    }

    public func analyze(_ frame: Frame) throws -> SlowStageOutput {
        let start = DispatchTime.now().uptimeNanoseconds
        let sparse = reader.readWhole(frame, layout: .sparse)
        let afterSparse = DispatchTime.now().uptimeNanoseconds
        let page = reader.readWhole(frame, layout: .page)
        let afterPage = DispatchTime.now().uptimeNanoseconds
        let regions = finder.find(in: frame).map { region in (box: region.box, words: reader.read(frame, region: region.box)) }
        if logger.logLevel <= .debug {
            let end = DispatchTime.now().uptimeNanoseconds
            logger.debug("text passes: sparse \((afterSparse - start) / 1_000_000) ms, page \((afterPage - afterSparse) / 1_000_000) ms, \(regions.count) regions \((end - afterPage) / 1_000_000) ms")
            func list(_ words: [RecognizedWord]) -> String { words.map { "\($0.text)(\(Int($0.confidence)))@\($0.box.map(String.init).joined(separator: ","))" }.joined(separator: " ") }
            let time = formatSessionTime(frame.captureTimeNanoseconds)
            logger.debug("text at \(time), sparse: \(list(sparse))")
            logger.debug("text at \(time), page: \(list(page))")
            for region in regions { logger.debug("text at \(time) in \(region.box): \(list(region.words))") }
        }
        let changes = tracker.update(words: sparse + page + regions.flatMap(\.words), time: frame.captureTimeNanoseconds)
        let time = frame.captureTimeNanoseconds
        let inView = tracker.current.map {
            TextSighting(text: $0.text, lines: $0.lines, box: $0.box, confidence: $0.confidence, captureTimeNanoseconds: time)
        }
        // Each event names the blocks in view with it, so that a reader of the transcript knows
        // the whole reading at that moment (the others unchanged since their last event).
        let inViewIDs = TranscriptEvent.Value.ints(tracker.current.map { Int64($0.id) })
        let events = changes.map { change in
            TranscriptEvent(kind: "text", fields: [
                ("text", .string(change.text)), ("lines", .strings(change.lines)), ("box", .ints(change.box.map(Int64.init))),
                ("confidence", .fixed(change.confidence, decimals: 2)), ("id", .int(Int64(change.id))), ("update", .bool(change.isUpdate)),
                ("in_view", inViewIDs),
            ])
        }
        return SlowStageOutput(events: events) { scene in scene.texts = inView }
    }
}

/// Faces in view (BlazeFace through Visor's TFLite interpreter), as a slow stage: both models on
/// the whole view and the full-range one on a quarter of it in turn (`FaceFinder`). A detection
/// becomes a face in view only once it was found again at the same place within
/// `confirmNanoseconds` (a pattern in a cup or in paving that scores once is no one), and it stays
/// in view until it has not been found for `holdNanoseconds`. `face` events when someone comes
/// into view (a confirmed face not overlapping one already in view) and when the largest face
/// starts approaching (its box a quarter bigger than a second ago); the faces, their count and
/// whether one approaches in the scene context.
public final class FacesStage: SlowStage {
    public let name = "faces"
    public let reads: Set<ContextKey> = [.frame]
    public let writes: Set<ContextKey> = [.faces]
    /// Found twice within this long to count.
    public var confirmNanoseconds: UInt64 = 1_500_000_000
    /// Kept in view this long after it was last found.
    public var holdNanoseconds: UInt64 = 1_000_000_000
    private let finder: FaceFinder
    private struct Candidate {
        var face: FaceDetection
        var firstSeen: UInt64
        var lastSeen: UInt64
        var hits: Int
        var lastAnalysis: Int
        var reported = false
    }
    private var analyses = 0
    private var candidates: [Candidate] = []
    private var sizes: [(time: UInt64, area: Double)] = []
    private var sizesPass = ""
    private var approaching = false

    public init() throws {
        finder = try FaceFinder(nearScore: FacesStage.nearScore, farScore: FacesStage.farScore, tileScore: FacesStage.tileScore)
    }

    /// The least scores kept from the short-range model, the full-range model on the whole view
    /// and on a tile, set on the tuning half of Fixtures/eval: there patterns in paper, paving
    /// and buildings scored up to 0.80, 0.70 and 0.58, and real faces 0.77-0.99, 0.74-0.90 and
    /// 0.86 (see the README). The full-range model keeps MediaPipe's 0.6, which the evaluation
    /// measured; the skin, texture and found-twice checks remove what scores over it. Redaction
    /// keeps MediaPipe's own thresholds: a blur too many is the safe side there.
    public static let nearScore = 0.75
    public static let farScore = 0.6
    public static let tileScore = 0.6

    public func analyze(_ frame: Frame) throws -> SlowStageOutput {
        let time = frame.captureTimeNanoseconds
        analyses += 1
        let found = finder.find(frame, tiles: .rotating).filter { FaceFinder.plausible($0, in: frame) }
        for face in found {
            if let i = candidates.indices.max(by: { FaceDetection.iou(candidates[$0].face.box, face.box) < FaceDetection.iou(candidates[$1].face.box, face.box) }),
               FaceDetection.iou(candidates[i].face.box, face.box) > 0.3 {
                candidates[i].face = face
                candidates[i].lastSeen = time
                candidates[i].hits += 1
                candidates[i].lastAnalysis = analyses
            } else {
                candidates.append(Candidate(face: face, firstSeen: time, lastSeen: time, hits: 1, lastAnalysis: analyses))
            }
        }
        // A face only a tile finds is looked for again once a round of the tiles: kept that long
        // at least, whatever the frame rate.
        let round = FaceFinder.tileFractions.count
        candidates.removeAll { c in
            let confirmed = c.hits >= 2
            return time &- c.lastSeen > (confirmed ? holdNanoseconds : confirmNanoseconds) && analyses - c.lastAnalysis > (confirmed ? round : 2 * round)
        }
        let inView = candidates.filter { $0.hits >= 2 }.map(\.face).sorted { $0.box[2] * $0.box[3] > $1.box[2] * $1.box[3] }
        var events: [TranscriptEvent] = []
        func event(_ face: FaceDetection) -> TranscriptEvent {
            TranscriptEvent(kind: "face", fields: [
                ("box", .ints(face.box.map { Int64($0.rounded()) })),
                ("keypoints", .ints(face.keypoints.flatMap { [Int64($0.x.rounded()), Int64($0.y.rounded())] })),
                ("score", .fixed(face.score, decimals: 2)), ("pass", .string(face.pass)), ("count", .int(Int64(inView.count))),
                ("approaching", .bool(approaching)),
            ])
        }
        // Approaching: the largest face a quarter bigger than about a second ago, by one pass's
        // boxes (the models' boxes of one face differ in size).
        if let largest = inView.first {
            if largest.pass != sizesPass { sizes.removeAll(); sizesPass = largest.pass }
            sizes.append((time, largest.box[2] * largest.box[3]))
            sizes.removeAll { time &- $0.time > 1_500_000_000 }
            let before = sizes.first { time &- $0.time >= 700_000_000 }
            let now = before.map { largest.box[2] * largest.box[3] > $0.area * 1.25 } ?? false
            if now && !approaching { approaching = true; events.append(event(largest)) } else if !now { approaching = false }
        } else {
            sizes.removeAll()
            approaching = false
        }
        for i in candidates.indices where candidates[i].hits >= 2 && !candidates[i].reported {
            candidates[i].reported = true
            let box = candidates[i].face.box
            let known = candidates.indices.contains { j in j != i && candidates[j].reported && FaceDetection.iou(candidates[j].face.box, box) > 0.3 }
            if !known { events.append(event(candidates[i].face)) }
        }
        let sightings = inView.map { face in
            FaceSighting(box: face.box.map { Int($0.rounded()) }, keypoints: face.keypoints.flatMap { [Int($0.x.rounded()), Int($0.y.rounded())] },
                         score: face.score, captureTimeNanoseconds: time)
        }
        let isApproaching = approaching
        return SlowStageOutput(events: events) { scene in
            scene.faces = sightings
            scene.faceApproaching = isApproaching
        }
    }
}
