import VisorPerception
import XCTest

/// The merging of readings over frames, on made-up readings (Tesseract is not involved).
final class TextTrackerTests: XCTestCase {
    private func word(_ text: String, x: Int, y: Int, width: Int = 60, height: Int = 20, confidence: Double = 90) -> RecognizedWord {
        RecognizedWord(text: text, confidence: confidence, box: [x, y, width, height])
    }

    private let frame: UInt64 = 100_000_000

    func testStrayWordsAreDroppedAndMisreadingsOutvoted() {
        let tracker = TextTracker()
        var reported: [String] = []
        for n in 0..<6 {
            // The head drifts 3 pixels a frame; one frame misreads EXIT, one sees a stray mark.
            let dx = n * 3
            var words = [word(n == 2 ? "EXLT" : "EXIT", x: 100 + dx, y: 50), word("ONLY", x: 170 + dx, y: 50)]
            if n == 3 { words.append(word("ae", x: 300 + dx, y: 150)) }
            reported += tracker.update(words: words, time: UInt64(n) * frame).map(\.text)
        }
        XCTAssertEqual(reported, ["EXIT ONLY"], "reported once, when two readings agree")
        XCTAssertEqual(tracker.current.map(\.text), ["EXIT ONLY"])
    }

    func testAChangedReadingIsUpdatedAndAReturningOneReportedAgain() {
        let tracker = TextTracker()
        var sightings: [TextTracker.Sighting] = []
        var time: UInt64 = 0
        func read(_ words: [RecognizedWord]) { sightings += tracker.update(words: words, time: time); time += frame }
        for _ in 0..<2 { read([word("OPEN", x: 10, y: 10)]) }
        for _ in 0..<2 { read([word("OPEN", x: 10, y: 10), word("LATE", x: 10, y: 40)]) }
        // Out of view for longer than the tracker remembers.
        let gone = time + tracker.memoryNanoseconds
        while time <= gone { read([]) }
        XCTAssertTrue(tracker.current.isEmpty)
        for _ in 0..<2 { read([word("OPEN", x: 10, y: 10)]) }
        XCTAssertEqual(sightings.map(\.text), ["OPEN", "OPEN LATE", "OPEN"])
        XCTAssertEqual(sightings.map(\.lines), [["OPEN"], ["OPEN", "LATE"], ["OPEN"]])
        XCTAssertEqual(sightings.map(\.isUpdate), [false, true, false])
        XCTAssertEqual(sightings[0].id, sightings[1].id, "an update keeps its block's id")
    }

    func testWhatWasReadStaysForTheLastSeconds() {
        // A sign read in two frames, then frames in which nothing is read (a blurred turn of the
        // head, a pass that missed it): it is still what was read of the view.
        let tracker = TextTracker()
        for n in 0..<2 { _ = tracker.update(words: [word("COPY", x: 10, y: 10), word("CENTRE", x: 80, y: 10)], time: UInt64(n) * frame) }
        for n in 2..<12 { _ = tracker.update(words: [], time: UInt64(n) * frame) }
        XCTAssertEqual(tracker.current.map(\.text), ["COPY CENTRE"], "1.1 s later")
    }

    func testWordsAreInReadingOrder() {
        let tracker = TextTracker()
        let words = [word("TIMES", x: 150, y: 32), word("AT", x: 70, y: 30, width: 30), word("NO", x: 30, y: 0, width: 30), word("PARKING", x: 75, y: 2)]
        _ = tracker.update(words: words, time: 0)
        let sightings = tracker.update(words: words, time: frame)
        XCTAssertEqual(sightings.map(\.text), ["NO PARKING AT TIMES"])
        XCTAssertEqual(sightings.first?.lines, ["NO PARKING", "AT TIMES"])
    }

    func testFragmentsOfAWordAreVotesForIt() {
        // Passes that cut a word at a region's edge read parts of it, in its box; the whole word
        // read in fewer of them is what the place says.
        let tracker = TextTracker()
        for n in 0..<6 {
            var words = [word("PARKING", x: 100, y: 100, width: 120, height: 26, confidence: 95)]
            if n % 2 == 0 { words.append(word("NOTICE", x: 100, y: 60, width: 120, height: 26, confidence: 80)) }
            words.append(word("CE", x: 180, y: 62, width: 38, height: 24, confidence: 76))
            if n == 3 { words.append(word("TICE", x: 150, y: 60, width: 70, height: 26, confidence: 82)) }
            _ = tracker.update(words: words, time: UInt64(n) * frame)
        }
        XCTAssertEqual(tracker.current.map(\.lines), [["NOTICE", "PARKING"]])
    }

    func testTwoSignsAreTwoBlocksInReadingOrder() {
        let tracker = TextTracker()
        let left = [word("Sports", x: 40, y: 200, width: 70), word("Centre", x: 120, y: 200, width: 70), word("Car", x: 40, y: 226, width: 36), word("Parks", x: 84, y: 226)]
        let right = [word("EXIT", x: 420, y: 190), word("ONLY", x: 420, y: 216)]
        for n in 0..<2 { _ = tracker.update(words: right + left, time: UInt64(n) * frame) }
        XCTAssertEqual(tracker.current.map(\.lines), [["Sports Centre", "Car Parks"], ["EXIT", "ONLY"]], "left before right, tops level")
        XCTAssertNotEqual(tracker.current[0].id, tracker.current[1].id)
    }

    func testAParagraphIsLinesOfWholeWords() {
        let tracker = TextTracker()
        let text = ["We have come to dedicate", "a portion of that field", "as a final resting place"]
        var words: [RecognizedWord] = []
        for (row, line) in text.enumerated() {
            var x = 20
            for w in line.split(separator: " ") {
                let width = 12 * w.count
                words.append(word(String(w), x: x, y: 40 + row * 24, width: width, height: 16))
                x += width + 10
            }
        }
        for n in 0..<3 { _ = tracker.update(words: words.shuffled(), time: UInt64(n) * frame) }
        XCTAssertEqual(tracker.current.map(\.lines), [text])
    }

    func testTwoLettersAloneAreTextureButTwoDigitsAreANumber() {
        let tracker = TextTracker()
        // Read steadily in three frames: "er" on a skyline, "ss" on fur, a speed limit's "30",
        // and "NO" beside "ENTRY".
        let words = [word("er", x: 40, y: 60, width: 24), word("ss", x: 300, y: 300, width: 24), word("30", x: 500, y: 100, width: 30),
                     word("NO", x: 100, y: 200, width: 30), word("ENTRY", x: 140, y: 200, width: 70)]
        for n in 0..<3 { _ = tracker.update(words: words, time: UInt64(n) * frame) }
        XCTAssertEqual(Set(tracker.current.map(\.text)), ["30", "NO ENTRY"])
    }
}
