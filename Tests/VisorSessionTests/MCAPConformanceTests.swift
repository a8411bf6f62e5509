import Foundation
import VisorTestSupport
import XCTest
@testable import VisorSession

/// The official MCAP conformance inputs (foxglove/mcap's `tests/conformance/data`), read from
/// `../shared/mcap-conformance` beside the package when it is there: every variant is read with
/// `MCAPReader` and what it yields is compared with the records the official streamed readers give.
final class MCAPConformanceTests: XCTestCase {
    static var dataDirectory: URL? {
        let env = ProcessInfo.processInfo.environment["VISOR_MCAP_CONFORMANCE"]
        let url = env.map { URL(fileURLWithPath: $0) }
            ?? TestSupport.packageRoot.deletingLastPathComponent().appendingPathComponent("shared/mcap-conformance/data")
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue ? url : nil
    }

    /// Every `.json` of the conformance data, by path relative to the data directory.
    private func variants() throws -> [(name: String, json: URL, mcap: URL)] {
        guard let root = Self.dataDirectory else {
            throw XCTSkip("the MCAP conformance inputs are not at ../shared/mcap-conformance (set VISOR_MCAP_CONFORMANCE to their data folder)")
        }
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)!
        var found: [(String, URL, URL)] = []
        for case let url as URL in enumerator where url.pathExtension == "json" {
            let mcap = url.deletingPathExtension().appendingPathExtension("mcap")
            found.append((url.deletingPathExtension().lastPathComponent, url, mcap))
        }
        return found.sorted { $0.0 < $1.0 }
    }

    func testEveryConformanceVariantReadsAsTheOfficialReadersReadIt() throws {
        let all = try variants()
        XCTAssertGreaterThanOrEqual(all.count, 400, "the conformance folder holds 416 variants")
        var failures: [String] = []
        var checkedMessages = 0
        for variant in all {
            do {
                let expected = try Expected(json: Data(contentsOf: variant.json))
                let actual = try Actual(reader: MCAPReader(path: variant.mcap.path))
                checkedMessages += actual.messages.count
                for difference in expected.differences(from: actual) {
                    failures.append("\(variant.name): \(difference)")
                }
            } catch {
                failures.append("\(variant.name): \(error)")
            }
        }
        XCTAssertTrue(failures.isEmpty, "\(failures.count) difference(s) over \(all.count) variants:\n" + failures.prefix(40).joined(separator: "\n"))
        XCTAssertGreaterThan(checkedMessages, 1000)
    }

    // MARK: what a reader gives

    struct Message: Equatable, CustomStringConvertible {
        var channelID: UInt16, sequence: UInt32, logTime: UInt64, publishTime: UInt64, data: [UInt8]
        var description: String { "message(channel \(channelID), seq \(sequence), log \(logTime), publish \(publishTime), \(data))" }
    }

    struct Actual {
        var header: MCAPHeader?
        var schemas: [MCAPSchema]
        var channels: [MCAPChannel]
        var messages: [Message]
        var metadata: [MCAPMetadata]
        var attachments: [MCAPAttachment]
        var damage: String?
        var messageCount: UInt64

        init(reader: MCAPReader) throws {
            header = reader.header
            schemas = reader.schemas.values.sorted { $0.id < $1.id }
            channels = reader.channels.values.sorted { $0.id < $1.id }
            messages = reader.messages().map {
                Message(channelID: $0.channelID, sequence: $0.sequence, logTime: $0.logTime, publishTime: $0.publishTime, data: Array($0.data))
            }
            metadata = try reader.metadata()
            attachments = try reader.attachments()
            let problems = [reader.damage?.description, reader.summaryProblem].compactMap { $0 } + reader.corruptChunks.map(\.description)
            damage = problems.isEmpty ? nil : problems.joined(separator: "; ")
            messageCount = reader.statistics.messageCount
        }
    }

    // MARK: what the official readers give

    struct Expected {
        var header: MCAPHeader?
        var schemas: [MCAPSchema] = []
        var channels: [MCAPChannel] = []
        var messages: [Message] = []
        var metadata: [MCAPMetadata] = []
        var attachments: [MCAPAttachment] = []

        init(json: Data) throws {
            guard let root = try JSONSerialization.jsonObject(with: json) as? [String: Any],
                  let records = root["records"] as? [[String: Any]] else { throw Malformed("no records") }
            var schemasByID: [UInt16: MCAPSchema] = [:], channelsByID: [UInt16: MCAPChannel] = [:]
            for record in records {
                guard let type = record["type"] as? String, let pairs = record["fields"] as? [[Any]] else { throw Malformed("a record without type or fields") }
                var f: [String: Any] = [:]
                for pair in pairs where pair.count == 2 { if let key = pair[0] as? String { f[key] = pair[1] } }
                switch type {
                case "Header":
                    header = MCAPHeader(profile: try Self.string(f, "profile"), library: try Self.string(f, "library"))
                case "Schema":
                    let s = MCAPSchema(id: try Self.int(f, "id"), name: try Self.string(f, "name"),
                                       encoding: try Self.string(f, "encoding"), data: try Self.bytes(f, "data"))
                    if let earlier = schemasByID[s.id], earlier != s { throw Malformed("schema \(s.id) given twice, differently") }
                    schemasByID[s.id] = s
                case "Channel":
                    let c = MCAPChannel(id: try Self.int(f, "id"), schemaID: try Self.int(f, "schema_id"), topic: try Self.string(f, "topic"),
                                        messageEncoding: try Self.string(f, "message_encoding"), metadata: try Self.map(f, "metadata"))
                    if let earlier = channelsByID[c.id], earlier != c { throw Malformed("channel \(c.id) given twice, differently") }
                    channelsByID[c.id] = c
                case "Message":
                    messages.append(Message(channelID: try Self.int(f, "channel_id"), sequence: try Self.int(f, "sequence"),
                                            logTime: try Self.int(f, "log_time"), publishTime: try Self.int(f, "publish_time"),
                                            data: try Self.bytes(f, "data")))
                case "Metadata":
                    metadata.append(MCAPMetadata(name: try Self.string(f, "name"), metadata: try Self.map(f, "metadata")))
                case "Attachment":
                    attachments.append(MCAPAttachment(logTime: try Self.int(f, "log_time"), createTime: try Self.int(f, "create_time"),
                                                      name: try Self.string(f, "name"), mediaType: try Self.string(f, "media_type"),
                                                      data: try Self.bytes(f, "data")))
                default:
                    break  // indexes, statistics, footers: how a file is laid out, not what it holds
                }
            }
            schemas = schemasByID.values.sorted { $0.id < $1.id }
            channels = channelsByID.values.sorted { $0.id < $1.id }
            // Streamed in file order; Visor yields log-time order, file order among equal times.
            messages = messages.enumerated().sorted { ($0.element.logTime, $0.offset) < ($1.element.logTime, $1.offset) }.map(\.element)
        }

        func differences(from actual: Actual) -> [String] {
            var out: [String] = []
            if let damage = actual.damage { out.append("reported as damaged: \(damage)") }
            if actual.header != header { out.append("header \(String(describing: actual.header)), expected \(String(describing: header))") }
            if actual.schemas != schemas { out.append("schemas \(actual.schemas), expected \(schemas)") }
            if actual.channels != channels { out.append("channels \(actual.channels), expected \(channels)") }
            if actual.messages != messages { out.append("messages \(actual.messages), expected \(messages)") }
            if actual.messageCount != UInt64(messages.count) { out.append("statistics count \(actual.messageCount) messages, expected \(messages.count)") }
            if actual.metadata != metadata { out.append("metadata \(actual.metadata), expected \(metadata)") }
            if actual.attachments != attachments { out.append("attachments \(actual.attachments), expected \(attachments)") }
            return out
        }

        struct Malformed: Error, CustomStringConvertible { var description: String; init(_ d: String) { description = "expected JSON: \(d)" } }

        static func string(_ f: [String: Any], _ key: String) throws -> String {
            guard let s = f[key] as? String else { throw Malformed("no string \(key)") }
            return s
        }
        static func int<T: FixedWidthInteger>(_ f: [String: Any], _ key: String) throws -> T {
            guard let s = f[key] as? String, let v = T(s) else { throw Malformed("no integer \(key)") }
            return v
        }
        static func bytes(_ f: [String: Any], _ key: String) throws -> [UInt8] {
            guard let a = f[key] as? [String] else { throw Malformed("no bytes \(key)") }
            return try a.map { guard let b = UInt8($0) else { throw Malformed("byte \($0) in \(key)") }; return b }
        }
        static func map(_ f: [String: Any], _ key: String) throws -> [String: String] {
            guard let m = f[key] as? [String: String] else { throw Malformed("no string map \(key)") }
            return m
        }
    }
}
