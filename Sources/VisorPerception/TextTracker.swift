import VisorCore

/// Merges readings of the same text region over consecutive frames into one stable reading.
///
/// A single OCR pass misreads a letter here and there, and reads a stray mark as a word; across
/// frames the errors move while the real words stay. A region is matched to the track of the
/// previous readings by overlap. Each word is placed by its position inside the region, words at
/// the same place form a slot, and a slot counts when it was read in at least two of the recent
/// readings (and in at least a third of them); its text is the spelling read most often there.
/// The stable reading is the counted slots in reading order (line by line, left to right).
///
/// `update` says what changed: a reading that appears for the first time (or comes back into view
/// after leaving it), and a reading that changed; an unchanged reading is not reported again.
public final class TextTracker {
    public struct Sighting: Equatable, Sendable {
        public var text: String
        /// x, y, width, height in frame pixels.
        public var box: [Int]
        /// Mean confidence of the words kept, 0 to 1.
        public var confidence: Double
        /// True when this updates a reading reported before (rather than a new one).
        public var isUpdate: Bool
    }

    private struct Observation {
        var text: String
        var confidence: Double
        /// Centre of the word's baseline and its size in the track's coordinates (frame pixels
        /// of its first reading, moved with the head since). The bottom edge is steadier than
        /// the centre: Tesseract's box sometimes takes in a sign's border above a word.
        var x: Double
        var y: Double
        var width: Double
        var height: Double
        var reading: Int
    }

    private final class Track {
        var box: [Int]
        /// Frame coordinates plus this is track coordinates, for the latest reading.
        var offset = (x: 0.0, y: 0.0)
        var readings: [[Observation]] = []
        var readingCount = 0
        var missed = 0
        var reported = ""
        init(box: [Int]) { self.box = box }
    }

    /// Recent readings a track votes over.
    public var window = 8
    /// Readings in a row without a match after which a track is forgotten (its text left the view).
    public var forgetAfter = 4
    private var tracks: [Track] = []

    public init() {}

    /// The stable readings in view now.
    public private(set) var current: [Sighting] = []

    /// Takes the words read in each region of one frame; returns the readings that are new or
    /// changed. An empty `regions` list is a frame read with no text in view.
    public func update(regions: [(box: [Int], words: [RecognizedWord])]) -> [Sighting] {
        var matched = Set<ObjectIdentifier>()
        var changes: [Sighting] = []
        for region in regions {
            let best = tracks.filter { !matched.contains(ObjectIdentifier($0)) }
                .max { overlap($0.box, region.box) < overlap($1.box, region.box) }
            let track: Track
            if let best, overlap(best.box, region.box) >= 0.3 {
                track = best
                track.offset = alignment(of: region.words, to: track)
                    ?? (track.offset.x + Double(track.box[0] - region.box[0]), track.offset.y + Double(track.box[1] - region.box[1]))
            } else {
                track = Track(box: region.box)
                tracks.append(track)
            }
            matched.insert(ObjectIdentifier(track))
            track.box = region.box
            track.missed = 0
            track.readings.append(region.words.map { word in
                Observation(text: word.text, confidence: word.confidence,
                            x: Double(word.box[0]) + Double(word.box[2]) / 2 + track.offset.x,
                            y: Double(word.box[1] + word.box[3]) + track.offset.y,
                            width: Double(word.box[2]), height: Double(word.box[3]), reading: track.readingCount)
            })
            track.readingCount += 1
            if track.readings.count > window { track.readings.removeFirst(track.readings.count - window) }
        }
        for track in tracks where !matched.contains(ObjectIdentifier(track)) { track.missed += 1 }
        tracks.removeAll { $0.missed >= forgetAfter }

        current = []
        for track in tracks where track.missed == 0 {
            let (text, confidence) = stableText(track)
            guard !text.isEmpty else { continue }
            let sighting = Sighting(text: text, box: track.box, confidence: confidence, isUpdate: !track.reported.isEmpty)
            current.append(sighting)
            if text != track.reported {
                changes.append(sighting)
                track.reported = text
            }
        }
        return changes
    }

