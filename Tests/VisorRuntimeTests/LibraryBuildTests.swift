import Foundation
import VisorAssistant
import VisorPerception
import XCTest

/// tools/setup installs llama.cpp's and whisper.cpp's CPU code twice, for x86-64-v2 and for
/// x86-64-v3; the dynamic loader must take the fast one where the CPU has it (PortabilityTests
/// runs the other on an emulated CPU without AVX).
final class LibraryBuildTests: XCTestCase {
    func testTheLoaderTakesTheBuildForThisCPUsLevel() throws {
        #if arch(x86_64)
        // x86-64-v3, from the flags Linux reports for the CPU (LZCNT is "abm" in Linux's names).
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let line = try XCTUnwrap(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") })
        let flags = Set(line.split(separator: ":")[1].split(separator: " ").map(String.init))
        let v3 = ["avx", "avx2", "fma", "f16c", "bmi1", "bmi2", "abm", "movbe"].allSatisfy(flags.contains)
        for (library, info) in [("llama.cpp", LanguageModel.systemInfo), ("whisper.cpp", WhisperRecognizer.systemInfo)] {
            XCTAssertTrue(info.contains("SSSE3 = 1"), "\(library): \(info)")
            XCTAssertEqual(info.contains("AVX2 = 1"), v3, "\(library): \(info)")
            XCTAssertEqual(info.contains("FMA = 1"), v3, "\(library): \(info)")
        }
        #endif
    }
}
