import CTesseract
import Foundation
import VisorPerception
import XCTest

/// Library code never prints: Leptonica's messages (which Tesseract's own drawing raises, as
/// "Error in boxClipToRectangle: box outside rectangle" during `live`) go to the log.
final class LibraryNoiseTests: XCTestCase {
    /// Runs `body` with standard error sent to a file, and returns what was written there.
    private func standardError(during body: () -> Void) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("stderr-\(UUID().uuidString)").path
        defer { unlink(path) }
        let file = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        XCTAssertGreaterThanOrEqual(file, 0)
        fflush(nil)  // every C stream (a global `stderr` is not concurrency-safe to name)
        let saved = dup(STDERR_FILENO)
        dup2(file, STDERR_FILENO)
        body()
        fflush(nil)  // every C stream (a global `stderr` is not concurrency-safe to name)
        dup2(saved, STDERR_FILENO)
        close(saved)
        close(file)
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    func testLeptonicaMessagesDoNotReachStandardError() throws {
        _ = try TextReader()
        let written = try standardError {
            // Leptonica's own check of a missing box: it reports "Error in boxClipToRectangle".
            XCTAssertNil(boxClipToRectangle(nil, 10, 10))
        }
        XCTAssertFalse(written.contains("boxClipToRectangle"), "Leptonica wrote to stderr: \(written)")
    }
}
