/// What the glasses perceive now: a plain value the assistant and the HUD read, updated by the
/// runtime from stage results. Each item keeps the capture time of the sample it came from.
public struct SceneContext: Equatable, Sendable {
    /// Mean luma of the latest frame, 0 to 1.
    public var lightLevel: Double = 0
    /// Too dark to see well (light under 0.12), and more than a fifth of the view blown out.
    public var lowLight = false
    public var glare = false
    /// How the head moves: "still", "turning" or "walking" (empty before the second frame).
    public var motion = ""
    /// Mean absolute Laplacian of the view, in grey levels: low means blurred.
    public var sharpness: Double = 0
    /// Codes in view (QR, barcodes), newest reading first.
    public var codes: [CodeSighting] = []
    /// Text in view (signs, labels, pages), as stable readings merged over frames.
    public var texts: [TextSighting] = []
    /// Faces in view, the largest first.
    public var faces: [FaceSighting] = []
    /// The largest face is getting bigger over the last second: someone is approaching.
    public var faceApproaching = false
    /// Microphone level in dBFS, and whether someone is speaking.
    public var audioLevel: Double = -96
    public var voiceActive = false
    /// The last things heard (wake phrases, commands, dictation), oldest first, at most `heardLimit`.
    public var heard: [HeardSpeech] = []
    public static let heardLimit = 8
    /// What the assistant shows on the HUD now (see `OverlayItem.visible`).
    public var overlays: [OverlayItem] = []

    public init() {}
}

/// A stable reading of text in view.
public struct TextSighting: Equatable, Sendable {
    /// The block's lines joined by spaces.
    public var text: String
    /// Its lines, top to bottom, each left to right.
    public var lines: [String]
    /// Bounding box of the region in frame pixels: x, y, width, height.
    public var box: [Int]
    /// Mean per-word confidence of the words kept, 0 to 1.
    public var confidence: Double
    public var captureTimeNanoseconds: UInt64

    public init(text: String, lines: [String]? = nil, box: [Int], confidence: Double, captureTimeNanoseconds: UInt64) {
        self.text = text; self.lines = lines ?? [text]; self.box = box; self.confidence = confidence
        self.captureTimeNanoseconds = captureTimeNanoseconds
    }
}

/// A machine-readable code seen in a frame.
public struct CodeSighting: Equatable, Sendable {
    public var payload: String
    /// ZBar's name for the symbology: QR-Code, CODE-128, EAN-13, ...
    public var symbology: String
    /// Bounding box in frame pixels: x, y, width, height.
    public var box: [Int]
    public var captureTimeNanoseconds: UInt64

    public init(payload: String, symbology: String, box: [Int], captureTimeNanoseconds: UInt64) {
        self.payload = payload; self.symbology = symbology; self.box = box
        self.captureTimeNanoseconds = captureTimeNanoseconds
    }
}

/// Something heard: a wake phrase, a command, or dictated words, with the capture times of its
/// first and last sample.
public struct HeardSpeech: Equatable, Sendable {
    public enum Kind: String, Sendable { case wake, command, utterance }
    public var kind: Kind
    /// The wake phrase, or the command's intent (`what_am_i_looking_at`, ...), or empty.
    public var label: String
    /// The command's words or the dictated words.
    public var words: String
    public var startNanoseconds: UInt64
    public var endNanoseconds: UInt64
    /// When the listener decided it: the capture time of the end of the audio that completed it
    /// (after a command, the pause that ends it), and the compute time of that decision.
    public var decidedAtNanoseconds: UInt64 = 0
    public var decisionNanoseconds: UInt64 = 0
    /// The end of the last word of the request, dictation included (a command's `endNanoseconds`
    /// is the end of its own words); nil when that is `endNanoseconds`.
    public var wordsEndNanoseconds: UInt64?

    /// The wearer's wait from the end of their words to the decision: audio still to hear, then compute.
    public var recognitionDelayNanoseconds: UInt64 {
        let wordsEnd = max(endNanoseconds, wordsEndNanoseconds ?? 0)
        return (decidedAtNanoseconds &- min(decidedAtNanoseconds, wordsEnd)) &+ decisionNanoseconds
    }

    public init(kind: Kind, label: String, words: String, startNanoseconds: UInt64, endNanoseconds: UInt64) {
        self.kind = kind; self.label = label; self.words = words
        self.startNanoseconds = startNanoseconds; self.endNanoseconds = endNanoseconds
    }
}


/// A face seen in a frame.
public struct FaceSighting: Equatable, Sendable {
    /// x, y, width, height in frame pixels.
    public var box: [Int]
    /// Eyes, nose tip, mouth, ear tragions: x, y pairs in frame pixels.
    public var keypoints: [Int]
    public var score: Double
    public var captureTimeNanoseconds: UInt64

    public init(box: [Int], keypoints: [Int], score: Double, captureTimeNanoseconds: UInt64) {
        self.box = box; self.keypoints = keypoints; self.score = score; self.captureTimeNanoseconds = captureTimeNanoseconds
    }
}
