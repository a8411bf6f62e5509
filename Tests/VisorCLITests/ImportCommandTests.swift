import Foundation
import VisorSession
import VisorTestSupport
import XCTest

final class ImportCommandTests: XCTestCase {
    func testImportPlacesVideoPhotosAndAudioOnOneTimeline() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        // A two-second video made from the real street photo.
        let video = dir.appendingPathComponent("clip.mp4").path
        let ffmpeg = try TestSupport.run("/usr/bin/env", ["ffmpeg", "-v", "error", "-loop", "1", "-i", TestSupport.fixture("scene-320.jpg"),
                                                          "-t", "2", "-r", "10", "-pix_fmt", "yuv420p", video])
        XCTAssertEqual(ffmpeg.status, 0, ffmpeg.stderr)
        let out = dir.appendingPathComponent("built.mcap").path
        let run = try TestSupport.visor("import", video, "-o", out, "--size", "320x240", "--fps", "10",
                                        "--photo", "\(TestSupport.fixture("qrcode.png"))@2:1",
                                        "--audio", "\(TestSupport.fixture("goforward.raw"))@0.5")
        XCTAssertEqual(run.status, 0, run.stderr)
        let source = try SessionSource(path: out)
        XCTAssertEqual(source.cameraMessageCount, 30, "2 s of video, then a 1 s photo, at 10 fps")
        // goforward is 2.79 s of speech from 0.5 s: audio runs to 3.29 s in 20 ms blocks.
        let audioCount = source.reader.statistics.channelMessageCounts[source.audioChannel!.id] ?? 0
        XCTAssertEqual(Double(audioCount), 3.29 / 0.02, accuracy: 2)

        var colourfulness: [Double] = []
        var speechEnergy = 0.0, silenceEnergy = 0.0
        var samples = source.samples()
        while let sample = try samples.next() {
            switch sample {
            case .frame(let frame):
                XCTAssertEqual(frame.widthPixels, 320)
                var sum = 0
                for i in stride(from: 0, to: frame.pixels.count, by: 3) {
                    sum += abs(Int(frame.pixels[i]) - Int(frame.pixels[i + 1])) + abs(Int(frame.pixels[i + 1]) - Int(frame.pixels[i + 2]))
                }
                colourfulness.append(Double(sum) / Double(frame.pixels.count / 3))
            case .audio(let block):
                let energy = block.samples.reduce(0.0) { $0 + Double($1) * Double($1) }
                if block.captureTimeNanoseconds < 400_000_000 { silenceEnergy += energy } else { speechEnergy += energy }
            }
        }
        // The street is in colour; the QR code photo (from 2 s on) is black, white and grey.
        XCTAssertTrue(colourfulness[0..<20].allSatisfy { $0 > 12 }, "\(colourfulness)")
        XCTAssertTrue(colourfulness[20..<30].allSatisfy { $0 < 6 }, "\(colourfulness)")
        XCTAssertEqual(silenceEnergy, 0, "no noise floor was asked for")
        XCTAssertGreaterThan(speechEnergy, 1e9)
    }

    func testImportIsReproducible() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        var files: [Data] = []
        for n in 0..<2 {
            let out = dir.appendingPathComponent("photo\(n).mcap").path
            let run = try TestSupport.visor("import", "--photo", "\(TestSupport.fixture("scene-320.jpg"))@0:1", "--fps", "5",
                                            "--size", "160x120", "--audio", "\(TestSupport.fixture("goforward.raw"))@0", "--noise-floor", "-50", "-o", out)
            XCTAssertEqual(run.status, 0, run.stderr)
            files.append(try Data(contentsOf: URL(fileURLWithPath: out)))
        }
        XCTAssertEqual(files[0], files[1])
    }

    func testImportOfAMissingOrUnreadableFileWritesNothing() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let out = dir.appendingPathComponent("never.mcap").path
        var run = try TestSupport.visor("import", dir.appendingPathComponent("missing.mp4").path, "-o", out)
        XCTAssertEqual(run.status, 1)
        XCTAssertEqual(run.stderrLines.count, 1, run.stderr)
        XCTAssertTrue(run.stderr.contains("no such file"))
        run = try TestSupport.visor("import", TestSupport.fixture("fixtures.json"), "-o", out)
        XCTAssertEqual(run.status, 1)
        XCTAssertEqual(run.stderrLines.count, 1, run.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out + ".partial"))
    }
}