    /// The offset that maps this reading's words onto the same words read before: the median of
    /// the moves of the words that were read with the same spelling. Nil when none was.
    private func alignment(of words: [RecognizedWord], to track: Track) -> (x: Double, y: Double)? {
        var dxs: [Double] = [], dys: [Double] = []
        for word in words {
            let cx = Double(word.box[0]) + Double(word.box[2]) / 2, cy = Double(word.box[1] + word.box[3])
            let previous = track.readings.joined().filter { $0.text == word.text }
            guard let nearest = previous.min(by: { abs($0.x - cx - track.offset.x) + abs($0.y - cy - track.offset.y)
                                                   < abs($1.x - cx - track.offset.x) + abs($1.y - cy - track.offset.y) }) else { continue }
            dxs.append(nearest.x - cx); dys.append(nearest.y - cy)
        }
        guard !dxs.isEmpty else { return nil }
        return (dxs.sorted()[dxs.count / 2], dys.sorted()[dys.count / 2])
    }

    private func stableText(_ track: Track) -> (String, Double) {
        struct Slot {
            var x: Double, y: Double, width: Double, height: Double
            var n = 1
            var readings: Set<Int>
            var spellings: [String: (count: Int, confidence: Double)]
        }
        var slots: [Slot] = []
        for o in track.readings.joined() {
            // The same place: baselines within half a word's height of each other and centres
            // within half its width; a word spelt the same way may be a whole height off.
            if let i = slots.firstIndex(where: { slot in
                let reach = slot.spellings[o.text] != nil ? 1.0 : 0.5
                return abs(slot.x - o.x) < max(6, min(slot.width, o.width) * reach)
                    && abs(slot.y - o.y) < max(4, min(slot.height, o.height) * reach)
            }) {
                let n = Double(slots[i].n)
                slots[i].x = (slots[i].x * n + o.x) / (n + 1)
                slots[i].y = (slots[i].y * n + o.y) / (n + 1)
                slots[i].width = (slots[i].width * n + o.width) / (n + 1)
                slots[i].height = (slots[i].height * n + o.height) / (n + 1)
                slots[i].n += 1
                slots[i].readings.insert(o.reading)
                let old = slots[i].spellings[o.text] ?? (0, 0)
                slots[i].spellings[o.text] = (old.count + 1, old.confidence + o.confidence)
            } else {
                slots.append(Slot(x: o.x, y: o.y, width: o.width, height: o.height, readings: [o.reading],
                                  spellings: [o.text: (1, o.confidence)]))
            }
        }
        // A word joins the reading once it was read in two of the recent readings (and a third of
        // them); once in, it stays while it is read at all in the window, so that a word Tesseract
        // reads every other frame does not make the reading flicker.
        let needed = max(2, (track.readings.count + 2) / 3)
        let reported = Set(track.reported.split(separator: " ").map(String.init))
        let kept = slots.filter { slot in
            slot.readings.count >= needed || slot.spellings.keys.contains { reported.contains($0) }
        }
        guard !kept.isEmpty else { return ("", 0) }
        // Reading order: lines from the top (a word whose baseline is within half a word's height
        // of the line's first one is on that line), then left to right within each line.
        var lines: [[Slot]] = []
        for slot in kept.sorted(by: { $0.y < $1.y }) {
            if let first = lines.last?.first, slot.y - first.y < min(first.height, slot.height) / 2 {
                lines[lines.count - 1].append(slot)
            } else {
                lines.append([slot])
            }
        }
        let ordered = lines.flatMap { $0.sorted { $0.x < $1.x } }
        var words: [String] = [], confidence = 0.0
        for slot in ordered {
            let best = slot.spellings.max { a, b in (a.value.count, a.value.confidence, b.key) < (b.value.count, b.value.confidence, a.key) }!
            // One word read twice at two places (its box once took in a border) is one word.
            if words.last == best.key { continue }
            words.append(best.key)
            confidence += best.value.confidence / Double(best.value.count)
        }
        return (words.joined(separator: " "), confidence / Double(words.count) / 100)
    }

    /// Intersection over the smaller box: a region read again from a moving head keeps most of its area.
    private func overlap(_ a: [Int], _ b: [Int]) -> Double {
        let w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
        let h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
        guard w > 0, h > 0 else { return 0 }
        return Double(w * h) / Double(max(1, min(a[2] * a[3], b[2] * b[3])))
    }
}
