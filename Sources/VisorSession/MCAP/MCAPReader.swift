import Foundation
import Logging
import VisorCore

/// Where and why a file stopped being readable.
public struct MCAPDamage: Equatable, Sendable, CustomStringConvertible {
    public var offset: Int
    public var reason: String
    public var description: String { "at byte \(offset): \(reason)" }
}

/// Reads MCAP files. Uses the summary (chunk indexes, statistics) when the file has a valid one,
/// and otherwise falls back to a linear scan of the data section, which is how a recording cut
/// short (no summary, no footer) is still read up to its last complete record.
public final class MCAPReader {
    /// Chunks that declare more uncompressed bytes than this are refused as corrupt.
    public static let maxChunkBytes = 512 << 20

    public let path: String
    public let fileSizeBytes: Int
    public private(set) var header: MCAPHeader?
    public private(set) var schemas: [UInt16: MCAPSchema] = [:]
    public private(set) var channels: [UInt16: MCAPChannel] = [:]
    public private(set) var statistics = MCAPStatistics()
    public private(set) var chunkIndexes: [MCAPChunkIndex] = []
    /// True when the summary section was used; false after a linear scan.
    public private(set) var usedIndex = false
    /// Set when the file ends before its footer: the byte where reading stopped, and why.
    public private(set) var damage: MCAPDamage?
    /// Chunks that failed decompression or their CRC; their messages are skipped.
    public private(set) var corruptChunks: [MCAPDamage] = []
    /// Set when the file's footer or summary is damaged but its data section was read whole by a
    /// scan: one line for the user, since nothing was lost but the file is not as written.
    public private(set) var summaryProblem: String?

    private let file: Data
    private var metadataIndexes: [MCAPMetadataIndex] = []
    private var attachmentIndexes: [MCAPAttachmentIndex] = []
    private var looseMessages: [MCAPMessage] = []
    private let logger = Logger(label: "visor.mcap.reader")

    /// Opens `path` and reads its summary, or scans it when the summary is missing or broken.
    /// - Throws: `VisorError` for a missing or unreadable file, `MCAPError.notMCAP` for another format.
    public convenience init(path: String) throws {
        // Read, not mapped: a mapping dies with SIGBUS when the file shrinks under it or holds
        // a hole on a full tmpfs; a read returns what is there.
        let data = try InputFile.read(path, role: "MCAP file")
        try self.init(data: data, name: path)
    }

    /// Reads an MCAP file held in memory (`name` stands for its path in messages).
    public init(data: Data, name: String = "<memory>") throws {
        path = name
        file = data
        fileSizeBytes = data.count
        guard file.count >= 8, file.prefix(8).elementsEqual(mcapMagic) else { throw MCAPError.notMCAP }
        switch readSummary() {
        case .used:
            return
        case .absent:
            try scan()
        case .damaged(let why):
            try scan()
            // A file cut short also lacks its footer: the scan's damage already says so.
            if damage == nil {
                summaryProblem = "\(why); every record of the data section was read by scanning it"
                logger.warning("\(path): \(summaryProblem!)")
            }
        }
    }

    private enum SummaryOutcome { case used, absent, damaged(String) }

