import Foundation
import VisorCore

/// What `visor inspect` reports of a session: its channels with counts, rates, time ranges and
/// gaps, its metadata and attachments, and any damage.
public struct SessionInspection: Encodable {
    public struct Gap: Encodable, Equatable {
        /// Time of the message before the gap, since the session began.
        public var after_ns: UInt64
        public var length_ns: UInt64
    }

    public struct Channel: Encodable {
        public var id: UInt16
        public var topic: String
        public var schema: String
        public var schema_encoding: String
        public var message_encoding: String
        public var message_count: UInt64
        public var first_time_ns: UInt64?
        public var last_time_ns: UInt64?
        public var rate_hz: Double?
        public var gaps: [Gap]
    }

    public struct Attachment: Encodable {
        public var name: String
        public var media_type: String
        public var size_bytes: Int
    }

    public struct Metadata: Encodable {
        public var name: String
        public var metadata: [String: String]
    }

    public var path: String
    public var size_bytes: Int
    public var library: String?
    public var profile: String?
    /// True when the summary index was read; false when the file was scanned.
    public var indexed: Bool
    public var damage: String?
    /// A damaged footer or summary, when the data section was read whole by a scan.
    public var summary_problem: String?
    public var corrupt_chunks: [String]
    public var message_count: UInt64
    /// Log time of the first message (the session's time origin), and its length.
    public var start_time_ns: UInt64
    public var duration_ns: UInt64
    public var chunk_count: Int
    public var compression: [String]
    public var channels: [Channel]
    public var metadata: [Metadata]
    public var attachments: [Attachment]

    /// Reads every message's time (decompressing every chunk) to measure rates and gaps.
    public init(reader: MCAPReader) throws {
        path = reader.path
        size_bytes = reader.fileSizeBytes
        library = reader.header?.library
        profile = reader.header?.profile
        indexed = reader.usedIndex
        var times: [UInt16: [UInt64]] = [:]
        for message in reader.messages() { times[message.channelID, default: []].append(message.logTime) }
        damage = reader.damage?.description
        summary_problem = reader.summaryProblem
        corrupt_chunks = reader.corruptChunks.map(\.description)
        let origin = times.values.compactMap(\.first).min() ?? reader.statistics.messageStartTime
        let end = times.values.compactMap(\.last).max() ?? origin
        start_time_ns = origin
        duration_ns = end - origin
        message_count = UInt64(times.values.map(\.count).reduce(0, +))
        chunk_count = reader.chunkIndexes.count
        compression = Array(Set(reader.chunkIndexes.map { $0.compression.isEmpty ? "none" : $0.compression })).sorted()
        channels = reader.channels.values.sorted { $0.id < $1.id }.map { channel in
            let t = times[channel.id] ?? []
            let schema = reader.schemas[channel.schemaID]
            var rate: Double?
            if t.count > 1, t.last! > t.first! { rate = Double(t.count - 1) / (Double(t.last! - t.first!) / 1e9) }
            return Channel(id: channel.id, topic: channel.topic, schema: schema?.name ?? "", schema_encoding: schema?.encoding ?? "",
                           message_encoding: channel.messageEncoding, message_count: UInt64(t.count),
                           first_time_ns: t.first.map { $0 - origin }, last_time_ns: t.last.map { $0 - origin },
                           rate_hz: rate, gaps: Self.gaps(t, origin: origin))
        }
        metadata = try reader.metadata().map { Metadata(name: $0.name, metadata: $0.metadata) }
        attachments = try reader.attachments().map { Attachment(name: $0.name, media_type: $0.mediaType, size_bytes: $0.data.count) }
    }

    /// A gap is an interval more than three times the channel's median interval and over 100 ms.
    static func gaps(_ times: [UInt64], origin: UInt64) -> [Gap] {
        guard times.count > 2 else { return [] }
        let intervals = zip(times, times.dropFirst()).map { $1 - $0 }
        let median = intervals.sorted()[intervals.count / 2]
        let threshold = max(median * 3, 100_000_000)
        return zip(times, intervals).filter { $0.1 > threshold }.map { Gap(after_ns: $0.0 - origin, length_ns: $0.1) }
    }
}
