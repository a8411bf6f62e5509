/// Foxglove's published schemas that Visor writes, as `FileDescriptorSet`s built from their field
/// tables, so that Foxglove and the official readers decode Visor's files with no plug-in.
public enum FoxgloveSchema: String, CaseIterable, Sendable {
    case compressedImage = "foxglove.CompressedImage"
    case rawImage = "foxglove.RawImage"
    case rawAudio = "foxglove.RawAudio"

    public var name: String { rawValue }

    /// The serialized `google.protobuf.FileDescriptorSet` for the schema record's data.
    public var fileDescriptorSet: [UInt8] {
        let messageName = String(rawValue.dropFirst("foxglove.".count))
        return SchemaFile.set([.timestamp, SchemaFile(package: "foxglove", message: messageName,
                                                      dependencies: [SchemaFile.timestamp.path], fields: fields)])
    }

    private var fields: [FieldDescription] {
        switch self {
        case .compressedImage:
            return [.init("timestamp", 1, .message, ".google.protobuf.Timestamp"), .init("frame_id", 4, .string),
                    .init("data", 2, .bytes), .init("format", 3, .string)]
        case .rawImage:
            return [.init("timestamp", 1, .message, ".google.protobuf.Timestamp"), .init("frame_id", 7, .string),
                    .init("width", 2, .fixed32), .init("height", 3, .fixed32), .init("encoding", 4, .string),
                    .init("step", 5, .fixed32), .init("data", 6, .bytes)]
        case .rawAudio:
            return [.init("timestamp", 1, .message, ".google.protobuf.Timestamp"), .init("data", 2, .bytes),
                    .init("format", 3, .string), .init("sample_rate", 4, .fixed32),
                    .init("number_of_channels", 5, .fixed32)]
        }
    }
}

/// One `FieldDescriptorProto`.
struct FieldDescription {
    /// `FieldDescriptorProto.Type` values.
    enum FieldType: Int32 { case double = 1, float = 2, int64 = 3, int32 = 5, fixed32 = 7, string = 9, message = 11, bytes = 12, uint32 = 13 }

    let name: String, number: Int32, type: FieldType, typeName: String?

    init(_ name: String, _ number: Int32, _ type: FieldType, _ typeName: String? = nil) {
        self.name = name; self.number = number; self.type = type; self.typeName = typeName
    }

    func encode(_ message: inout ProtobufWriter) {
        message.message(2) { f in
            f.string(1, name)
            f.int32(3, number)
            f.int32(4, 1)  // LABEL_OPTIONAL
            f.int32(5, type.rawValue)
            if let typeName { f.string(6, typeName) }
            f.string(10, jsonName)
        }
    }

    private var jsonName: String {
        let parts = name.split(separator: "_")
        return parts.enumerated().map { $0.offset == 0 ? String($0.element) : $0.element.prefix(1).uppercased() + $0.element.dropFirst() }.joined()
    }
}

/// One `FileDescriptorProto` holding one message: `package.Message` in `package/Message.proto`
/// (Timestamp's file is `google/protobuf/timestamp.proto`, as protoc names it).
struct SchemaFile {
    let package: String
    let message: String
    let dependencies: [String]
    let fields: [FieldDescription]

    var path: String { package == "google.protobuf" ? "google/protobuf/timestamp.proto" : "\(package.replacingOccurrences(of: ".", with: "/"))/\(message).proto" }

    func encode(_ file: inout ProtobufWriter) {
        file.string(1, path)
        file.string(2, package)
        for dependency in dependencies { file.string(3, dependency) }
        file.message(4) { m in
            m.string(1, message)
            for field in fields { field.encode(&m) }
        }
        file.string(12, "proto3")
    }

    static let timestamp = SchemaFile(package: "google.protobuf", message: "Timestamp", dependencies: [],
                                      fields: [.init("seconds", 1, .int64), .init("nanos", 2, .int32)])

    /// A `FileDescriptorSet` of `files`, each after the files it imports.
    static func set(_ files: [SchemaFile]) -> [UInt8] {
        var set = ProtobufWriter()
        for file in files { set.message(1) { file.encode(&$0) } }
        return set.bytes
    }
}