    /// Whether the file at `path` starts with the MCAP magic (without reading the rest).
    public static func hasMagic(path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 8)).map { Array($0) == mcapMagic } ?? false
    }

    // MARK: summary

    /// Reads the footer and summary. Leaves state empty unless it returns `.used`: the summary is
    /// absent (or not enough to find every record), or damaged, and the caller scans instead.
    private func readSummary() -> SummaryOutcome {
        let n = file.count
        let footerLength = 1 + 8 + 20
        guard n >= 8 + footerLength + 8 else { return .absent }
        guard file.suffix(8).elementsEqual(mcapMagic) else { return .damaged("the file's closing magic is damaged or missing") }
        let footerOffset = n - 8 - footerLength
        let outcome: SummaryOutcome
        do {
            outcome = try file.withUnsafeBytes { raw -> SummaryOutcome in
                var r = ByteReader(raw, from: footerOffset)
                guard try r.u8() == MCAPOpcode.footer.rawValue, try r.u64() == 20 else { return .damaged("the footer record is damaged") }
                let summaryStart = Int(clamping: try r.u64())
                _ = try r.u64()
                let summaryCRC = try r.u32()
                if summaryStart == 0 { return .absent }
                guard summaryStart > 8, summaryStart <= footerOffset else { return .damaged("the footer points outside the file") }
                if summaryCRC != 0 {
                    var crc = CRC32()
                    crc.update(UnsafeRawBufferPointer(rebasing: raw[summaryStart..<(footerOffset + 1 + 8 + 16)]))
                    guard crc.value == summaryCRC else { return .damaged("the summary fails its CRC") }
                }
                var sawStatistics = false
                var schemas: [UInt16: MCAPSchema] = [:], channels: [UInt16: MCAPChannel] = [:]
                var chunkIndexes: [MCAPChunkIndex] = [], statistics = MCAPStatistics()
                var metadataIndexes: [MCAPMetadataIndex] = [], attachmentIndexes: [MCAPAttachmentIndex] = []
                try Self.forEachRecord(raw, from: summaryStart, to: footerOffset) { opcode, c in
                    switch MCAPOpcode(rawValue: opcode) {
                    case .schema: let s = try Self.parseSchema(&c); schemas[s.id] = s
                    case .channel: let ch = try Self.parseChannel(&c); channels[ch.id] = ch
                    case .chunkIndex: chunkIndexes.append(try Self.parseChunkIndex(&c))
                    case .statistics: statistics = try Self.parseStatistics(&c); sawStatistics = true
                    case .metadataIndex:
                        metadataIndexes.append(MCAPMetadataIndex(offset: try c.u64(), length: try c.u64(), name: try c.string()))
                    case .attachmentIndex:
                        attachmentIndexes.append(MCAPAttachmentIndex(
                            offset: try c.u64(), length: try c.u64(), logTime: try c.u64(), createTime: try c.u64(),
                            dataSize: try c.u64(), name: try c.string(), mediaType: try c.string()))
                    default: break
                    }
                }
                // Without statistics, with messages outside chunks, or with metadata or attachments
                // the summary does not index, only a scan sees everything.
                guard sawStatistics, statistics.messageCount == 0 || !chunkIndexes.isEmpty,
                      statistics.metadataCount <= UInt32(metadataIndexes.count),
                      statistics.attachmentCount <= UInt32(attachmentIndexes.count) else { return .absent }
                self.schemas = schemas; self.channels = channels; self.chunkIndexes = chunkIndexes
                self.statistics = statistics; self.metadataIndexes = metadataIndexes
                self.attachmentIndexes = attachmentIndexes
                var h = ByteReader(raw, from: 8)
                if try h.u8() == MCAPOpcode.header.rawValue {
                    _ = try h.u64()
                    header = MCAPHeader(profile: try h.string(), library: try h.string())
                }
                usedIndex = true
                return .used
            }
        } catch {
            return .damaged("the summary is unreadable (\(error))")
        }
        if case .used = outcome, summaryLacksDefinitions { readDefinitionsInChunks() }
        return outcome
    }

    /// Whether messages counted in the summary are on channels (or schemas) it does not repeat:
    /// a writer may leave them to the Schema and Channel records inside the chunks.
    private var summaryLacksDefinitions: Bool {
        guard !chunkIndexes.isEmpty else { return false }
        return channels.count < Int(statistics.channelCount) || schemas.count < Int(statistics.schemaCount)
            || statistics.channelMessageCounts.keys.contains { channels[$0] == nil }
            || chunkIndexes.contains { $0.messageIndexOffsets.keys.contains { channels[$0] == nil } }
            || channels.values.contains { $0.schemaID != 0 && schemas[$0.schemaID] == nil }
    }

    /// Reads the Schema and Channel records of every chunk, keeping those the summary lacks.
    private func readDefinitionsInChunks() {
        for index in chunkIndexes {
            let offset = Int(clamping: index.chunkStartOffset)
            guard offset < file.count else { continue }  // reported when its messages are read
            do {
                let records = try file.withUnsafeBytes { try readChunk($0, at: offset).1 }
                try Self.forEachRecord(records, from: 0, to: records.count) { opcode, c in
                    switch MCAPOpcode(rawValue: opcode) {
                    case .schema: let s = try Self.parseSchema(&c); if schemas[s.id] == nil { schemas[s.id] = s }
                    case .channel: let ch = try Self.parseChannel(&c); if channels[ch.id] == nil { channels[ch.id] = ch }
                    default: break
                    }
                }
            } catch {
                noteCorrupt(MCAPDamage(offset: offset, reason: "\(error)"))
            }
        }
    }

    // MARK: linear scan

    /// Reads the data section record by record, noting where it ends early.
    private func scan() throws {
        var stats = MCAPStatistics()
        var firstTime = UInt64.max, lastTime = UInt64(0)
        func count(_ m: MCAPMessage) {
            stats.messageCount += 1
            stats.channelMessageCounts[m.channelID, default: 0] += 1
            firstTime = min(firstTime, m.logTime); lastTime = max(lastTime, m.logTime)
        }
        try file.withUnsafeBytes { raw in
            var position = 8
            let n = raw.count
            scanning: while true {
                if position == n { damage = MCAPDamage(offset: position, reason: "the file ends without a summary or footer (a recording cut short)"); break }
                guard n - position >= 9 else {
                    damage = MCAPDamage(offset: position, reason: "the file ends inside a record header (truncated)"); break
                }
                var r = ByteReader(raw, from: position)
                let opcode = try r.u8()
                let length = try r.u64()
                guard length <= UInt64(n - position - 9) else {
                    damage = MCAPDamage(offset: position, reason: "a record of \(length) bytes runs past the end of the file (truncated)"); break
                }
                let contentStart = position + 9, contentEnd = contentStart + Int(length)
                var c = ByteReader(raw, from: contentStart, to: contentEnd)
                do {
                    switch MCAPOpcode(rawValue: opcode) {
                    case .header: header = MCAPHeader(profile: try c.string(), library: try c.string())
                    case .schema: let s = try Self.parseSchema(&c); schemas[s.id] = s
                    case .channel: let ch = try Self.parseChannel(&c); channels[ch.id] = ch
                    case .message:
                        let m = try Self.parseMessage(&c, copyingFrom: raw)
                        looseMessages.append(m); count(m)
                    case .chunk:
                        do {
                            let (index, records) = try readChunk(raw, at: position)
                            try Self.forEachRecord(records, from: 0, to: records.count) { op, inner in
                                switch MCAPOpcode(rawValue: op) {
                                case .schema: let s = try Self.parseSchema(&inner); self.schemas[s.id] = s
                                case .channel: let ch = try Self.parseChannel(&inner); self.channels[ch.id] = ch
                                case .message:
                                    let channelID = try inner.u16(); _ = try inner.u32(); let logTime = try inner.u64()
                                    count(MCAPMessage(channelID: channelID, sequence: 0, logTime: logTime, publishTime: 0, data: []))
                                default: break
                                }
                            }
                            chunkIndexes.append(index)
                            stats.chunkCount += 1
                        } catch let error as MCAPError {
                            corruptChunks.append(MCAPDamage(offset: position, reason: error.description))
                        }
                    case .metadata:
                        metadataIndexes.append(MCAPMetadataIndex(offset: UInt64(position), length: length + 9, name: try c.string()))
                        stats.metadataCount += 1
                    case .attachment:
                        let logTime = try c.u64(), createTime = try c.u64()
                        let name = try c.string(), mediaType = try c.string()
                        attachmentIndexes.append(MCAPAttachmentIndex(
                            offset: UInt64(position), length: length + 9, logTime: logTime, createTime: createTime,
                            dataSize: UInt64(try c.length64()), name: name, mediaType: mediaType))
                        stats.attachmentCount += 1
                    case .dataEnd, .footer:
                        break scanning
                    default:
                        break  // message indexes, and opcodes from later versions, are skipped
                    }
                } catch let error as MCAPError {
                    damage = MCAPDamage(offset: position, reason: "unreadable record (\(error))"); break
                }
                position = contentEnd
            }
        }
        stats.schemaCount = UInt16(clamping: schemas.count)
        stats.channelCount = UInt32(channels.count)
        if stats.messageCount > 0 { stats.messageStartTime = firstTime; stats.messageEndTime = lastTime }
        statistics = stats
        if let damage { logger.info("\(path): linear scan stopped \(damage)") }
    }

    // MARK: chunks

    /// Reads, decompresses and checks the chunk record at `offset`.
    private func readChunk(_ raw: UnsafeRawBufferPointer, at offset: Int) throws -> (MCAPChunkIndex, [UInt8]) {
        var r = ByteReader(raw, from: offset)
        do {
            guard try r.u8() == MCAPOpcode.chunk.rawValue else {
                throw MCAPError.corruptChunk(offset: offset, reason: "the index points at a record that is not a chunk")
            }
            let length = try r.u64()
            guard length <= UInt64(r.remaining) else { throw MCAPError.corruptChunk(offset: offset, reason: "chunk runs past the end of the file") }
            var c = ByteReader(raw, from: r.position, to: r.position + Int(length))
            let start = try c.u64(), end = try c.u64(), uncompressedSize = try c.u64(), crc = try c.u32()
            let compressionName = try c.string()
            let records = try c.bytes(try c.length64())
            guard let compression = MCAPCompression(rawValue: compressionName) else { throw MCAPError.unsupportedCompression(compressionName) }
            guard uncompressedSize <= UInt64(Self.maxChunkBytes) else {
                throw MCAPError.corruptChunk(offset: offset, reason: "declares \(uncompressedSize) uncompressed bytes, over the \(Self.maxChunkBytes >> 20) MiB limit")
            }
            let data = try compression.decompress(records, uncompressedSize: Int(uncompressedSize), chunkOffset: offset)
            if crc != 0 && CRC32.checksum(data) != crc {
                throw MCAPError.corruptChunk(offset: offset, reason: "CRC mismatch")
            }
            let index = MCAPChunkIndex(
                messageStartTime: start, messageEndTime: end, chunkStartOffset: UInt64(offset), chunkLength: length + 9,
                messageIndexOffsets: [:], messageIndexLength: 0, compression: compressionName,
                compressedSize: UInt64(records.count), uncompressedSize: uncompressedSize)
            return (index, data)
        } catch MCAPError.malformed(let why) {
            throw MCAPError.corruptChunk(offset: offset, reason: why)
        }
    }

    /// The messages of one chunk, in file order, optionally only some channels'.
    fileprivate func chunkMessages(_ index: MCAPChunkIndex, channelIDs: Set<UInt16>?) -> [MCAPMessage] {
        let offset = Int(clamping: index.chunkStartOffset)
        guard offset < file.count else {
            noteCorrupt(MCAPDamage(offset: offset, reason: "chunk index points past the end of the file"))
            return []
        }
        do {
            let records = try file.withUnsafeBytes { try readChunk($0, at: offset).1 }
            var messages: [MCAPMessage] = []
            try records.withUnsafeBytes { raw in
                try Self.forEachRecord(raw, from: 0, to: raw.count) { opcode, c in
                    guard opcode == MCAPOpcode.message.rawValue else { return }
                    let channelID = try c.u16()
                    if let channelIDs, !channelIDs.contains(channelID) { return }
                    let sequence = try c.u32(), logTime = try c.u64(), publishTime = try c.u64()
                    messages.append(MCAPMessage(channelID: channelID, sequence: sequence, logTime: logTime,
                                                publishTime: publishTime, data: records[c.position..<c.end]))
                }
            }
            return messages
        } catch {
            noteCorrupt(MCAPDamage(offset: offset, reason: "\(error)"))
            return []
        }
    }

    private func noteCorrupt(_ d: MCAPDamage) {
        if !corruptChunks.contains(where: { $0.offset == d.offset }) {
            logger.warning("\(path): skipping corrupt chunk \(d)")
            corruptChunks.append(d)
        }
    }

    // MARK: public reading

    /// Messages in log-time order (file order among equal times), optionally only some channels'.
    public func messages(channelIDs: Set<UInt16>? = nil) -> MCAPMessageIterator {
        MCAPMessageIterator(reader: self, channelIDs: channelIDs,
                            loose: looseMessages.filter { channelIDs?.contains($0.channelID) ?? true })
    }

    fileprivate var chunksInTimeOrder: [MCAPChunkIndex] {
        chunkIndexes.enumerated().sorted {
            ($0.element.messageStartTime, $0.offset) < ($1.element.messageStartTime, $1.offset)
        }.map(\.element)
    }

    /// The metadata records, in file order.
    public func metadata() throws -> [MCAPMetadata] {
        try metadataIndexes.map { index in
            try record(at: index.offset, expecting: .metadata) { c in MCAPMetadata(name: try c.string(), metadata: try c.stringMap()) }
        }
    }

    /// The attachments, in file order, each checked against its CRC.
    public func attachments() throws -> [MCAPAttachment] {
        try attachmentIndexes.map { index in
            try record(at: index.offset, expecting: .attachment) { c in
                let start = c.position
                let logTime = try c.u64(), createTime = try c.u64()
                let name = try c.string(), mediaType = try c.string()
                let data = Array(try c.bytes(try c.length64()))
                let crcEnd = c.position
                let crc = try c.u32()
                if crc != 0 && CRC32.checksum(UnsafeRawBufferPointer(rebasing: c.base[start..<crcEnd])) != crc {
                    throw MCAPError.malformed("attachment \"\(name)\" fails its CRC")
                }
                return MCAPAttachment(logTime: logTime, createTime: createTime, name: name, mediaType: mediaType, data: data)
            }
        }
    }

    private func record<T>(at offset: UInt64, expecting opcode: MCAPOpcode, _ parse: (inout ByteReader) throws -> T) throws -> T {
        try file.withUnsafeBytes { raw in
            var r = ByteReader(raw, from: Int(clamping: min(offset, UInt64(raw.count))))
            guard try r.u8() == opcode.rawValue else { throw MCAPError.malformed("index points at the wrong record type at byte \(offset)") }
            let length = try r.length64()
            var c = ByteReader(raw, from: r.position, to: r.position + length)
            return try parse(&c)
        }
    }

    // MARK: record parsing

    static func forEachRecord(_ raw: UnsafeRawBufferPointer, from start: Int, to end: Int,
                              _ body: (UInt8, inout ByteReader) throws -> Void) throws {
        var position = start
        while position < end {
            var r = ByteReader(raw, from: position, to: end)
            let opcode = try r.u8()
            let length = try r.u64()
            guard length <= UInt64(r.remaining) else { throw MCAPError.malformed("record of \(length) bytes at byte \(position) runs past its section") }
            var c = ByteReader(raw, from: r.position, to: r.position + Int(length))
            try body(opcode, &c)
            position = r.position + Int(length)
        }
    }

    static func forEachRecord(_ bytes: [UInt8], from start: Int, to end: Int,
                              _ body: (UInt8, inout ByteReader) throws -> Void) throws {
        try bytes.withUnsafeBytes { try forEachRecord($0, from: start, to: end, body) }
    }

    static func parseSchema(_ c: inout ByteReader) throws -> MCAPSchema {
        let id = try c.u16(), name = try c.string(), encoding = try c.string()
        return MCAPSchema(id: id, name: name, encoding: encoding, data: Array(try c.bytes(try c.length32())))
    }

    static func parseChannel(_ c: inout ByteReader) throws -> MCAPChannel {
        let id = try c.u16(), schemaID = try c.u16(), topic = try c.string(), encoding = try c.string()
        return MCAPChannel(id: id, schemaID: schemaID, topic: topic, messageEncoding: encoding, metadata: try c.stringMap())
    }

    static func parseMessage(_ c: inout ByteReader, copyingFrom raw: UnsafeRawBufferPointer) throws -> MCAPMessage {
        let channelID = try c.u16(), sequence = try c.u32(), logTime = try c.u64(), publishTime = try c.u64()
        let data = Array(try c.bytes(c.remaining))
        return MCAPMessage(channelID: channelID, sequence: sequence, logTime: logTime, publishTime: publishTime, data: data[...])
    }

    static func parseChunkIndex(_ c: inout ByteReader) throws -> MCAPChunkIndex {
        let start = try c.u64(), end = try c.u64(), offset = try c.u64(), length = try c.u64()
        var offsets: [UInt16: UInt64] = [:]
        let mapLength = try c.length32()
        let mapEnd = c.position + mapLength
        guard mapEnd <= c.end else { throw MCAPError.malformed("chunk index map runs past its record") }
        while c.position < mapEnd { offsets[try c.u16()] = try c.u64() }
        return MCAPChunkIndex(messageStartTime: start, messageEndTime: end, chunkStartOffset: offset, chunkLength: length,
                              messageIndexOffsets: offsets, messageIndexLength: try c.u64(), compression: try c.string(),
                              compressedSize: try c.u64(), uncompressedSize: try c.u64())
    }

    static func parseStatistics(_ c: inout ByteReader) throws -> MCAPStatistics {
        var s = MCAPStatistics()
        s.messageCount = try c.u64(); s.schemaCount = try c.u16(); s.channelCount = try c.u32()
        s.attachmentCount = try c.u32(); s.metadataCount = try c.u32(); s.chunkCount = try c.u32()
        s.messageStartTime = try c.u64(); s.messageEndTime = try c.u64()
        let mapLength = try c.length32()
        let mapEnd = c.position + mapLength
        guard mapEnd <= c.end else { throw MCAPError.malformed("statistics map runs past its record") }
        while c.position < mapEnd { s.channelMessageCounts[try c.u16()] = try c.u64() }
        return s
    }
}

