/// What the glasses perceive now: a plain value the assistant and the HUD read, updated by the
/// runtime from stage results. Each item keeps the capture time of the sample it came from.
public struct SceneContext: Equatable, Sendable {
    /// Mean luma of the latest frame, 0 to 1.
    public var lightLevel: Double = 0
    /// Too dark to see well (light under 0.12), and more than a fifth of the view blown out.
    public var lowLight = false
    public var glare = false
    /// How the head moves: "still", "turning" or "walking" (empty before the second frame).
    /// How the head moves, from the view (nil until the motion stage has settled on one).
    public var motion: HeadMotion?
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
    /// Where the wearer looks in the view, when the glasses track the eyes.
    public var gaze: GazePoint?

    public init() {}

    /// The index of the box the wearer looks at: the one holding the gaze point, else the
    /// nearest within `reach` pixels; nil without a gaze point of the last second.
    public func gazed(_ boxes: [PixelRect], at sessionTime: UInt64, reach: Int = 48) -> Int? {
        guard let gaze, gaze.confidence > 0, sessionTime &- gaze.timeNanoseconds <= 1_000_000_000 || gaze.timeNanoseconds > sessionTime else { return nil }
        func distance(_ b: PixelRect) -> Int {
            let dx = max(b.x - gaze.x, 0, gaze.x - (b.x + b.width)), dy = max(b.y - gaze.y, 0, gaze.y - (b.y + b.height))
            return max(dx, dy)
        }
        guard let best = boxes.indices.min(by: { distance(boxes[$0]) < distance(boxes[$1]) }), distance(boxes[best]) <= reach else { return nil }
        return best
    }
}

/// Where the wearer looks, in the view's pixels (as shown), from eye tracking.
public struct GazePoint: Equatable, Sendable {
    public var x: Int
    public var y: Int
    public var confidence: Double
    public var timeNanoseconds: UInt64
    public init(x: Int, y: Int, confidence: Double, timeNanoseconds: UInt64) {
        self.x = x; self.y = y; self.confidence = confidence; self.timeNanoseconds = timeNanoseconds
    }
}

/// A stable reading of text in view.
public struct TextSighting: Equatable, Sendable {
    /// The block's lines joined by spaces.
    public var text: String
    /// Its lines, top to bottom, each left to right.
    public var lines: [String]
    /// Bounding box of the region in frame pixels: x, y, width, height.
    public var box: PixelRect
    /// Mean per-word confidence of the words kept, 0 to 1.
    public var confidence: Double
    public var captureTimeNanoseconds: UInt64

    public init(text: String, lines: [String]? = nil, box: PixelRect, confidence: Double, captureTimeNanoseconds: UInt64) {
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
    public var box: PixelRect
    public var captureTimeNanoseconds: UInt64

    public init(payload: String, symbology: String, box: PixelRect, captureTimeNanoseconds: UInt64) {
        self.payload = payload; self.symbology = symbology; self.box = box
        self.captureTimeNanoseconds = captureTimeNanoseconds
    }
}

/// What a voice command asks for. The raw value is what transcripts and reports say.
public enum VoiceIntent: String, Sendable, Equatable, CaseIterable {
    case whatAmILookingAt = "what_am_i_looking_at"
    case readThis = "read_this"
    case goOn = "go_on"
    case takePhoto = "take_photo"
    case rememberThis = "remember_this"
    case whatDidISee = "what_did_i_see"
    case whatTimeIsIt = "what_time_is_it"
    case stop
    case whereIs = "where_is"
    /// Reads the last lines again (a swipe back; no phrase says it).
    case goBack = "go_back"
}

/// Something heard: a wake phrase, a command, or dictated words, with the capture times of its
/// first and last sample.
public struct HeardSpeech: Equatable, Sendable {
    public enum Kind: String, Sendable { case wake, command, utterance }
    public var kind: Kind
    /// The wake phrase, or the command's intent as written (`what_am_i_looking_at`, ...), or empty.
    public var label: String
    /// A command's intent; nil for a wake phrase or dictation.
    public private(set) var intent: VoiceIntent?
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

    /// A wake phrase (`label` is the phrase) or dictation (`label` is empty).
    public init(kind: Kind, label: String, words: String, startNanoseconds: UInt64, endNanoseconds: UInt64) {
        precondition(kind != .command, "a command is made with init(command:)")
        self.kind = kind; self.label = label; self.words = words
        self.startNanoseconds = startNanoseconds; self.endNanoseconds = endNanoseconds
    }

    /// A command: what it asks for, and the words said with it.
    public init(command intent: VoiceIntent, words: String, startNanoseconds: UInt64, endNanoseconds: UInt64) {
        kind = .command; label = intent.rawValue; self.intent = intent; self.words = words
        self.startNanoseconds = startNanoseconds; self.endNanoseconds = endNanoseconds
    }
}


/// A face seen in a frame.
public struct FaceSighting: Equatable, Sendable {
    /// x, y, width, height in frame pixels.
    public var box: PixelRect
    /// Eyes, nose tip, mouth, ear tragions: x, y pairs in frame pixels.
    public var keypoints: [Int]
    public var score: Double
    public var captureTimeNanoseconds: UInt64

    public init(box: PixelRect, keypoints: [Int], score: Double, captureTimeNanoseconds: UInt64) {
        self.box = box; self.keypoints = keypoints; self.score = score; self.captureTimeNanoseconds = captureTimeNanoseconds
    }
}

/// How the wearer's head moves, as the view shows it.
public enum HeadMotion: String, Sendable, Equatable, CaseIterable {
    /// The view hardly moves.
    case still
    /// The view slides sideways or up and down: the head turns.
    case turning
    /// The view moves more than a turn explains, or shakes: walking.
    case walking
}

/// A rectangle in a frame's pixels: its top-left corner and size. Written `[x, y, width, height]`
/// in transcripts and logs.
public struct PixelRect: Hashable, Sendable, CustomStringConvertible, ExpressibleByArrayLiteral {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x; self.y = y; self.width = width; self.height = height
    }

    /// `[x, y, width, height]`.
    public init(arrayLiteral values: Int...) {
        precondition(values.count == 4, "a PixelRect is [x, y, width, height]")
        self.init(x: values[0], y: values[1], width: values[2], height: values[3])
    }

    /// The nearest whole pixels of a box `[x, y, width, height]` in fractions of a pixel.
    public init(rounding box: [Double]) {
        precondition(box.count == 4, "a box is [x, y, width, height]")
        self.init(x: Int(box[0].rounded()), y: Int(box[1].rounded()), width: Int(box[2].rounded()), height: Int(box[3].rounded()))
    }

    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public var area: Int { width * height }
    /// `[x, y, width, height]`, for a transcript.
    public var values: [Int64] { [Int64(x), Int64(y), Int64(width), Int64(height)] }
    public var description: String { "[\(x), \(y), \(width), \(height)]" }
}
