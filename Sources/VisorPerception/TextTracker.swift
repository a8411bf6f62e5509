import VisorCore
/// Merges what was read of the view over the last few readings into stable blocks of text: signs,
/// labels, paragraphs, each as lines of words in reading order.
///
/// One reading is every word read in one frame, by every pass (the whole frame, its likely text
/// regions). A single pass misreads a letter here and there and reads a stray mark as a word;
/// across frames the errors move while the real words stay. Words are kept in view coordinates:
/// each reading is aligned to the words read before by the median move of the words read with the
/// same spelling (the head moves), and a word at the same place as before joins that place's
/// slot. A slot counts once it was read in two readings (and in a third of the readings since it
/// first appeared); its text is the spelling read most, by summed confidence. A slot that is not
/// read again for `memoryNanoseconds` has left the view and is forgotten.
///
/// Counted slots are grouped into blocks: words on one baseline a few letters apart are a line,
/// lines stacked close under each other are a block. `update` reports a block that appears or
/// whose words change; an unchanged block is not reported again.
public final class TextTracker {
    public struct Sighting: Equatable, Sendable {
        /// The block's lines joined by spaces.
        public var text: String
        /// Its lines, top to bottom, each left to right.
        public var lines: [String]
        /// x, y, width, height in frame pixels of the latest reading.
        public var box: PixelRect
        /// Mean confidence of the words kept, 0 to 1.
        public var confidence: Double
        /// Stays the same while the block is in view, across its updates.
        public var id: Int
        /// True when this updates a block reported before (rather than a new one).
        public var isUpdate: Bool
    }

    private struct Observation {
        var text: String
        var confidence: Double
        var reading: Int
        var time: UInt64
        /// Where it was read, in view coordinates: its centre and width.
        var x: Double
        var width: Double
    }

    private final class Slot {
        let id: Int
        /// Centre of the word's baseline and its size, in view coordinates. The bottom edge is
        /// steadier than the centre: a box sometimes takes in a sign's border above a word.
        var x: Double, y: Double, width: Double, height: Double
        private(set) var observations: [Observation] = []
        /// How many of the observations have each spelling.
        private var spellings: [String: Int] = [:]
        var firstReading: Int
        var counted = false
        init(id: Int, x: Double, y: Double, width: Double, height: Double, reading: Int) {
            self.id = id; self.x = x; self.y = y; self.width = width; self.height = height; firstReading = reading
        }
        var readings: Int { Set(observations.map(\.reading)).count }
        func has(_ text: String) -> Bool { spellings[text] != nil }
        /// Whether a spelling read here is part of this one, or this one part of it.
        func isPart(_ text: String) -> Bool {
            let lower = text.lowercased()
            return spellings.keys.contains { key in
                let k = key.lowercased()
                return k.contains(lower) || lower.contains(k)
            }
        }
        func add(_ observation: Observation) {
            observations.append(observation)
            spellings[observation.text, default: 0] += 1
        }
        /// Forgets what was read before `time` less `memory`.
        func forget(before time: UInt64, memory: UInt64) {
            guard let first = observations.first, time > first.time, time - first.time > memory else { return }
            observations.removeAll { o in
                let old = time > o.time && time - o.time > memory
                if old { spellings[o.text]! -= 1; if spellings[o.text] == 0 { spellings[o.text] = nil } }
                return old
            }
        }
        typealias Spelling = (text: String, confidence: Double, x: Double, width: Double)

        /// The spellings read here, the one read most first (summed confidence), each with its
        /// mean confidence and place. A reading that lost letters at a word's edge ("ar" of
        /// "Car", "CE" of "NOTICE") is a vote for the whole word where that was read too, often
        /// enough on its own.
        var ranked: [Spelling] {
            var totals: [String: (sum: Double, n: Int, x: Double, width: Double)] = [:]
            for o in observations {
                var t = totals[o.text] ?? (0, 0, 0, 0)
                t.sum += o.confidence; t.n += 1; t.x += o.x; t.width += o.width
                totals[o.text] = t
            }
            var credited = totals.mapValues(\.sum)
            for (short, vote) in totals {
                let lower = short.lowercased()
                // Only for a whole word read often enough on its own: two words read as one
                // ("ATAL" for "AT ALL") now and then must not take the votes of the first.
                for (long, own) in totals where long.count > short.count && own.sum >= vote.sum * 0.35 && long.lowercased().contains(lower) {
                    credited[long]! += vote.sum
                }
            }
            return credited.sorted { a, b in (a.value, a.key.count, b.key) > (b.value, b.key.count, a.key) }.map { key, _ in
                let t = totals[key]!, n = Double(t.n)
                return (key, t.sum / n, t.x / n, t.width / n)
            }
        }
    }

    /// How long a slot is remembered without being read again: what was read of the view over
    /// the last seconds, not only in the latest frame; and at least over this many readings, for
    /// a camera that sends a frame a second.
    public var memoryNanoseconds: UInt64 = 3_000_000_000
    public var memoryReadings = 8
    private var slots: [Slot] = []
    private var nextSlot = 0
    private var readingCount = 0
    private var readingTimes: [UInt64] = []
    /// View coordinates minus frame coordinates, for the latest reading.
    private var offset = (x: 0.0, y: 0.0)
    private var reported: [Int: String] = [:]

