import Foundation
import Logging
import VisorCore

/// Writes an MCAP file as it goes: chunked, compressed, with message indexes after each chunk and
/// a summary (schemas, channels, statistics, chunk, metadata and attachment indexes, summary
/// offsets) at the end. Every finished chunk is on disk at once, so a recording cut short by a
/// crash keeps every complete chunk, readable by the linear scan of `MCAPReader`.
public final class MCAPWriter {
    public struct Options: Sendable {
        public var compression: MCAPCompression = .zstd
        /// A chunk is closed once its uncompressed records reach this many bytes.
        public var chunkSizeBytes: Int = 1 << 20
        public var profile: String = ""
        public var library: String = "visor"
        /// Unix permission bits of a new file: the wearer's recordings are private by default.
        public var filePermissions: mode_t = 0o600
        public init() {}
    }

    private let options: Options
    private let path: String
    private let file: OutputFile
    private var offset: UInt64 = 0
    private var dataCRC = CRC32()
    private var finished = false
    private let logger = Logger(label: "visor.mcap.writer")

    private var schemas: [MCAPSchema] = []
    private var channels: [MCAPChannel] = []
    private var chunkIndexes: [MCAPChunkIndex] = []
    private var attachmentIndexes: [MCAPAttachmentIndex] = []
    private var metadataIndexes: [MCAPMetadataIndex] = []
    private var statistics = MCAPStatistics()

    private var chunk = ByteWriter()
    private var chunkStart: UInt64 = .max
    private var chunkEnd: UInt64 = 0
    private var chunkMessageIndex: [UInt16: [(UInt64, UInt64)]] = [:]

    /// Creates (or truncates) the file at `path` and writes the magic and header. The file is
    /// an `OutputFile`: written where it is, locked against a second writer.
    /// - Throws: `VisorError` naming the path if it cannot be created or another process writes it.
    public init(path: String, options: Options = Options()) throws {
        self.options = options
        self.path = path
        file = try OutputFile(path: path, role: "session", permissions: options.filePermissions)
        var w = ByteWriter()
        w.raw(mcapMagic)
        Self.record(&w, .header) { r in r.string(options.profile); r.string(options.library) }
        try emit(w.bytes)
    }

    deinit {
        if !finished { logger.warning("MCAP writer for \(path) dropped without finish(); the file has no summary") }
    }

    /// Registers a schema and writes its record. Returns its id (from 1).
    public func addSchema(name: String, encoding: String, data: [UInt8]) throws -> UInt16 {
        let schema = MCAPSchema(id: UInt16(schemas.count + 1), name: name, encoding: encoding, data: data)
        schemas.append(schema)
        var w = ByteWriter()
        Self.writeSchema(&w, schema)
        try emit(w.bytes)
        return schema.id
    }

    /// Registers a channel and writes its record. Returns its id (from 1).
    public func addChannel(topic: String, messageEncoding: String, schemaID: UInt16,
                           metadata: [String: String] = [:]) throws -> UInt16 {
        let channel = MCAPChannel(id: UInt16(channels.count + 1), schemaID: schemaID, topic: topic,
                                  messageEncoding: messageEncoding, metadata: metadata)
        channels.append(channel)
        statistics.channelMessageCounts[channel.id] = 0
        var w = ByteWriter()
        Self.writeChannel(&w, channel)
        try emit(w.bytes)
        return channel.id
    }

    /// Appends a message to the open chunk, closing the chunk when it is full.
    public func write<C: Collection>(channelID: UInt16, logTime: UInt64, publishTime: UInt64? = nil,
                                     sequence: UInt32 = 0, data: C) throws where C.Element == UInt8 {
        precondition(!finished, "write after finish")
        guard channels.indices.contains(Int(channelID) - 1) else {
            throw VisorError("MCAP writer: no channel with id \(channelID)")
        }
        chunkMessageIndex[channelID, default: []].append((logTime, UInt64(chunk.bytes.count)))
        Self.record(&chunk, .message) { r in
            r.u16(channelID); r.u32(sequence); r.u64(logTime); r.u64(publishTime ?? logTime); r.raw(data)
        }
        chunkStart = min(chunkStart, logTime)
        chunkEnd = max(chunkEnd, logTime)
        if statistics.messageCount == 0 {
            statistics.messageStartTime = logTime
            statistics.messageEndTime = logTime
        } else {
            statistics.messageStartTime = min(statistics.messageStartTime, logTime)
            statistics.messageEndTime = max(statistics.messageEndTime, logTime)
        }
        statistics.messageCount += 1
        statistics.channelMessageCounts[channelID, default: 0] += 1
        if chunk.bytes.count >= options.chunkSizeBytes { try flushChunk() }
    }

