import Foundation
import VisorCore
import VisorMedia
import VisorPerception
import VisorSession
import VisorTestSupport
import XCTest

/// Faces through `visor replay`: `face` events, and bystanders blurred out of the annotated
/// output so that Google's runtime, running the same detectors, finds no face left.
final class RedactionTests: XCTestCase {
    private func facesSession(_ dir: URL) throws -> String {
        let path = dir.appendingPathComponent("faces.mcap").path
        let run = try TestSupport.visor("import", "--photo", TestSupport.fixture("astronaut.jpg") + "@0:1.5", "-o", path,
                                        "--size", "640x480", "--fps", "4")
        XCTAssertEqual(run.status, 0, run.stderr)
        return path
    }

    private func frames(_ path: String) throws -> [Frame] {
        var frames: [Frame] = []
        var samples = try SessionSource(path: path).samples()
        while let sample = try samples.next() { if case .frame(let f) = sample { frames.append(f) } }
        return frames
    }

    /// Faces Google's runtime finds in a frame, with either model, on Visor's letterboxed input.
    private func referenceFaces(_ frame: Frame, dir: URL) throws -> Int {
        var total = 0
        for model in FaceDetector.Model.allCases {
            let detector = try FaceDetector(model: model)
            detector.prepare(frame)
            let input = dir.appendingPathComponent("input.f32")
            try Data(buffer: UnsafeBufferPointer(detector.interpreter.input())).write(to: input)
            let run = try TestSupport.python("blazeface_reference.py", [try XCTUnwrap(FaceDetector.modelPath(model)), input.path,
                                                                        model == .shortRange ? "128" : "192", dir.appendingPathComponent("out").path])
            XCTAssertEqual(run.status, 0, run.stderr)
            total += (try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [Any])?.count ?? -100
        }
        return total
    }

    func testFaceEventsAndNoFaceLeftInTheRedactedOutput() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let session = try facesSession(dir)
        let plain = dir.appendingPathComponent("plain.mcap").path, redacted = dir.appendingPathComponent("redacted.mcap").path
        let transcript = dir.appendingPathComponent("t.jsonl").path
        var run = try TestSupport.visor("replay", session, "--headless", "--deterministic", "--stages", "faces", "--output", plain, "--transcript", transcript)
        XCTAssertEqual(run.status, 0, run.stderr)
        let faces = try TestSupport.transcriptEvents(transcript).filter { $0["kind"] as? String == "face" }
        XCTAssertEqual(faces.count, 1, "one person, reported once: \(faces)")
        XCTAssertEqual(faces.first?["count"] as? Int, 1)
        XCTAssertEqual((faces.first?["keypoints"] as? [Int])?.count, 12)
        // The annotated output carries the face event on /visor/events.
        let inspect = try TestSupport.visor("inspect", plain)
        XCTAssertTrue(inspect.stdout.contains("/visor/events"), inspect.stdout)

        run = try TestSupport.visor("replay", session, "--headless", "--stages", "none", "--output", redacted, "--redact", "faces",
                                    "--snapshot-dir", dir.appendingPathComponent("snaps").path, "--snapshot-every", "3")
        XCTAssertEqual(run.status, 0, run.stderr)
        let before = try frames(plain), after = try frames(redacted)
        XCTAssertEqual(after.count, before.count)
        XCTAssertGreaterThan(try referenceFaces(before[0], dir: dir), 0, "the unredacted frame has a face the reference finds")
        for (n, frame) in after.enumerated() {
            XCTAssertEqual(try referenceFaces(frame, dir: dir), 0, "redacted frame \(n) still has a face")
        }
        // The snapshot of the view is redacted too.
        let snapshot = try XCTUnwrap(FileManager.default.contents(atPath: dir.appendingPathComponent("snaps/view-000000.png").path))
        var pixels: [UInt8] = []
        let size = try snapshot.withUnsafeBytes { try PNGCodec.decode($0, into: &pixels) }
        XCTAssertEqual(try referenceFaces(Frame(widthPixels: size.width, heightPixels: size.height, pixels: pixels, captureTimeNanoseconds: 0), dir: dir), 0)
    }

    /// Two men on a basketball court (Fixtures/eval), one facing the camera, one turned away
    /// with only his cheek's edge showing: the face a person sees facing the camera, as the
    /// evaluation's truth has it, is a flat mosaic in the redacted output's first frame. The
    /// man turned away is not blurred: BlazeFace does not find a face seen from behind (the
    /// README says so).
    func testTheFacesOfAPhotoOfSeveralPeopleAreBlurred() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let session = dir.appendingPathComponent("group.mcap").path, redacted = dir.appendingPathComponent("redacted.mcap").path
        var run = try TestSupport.visor("import", "--photo", TestSupport.fixture("eval/basketball-two-men.jpg") + "@0:1", "-o", session,
                                        "--size", "640x480", "--fps", "4")
        XCTAssertEqual(run.status, 0, run.stderr)
        run = try TestSupport.visor("replay", session, "--headless", "--stages", "none", "--output", redacted, "--redact", "faces")
        XCTAssertEqual(run.status, 0, run.stderr)
        let truth = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: TestSupport.fixture("eval/truth.json")))) as? [String: Any])
        let photo = try XCTUnwrap((truth["photos"] as? [[String: Any]])?.first { $0["file"] as? String == "basketball-two-men.jpg" })
        let faces = try XCTUnwrap(photo["faces"] as? [[String: Any]])
        XCTAssertEqual(faces.count, 2)
        let boxes = faces.filter { $0["pose"] as? String == "frontal" }.compactMap { $0["box"] as? [Int] }
        XCTAssertEqual(boxes.count, 1)
        let before = try frames(session)[0], after = try frames(redacted)[0]
        // Detail: the mean step between neighbouring pixels in the middle half of the box. A
        // face has eyes, brows and a mouth; a two-by-two mosaic has none but its cells' edges.
        func detail(_ frame: Frame, _ box: [Int]) -> Double {
            var total = 0.0, count = 0
            for y in (box[1] + box[3] / 4)..<(box[1] + box[3] * 3 / 4) {
                for x in (box[0] + box[2] / 4)..<min(frame.widthPixels - 1, box[0] + box[2] * 3 / 4) {
                    let i = (y * frame.widthPixels + x) * 3
                    total += abs(Double(frame.pixels[i + 1]) - Double(frame.pixels[i + 4])); count += 1
                }
            }
            return total / Double(max(1, count))
        }
        for box in boxes {
            XCTAssertGreaterThan(detail(before, box), 3, "the face at \(box) has detail before")
            XCTAssertLessThan(detail(after, box), detail(before, box) / 3, "the face at \(box) is blurred: \(detail(before, box)) before")
        }
    }

    func testRedactNeedsSomethingToWrite() throws {
        let run = try TestSupport.visor("replay", TestSupport.fixture("sign.mcap"), "--headless", "--redact", "faces")
        XCTAssertEqual(run.status, 64)
        XCTAssertEqual(run.stderrLines.filter { $0.contains("--redact needs --output or --snapshot-dir") }.count, 1, run.stderr)
    }
}
