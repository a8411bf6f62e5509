import Foundation
import VisorCore
import VisorDevices
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
