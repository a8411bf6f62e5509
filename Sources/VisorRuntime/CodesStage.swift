import VisorCore
import VisorPerception

/// QR codes and barcodes in view (ZBar), as a slow stage: `code` events when a code comes into
/// view, and the codes in view in the scene context.
public final class CodesStage: SlowStage {
    public static let registration = StageRegistration(
        name: "codes", summary: "QR codes and barcodes (ZBar)", draws: "a card for each code in view, its payload and kind",
        latencyKeys: ["codes"]) { try CodesStage() }
    public let name = "codes"
    public let reads: Set<ContextKey> = [.frame]
    public let writes: Set<ContextKey> = [.codes]
    private let reader: CodeReader

    public init() throws { reader = try CodeReader() }

    public func analyze(_ frame: Frame) throws -> SlowStageOutput {
        let sightings = reader.read(frame)
        let events = reader.newlySeen(in: sightings).map { code in
            TranscriptEvent(kind: .code, fields: [
                ("payload", .string(code.payload)), ("symbology", .string(code.symbology)),
                ("payload_kind", .string(CodePayloadKind(payload: code.payload).rawValue)),
                ("box", .ints(code.box.values)),
            ])
        }
        return SlowStageOutput(events: events) { scene in scene.codes = sightings }
    }
}