    /// Writes a metadata record (session facts: device profile, camera settings, sources).
    public func addMetadata(name: String, metadata: [String: String]) throws {
        try flushChunk()
        var w = ByteWriter()
        Self.record(&w, .metadata) { r in r.string(name); r.stringMap(metadata) }
        metadataIndexes.append(MCAPMetadataIndex(offset: offset, length: UInt64(w.bytes.count), name: name))
        statistics.metadataCount += 1
        try emit(w.bytes)
    }

    /// Writes an attachment record (a file carried inside the session), with its CRC.
    public func addAttachment(_ attachment: MCAPAttachment) throws {
        try flushChunk()
        var w = ByteWriter()
        Self.record(&w, .attachment) { r in
            let start = r.bytes.count
            r.u64(attachment.logTime); r.u64(attachment.createTime)
            r.string(attachment.name); r.string(attachment.mediaType)
            r.u64(UInt64(attachment.data.count)); r.raw(attachment.data)
            r.u32(CRC32.checksum(r.bytes[start...]))
        }
        attachmentIndexes.append(MCAPAttachmentIndex(
            offset: offset, length: UInt64(w.bytes.count), logTime: attachment.logTime,
            createTime: attachment.createTime, dataSize: UInt64(attachment.data.count),
            name: attachment.name, mediaType: attachment.mediaType))
        statistics.attachmentCount += 1
        try emit(w.bytes)
    }

    /// Closes the open chunk and writes it with its message indexes, so it survives a crash.
    public func flushChunk() throws {
        guard !chunkMessageIndex.isEmpty else { return }
        let uncompressed = chunk.bytes
        var compression = options.compression
        var compressed = try compression.compress(uncompressed)
        // JPEG frames often do not compress: such a chunk is stored as it is, and reads faster.
        if compressed.count >= uncompressed.count {
            compression = .none
            compressed = uncompressed
        }
        let chunkOffset = offset
        var w = ByteWriter(capacity: compressed.count + 128)
        Self.record(&w, .chunk) { r in
            r.u64(chunkStart); r.u64(chunkEnd); r.u64(UInt64(uncompressed.count))
            r.u32(CRC32.checksum(uncompressed)); r.string(compression.rawValue)
            r.u64(UInt64(compressed.count)); r.raw(compressed)
        }
        let chunkLength = UInt64(w.bytes.count)
        var indexOffsets: [UInt16: UInt64] = [:]
        for channelID in chunkMessageIndex.keys.sorted() {
            indexOffsets[channelID] = chunkOffset + UInt64(w.bytes.count)
            Self.record(&w, .messageIndex) { r in
                r.u16(channelID)
                let entries = chunkMessageIndex[channelID]!
                r.u32(UInt32(entries.count * 16))
                for (time, at) in entries { r.u64(time); r.u64(at) }
            }
        }
        chunkIndexes.append(MCAPChunkIndex(
            messageStartTime: chunkStart, messageEndTime: chunkEnd, chunkStartOffset: chunkOffset,
            chunkLength: chunkLength, messageIndexOffsets: indexOffsets,
            messageIndexLength: UInt64(w.bytes.count) - chunkLength,
            compression: compression.rawValue, compressedSize: UInt64(compressed.count),
            uncompressedSize: UInt64(uncompressed.count)))
        statistics.chunkCount += 1
        chunk.bytes.removeAll(keepingCapacity: true)
        chunkMessageIndex.removeAll(keepingCapacity: true)
        chunkStart = .max
        chunkEnd = 0
        try emit(w.bytes)
    }

