import XCTest
@testable import VisorRuntime

final class LatencyMetricsTests: XCTestCase {
    func testPercentilesOfKnownValues() throws {
        var metrics = LatencyMetrics()
        // 1 ms to 1000 ms, one each: p50 is 500 ms, p90 900 ms, p99 990 ms, max 1000 ms.
        for ms in 1...1000 { metrics.record("stage", nanoseconds: UInt64(ms) * 1_000_000) }
        let s = try XCTUnwrap(metrics.summary("stage"))
        XCTAssertEqual(s.count, 1000)
        for (value, expected) in [(s.p50, 500.0), (s.p90, 900.0), (s.p99, 990.0), (s.max, 1000.0)] {
            XCTAssertEqual(Double(value) / 1e6, expected, accuracy: expected * 0.001, "within HdrHistogram's 3 digits")
        }
        XCTAssertNil(metrics.summary("never recorded"))
        XCTAssertEqual(metrics.names, ["stage"])
    }

    func testTranscriptNumbersAreFormattedExactly() {
        XCTAssertEqual(TranscriptWriter.fixed(0.4675, decimals: 3), "0.468")
        XCTAssertEqual(TranscriptWriter.fixed(1, decimals: 3), "1.000")
        XCTAssertEqual(TranscriptWriter.fixed(-0.05, decimals: 1), "-0.1")
        XCTAssertEqual(TranscriptWriter.quote("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"")
    }
}
