/// MCAP record opcodes (mcap.dev specification, version 0).
public enum MCAPOpcode: UInt8 {
    case header = 0x01, footer = 0x02, schema = 0x03, channel = 0x04, message = 0x05
    case chunk = 0x06, messageIndex = 0x07, chunkIndex = 0x08, attachment = 0x09
    case attachmentIndex = 0x0A, statistics = 0x0B, metadata = 0x0C, metadataIndex = 0x0D
    case summaryOffset = 0x0E, dataEnd = 0x0F
}

/// The eight bytes that open and close every MCAP file.
public let mcapMagic: [UInt8] = [0x89, 0x4D, 0x43, 0x41, 0x50, 0x30, 0x0D, 0x0A]

public struct MCAPHeader: Equatable, Sendable {
    public var profile: String
    public var library: String
    public init(profile: String, library: String) { self.profile = profile; self.library = library }
}

public struct MCAPSchema: Equatable, Sendable {
    public var id: UInt16
    public var name: String
    public var encoding: String
    public var data: [UInt8]
    public init(id: UInt16, name: String, encoding: String, data: [UInt8]) {
        self.id = id; self.name = name; self.encoding = encoding; self.data = data
    }
}

public struct MCAPChannel: Equatable, Sendable {
    public var id: UInt16
    public var schemaID: UInt16
    public var topic: String
    public var messageEncoding: String
    public var metadata: [String: String]
    public init(id: UInt16, schemaID: UInt16, topic: String, messageEncoding: String, metadata: [String: String] = [:]) {
        self.id = id; self.schemaID = schemaID; self.topic = topic
        self.messageEncoding = messageEncoding; self.metadata = metadata
    }
}

/// One message. `data` shares the storage of the chunk it came from (no copy).
public struct MCAPMessage: Sendable {
    public var channelID: UInt16
    public var sequence: UInt32
    public var logTime: UInt64
    public var publishTime: UInt64
    public var data: ArraySlice<UInt8>
    public init(channelID: UInt16, sequence: UInt32, logTime: UInt64, publishTime: UInt64, data: ArraySlice<UInt8>) {
        self.channelID = channelID; self.sequence = sequence; self.logTime = logTime
        self.publishTime = publishTime; self.data = data
    }
}

public struct MCAPMetadata: Equatable, Sendable {
    public var name: String
    public var metadata: [String: String]
    public init(name: String, metadata: [String: String]) { self.name = name; self.metadata = metadata }
}

public struct MCAPAttachment: Equatable, Sendable {
    public var logTime: UInt64
    public var createTime: UInt64
    public var name: String
    public var mediaType: String
    public var data: [UInt8]
    public init(logTime: UInt64, createTime: UInt64, name: String, mediaType: String, data: [UInt8]) {
        self.logTime = logTime; self.createTime = createTime; self.name = name
        self.mediaType = mediaType; self.data = data
    }
}

public struct MCAPChunkIndex: Equatable, Sendable {
    public var messageStartTime: UInt64
    public var messageEndTime: UInt64
    public var chunkStartOffset: UInt64
    public var chunkLength: UInt64
    public var messageIndexOffsets: [UInt16: UInt64]
    public var messageIndexLength: UInt64
    public var compression: String
    public var compressedSize: UInt64
    public var uncompressedSize: UInt64
}

public struct MCAPStatistics: Equatable, Sendable {
    public var messageCount: UInt64 = 0
    public var schemaCount: UInt16 = 0
    public var channelCount: UInt32 = 0
    public var attachmentCount: UInt32 = 0
    public var metadataCount: UInt32 = 0
    public var chunkCount: UInt32 = 0
    public var messageStartTime: UInt64 = 0
    public var messageEndTime: UInt64 = 0
    public var channelMessageCounts: [UInt16: UInt64] = [:]
    public init() {}
}

struct MCAPAttachmentIndex: Equatable {
    var offset: UInt64, length: UInt64, logTime: UInt64, createTime: UInt64, dataSize: UInt64
    var name: String, mediaType: String
}

struct MCAPMetadataIndex: Equatable {
    var offset: UInt64, length: UInt64, name: String
}