    /// Closes the last chunk and writes the data end, summary, footer and closing magic.
    public func finish() throws {
        guard !finished else { return }
        try flushChunk()
        var end = ByteWriter()
        Self.record(&end, .dataEnd) { r in r.u32(dataCRC.value) }
        try emit(end.bytes)

        let summaryStart = offset
        var summary = ByteWriter()
        var groups: [(MCAPOpcode, UInt64, UInt64)] = []
        func group(_ opcode: MCAPOpcode, _ body: (inout ByteWriter) -> Void) {
            let start = summary.bytes.count
            body(&summary)
            if summary.bytes.count > start {
                groups.append((opcode, summaryStart + UInt64(start), UInt64(summary.bytes.count - start)))
            }
        }
        group(.schema) { w in for s in schemas { Self.writeSchema(&w, s) } }
        group(.channel) { w in for c in channels { Self.writeChannel(&w, c) } }
        statistics.schemaCount = UInt16(schemas.count)
        statistics.channelCount = UInt32(channels.count)
        group(.statistics) { w in Self.writeStatistics(&w, statistics) }
        group(.chunkIndex) { w in for c in chunkIndexes { Self.writeChunkIndex(&w, c) } }
        group(.attachmentIndex) { w in
            for a in attachmentIndexes {
                Self.record(&w, .attachmentIndex) { r in
                    r.u64(a.offset); r.u64(a.length); r.u64(a.logTime); r.u64(a.createTime)
                    r.u64(a.dataSize); r.string(a.name); r.string(a.mediaType)
                }
            }
        }
        group(.metadataIndex) { w in
            for m in metadataIndexes {
                Self.record(&w, .metadataIndex) { r in r.u64(m.offset); r.u64(m.length); r.string(m.name) }
            }
        }
        let summaryOffsetStart = summaryStart + UInt64(summary.bytes.count)
        for (opcode, start, length) in groups {
            Self.record(&summary, .summaryOffset) { r in r.u8(opcode.rawValue); r.u64(start); r.u64(length) }
        }
        var footer = ByteWriter()
        footer.u8(MCAPOpcode.footer.rawValue); footer.u64(20)
        footer.u64(summaryStart); footer.u64(summaryOffsetStart)
        var crc = CRC32()
        crc.update(summary.bytes)
        crc.update(footer.bytes)
        footer.u32(crc.value)
        footer.raw(mcapMagic)
        try emit(summary.bytes)
        try emit(footer.bytes)
        finished = true
        try file.close()
    }

    private func emit(_ bytes: [UInt8]) throws {
        let fd = file.fileDescriptor
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                // Leave the file ending at the last whole record, so a scan reads everything before it,
                // and the next write (the summary, at finish) continues from there, not after a hole.
                if file.isRegularFile {
                    _ = ftruncate(fd, off_t(offset))
                    _ = lseek(fd, off_t(offset), SEEK_SET)
                }
                if code == ENOSPC || code == EDQUOT {
                    throw VisorError("cannot write \(path): the disk is full (\(String(cString: strerror(code))))")
                }
                throw VisorError("cannot write \(path): \(String(cString: strerror(code)))")
            }
            written += n
        }
        dataCRC.update(bytes)
        offset += UInt64(bytes.count)
    }

    // MARK: record layout

    static func record(_ w: inout ByteWriter, _ opcode: MCAPOpcode, _ body: (inout ByteWriter) -> Void) {
        w.u8(opcode.rawValue)
        let lengthAt = w.bytes.count
        w.u64(0)
        body(&w)
        w.patchU64(at: lengthAt, UInt64(w.bytes.count - lengthAt - 8))
    }

    static func writeSchema(_ w: inout ByteWriter, _ s: MCAPSchema) {
        record(&w, .schema) { r in
            r.u16(s.id); r.string(s.name); r.string(s.encoding); r.u32(UInt32(s.data.count)); r.raw(s.data)
        }
    }

    static func writeChannel(_ w: inout ByteWriter, _ c: MCAPChannel) {
        record(&w, .channel) { r in
            r.u16(c.id); r.u16(c.schemaID); r.string(c.topic); r.string(c.messageEncoding); r.stringMap(c.metadata)
        }
    }

    static func writeStatistics(_ w: inout ByteWriter, _ s: MCAPStatistics) {
        record(&w, .statistics) { r in
            r.u64(s.messageCount); r.u16(s.schemaCount); r.u32(s.channelCount); r.u32(s.attachmentCount)
            r.u32(s.metadataCount); r.u32(s.chunkCount); r.u64(s.messageStartTime); r.u64(s.messageEndTime)
            r.u32(UInt32(s.channelMessageCounts.count * 10))
            for id in s.channelMessageCounts.keys.sorted() { r.u16(id); r.u64(s.channelMessageCounts[id]!) }
        }
    }

    static func writeChunkIndex(_ w: inout ByteWriter, _ c: MCAPChunkIndex) {
        record(&w, .chunkIndex) { r in
            r.u64(c.messageStartTime); r.u64(c.messageEndTime); r.u64(c.chunkStartOffset); r.u64(c.chunkLength)
            r.u32(UInt32(c.messageIndexOffsets.count * 10))
            for id in c.messageIndexOffsets.keys.sorted() { r.u16(id); r.u64(c.messageIndexOffsets[id]!) }
            r.u64(c.messageIndexLength); r.string(c.compression); r.u64(c.compressedSize); r.u64(c.uncompressedSize)
        }
    }
}
