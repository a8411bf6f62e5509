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

    /// Talk around the wearer: noise whose level swings by 12 dB from one 10 ms frame to the
    /// next, with the wearer's voice 10 dB over its mean for a second at a time. Frame by frame
    /// against a floor that follows the quietest frame, the swings are voice and it never ends;
    /// averaged over 200 ms, against the lowest level of 2 s, and within 12 dB of the voice's
    /// own peak, each second of voice is one stretch.
    func testVoiceEndsInSwingingBackgroundNoiseWithSmoothingAndThePeakRule() {
        func run(_ configure: (inout VoiceActivityDetector) -> Void) -> [VoiceActivityDetector.Change] {
            var state: UInt64 = 5
            func uniform() -> Double {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Double(state >> 11) / Double(1 << 53)
            }
            var vad = VoiceActivityDetector()
            configure(&vad)
            var changes: [VoiceActivityDetector.Change] = []
            for frame in 0..<1000 {
                // Background at about -40 dBFS, each frame 6 dB up or down at random.
                let background = 328 * (uniform() < 0.5 ? 0.5 : 2.0)
                let voiced = (frame % 300) >= 100 && (frame % 300) < 200
                let samples = (0..<160).map { i -> Int16 in
                    let noise = (uniform() * 2 - 1) * background * 1.7
                    let voice = voiced ? 3300 * sin(Double(frame * 160 + i) * 0.15) : 0
                    return Int16(clamping: Int(noise + voice))
                }
                let change = samples.withUnsafeBufferPointer { vad.process($0) }
                if change != .none { changes.append(change) }
            }
            return changes
        }
        let plain = run { $0.margin = 6; $0.hangover = 50 }
        XCTAssertLessThan(plain.filter { $0 == .ended }.count, 3, "frame by frame, the swings keep voice going: \(plain)")
        let steady = run { $0.margin = 6; $0.hangover = 50; $0.smoothingFrames = 20; $0.floorFrames = 200; $0.peakDrop = 12 }
        XCTAssertEqual(steady, [.started, .ended, .started, .ended, .started, .ended], "one stretch per second of voice")
    }
}