/// Streams messages in log-time order, decompressing one chunk at a time and merging chunks whose
/// time ranges overlap.
public struct MCAPMessageIterator: IteratorProtocol, Sequence {
    private let reader: MCAPReader
    private let channelIDs: Set<UInt16>?
    private var chunks: [MCAPChunkIndex]
    /// Pending messages, latest first, so the next one is `last`.
    private var pending: [(message: MCAPMessage, order: Int)] = []
    private var order = 0

    init(reader: MCAPReader, channelIDs: Set<UInt16>?, loose: [MCAPMessage]) {
        self.reader = reader
        self.channelIDs = channelIDs
        self.chunks = reader.chunksInTimeOrder.reversed().filter { index in
            guard let channelIDs, !index.messageIndexOffsets.isEmpty else { return true }
            return index.messageIndexOffsets.keys.contains(where: channelIDs.contains)
        }
        if !loose.isEmpty { add(loose) }
    }

    public mutating func next() -> MCAPMessage? {
        while let upcoming = chunks.last, pending.isEmpty || upcoming.messageStartTime <= pending.last!.message.logTime {
            chunks.removeLast()
            add(reader.chunkMessages(upcoming, channelIDs: channelIDs))
        }
        return pending.popLast()?.message
    }

    private mutating func add(_ messages: [MCAPMessage]) {
        guard !messages.isEmpty else { return }
        let first = order
        order += messages.count
        let isSorted = zip(messages, messages.dropFirst()).allSatisfy { $0.logTime <= $1.logTime }
        if pending.isEmpty && isSorted {
            pending = messages.enumerated().reversed().map { ($0.element, first + $0.offset) }
            return
        }
        pending.append(contentsOf: messages.enumerated().map { ($0.element, first + $0.offset) })
        pending.sort { ($0.message.logTime, $0.order) > ($1.message.logTime, $1.order) }
    }
}
