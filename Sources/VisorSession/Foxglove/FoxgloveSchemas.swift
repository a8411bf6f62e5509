/// Foxglove's published schemas that Visor writes, as `FileDescriptorSet`s built from their field
/// tables, so that Foxglove and the official readers decode Visor's files with no plug-in.
public enum FoxgloveSchema: String, CaseIterable, Sendable {
    case compressedImage = "foxglove.CompressedImage"
    case rawImage = "foxglove.RawImage"
    case rawAudio = "foxglove.RawAudio"

    public var name: String { rawValue }

    /// The serialized `google.protobuf.FileDescriptorSet` for the schema record's data.
    public var fileDescriptorSet: [UInt8] {
        var set = ProtobufWriter()
        set.message(1) { Self.timestampFile(&$0) }
        set.message(1) { file in
            let messageName = String(rawValue.dropFirst("foxglove.".count))
            file.string(1, "foxglove/\(messageName).proto")
            file.string(2, "foxglove")
            file.string(3, "google/protobuf/timestamp.proto")
            file.message(4) { message in
                message.string(1, messageName)
                for field in fields { field.encode(&message) }
            }
            file.string(12, "proto3")
        }
        return set.bytes
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

    private static func timestampFile(_ file: inout ProtobufWriter) {
        file.string(1, "google/protobuf/timestamp.proto")
        file.string(2, "google.protobuf")
        file.message(4) { message in
            message.string(1, "Timestamp")
            FieldDescription("seconds", 1, .int64).encode(&message)
            FieldDescription("nanos", 2, .int32).encode(&message)
        }
        file.string(12, "proto3")
    }
}

/// One `FieldDescriptorProto`.
private struct FieldDescription {
    /// `FieldDescriptorProto.Type` values.
    enum FieldType: Int32 { case int64 = 3, int32 = 5, fixed32 = 7, string = 9, message = 11, bytes = 12 }

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
