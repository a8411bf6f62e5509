import Foundation
import VisorCore
import VisorMedia
import VisorPerception
import VisorSession
import VisorTestSupport
import XCTest
@testable import VisorNeural

/// Visor's TFLite interpreter and BlazeFace against Google's own runtime (ai-edge-litert), on the
/// same input tensors: raw outputs within 1e-3, boxes at IoU 0.9 or more.
final class FaceDetectionTests: XCTestCase {
    static func astronaut() throws -> Frame {
        let jpeg = try XCTUnwrap(FileManager.default.contents(atPath: TestSupport.fixture("astronaut.jpg")))
        var pixels: [UInt8] = []
        let size = try jpeg.withUnsafeBytes { try JPEGCodec().decode($0, into: &pixels) }
        return Frame(widthPixels: size.width, heightPixels: size.height, pixels: pixels, captureTimeNanoseconds: 0)
    }

    static func streetFrames() throws -> [Frame] {
        var frames: [Frame] = []
        var samples = try SessionSource(path: TestSupport.fixture("street.mcap")).samples()
        while let sample = try samples.next() { if case .frame(let f) = sample { frames.append(f) } }
        return [frames[0], frames[30], frames[59]]
    }

    private func reference(_ detector: FaceDetector, frame: Frame) throws -> (outputs: [[Float]], boxes: [[Double]], scores: [Double]) {
        detector.prepare(frame)
        let dir = try TestSupport.temporaryDirectory(self)
        let input = dir.appendingPathComponent("input.f32")
        try Data(buffer: UnsafeBufferPointer(detector.interpreter.input())).write(to: input)
        let path = try XCTUnwrap(FaceDetector.modelPath(detector.model))
        let size = detector.model == .shortRange ? 128 : 192
        let run = try TestSupport.python("blazeface_reference.py", [path, input.path, String(size), dir.appendingPathComponent("out").path])
        XCTAssertEqual(run.status, 0, run.stderr)
        let outputs = try (0..<2).map { n in
            try Data(contentsOf: dir.appendingPathComponent("out.\(n).f32")).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        let detections = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
        // From the input's unit square to frame pixels, as Visor maps its own.
        let scale = Double(size) / Double(max(frame.widthPixels, frame.heightPixels))
        let padX = (Double(size) - Double(frame.widthPixels) * scale) / 2, padY = (Double(size) - Double(frame.heightPixels) * scale) / 2
        let boxes = detections.map { d -> [Double] in
            let b = d["box"] as! [Double]
            return [(b[0] * Double(size) - padX) / scale, (b[1] * Double(size) - padY) / scale, b[2] * Double(size) / scale, b[3] * Double(size) / scale]
        }
        return (outputs, boxes, detections.map { $0["score"] as! Double })
    }

    func testOutputsAndBoxesMatchTheReferenceRuntime() throws {
        let frames = try [Self.astronaut()] + Self.streetFrames()
        // Every model with every family of kernels this CPU runs.
        for (model, family) in FaceDetector.Model.allCases.flatMap({ m in KernelFamily.supported.map { (m, $0) } }) {
            let detector = try FaceDetector(model: model, kernels: family)
            for (n, frame) in frames.enumerated() {
                let ref = try reference(detector, frame: frame)
                detector.interpreter.invoke()
                for k in 0..<2 {
                    let ours = Array(detector.interpreter.output(k))
                    XCTAssertEqual(ours.count, ref.outputs[k].count)
                    let worst = zip(ours, ref.outputs[k]).map { abs($0 - $1) }.max() ?? .infinity
                    XCTAssertLessThan(worst, 1e-3, "\(model) \(family) frame \(n) output \(k): largest difference \(worst)")
                }
                let faces = detector.decode()
                XCTAssertEqual(faces.count, ref.boxes.count, "\(model) frame \(n)")
                for (face, box) in zip(faces, ref.boxes) {
                    XCTAssertGreaterThanOrEqual(FaceDetection.iou(face.box, box), 0.9, "\(model) frame \(n): \(face.box) against \(box)")
                }
                if n == 0 { XCTAssertEqual(faces.count, 1, "\(model) \(family): the astronaut's face") }
            }
        }
    }

    func testFindsTheAstronautsFaceWithItsKeypoints() throws {
        let faces = try FaceDetector(model: .shortRange).detect(Self.astronaut())
        let face = try XCTUnwrap(faces.first)
        XCTAssertEqual(faces.count, 1)
        XCTAssertGreaterThan(face.score, 0.8)
        // Eileen Collins' face in skimage's 512x512 astronaut: about x 170-290, y 60-210.
        XCTAssertTrue(face.box[0] > 140 && face.box[0] + face.box[2] < 320 && face.box[1] > 30 && face.box[1] + face.box[3] < 240, "\(face.box)")
        let (rightEye, leftEye) = (face.keypoints[0], face.keypoints[1])
        XCTAssertLessThan(rightEye.x, leftEye.x, "the subject's right eye is on the image's left")
        XCTAssertTrue(face.keypoints.allSatisfy { $0.x >= face.box[0] - 40 && $0.x <= face.box[0] + face.box[2] + 40 })
    }

    func testAModelWithAnOperatorVisorCannotRunIsNamed() throws {
        let path = try XCTUnwrap(FaceDetector.modelPath(.shortRange))
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        // Turn the RELU operator code into FULLY_CONNECTED (9).
        let fb = FlatBuffer(bytes: bytes, name: "model")
        for code in try fb.tables(try fb.root(), field: 1) {
            if let at = try fb.field(code, 3), try fb.int(code, field: 3, size: 4, default: 0) == 19 { bytes[at] = 9 }
            if let at = try fb.field(code, 0), try fb.int(code, field: 0, size: 1, default: 0) == 19 { bytes[at] = 9 }
        }
        XCTAssertThrowsError(try TFLiteModel(bytes: bytes, name: "patched.tflite")) { error in
            XCTAssertEqual((error as? VisorError)?.message, "patched.tflite uses the operator FULLY_CONNECTED (9), which Visor cannot run")
        }
        XCTAssertThrowsError(try TFLiteModel(bytes: Array(bytes.prefix(1000)), name: "cut.tflite")) { error in
            XCTAssertTrue((error as? VisorError)?.message.hasPrefix("cut.tflite is damaged") ?? false, "\(error)")
        }
        XCTAssertThrowsError(try TFLiteModel(bytes: Array("not a model at all".utf8), name: "text.tflite"))
        // An operator whose code index is negative (found by tools/fuzz: it crashed the reader).
        var negative = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let model = FlatBuffer(bytes: negative, name: "model")
        let graph = try XCTUnwrap(try model.tables(try model.root(), field: 2).first)
        let at = try XCTUnwrap(try model.tables(graph, field: 3).lazy.compactMap { try? model.field($0, 0) }.first)
        for k in 0..<4 { negative[at + k] = 0xFF }
        XCTAssertThrowsError(try TFLiteModel(bytes: negative, name: "negative.tflite")) { error in
            XCTAssertEqual((error as? VisorError)?.message, "negative.tflite: an operator names code -1 of 9")
        }
    }

    func testFloat16Conversion() {
        XCTAssertEqual(TFLiteInterpreter.half(0x3C00), 1)
        XCTAssertEqual(TFLiteInterpreter.half(0xC000), -2)
        XCTAssertEqual(TFLiteInterpreter.half(0x0001), powf(2, -24))
        XCTAssertEqual(TFLiteInterpreter.half(0x7BFF), 65504)
    }
}
