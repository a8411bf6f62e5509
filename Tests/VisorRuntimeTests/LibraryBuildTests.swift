import VisorAssistant
import VisorCore
import VisorPerception
import XCTest

/// tools/setup installs llama.cpp's and whisper.cpp's CPU code twice, for x86-64-v2 and for
/// x86-64-v3; the dynamic loader must take the fast one where the CPU has it (PortabilityTests
/// runs the other on an emulated CPU without AVX).
final class LibraryBuildTests: XCTestCase {
    func testTheLoaderTakesTheBuildForThisCPUsLevel() {
        #if arch(x86_64)
        for (library, info) in [("llama.cpp", LanguageModel.systemInfo), ("whisper.cpp", WhisperRecognizer.systemInfo)] {
            XCTAssertTrue(info.contains("SSSE3 = 1"), "\(library): \(info)")
            XCTAssertEqual(info.contains("AVX2 = 1"), CPU.runsX8664v3, "\(library): \(info)")
            XCTAssertEqual(info.contains("FMA = 1"), CPU.runsX8664v3, "\(library): \(info)")
        }
        #endif
    }
}
