import Foundation
import VisorCore
import VisorMedia
import VisorPerception
import VisorSession
import VisorTestSupport
import XCTest
@testable import VisorRuntime

/// Head motion from the IMU: on a real Aria Gen 2 recording, whose head motion its own visual-
/// inertial tracking gives, and on sessions Visor writes with a known IMU track.
final class ImuMotionTests: XCTestCase {
    /// A session of `seconds` with a plain camera at 10 fps and an IMU at 200 Hz whose sample at
    /// time t (seconds) is `sample(t)`: (gyro rad/s, accel m/s^2).
    private func session(seconds: Double, imuUntil: Double = .infinity, _ sample: (Double) -> ((Double, Double, Double), (Double, Double, Double))) throws -> String {
        let path = try TestSupport.temporaryDirectory(self).appendingPathComponent("imu.mcap").path
        let writer = try SessionWriter(path: path)
        let start: UInt64 = 1_000_000_000
        var pixels = [UInt8](repeating: 0, count: 160 * 120 * 3)
        for i in pixels.indices { pixels[i] = UInt8((i / 3 % 160) * 255 / 160) }
        let frames = Int(seconds * 10), samples = Int(seconds * 200)
        var f = 0, s = 0
        while f < frames || s < samples {
            let frameTime = Double(f) / 10, sampleTime = Double(s) / 200
            if f < frames && (s >= samples || frameTime <= sampleTime) {
                try writer.writeFrame(Frame(widthPixels: 160, heightPixels: 120, pixels: pixels, captureTimeNanoseconds: start + UInt64(frameTime * 1e9)))
                f += 1
            } else {
                let (g, a) = sample(sampleTime)
                let message = ImuMessage(timestamp: FoxgloveTimestamp(nanoseconds: start + UInt64(sampleTime * 1e9)), frameID: "imu", sensor: "test",
                                         angularVelocity: Vector3(g.0, g.1, g.2), linearAcceleration: Vector3(a.0, a.1, a.2))
                if sampleTime < imuUntil {
                    try writer.write(topic: "/imu", schema: VisorSchema.imu.name, descriptor: VisorSchema.imu.fileDescriptorSet,
                                     logTime: start + UInt64(sampleTime * 1e9), payload: message.encoded())
                }
                s += 1
            }
        }
        try writer.finish()
        return path
    }

    func testStillTurningAndWalkingComeFromTheIMUWithTheirRates() throws {
        // 2 s still, 2 s turning at 60 degrees a second about a tilted axis, 4 s walking at 2 steps
        // a second (a 1.8 m/s^2 bounce, sharp at each heel strike, and a little sway), then still.
        var noise = SystemRandomNumberGenerator()
        func jitter() -> Double { Double.random(in: -0.05...0.05, using: &noise) }
        let turn = 60 * Double.pi / 180
        let path = try session(seconds: 10) { t in
            let gravity = (0.3 + jitter(), 9.7 + jitter(), 1.2 + jitter())
            switch t {
            case 2..<4: return ((turn * 0.6 + jitter(), turn * 0.8 + jitter(), jitter()), gravity)
            case 4..<8:
                let phase = (t - 4).truncatingRemainder(dividingBy: 0.5) / 0.5
                let bounce = phase < 0.15 ? 4.5 * sin(phase / 0.15 * .pi) : -0.6
                return ((0.08 * sin(2 * .pi * t) + jitter(), 0.05 * sin(.pi * t) + jitter(), jitter()),
                        (gravity.0, gravity.1 + bounce, gravity.2))
            default: return ((jitter(), jitter(), jitter()), gravity)
            }
        }
        let motions = try replayEvents(path: path, kinds: ["motion"])
        // Still again between the turn and the walk: a walk is two steps, half a second in.
        XCTAssertEqual(motions.map { $0["state"] as? String }, ["still", "turning", "still", "walking", "still"], "\(motions)")
        XCTAssertTrue(motions.allSatisfy { $0["source"] as? String == "imu" })
        let rate = try XCTUnwrap(motions.first { $0["state"] as? String == "turning" }?["rate_deg_s"] as? Double)
        XCTAssertEqual(rate, 60, accuracy: 6)
        let steps = try XCTUnwrap(motions.first { $0["state"] as? String == "walking" }?["steps_per_min"] as? Double)
        XCTAssertEqual(steps, 120, accuracy: 10)
        let turningAt = try XCTUnwrap(motions.first { $0["state"] as? String == "turning" }?["time_ns"] as? Int)
        XCTAssertEqual(Double(turningAt) / 1e9, 2.1, accuracy: 0.25, "reported within a frame of settling")
    }

