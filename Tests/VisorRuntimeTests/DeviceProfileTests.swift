import Foundation
import VisorCore
import VisorTestSupport
import XCTest
@testable import VisorRuntime

final class DeviceProfileTests: XCTestCase {
    func testShippedProfilesCarryTheirPublishedFigures() throws {
        let all = try DeviceProfiles.shipped()
        XCTAssertEqual(all.map(\.name), ["aria-gen1", "aria-gen2", "brilliant-frame", "brilliant-halo", "even-g1", "laptop", "meta-ray-ban-display"])
        for p in all {
            XCTAssertNil(p.validationProblem(), p.name)
            XCTAssertFalse(p.sources.isEmpty, "\(p.name) says where its figures come from")
            for stage in ["codes", "text", "faces", "speech"] { XCTAssertNotNil(p.modelledLatencyMilliseconds[stage], "\(p.name): \(stage)") }
        }
        let meta = try DeviceProfiles.load("meta-ray-ban-display")
        XCTAssertEqual([meta.display.widthPixels, meta.display.heightPixels], [600, 600])
        XCTAssertEqual(meta.display.eye, .right)
        XCTAssertEqual(meta.display.fieldOfViewDegrees, 20)
        let frame = try DeviceProfiles.load("brilliant-frame")
        XCTAssertEqual([frame.display.widthPixels, frame.display.heightPixels], [640, 400])
        XCTAssertEqual(frame.display.colour, .colours16)
        XCTAssertEqual(frame.display.fieldOfViewDegrees, 20)
        let g1 = try DeviceProfiles.load("even-g1")
        XCTAssertEqual([g1.display.widthPixels, g1.display.heightPixels], [576, 136])
        XCTAssertEqual(g1.display.textArea.width, 488)
        XCTAssertEqual(g1.display.textLines, 5)
        XCTAssertNil(g1.camera, "the G1 has no camera")
        XCTAssertEqual(g1.display.tint, "#3CFF6E")
        let halo = try DeviceProfiles.load("brilliant-halo")
        XCTAssertEqual(halo.camera?.widthPixels, 640)
        XCTAssertEqual(halo.camera?.heightPixels, 480)
        // The sensors and controls each has.
        for p in all { XCTAssertNotNil(p.inputs, "\(p.name) says which controls it has") }
        let gen1 = try DeviceProfiles.load("aria-gen1"), gen2 = try DeviceProfiles.load("aria-gen2")
        XCTAssertEqual(gen1.imu?.rateHertz, 1000)
        XCTAssertEqual(gen2.imu?.rateHertz, 800)
        XCTAssertEqual(gen1.microphone.sampleRateHertz, 48000)
        XCTAssertEqual([gen2.camera?.widthPixels, gen2.camera?.heightPixels], [2016, 1512])
        XCTAssertEqual(gen1.inputs, [.capture])
        XCTAssertEqual(meta.inputs?.count, InputKind.allCases.count)
        XCTAssertEqual(g1.inputs, [.tap, .doubleTap, .longPress])
        XCTAssertNil(try DeviceProfiles.load("laptop").imu, "a laptop has no IMU")
    }

    private func loadEdited(_ edit: (inout [String: Any]) -> Void) throws -> DeviceProfile {
        let data = try JSONEncoder().encode(try DeviceProfiles.load("laptop"))
        var json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        edit(&json)
        return try DeviceProfile.load(from: try JSONSerialization.data(withJSONObject: json), source: "edited.json")
    }

    private func assertError(_ expected: String, file: StaticString = #filePath, line: UInt = #line, _ edit: (inout [String: Any]) -> Void) {
        XCTAssertThrowsError(try loadEdited(edit), file: file, line: line) {
            XCTAssertEqual(($0 as? VisorError)?.message, "profile edited.json: \(expected)", file: file, line: line)
        }
    }

    func testBadProfilesNameTheField() throws {
        XCTAssertNoThrow(try loadEdited { _ in })
        assertError("missing field frame_budget_ms") { $0["frame_budget_ms"] = nil }
        assertError("missing field display.text_area.width") { json in
            var display = json["display"] as! [String: Any]
            var area = display["text_area"] as! [String: Any]
            area["width"] = nil
            display["text_area"] = area
            json["display"] = display
        }
        assertError("field display.width_px should be a whole number") { json in
            var display = json["display"] as! [String: Any]
            display["width_px"] = "wide"
            json["display"] = display
        }
        assertError("display.text_area must lie inside the 640x480 display") { json in
            var display = json["display"] as! [String: Any]
            display["text_area"] = ["x": 600, "y": 0, "width": 100, "height": 100]
            json["display"] = display
        }
        assertError("modelled_latency_ms.codes must be between 0 and 60000") { $0["modelled_latency_ms"] = ["codes": -5] }
        assertError("display.tint must be a colour written #RRGGBB") { json in
            var display = json["display"] as! [String: Any]
            display["tint"] = "green"
            json["display"] = display
        }
        XCTAssertThrowsError(try loadEdited { json in
            var display = json["display"] as! [String: Any]
            display["colour"] = "sepia"
            json["display"] = display
        }) { XCTAssertTrue(($0 as? VisorError)?.message.hasPrefix("profile edited.json: field display.colour has a value that is not allowed") ?? false, "\($0)") }
        // A misspelt field is an error, as in the wearer's profile, not silently ignored.
        assertError("unknown field display.widht_px (a misspelt name is not ignored)") { json in
            var display = json["display"] as! [String: Any]
            display["widht_px"] = 640
            json["display"] = display
        }
        assertError("unknown field frame_budget (a misspelt name is not ignored)") { $0["frame_budget"] = 5 }
        assertError("field display.width_px should be a whole number, not 640.5") { json in
            var display = json["display"] as! [String: Any]
            display["width_px"] = 640.5
            json["display"] = display
        }
        XCTAssertThrowsError(try loadEdited { $0["inputs"] = ["tap", "pinch"] }) {
            XCTAssertTrue(($0 as? VisorError)?.message.hasPrefix("profile edited.json: field inputs[1] has a value that is not allowed") ?? false, "\($0)")
        }
        assertError("imu.rate_hz must be between 0 and 10000") { $0["imu"] = ["rate_hz": -1] }
        XCTAssertThrowsError(try DeviceProfile.load(from: Data("{not json".utf8), source: "x.json")) {
            XCTAssertEqual(($0 as? VisorError)?.message, "profile x.json: not valid JSON")
        }
        XCTAssertThrowsError(try DeviceProfiles.load("google-glass")) {
            XCTAssertTrue(($0 as? VisorError)?.message.contains("profiles: aria-gen1, aria-gen2, brilliant-frame, brilliant-halo, even-g1, laptop, meta-ray-ban-display") ?? false)
        }
    }
}
