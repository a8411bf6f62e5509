import Foundation
import VisorCore
import VisorDevices
import VisorTestSupport
import XCTest

/// The real ALSA playback code against ALSA's own `file` plugin, which writes what is played to a WAV file.
final class SpeakerTests: XCTestCase {
    func testPlayNeverBlocksAndDrainPlaysEverything() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let out = dir.appendingPathComponent("spoken.wav").path
        let config = dir.appendingPathComponent("speaker.conf")
        try """
        pcm.visor_test_speaker { type file slave.pcm null file "\(out)" format "wav" }
        """.write(to: config, atomically: true, encoding: .utf8)
        setenv("ALSA_CONFIG_PATH", "/usr/share/alsa/alsa.conf:\(config.path)", 1)
        let speech = try Data(contentsOf: URL(fileURLWithPath: TestSupport.fixture("goforward.raw"))).withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        let speaker = try ALSASpeaker(device: "visor_test_speaker")
        let start = Date()
        speaker.play(speech)
        XCTAssertLessThan(Date().timeIntervalSince(start), 0.05, "play returns at once")
        speaker.drain()
        let wav = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))
        XCTAssertEqual(Array(wav.prefix(4)), Array("RIFF".utf8))
        let samples = wav.dropFirst(44).withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        XCTAssertEqual(samples.count, speech.count, "every sample played")
        XCTAssertTrue(samples.elementsEqual(speech))
    }

    func testStopDropsWhatIsQueued() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let out = dir.appendingPathComponent("stopped.wav").path
        let config = dir.appendingPathComponent("speaker.conf")
        try "pcm.visor_test_speaker2 { type file slave.pcm null file \"\(out)\" format \"wav\" }".write(to: config, atomically: true, encoding: .utf8)
        setenv("ALSA_CONFIG_PATH", "/usr/share/alsa/alsa.conf:\(config.path)", 1)
        let speaker = try ALSASpeaker(device: "visor_test_speaker2")
        speaker.play([Int16](repeating: 1000, count: 16_000 * 600))
        speaker.stopPlayback()
        speaker.drain()
        let size = (try FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
        XCTAssertLessThan(size, 16_000 * 600 * 2 / 2, "ten minutes of speech were cut short")
    }

    func testMissingSpeakerIsAClearError() {
        XCTAssertThrowsError(try ALSASpeaker(device: "no_such_speaker")) {
            XCTAssertTrue(($0 as? VisorError)?.message.hasPrefix("no speaker named no_such_speaker") ?? false, "\($0)")
        }
    }
}