    func testWithoutAnIMUOrWhenItStopsTheViewIsTheFallback() throws {
        let street = try replayEvents("street.mcap", kinds: ["motion"])
        XCTAssertFalse(street.isEmpty)
        XCTAssertTrue(street.allSatisfy { $0["source"] as? String == "optical_flow" }, "\(street)")
        // An IMU that stops after 2 s: the view takes over.
        let stops = try session(seconds: 5, imuUntil: 2) { _ in ((0, 0, 0), (0, 9.81, 0)) }
        let events = try replayEvents(path: stops, kinds: ["motion"])
        XCTAssertEqual(events.map { $0["source"] as? String }, ["imu", "optical_flow"], "\(events)")
        XCTAssertEqual(events.map { $0["state"] as? String }, ["still", "still"])
        let handedOver = try XCTUnwrap(events.last?["time_ns"] as? Int)
        XCTAssertEqual(Double(handedOver) / 1e9, 2.5 + 0.2, accuracy: 0.25, "half a second after the last sample, and three frames to settle")
    }

    /// The real thing: Aria Gen 2's head turns at about 2.7 rad/s in its sample recording, as its
    /// own visual-inertial odometry (the pose channel) measures. Visor's IMU reading must say
    /// turning, at that rate.
    func testAriaGen2HeadTurnMatchesItsOwnTracking() throws {
        let vrs = TestSupport.packageRoot.deletingLastPathComponent().appendingPathComponent("shared/media/aria/aria-gen2-unit-test.vrs").path
        guard FileManager.default.fileExists(atPath: vrs) else { throw XCTSkip("the Aria recordings are not at ../shared/media/aria") }
        let out = try TestSupport.temporaryDirectory(self).appendingPathComponent("gen2.mcap").path
        let run = try TestSupport.visor("import", vrs, "-o", out)
        XCTAssertEqual(run.status, 0, run.stderr)
        let motions = try replayEvents(path: out, kinds: ["motion"])
        let turning = try XCTUnwrap(motions.first { $0["state"] as? String == "turning" }, "\(motions)")
        XCTAssertEqual(turning["source"] as? String, "imu")
        let rate = try XCTUnwrap(turning["rate_deg_s"] as? Double)
        let reported = UInt64(try XCTUnwrap(turning["time_ns"] as? Int))
        // The tracking's rate of turn up to the time the turn was reported (the head slows over
        // the recording, from about 160 to 95 degrees a second): the angle between orientations
        // 40 poses (50 ms) apart, over their time; closer poses differ by less than the
        // quaternions' float precision.
        let reader = try MCAPReader(path: out)
        let start = reader.statistics.messageStartTime
        let pose = try XCTUnwrap(reader.channels.values.first { $0.topic == "/aria/pose" })
        let poses = try reader.messages(channelIDs: [pose.id]).map { (t: $0.logTime, q: try orientation($0.data[...])) }
            .filter { $0.t - start <= reported }
        var angles = 0.0, seconds = 0.0
        for i in stride(from: 40, to: poses.count, by: 40) {
            let a = poses[i - 40], b = poses[i]
            let dot = min(1, abs(zip(a.q, b.q).map(*).reduce(0, +)))
            angles += 2 * acos(dot)
            seconds += Double(b.t - a.t) / 1e9
        }
        XCTAssertGreaterThan(seconds, 0.04, "poses up to \(reported) ns")
        let tracked = angles / seconds * 180 / .pi
        XCTAssertGreaterThan(tracked, 90, "the wearer turns fast in this recording")
        XCTAssertEqual(rate, tracked, accuracy: tracked * 0.1, "IMU \(rate) deg/s, tracking \(tracked) deg/s")
    }

    /// The orientation quaternion of a `foxglove.PoseInFrame` message.
    private func orientation(_ data: ArraySlice<UInt8>) throws -> [Double] {
        func fields(_ bytes: ArraySlice<UInt8>) throws -> [Int: ArraySlice<UInt8>] {
            var out: [Int: ArraySlice<UInt8>] = [:]
            var r = ProtobufReader(bytes)
            while let (field, value) = try r.next() { if case .bytes(let b) = value { out[field] = b } }
            return out
        }
        let q = try XCTUnwrap(try fields(try XCTUnwrap(try fields(data)[3]))[2])
        var values = [0.0, 0.0, 0.0, 0.0]
        var r = ProtobufReader(q)
        while let (field, value) = try r.next() { if case .fixed64(let bits) = value { values[field - 1] = Double(bitPattern: bits) } }
        return values
    }
}