    public init() {}

    /// The blocks in view now, in reading order.
    public private(set) var current: [Sighting] = []

    /// Takes every word read in one frame; returns the blocks that are new or changed. An empty
    /// list is a frame read with no text in view.
    public func update(words: [RecognizedWord], time: UInt64) -> [Sighting] {
        let reading = readingCount
        readingCount += 1
        if let move = alignment(of: words) { offset = move }
        for word in words {
            let x = Double(word.box.x) + Double(word.box.width) / 2 + offset.x
            let y = Double(word.box.maxY) + offset.y
            let w = Double(word.box.width), h = Double(word.box.height)
            // The same place: baselines within half a word's height (a word spelt the same way
            // may be a whole height off), and boxes overlapping by half the narrower one. A
            // fragment read inside a word ("CE" of "NOTICE") is a misreading of that word.
            // Boxes of very different widths only when one spelling is part of the other: two
            // words read as one ("ALLTINES") must not swallow the second word's place.
            let near = slots.filter { slot in
                let reach = slot.has(word.text) ? 1.0 : 0.5
                guard abs(slot.y - y) < max(4, min(slot.height, h) * reach), Self.overlap(slot, x: x, width: w) >= 0.5 else { return false }
                return Self.overlap(slot, x: x, width: w) * min(slot.width, w) >= 0.5 * max(slot.width, w) || slot.isPart(word.text)
            }
            let slot: Slot
            if let found = near.max(by: { Self.overlap($0, x: x, width: w) < Self.overlap($1, x: x, width: w) }) {
                slot = found
                let n = Double(min(slot.observations.count, 8))
                slot.x = (slot.x * n + x) / (n + 1); slot.y = (slot.y * n + y) / (n + 1)
                slot.width = (slot.width * n + w) / (n + 1); slot.height = (slot.height * n + h) / (n + 1)
            } else {
                slot = Slot(id: nextSlot, x: x, y: y, width: w, height: h, reading: reading)
                nextSlot += 1
                slots.append(slot)
            }
            slot.add(Observation(text: word.text, confidence: word.confidence, reading: reading, time: time, x: x, width: w))
        }
        readingTimes.append(time)
        if readingTimes.count > memoryReadings { readingTimes.removeFirst(readingTimes.count - memoryReadings) }
        // Remembered for the memory's time and, at least, its count of readings.
        let memory = max(memoryNanoseconds, time &- readingTimes[0])
        for slot in slots { slot.forget(before: time, memory: memory) }
        slots.removeAll { $0.observations.isEmpty }
        for slot in slots where !slot.counted {
            // Read in two frames, and in a fifth of the frames read since it first was.
            let since = reading - slot.firstReading + 1
            slot.counted = slot.readings >= max(2, (since + 4) / 5)
        }
        current = blocks()
        var changes: [Sighting] = []
        for block in current where reported[block.id] != block.text {
            var change = block
            change.isUpdate = reported[block.id] != nil
            changes.append(change)
            reported[block.id] = block.text
        }
        let live = Set(current.map(\.id))
        reported = reported.filter { live.contains($0.key) }
        return changes
    }

    /// The move that maps this reading's words onto the same words read before: the median of
    /// the moves of the words read with the same spelling. Nil when none was.
    private func alignment(of words: [RecognizedWord]) -> (x: Double, y: Double)? {
        var dxs: [Double] = [], dys: [Double] = []
        for word in words {
            let cx = Double(word.box.x) + Double(word.box.width) / 2, cy = Double(word.box.maxY)
            let same = slots.filter { $0.has(word.text) }
            guard let nearest = same.min(by: { abs($0.x - cx - offset.x) + abs($0.y - cy - offset.y)
                                               < abs($1.x - cx - offset.x) + abs($1.y - cy - offset.y) }) else { continue }
            dxs.append(nearest.x - cx); dys.append(nearest.y - cy)
        }
        guard !dxs.isEmpty else { return nil }
        return (dxs.sorted()[dxs.count / 2], dys.sorted()[dys.count / 2])
    }

    /// How much a box from x - width / 2 to x + width / 2 overlaps a slot, over the narrower of the two.
    private static func overlap(_ slot: Slot, x: Double, width: Double) -> Double {
        overlap(slot.x, slot.width, x, width)
    }

    private static func overlap(_ x1: Double, _ w1: Double, _ x2: Double, _ w2: Double) -> Double {
        let o = min(x1 + w1 / 2, x2 + w2 / 2) - max(x1 - w1 / 2, x2 - w2 / 2)
        return max(0, o) / max(1, min(w1, w2))
    }

