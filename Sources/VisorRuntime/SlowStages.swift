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
