import VisorPerception
import XCTest

/// The voice detector on generated signals: a noise floor, then a loud tone, then the floor again.
final class VoiceActivityTests: XCTestCase {
    func testVoiceStartsAndEndsOverANoiseFloor() {
        var generator = SystemRandomNumberGenerator()
        var vad = VoiceActivityDetector()
        var changes: [(Int, VoiceActivityDetector.Change)] = []
        for frame in 0..<300 {
            let loud = (100..<150).contains(frame)
            let samples = (0..<160).map { i -> Int16 in
                let noise = Int16.random(in: -60...60, using: &generator)
                return loud ? Int16(8000 * sin(Double(frame * 160 + i) * 0.2)) &+ noise : noise
            }
            let change = samples.withUnsafeBufferPointer { vad.process($0) }
            if change != .none { changes.append((frame, change)) }
        }
        XCTAssertEqual(changes.map(\.1), [.started, .ended])
        XCTAssertEqual(changes.first?.0, 102, "three loud frames start voice")
        XCTAssertEqual(changes.last?.0, 149 + vad.hangover, "the hangover ends it")
        XCTAssertLessThan(vad.noiseFloor, -50)
    }
}
