import Foundation
import VisorCore
import XCTest
@testable import VisorRuntime

final class StageRegistryTests: XCTestCase {
    func testEveryRegisteredFrameStageBuildsUnderItsOwnName() throws {
        XCTAssertEqual(StageRegistry.names, ["codes", "text", "faces", "speech", "assistant"])
        XCTAssertEqual(Set(StageRegistry.names).count, StageRegistry.all.count, "names are unique")
        for registration in StageRegistry.all {
            let stage = try registration.makeFrameStage()
            XCTAssertEqual(stage == nil, registration.input != .frames, registration.name)
            if let stage { XCTAssertEqual(stage.name, registration.name) }
            XCTAssertFalse(registration.latencyKeys.isEmpty, "\(registration.name) has a modelled latency")
            XCTAssertFalse(registration.summary.isEmpty || registration.draws.isEmpty)
        }
    }

    func testStageListsParseInTheRegistrysOrderAndRefuseUnknownNames() throws {
        XCTAssertEqual(try StageRegistry.parse("faces, codes").map(\.name), ["codes", "faces"])
        XCTAssertEqual(try StageRegistry.parse("none").map(\.name), [])
        for (list, message) in [("facs", "unknown stage \"facs\""), ("", "names no stage"), ("text,text", "names text twice")] {
            XCTAssertThrowsError(try StageRegistry.parse(list), list) {
                XCTAssertTrue(($0 as? VisorError)?.message.contains(message) ?? false, "\($0)")
            }
        }
    }

    func testProfilesGiveEveryStagesLatencyAndNoOther() throws {
        for profile in try DeviceProfiles.shipped() { XCTAssertNil(StageRegistry.latencyProblem(profile), profile.name) }
        var profile = try DeviceProfiles.load("laptop")
        profile.modelledLatencyMilliseconds["ocr"] = 50
        XCTAssertEqual(StageRegistry.latencyProblem(profile), "unknown key modelled_latency_ms.ocr (keys: codes, text, faces, speech, speech_whisper, assistant, language_model, speech_synthesis)")
        profile.modelledLatencyMilliseconds["ocr"] = nil
        profile.modelledLatencyMilliseconds["text"] = nil
        XCTAssertEqual(StageRegistry.latencyProblem(profile), "missing field modelled_latency_ms.text (every stage's modelled latency is needed)")
    }
}

final class DeviceClockTests: XCTestCase {
    /// The first sample sets the origin; an audio block captured just before it (its first sample
    /// came before the camera's first frame arrived) is at 0, not 584 years on (it overflowed the
    /// speech stage once, on a busy machine).
    func testASampleCapturedBeforeTheOriginIsAtZero() {
        let origin = Locked<UInt64?>(nil)
        XCTAssertEqual(DeviceSamples.sessionTime(5_000_000_000, origin: origin), 0)
        XCTAssertEqual(DeviceSamples.sessionTime(5_250_000_000, origin: origin), 250_000_000)
        XCTAssertEqual(DeviceSamples.sessionTime(4_980_000_000, origin: origin), 0)
        XCTAssertEqual(origin.value, 5_000_000_000)
    }
}
