import Foundation
import VisorCore
import VisorMedia
import VisorSession
import VisorTestSupport
import XCTest
@testable import VisorRuntime

/// Gaze-directed answers: with eye tracking, "read this" reads the text the wearer looks at, and
/// "what am I looking at" names it first. Sessions Visor writes: a view with two signs, a voice
/// asking, and a gaze channel held on one sign.
final class GazeTests: XCTestCase {
    /// 6 s of a 640x480 view with EXIT on the left and COFFEE on the right (DejaVu Sans Bold,
    /// drawn by FFmpeg), `words` said at 2.5 s in flite's slt voice, and, when given, the gaze
    /// held at `gaze` (image pixels) at 30 Hz.
    /// `turned`: the frames are stored turned 90 degrees anticlockwise (as Aria Gen 1's RGB camera
    /// stores them) with `visor.camera` saying to turn them back; `gaze` is then in the stored image.
    private func session(words: String, gaze: (Double, Double)?, turned: Bool = false, name: String) throws -> String {
        let dir = try TestSupport.temporaryDirectory(self)
        let png = dir.appendingPathComponent("signs.png").path
        let font = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
        let draw = try TestSupport.run("/usr/bin/env", ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=0xd8d8d0:s=640x480", "-vf",
            "drawtext=fontfile=\(font):text=EXIT:x=50:y=200:fontsize=72:fontcolor=0x202020,drawtext=fontfile=\(font):text=COFFEE:x=340:y=200:fontsize=72:fontcolor=0x202020",
            "-frames:v", "1", png])
        XCTAssertEqual(draw.status, 0, draw.stderr)
        let wav = dir.appendingPathComponent("said.wav").path, raw = dir.appendingPathComponent("said.raw").path
        XCTAssertEqual(try TestSupport.run("/usr/bin/env", ["flite", "-voice", "slt", "-t", words, "-o", wav]).status, 0)
        XCTAssertEqual(try TestSupport.run("/usr/bin/env", ["sox", wav, "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer", raw]).status, 0)
        let speech = try Data(contentsOf: URL(fileURLWithPath: raw)).withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        var pixels: [UInt8] = []
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: png)))
        let size = try bytes.withUnsafeBytes { try PNGCodec.decode($0, into: &pixels) }
        XCTAssertEqual([size.0, size.1], [640, 480])
        var (width, height) = (640, 480)
        if turned {
            var stored: [UInt8] = []
            (width, height) = PixelConverter.rotateRGB(pixels, widthPixels: 640, heightPixels: 480, clockwiseDegrees: 270, into: &stored)
            pixels = stored
        }

        let path = dir.appendingPathComponent("\(name).mcap").path
        let writer = try SessionWriter(path: path)
        try writer.addMetadata(name: "visor.camera", ["topic": SessionWriter.cameraTopic, "frame_id": "camera", "rotation_clockwise_deg": turned ? "90" : "0"])
        let start: UInt64 = 1_000_000_000
        let speechStart = 2.5 * 16000
        // In time order: a frame every 100 ms, audio every 20 ms, gaze every 33 ms.
        var events: [(t: UInt64, kind: Int, index: Int)] = []
        for i in 0..<60 { events.append((UInt64(i) * 100_000_000, 0, i)) }
        for i in 0..<300 { events.append((UInt64(i) * 20_000_000, 1, i)) }
        if gaze != nil { for i in 0..<180 { events.append((UInt64(i) * 33_333_333, 2, i)) } }
        for e in events.sorted(by: { ($0.t, $0.kind) < ($1.t, $1.kind) }) {
            switch e.kind {
            case 0:
                try writer.writeFrame(Frame(widthPixels: width, heightPixels: height, pixels: pixels, captureTimeNanoseconds: start + e.t))
            case 1:
                var block = [Int16](repeating: 0, count: 320)
                for j in 0..<320 {
                    let k = e.index * 320 + j - Int(speechStart)
                    // A quiet floor under the voice, as a real microphone has.
                    block[j] = (k >= 0 && k < speech.count ? speech[k] : 0) &+ Int16.random(in: -24...24)
                }
                try writer.writeAudio(AudioBlock(sampleRateHertz: 16000, channelCount: 1, samples: block, captureTimeNanoseconds: start + e.t))
            default:
                let message = GazeMessage(timestamp: FoxgloveTimestamp(nanoseconds: start + e.t), frameID: "cpf", yaw: 0, pitch: 0, depth: 1,
                                          imageFrameID: "camera", imageX: gaze!.0, imageY: gaze!.1, confidence: 1)
                try writer.write(topic: "/gaze", schema: VisorSchema.gaze.name, descriptor: VisorSchema.gaze.fileDescriptorSet,
                                 logTime: start + e.t, payload: message.encoded())
            }
        }
        try writer.finish()
        return path
    }

    private func answers(_ path: String) throws -> [String] {
        let memory = try TestSupport.temporaryDirectory(self).appendingPathComponent("memory.sqlite").path
        // Text is the only stage these answers need (faces and codes would only slow the run).
        let run = try TestSupport.visor("replay", path, "--headless", "--no-model", "--stages", "text,speech,assistant", "--memory", memory, "--transcript", path + ".jsonl")
        XCTAssertEqual(run.status, 0, run.stderr)
        return try TestSupport.transcriptEvents(path + ".jsonl")
            .filter { $0["kind"] as? String == "overlay" && $0["action"] as? String == "show" && $0["source"] as? String == "template" }
            .compactMap { $0["text"] as? String }
    }

    func testReadThisReadsTheSignTheWearerLooksAt() throws {
        let both = try answers(try session(words: "hey glasses. read this.", gaze: nil, name: "nogaze"))
        XCTAssertEqual(both.count, 1, "\(both)")
        XCTAssertTrue(both.first?.contains("EXIT") == true && both.first?.contains("COFFEE") == true, "without gaze, both signs: \(both)")
        let left = try answers(try session(words: "hey glasses. read this.", gaze: (135, 230), name: "left"))
        XCTAssertEqual(left, ["EXIT"])
        let right = try answers(try session(words: "hey glasses. read this.", gaze: (500, 230), name: "right"))
        XCTAssertEqual(right, ["COFFEE"])
    }

    /// A camera stored turned (Aria Gen 1's) is read upright in a replay, and the gaze point,
    /// given in the stored image, turns with it: COFFEE, at (500, 230) upright, is stored at
    /// (230, 639 - 500).
    func testATurnedCameraIsReadUprightAndItsGazeTurnsWithIt() throws {
        let path = try session(words: "hey glasses. read this.", gaze: (230, 139), turned: true, name: "turned")
        XCTAssertEqual(try answers(path), ["COFFEE"])
    }

    func testWhatAmILookingAtNamesTheGazedSignFirst() throws {
        let right = try answers(try session(words: "hey glasses. what am I looking at?", gaze: (500, 230), name: "look"))
        XCTAssertEqual(right.count, 1, "\(right)")
        XCTAssertTrue(right.first?.hasPrefix("You are looking at a sign that reads \"COFFEE\"") == true, "\(right)")
    }
}
