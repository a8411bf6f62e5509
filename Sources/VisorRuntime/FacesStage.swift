import VisorCore
import VisorPerception

/// Faces in view (BlazeFace through Visor's TFLite interpreter), as a slow stage: both models on
/// the whole view and the full-range one on a quarter of it in turn (`FaceFinder`). A detection
/// becomes a face in view only once it was found again at the same place within
/// `confirmNanoseconds` (a pattern in a cup or in paving that scores once is no one), and it stays
/// in view until it has not been found for `holdNanoseconds`. `face` events when someone comes
/// into view (a confirmed face not overlapping one already in view) and when the largest face
/// starts approaching (its box a quarter bigger than a second ago); the faces, their count and
/// whether one approaches in the scene context.
public final class FacesStage: SlowStage {
    public static let registration = StageRegistration(
        name: "faces", summary: "faces in view (BlazeFace), confirmed over frames", draws: "a box round each face and the count",
        latencyKeys: ["faces"]) { try FacesStage() }
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
                candidates.append(Candidate(face: face, lastSeen: time, hits: 1, lastAnalysis: analyses))
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
            TranscriptEvent(kind: .face, fields: [
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
            FaceSighting(box: PixelRect(rounding: face.box), keypoints: face.keypoints.flatMap { [Int($0.x.rounded()), Int($0.y.rounded())] },
                         score: face.score, captureTimeNanoseconds: time)
        }
        let isApproaching = approaching
        return SlowStageOutput(events: events) { scene in
            scene.faces = sightings
            scene.faceApproaching = isApproaching
        }
    }
}
