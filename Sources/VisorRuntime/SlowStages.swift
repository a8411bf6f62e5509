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

/// Text in view, as a slow stage: finds likely text regions in Swift, reads each with Tesseract,
/// and merges the readings of a region over frames into one stable reading. `text` events when a
/// reading appears or changes; the readings in view in the scene context. It reads only when the
/// view is steady (not while walking, and sharp enough), since a blurred sign reads as noise.
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
        let regions = finder.find(in: frame).map { region in (box: region.box, words: reader.read(frame, region: region.box)) }
        if logger.logLevel <= .debug {
            for region in regions {
                logger.debug("text at \(formatSessionTime(frame.captureTimeNanoseconds)) in \(region.box): \(region.words.map { "\($0.text)(\(Int($0.confidence)))" }.joined(separator: " "))")
            }
        }
        let changes = tracker.update(regions: regions)
        let time = frame.captureTimeNanoseconds
        let inView = tracker.current.map { TextSighting(text: $0.text, box: $0.box, confidence: $0.confidence, captureTimeNanoseconds: time) }
        let events = changes.map { change in
            TranscriptEvent(kind: "text", fields: [
                ("text", .string(change.text)), ("box", .ints(change.box.map(Int64.init))),
                ("confidence", .fixed(change.confidence, decimals: 2)), ("update", .bool(change.isUpdate)),
            ])
        }
        return SlowStageOutput(events: events) { scene in scene.texts = inView }
    }
}

/// Faces in view (BlazeFace through Visor's TFLite interpreter), as a slow stage: the
/// short-range model, and the full-range one when that finds nobody (people further away).
/// `face` events when someone comes into view (a face not overlapping one on the last result)
/// and when the largest face starts approaching (its box a quarter bigger than a second ago);
/// the faces, their count and whether one approaches in the scene context.
public final class FacesStage: SlowStage {
    public let name = "faces"
    public let reads: Set<ContextKey> = [.frame]
    public let writes: Set<ContextKey> = [.faces]
    private let finder: FaceFinder
    private var previous: [[Double]] = []
    private var sizes: [(time: UInt64, area: Double)] = []
    private var approaching = false

    public init() throws { finder = try FaceFinder() }

    public func analyze(_ frame: Frame) throws -> SlowStageOutput {
        let faces = finder.find(frame).sorted { $0.box[2] * $0.box[3] > $1.box[2] * $1.box[3] }
        let time = frame.captureTimeNanoseconds
        var events: [TranscriptEvent] = []
        func event(_ face: FaceDetection) -> TranscriptEvent {
            TranscriptEvent(kind: "face", fields: [
                ("box", .ints(face.box.map { Int64($0.rounded()) })),
                ("keypoints", .ints(face.keypoints.flatMap { [Int64($0.x.rounded()), Int64($0.y.rounded())] })),
                ("score", .fixed(face.score, decimals: 2)), ("count", .int(Int64(faces.count))), ("approaching", .bool(approaching)),
            ])
        }
        // Approaching: the largest face a quarter bigger than about a second ago.
        if let largest = faces.first {
            sizes.append((time, largest.box[2] * largest.box[3]))
            sizes.removeAll { time &- $0.time > 1_500_000_000 }
            let before = sizes.first { time &- $0.time >= 700_000_000 }
            let now = before.map { largest.box[2] * largest.box[3] > $0.area * 1.25 } ?? false
            if now && !approaching { approaching = true; events.append(event(largest)) } else if !now { approaching = false }
        } else {
            sizes.removeAll()
            approaching = false
        }
        for face in faces where !previous.contains(where: { FaceDetection.iou($0, face.box) > 0.3 }) { events.append(event(face)) }
        previous = faces.map(\.box)
        let sightings = faces.map { face in
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
