import Foundation
import VisorCore
import VisorSession
import VisorTestSupport
import XCTest

/// The wearer's data: what Visor writes is readable by its owner only, nothing opens a network
/// socket, and names inside a session never become file paths.
final class PrivacyTests: XCTestCase {
    private func mode(_ path: String) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? -1
    }

    func testEverythingWrittenIsTheOwnersAndNoSocketIsOpened() throws {
        guard (try? TestSupport.run("/usr/bin/env", ["which", "strace"]))?.status == 0 else { throw XCTSkip("strace is not installed (tools/setup installs it)") }
        let dir = try TestSupport.temporaryDirectory(self)
        func at(_ name: String) -> String { dir.appendingPathComponent(name).path }
        let trace = at("strace.log")
        let run = try TestSupport.run("/usr/bin/env", ["strace", "-f", "-qq", "-e", "trace=socket,socketpair,connect", "-o", trace,
            TestSupport.visorPath, "replay", TestSupport.fixture("commands.mcap"), "--headless", "--deterministic",
            "--stages", "codes,text,faces,speech,assistant", "--memory", at("memory/memory.sqlite"), "--gallery", at("gallery"),
            "--speech-out", at("said.wav"), "--output", at("out.mcap"), "--transcript", at("t.jsonl"), "--report", at("report.json"),
            "--snapshot-dir", at("snapshots"), "--snapshot-every", "10"])
        XCTAssertEqual(run.status, 0, run.stderr)
        // Every run of the whole stack: camera, microphone, perception, the model, memory, speech.
        let calls = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").filter { $0.contains("socket") || $0.contains("connect(") }
        let network = calls.filter { !$0.contains("AF_UNIX") && !$0.contains("AF_LOCAL") }
        XCTAssertEqual(network, [], "no socket but local ones: \(calls)")

        let photos = try FileManager.default.contentsOfDirectory(atPath: at("gallery"))
        XCTAssertEqual(photos.count, 1)
        let snapshots = try FileManager.default.contentsOfDirectory(atPath: at("snapshots"))
        XCTAssertFalse(snapshots.isEmpty)
        for file in ["memory/memory.sqlite", "said.wav", "out.mcap", "t.jsonl", "report.json"] + photos.map({ "gallery/\($0)" }) + snapshots.map({ "snapshots/\($0)" }) {
            XCTAssertEqual(try mode(at(file)), 0o600, file)
        }
        for folder in ["memory", "gallery", "snapshots"] { XCTAssertEqual(try mode(at(folder)), 0o700, folder) }
    }

    func testNamesInsideASessionNeverBecomePaths() throws {
        let dir = try TestSupport.temporaryDirectory(self)
        let marker = "visor-evil-\(UUID().uuidString)"
        let hostile = ["../../../../../../tmp/\(marker)", "/tmp/\(marker)", "~/\(marker)", "\(marker)/../../x"]
        // A real session with attachments, metadata and a channel named like paths.
        let path = dir.appendingPathComponent("named.mcap").path
        let writer = try MCAPWriter(path: path)
        let source = try SessionSource(path: TestSupport.fixture("sign.mcap"))
        let schema = FoxgloveSchema.compressedImage
        let schemaID = try writer.addSchema(name: schema.name, encoding: "protobuf", data: schema.fileDescriptorSet)
        let camera = try writer.addChannel(topic: hostile[0], messageEncoding: "protobuf", schemaID: schemaID)
        for message in source.reader.messages() { try writer.write(channelID: camera, logTime: message.logTime, data: message.data) }
        for name in hostile {
            try writer.addAttachment(MCAPAttachment(logTime: 0, createTime: 0, name: name, mediaType: "text/plain", data: Array("x".utf8)))
            try writer.addMetadata(name: name, metadata: [name: name])
        }
        try writer.finish()
        let work = dir.appendingPathComponent("work")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        for arguments in [["inspect", path], ["inspect", path, "--json"],
                          ["replay", path, "--headless", "--output", work.appendingPathComponent("o.mcap").path,
                           "--snapshot-dir", work.appendingPathComponent("s").path, "--transcript", work.appendingPathComponent("t.jsonl").path]] {
            let run = try TestSupport.visor(arguments: arguments)
            XCTAssertEqual(run.status, 0, run.stderr)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/\(marker)"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: NSHomeDirectory() + "/\(marker)"))
        let written = FileManager.default.enumerator(atPath: work.path)?.allObjects as? [String] ?? []
        XCTAssertFalse(written.contains { $0.contains(marker) }, "\(written)")
        XCTAssertFalse(FileManager.default.enumerator(atPath: TestSupport.dataHome)?.allObjects.contains { "\($0)".contains(marker) } ?? false)
    }
}
