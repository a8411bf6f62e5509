import VisorPerception
import XCTest

/// The merging of readings over frames, on made-up readings (Tesseract is not involved).
final class TextTrackerTests: XCTestCase {
    private func word(_ text: String, x: Int, y: Int, confidence: Double = 90) -> RecognizedWord {
        RecognizedWord(text: text, confidence: confidence, box: [x, y, 60, 20])
    }

    func testStrayWordsAreDroppedAndMisreadingsOutvoted() {
        let tracker = TextTracker()
        var reported: [String] = []
        for frame in 0..<6 {
            // The head drifts 3 pixels a frame; one frame misreads EXIT, one sees a stray mark.
            let dx = frame * 3
            var words = [word(frame == 2 ? "EXLT" : "EXIT", x: 100 + dx, y: 50), word("ONLY", x: 170 + dx, y: 50)]
            if frame == 3 { words.append(word("ae", x: 300 + dx, y: 150)) }
            reported += tracker.update(regions: [(box: [90 + dx, 40, 300, 200], words: words)]).map(\.text)
        }
        XCTAssertEqual(reported, ["EXIT ONLY"], "reported once, when two readings agree")
        XCTAssertEqual(tracker.current.map(\.text), ["EXIT ONLY"])
    }

    func testAChangedReadingIsUpdatedAndAReturningOneReportedAgain() {
        let tracker = TextTracker()
        let box = [0, 0, 300, 100]
        var sightings: [TextTracker.Sighting] = []
        for _ in 0..<2 { sightings += tracker.update(regions: [(box: box, words: [word("OPEN", x: 10, y: 10)])]) }
        for _ in 0..<2 { sightings += tracker.update(regions: [(box: box, words: [word("OPEN", x: 10, y: 10), word("LATE", x: 10, y: 50)])]) }
        for _ in 0..<tracker.forgetAfter { sightings += tracker.update(regions: []) }
        XCTAssertTrue(tracker.current.isEmpty)
        for _ in 0..<2 { sightings += tracker.update(regions: [(box: box, words: [word("OPEN", x: 10, y: 10)])]) }
        XCTAssertEqual(sightings.map(\.text), ["OPEN", "OPEN LATE", "OPEN"])
        XCTAssertEqual(sightings.map(\.isUpdate), [false, true, false])
    }

    func testWordsAreInReadingOrder() {
        let tracker = TextTracker()
        let words = [word("TIMES", x: 150, y: 62), word("AT", x: 10, y: 60), word("NO", x: 10, y: 10), word("PARKING", x: 80, y: 12)]
        _ = tracker.update(regions: [(box: [0, 0, 300, 100], words: words)])
        XCTAssertEqual(tracker.update(regions: [(box: [0, 0, 300, 100], words: words)]).map(\.text), ["NO PARKING AT TIMES"])
    }
}
