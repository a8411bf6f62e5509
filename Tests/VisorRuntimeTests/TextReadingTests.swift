import Foundation
import VisorCore
import VisorSession
import VisorTestSupport
import XCTest
@testable import VisorRuntime

/// Tesseract through the text stage, on the real fixtures.
final class TextReadingTests: XCTestCase {
    private func textEvents(_ fixture: String) throws -> [[String: Any]] {
        try replayEvents(fixture, kinds: ["text"]) { $0.slowStages = [try TextStage()] }
    }

    func testReadsTheParkingSign() throws {
        let sign = ["NOTICE", "DOUBLE", "PARKING", "PROHIBITED", "AT", "ALL", "TIMES"]
        let events = try textEvents("sign.mcap")
        XCTAssertFalse(events.isEmpty)
        let readings = events.compactMap { $0["text"] as? String }
        let best = try XCTUnwrap(readings.max { a, b in
            Set(a.split(separator: " ").map(String.init)).intersection(sign).count < Set(b.split(separator: " ").map(String.init)).intersection(sign).count
        })
        let words = best.split(separator: " ").map(String.init)
        XCTAssertGreaterThanOrEqual(Set(words).intersection(sign).count, 6, "best reading: \(best)")
        XCTAssertLessThanOrEqual(words.filter { !sign.contains($0) }.count, 1, "no more than one stray word: \(best)")
        // One sign: reported once, then only updated, all in one region around the sign.
        XCTAssertEqual(events.filter { $0["update"] as? Bool == false }.count, 1, "\(readings)")
        XCTAssertLessThan(events.count, 16, "the reading settles instead of flickering frame by frame: \(readings)")
        // The sign is at x 195-355, y 5-215 of the first frame, its words at x 220-350, y 20-205;
        // the head pans left, and by 3.75 s the words start at x 193, the sign at about 175.
        for event in events {
            let box = try XCTUnwrap(event["box"] as? [Int])
            XCTAssertTrue(box[0] >= 175 && box[0] + box[2] <= 360 && box[1] >= 0 && box[1] + box[3] <= 220, "on the sign: \(box)")
            XCTAssertGreaterThan(event["confidence"] as? Double ?? 0, 0.7)
        }
        let last = try XCTUnwrap(events.last?["box"] as? [Int])
        XCTAssertTrue(last[2] >= 110 && last[3] >= 170, "all its words, about 125 by 180 pixels (the head pans): \(last)")
        XCTAssertEqual((events.last?["lines"] as? [String])?.count, 5, "NOTICE / DOUBLE / PARKING / PROHIBITED / AT ALL TIMES: \(events.last ?? [:])")
    }

    func testReportsNoTextOnAViewWithoutText() throws {
        // speech.mcap shows coffee.png (a cup on a table) for 18 s.
        XCTAssertEqual(try textEvents("speech.mcap").compactMap { $0["text"] as? String }, [])
    }

    func testReadsTheDigitsUnderTheBarcodes() throws {
        let readings = try textEvents("codes.mcap").compactMap { $0["text"] as? String }
        XCTAssertTrue(readings.contains("Rana temporaria") && readings.contains("Foramenifera"), "\(readings)")
    }

    /// A photo made a session as a user would (`visor import --photo PHOTO@0:4 --size 640x480 --fps 10`).
    private func photoSession(_ photo: String) throws -> String {
        var plan = ImportPlan()
        plan.photos = [PhotoPlacement(path: TestSupport.fixture(photo), startSeconds: 0, lengthSeconds: 4)]
        plan.widthPixels = 640; plan.heightPixels = 480; plan.framesPerSecond = 10
        let session = try TestSupport.temporaryDirectory(self).appendingPathComponent("photo.mcap").path
        _ = try SessionImporter.run(plan, outputPath: session)
        return session
    }

    func testReadsRedLettersOnAWhitePlateWithNarrowWordGaps() throws {
        // The yellow barrier (a photo of the evaluation's tuning half): red "NO PARKING"
        // on a white plate, letters about 25 pixels high, the gap between the two words hardly
        // wider than those between letters. It was read as nothing, then as "NOPARKING".
        let events = try replayEvents(path: try photoSession("eval/no-parking-barrier.jpg"), kinds: ["text"]) { $0.slowStages = [try TextStage()] }
        let readings = events.compactMap { $0["text"] as? String }
        XCTAssertTrue(readings.contains { $0.contains("NO PARKING") }, "\(readings)")
        // The plate is at x 238-357, y 148-193 of the first frame (the head pans a little); a
        // box read in Tesseract's single-block layout may take in the rail under it (y 195-215).
        for event in events where (event["text"] as? String)?.contains("PARKING") == true {
            let box = try XCTUnwrap(event["box"] as? [Int])
            XCTAssertTrue(box[0] >= 215 && box[0] + box[2] <= 380 && box[1] >= 130 && box[1] + box[3] <= 225, "on the plate: \(box)")
        }
    }
}
