import VisorCore
import XCTest
@testable import VisorRuntime

final class LatencyMetricsTests: XCTestCase {
    func testPercentilesOfKnownValues() throws {
        var series = LatencySeries(budgetNanoseconds: 950_000_000)
        // 1 ms to 1000 ms, one each: p50 is 500 ms, p90 900 ms, p99 990 ms, p99.9 999 ms, max 1000 ms.
        for ms in 1...1000 { series.record(UInt64(ms) * 1_000_000) }
        let s = try XCTUnwrap(series.summary)
        XCTAssertEqual(s.count, 1000)
        for (value, expected) in [(s.p50, 500.0), (s.p90, 900.0), (s.p99, 990.0), (s.p999, 999.0), (s.max, 1000.0)] {
            XCTAssertEqual(Double(value) / 1e6, expected, accuracy: expected * 0.001, "within HdrHistogram's 3 digits")
        }
        XCTAssertEqual(series.budgetMisses, 50, "951 ms to 1000 ms are over the budget")
        XCTAssertNil(LatencySeries().summary)
    }

    func testSkewedDistribution() throws {
        var series = LatencySeries()
        for _ in 0..<990 { series.record(2_000_000) }
        for _ in 0..<10 { series.record(40_000_000) }
        let s = try XCTUnwrap(series.summary)
        XCTAssertEqual(Double(s.p50), 2e6, accuracy: 2e3)
        XCTAssertEqual(Double(s.p99), 2e6, accuracy: 2e3, "the 99th percentile is still the common value")
        XCTAssertEqual(Double(s.p999), 40e6, accuracy: 40e3)
    }

    func testTranscriptNumbersAreFormattedExactly() {
        XCTAssertEqual(TranscriptWriter.fixed(0.4675, decimals: 3), "0.468")
        XCTAssertEqual(TranscriptWriter.fixed(1, decimals: 3), "1.000")
        XCTAssertEqual(TranscriptWriter.fixed(-0.05, decimals: 1), "-0.1")
        XCTAssertEqual(TranscriptWriter.quote("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"")
    }
}
