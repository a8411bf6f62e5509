import Foundation
import VisorCore
import VisorDevices
import VisorMedia
import VisorTestSupport
import XCTest

/// The real ALSA capture code against Visor's ALSA plugin, which plays a recording as a microphone.
final class MicrophoneTests: XCTestCase {
    /// An ALSA configuration defining `visor_test_mic` over `file`, in force for this process.
    static func useVirtualMicrophone(file: String, in dir: URL) throws {
        let plugin = URL(fileURLWithPath: TestSupport.visorPath).deletingLastPathComponent().appendingPathComponent("libasound_module_pcm_visor.so").path
        guard FileManager.default.fileExists(atPath: plugin) else { throw XCTSkip("the ALSA plugin is not built (tools/test builds it)") }
        let config = dir.appendingPathComponent("alsa.conf")
        try """
        pcm_type.visor { lib "\(plugin)" }
        pcm.visor_test_mic { type visor file "\(file)" }
        """.write(to: config, atomically: true, encoding: .utf8)
        setenv("ALSA_CONFIG_PATH", "/usr/share/alsa/alsa.conf:\(config.path)", 1)
    }

    func testCapturesExactlyTheRecordingInRealTimeAndSeesItsEnd() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let file = TestSupport.fixture("goforward.raw")
        try Self.useVirtualMicrophone(file: file, in: dir)
        let source = try Data(contentsOf: URL(fileURLWithPath: file)).withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        let microphone = try ALSAMicrophone(device: "visor_test_mic", sampleRateHertz: 16_000, channelCount: 1, periodMilliseconds: 20)
        XCTAssertEqual(microphone.periodFrames, 320)
        var block = AudioBlock(sampleRateHertz: 0, channelCount: 0, samples: [], captureTimeNanoseconds: 0)
        var captured: [Int16] = []
        var times: [UInt64] = []
        let start = Date()
        while try microphone.read(into: &block) {
            captured += block.samples
            times.append(block.captureTimeNanoseconds)
        }
        let elapsed = Date().timeIntervalSince(start)
        let mismatch = zip(captured, source).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        XCTAssertNil(mismatch, "every sample of the recording, in order (first difference at sample \(mismatch ?? -1) of \(source.count); captured \(captured.count))")
        XCTAssertGreaterThanOrEqual(captured.count, source.count)
        XCTAssertTrue(captured.dropFirst(source.count).allSatisfy { $0 == 0 }, "then silence to the end of the last period")
        XCTAssertLessThan(captured.count - source.count, 320)
        XCTAssertEqual(elapsed, Double(source.count) / 16_000, accuracy: 0.25, "paced in real time")
        XCTAssertEqual(times, times.sorted())
        let steps = zip(times, times.dropFirst()).map { Double($1 - $0) / 1e6 }
        XCTAssertEqual(steps.sorted()[steps.count / 2], 20, accuracy: 2, "20 ms blocks stamped 20 ms apart")
    }

    func testMissingMicrophoneIsAClearError() throws {
        XCTAssertThrowsError(try ALSAMicrophone(device: "no_such_pcm_here")) {
            XCTAssertTrue(($0 as? VisorError)?.message.hasPrefix("no microphone named no_such_pcm_here") ?? false, "\($0)")
        }
    }
}

final class MicrophoneResamplingTests: XCTestCase {
    func testADeviceAtAnotherRateIsResampledTo16kHz() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        // One second of a 440 Hz tone at 48 kHz, which the plugin serves only at 48 kHz.
        let tone = (0..<48_000).map { Int16((sin(2 * Double.pi * 440 * Double($0) / 48_000) * 10_000).rounded()) }
        let wav = dir.appendingPathComponent("tone48k.wav").path
        try VisorMedia.WAVFile.write(samples: tone, sampleRateHertz: 48_000, channelCount: 1, to: wav)
        try MicrophoneTests.useVirtualMicrophone(file: wav, in: dir)
        let microphone = try ALSAMicrophone(device: "visor_test_mic", sampleRateHertz: 16_000)
        XCTAssertEqual(microphone.deviceRateHertz, 48_000)
        var block = AudioBlock(sampleRateHertz: 0, channelCount: 0, samples: [], captureTimeNanoseconds: 0)
        var captured: [Int16] = []
        while try microphone.read(into: &block) {
            XCTAssertEqual(block.sampleRateHertz, 16_000)
            captured += block.samples
        }
        XCTAssertEqual(Double(captured.count), 16_000, accuracy: 16_000 * 0.03)
        // The tone survives: compare with a 440 Hz tone at 16 kHz.
        var error = 0.0
        for i in 0..<15_000 { error += abs(Double(captured[i]) - sin(2 * Double.pi * 440 * Double(i) / 16_000) * 10_000) }
        XCTAssertLessThan(error / 15_000, 150, "mean error against the ideal tone, of 10000 peak")
    }
}

final class MicrophoneFaultTests: XCTestCase {
    func testAMicrophoneThatVanishesIsAClearError() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let plugin = URL(fileURLWithPath: TestSupport.visorPath).deletingLastPathComponent().appendingPathComponent("libasound_module_pcm_visor.so").path
        let config = dir.appendingPathComponent("alsa.conf")
        try """
        pcm_type.visor { lib "\(plugin)" }
        pcm.visor_vanishing_mic { type visor file "\(TestSupport.fixture("goforward.raw"))" disconnect_after 0.5 }
        """.write(to: config, atomically: true, encoding: .utf8)
        setenv("ALSA_CONFIG_PATH", "/usr/share/alsa/alsa.conf:\(config.path)", 1)
        let microphone = try ALSAMicrophone(device: "visor_vanishing_mic")
        var block = AudioBlock(sampleRateHertz: 0, channelCount: 0, samples: [], captureTimeNanoseconds: 0)
        var blocks = 0
        XCTAssertThrowsError(try { while try microphone.read(into: &block) { blocks += 1 } }()) {
            XCTAssertTrue(($0 as? VisorError)?.message.hasPrefix("microphone visor_vanishing_mic stopped delivering audio") ?? false, "\($0)")
        }
        XCTAssertEqual(Double(blocks), 25, accuracy: 2, "half a second of 20 ms blocks before it vanished")
    }
}