    /// The counted slots as blocks of lines, in reading order.
    private func blocks() -> [Sighting] {
        let kept = slots.filter(\.counted)
        guard !kept.isEmpty else { return [] }
        // Two slots at one place (a word and a fragment of it read elsewhere in its box, or one
        // word read at two places): the one with more support stands.
        // Two words read as one ("ALLTINES" for "ALL TIMES") cover the place of the second: where
        // the spelling read most covers another word's place, the next one that does not stands.
        let ranked = kept.map(\.ranked)
        var words: [(slot: Slot, best: Slot.Spelling)] = []
        for (i, slot) in kept.enumerated() {
            let others = kept.indices.filter { j in
                j != i && abs(kept[j].y - slot.y) < min(kept[j].height, slot.height) * 0.5
            }
            let fits = ranked[i].first { spelling in
                !others.contains { j in
                    let other = ranked[j][0]
                    return other.width < spelling.width && !spelling.text.lowercased().contains(other.text.lowercased())
                        && Self.overlap(spelling.x, spelling.width, other.x, other.width) >= 0.5
                        && Self.overlap(slot.x, slot.width, other.x, other.width) < 0.5
                }
            }
            words.append((slot, fits ?? ranked[i][0]))
        }
        func support(_ slot: Slot) -> Double { slot.observations.reduce(0) { $0 + $1.confidence } }
        words = words.filter { a in
            !words.contains { b in
                b.slot !== a.slot && (support(b.slot), -b.slot.id) > (support(a.slot), -a.slot.id)
                    && abs(b.slot.y - a.slot.y) < max(a.slot.height, b.slot.height) * (b.best.text == a.best.text ? 1 : 0.5)
                    && Self.overlap(b.best.x, b.best.width, a.best.x, a.best.width) >= 0.5
            }
        }
        // Union-find over words that belong together.
        var parent = Array(words.indices)
        func root(_ i: Int) -> Int { var i = i; while parent[i] != i { parent[i] = parent[parent[i]]; i = parent[i] }; return i }
        for i in words.indices {
            for j in words.indices where j > i {
                let a = words[i].slot, b = words[j].slot
                let h = max(a.height, b.height), hMin = min(a.height, b.height)
                guard h <= hMin * 2.2 else { continue }
                let gap = max(a.x - a.width / 2, b.x - b.width / 2) - min(a.x + a.width / 2, b.x + b.width / 2)
                let sameLine = abs(a.y - b.y) < hMin * 0.6 && gap < h * 1.5
                let stacked = abs(a.y - b.y) >= hMin * 0.6 && abs(a.y - b.y) < h * 2.0 && gap < h
                if sameLine || stacked { parent[root(i)] = root(j) }
            }
        }
        var groups: [Int: [Int]] = [:]
        for i in words.indices { groups[root(i), default: []].append(i) }
        var result: [Sighting] = []
        for members in groups.values {
            let slotsIn = members.map { words[$0] }
            // Lone characters, and a pair of letters, with no longer word beside them are texture
            // read as letters ("ss" on fur, "er" on a skyline) far more often than text; a number
            // of two digits stands alone (a table's cell, a speed limit).
            guard slotsIn.contains(where: { $0.best.text.count > 2 || ($0.best.text.count == 2 && $0.best.text.allSatisfy(\.isNumber)) })
            else { continue }
            // Lines from the top: a word whose baseline is within half a word's height of the
            // line's first one is on that line; then left to right.
            var lines: [[(slot: Slot, best: Slot.Spelling)]] = []
            for w in slotsIn.sorted(by: { $0.slot.y < $1.slot.y }) {
                if let first = lines.last?.first, w.slot.y - first.slot.y < min(first.slot.height, w.slot.height) / 2 {
                    lines[lines.count - 1].append(w)
                } else {
                    lines.append([w])
                }
            }
            var text: [String] = [], confidence = 0.0, count = 0
            for line in lines {
                var lineWords: [String] = []
                for w in line.sorted(by: { $0.slot.x < $1.slot.x }) where lineWords.last != w.best.text {
                    lineWords.append(w.best.text)
                    confidence += w.best.confidence; count += 1
                }
                text.append(lineWords.joined(separator: " "))
            }
            let x0 = slotsIn.map { $0.slot.x - $0.slot.width / 2 }.min()! - offset.x
            let x1 = slotsIn.map { $0.slot.x + $0.slot.width / 2 }.max()! - offset.x
            let y0 = slotsIn.map { $0.slot.y - $0.slot.height }.min()! - offset.y
            let y1 = slotsIn.map { $0.slot.y }.max()! - offset.y
            result.append(Sighting(text: text.joined(separator: " "), lines: text,
                                   box: PixelRect(rounding: [x0, y0, x1 - x0, y1 - y0]),
                                   confidence: confidence / Double(count) / 100, id: slotsIn.map(\.slot.id).min()!, isUpdate: false))
        }
        // Reading order: blocks from the top, those side by side (tops within a line) left first.
        return result.sorted { a, b in
            let line = Double(min(a.box.height, b.box.height)) / Double(max(1, max(a.lines.count, b.lines.count)))
            if abs(Double(a.box.y - b.box.y)) < line { return a.box.x < b.box.x }
            return a.box.y < b.box.y
        }
    }
}
