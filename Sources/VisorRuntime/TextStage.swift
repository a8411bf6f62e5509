import Dispatch
import Logging
import VisorCore
import VisorPerception

/// Text in view, as a slow stage. Each frame it reads is read two ways, and the words merged:
/// the whole view, in Tesseract's sparse-text layout (scattered signs) and in its page layout
/// (paragraphs, columns) in turn, one per reading; and the likely text regions found in Swift
/// that the whole view's words do not already span, enlarged for small print. Readings are
/// merged over frames into stable blocks of lines (`TextTracker`). `text` events when a block
/// appears or changes; the blocks in view in the scene context. It reads only when the view is
/// steady (not while walking, and sharp enough), since a blurred sign reads as noise.
public final class TextStage: SlowStage {
    public static let registration = StageRegistration(
        name: "text", summary: "text in view (Tesseract), merged over frames into lines", draws: "the lines read, in the HUD",
        latencyKeys: ["text"]) { try TextStage() }
    public let name = "text"
    public let reads: Set<ContextKey> = [.frame, .motion]
    public let writes: Set<ContextKey> = [.text]
    /// The least sharpness (mean absolute Laplacian of the thumbnail) worth reading.
    public var minimumSharpness = 3.0
    private let finder = TextRegionFinder()
    private let reader: TextReader
    private let tracker = TextTracker()
    private var readings = 0
    private let logger = Logger(label: "visor.text")

    public init(language: String = "eng") throws { reader = try TextReader(language: language) }

    public func wants(_ scene: SceneContext) -> Bool {
        scene.motion != .walking && scene.sharpness >= minimumSharpness
    }

    public func analyze(_ frame: Frame) throws -> SlowStageOutput {
        let start = DispatchTime.now().uptimeNanoseconds
        // The whole view in one layout per reading, the two in turn: a steady view is read in
        // both within two readings, and the tracker counts a word only once it was read twice.
        readings += 1
        let sparse = readings % 2 == 1 ? reader.readWhole(frame, layout: .sparse) : []
        let afterSparse = DispatchTime.now().uptimeNanoseconds
        let page = readings % 2 == 0 ? reader.readWhole(frame, layout: .page) : []
        let afterPage = DispatchTime.now().uptimeNanoseconds
        // A region the whole view has already read across is not read again (`TextReader.read`).
        let known = sparse + page
        let regions = finder.find(in: frame).map { region in (box: region.box, words: reader.read(frame, region: region.box, known: known)) }
        if logger.logLevel <= .debug {
            let end = DispatchTime.now().uptimeNanoseconds
            logger.debug("text passes: sparse \((afterSparse - start) / 1_000_000) ms, page \((afterPage - afterSparse) / 1_000_000) ms, \(regions.count) regions \((end - afterPage) / 1_000_000) ms")
            func list(_ words: [RecognizedWord]) -> String { words.map { "\($0.text)(\(Int($0.confidence)))@\($0.box.x),\($0.box.y),\($0.box.width),\($0.box.height)" }.joined(separator: " ") }
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
            TranscriptEvent(kind: .text, fields: [
                ("text", .string(change.text)), ("lines", .strings(change.lines)), ("box", .ints(change.box.values)),
                ("confidence", .fixed(change.confidence, decimals: 2)), ("id", .int(Int64(change.id))), ("update", .bool(change.isUpdate)),
                ("in_view", inViewIDs),
            ])
        }
        return SlowStageOutput(events: events) { scene in scene.texts = inView }
    }
}
