@testable import VisorPerception
import XCTest

/// Two words read as one, split by the gap between their letters and Tesseract's own dictionary
/// (the real `eng` data; the letter boxes are made up).
final class WordSplitTests: XCTestCase {
    /// Letters 10 pixels wide, `gap` apart, with a wider gap after the letter at `wideAfter`.
    private func spans(_ count: Int, gap: Int = 2, wide: Int = 9, wideAfter: Int? = nil) -> [(left: Int, right: Int)] {
        var x = 0
        return (0..<count).map { i in
            defer { x += 10 + (i == wideAfter ? wide : gap) }
            return (x, x + 10)
        }
    }

    private var reader: TextReader!

    override func setUpWithError() throws { reader = try TextReader() }

    private func split(_ text: String, _ spans: [(left: Int, right: Int)]) throws -> [String] {
        let word = RecognizedWord(text: text, confidence: 90, box: [100, 50, spans.last!.right, 20])
        let parts = reader.split(word, letterSpans: spans) { 100 + $0 }
        // The parts' boxes tile the word's, at the gap.
        if parts.count == 2 {
            XCTAssertEqual(parts[0].box.x, 100)
            XCTAssertEqual(parts[1].box.x + parts[1].box.width, word.box.x + word.box.width)
            XCTAssertLessThan(parts[0].box.x + parts[0].box.width, parts[1].box.x)
        }
        return parts.map(\.text)
    }

    func testTwoWordsWithAGapBetweenThemAreSplit() throws {
        XCTAssertEqual(try split("NOPARKING", spans(9, wideAfter: 1)), ["NO", "PARKING"])
        XCTAssertEqual(try split("exitonly", spans(8, wideAfter: 3)), ["exit", "only"])
    }

    func testEvenlySpacedLettersAreOneWord() throws {
        // A word of another language, a name: not in the dictionary, but nothing says it is two.
        XCTAssertEqual(try split("linzen", spans(6)), ["linzen"])
        XCTAssertEqual(try split("NOPARKING", spans(9)), ["NOPARKING"])
    }

    func testOnlyWhereBothSidesAreWordsAndTheWholeIsNot() throws {
        // A word in the dictionary stays whole, whatever its spacing.
        XCTAssertEqual(try split("PARKING", spans(7, wideAfter: 2)), ["PARKING"])
        // The wide gap must part two dictionary words ("NOP" and "ARKING" are not).
        XCTAssertEqual(try split("NOPARKING", spans(9, wideAfter: 2)), ["NOPARKING"])
        // Mixed case, digits: left alone.
        XCTAssertEqual(try split("NoParking", spans(9, wideAfter: 1)), ["NoParking"])
        XCTAssertEqual(try split("NO2PARKING", spans(10, wideAfter: 1)), ["NO2PARKING"])
    }
}
