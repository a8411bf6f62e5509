import ArgumentParser
import Foundation
import VisorCore
import VisorSession

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a session's channels, schemas, message counts, duration, rates, gaps and time ranges.",
        discussion: "Example:\n  visor inspect Fixtures/street.mcap --json"
    )

    @Argument(help: "The session file (MCAP).")
    var session: String

    @Flag(help: "Print JSON instead of a table (a `channels` array with `topic`, `schema`, `message_count`, ...).")
    var json = false

    func run() throws {
        try reportingErrors {
            let inspection = try SessionInspection(reader: MCAPReader(path: session))
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(inspection), as: UTF8.self))
            } else {
                print(describe(inspection))
            }
            if let damage = inspection.damage { printError("warning: session is damaged \(damage)") }
            if let problem = inspection.summary_problem { printError("warning: \(session): \(problem)") }
            if !inspection.corrupt_chunks.isEmpty {
                printError("warning: \(inspection.corrupt_chunks.count) corrupt chunk(s) skipped, first \(inspection.corrupt_chunks[0])")
            }
        }
    }

    private func describe(_ s: SessionInspection) -> String {
        func seconds(_ ns: UInt64) -> String { String(format: "%.3f s", Double(ns) / 1e9) }
        var lines = [
            "session   \(s.path)",
            "size      \(s.size_bytes) bytes, \(s.chunk_count) chunks (\(s.compression.joined(separator: ", ").isEmpty ? "none" : s.compression.joined(separator: ", "))), \(s.indexed ? "indexed" : "scanned (no usable summary)")",
            "written   by \(s.library ?? "?")\(s.profile.map { $0.isEmpty ? "" : ", profile \($0)" } ?? "")",
            "messages  \(s.message_count) over \(seconds(s.duration_ns))",
        ]
        if let damage = s.damage { lines.append("damage    \(damage)") }
        if let problem = s.summary_problem { lines.append("summary   \(problem)") }
        lines.append("")
        let header = ["id", "topic", "schema", "messages", "rate", "first", "last", "gaps"]
        var rows = s.channels.map { c -> [String] in
            let gaps = c.gaps.isEmpty ? "none" : "\(c.gaps.count), longest \(seconds(c.gaps.map(\.length_ns).max()!))"
            return [String(c.id), c.topic, "\(c.schema) (\(c.message_encoding))", String(c.message_count),
                    c.rate_hz.map { String(format: "%.1f Hz", $0) } ?? "-",
                    c.first_time_ns.map(seconds) ?? "-", c.last_time_ns.map(seconds) ?? "-", gaps]
        }
        rows.insert(header, at: 0)
        let widths = header.indices.map { i in rows.map { $0[i].count }.max() ?? 0 }
        for row in rows {
            lines.append(row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
        for m in s.metadata {
            lines.append("")
            lines.append("metadata  \(m.name): " + m.metadata.keys.sorted().map { "\($0)=\(m.metadata[$0]!)" }.joined(separator: "  "))
        }
        for a in s.attachments { lines.append("attachment \(a.name) (\(a.media_type), \(a.size_bytes) bytes)") }
        return lines.joined(separator: "\n")
    }
}
