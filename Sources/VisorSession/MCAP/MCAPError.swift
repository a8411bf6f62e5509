import VisorCore

/// What can be wrong with an MCAP file.
public enum MCAPError: Error, CustomStringConvertible, Equatable {
    case notMCAP
    case malformed(String)
    case corruptChunk(offset: Int, reason: String)
    case unsupportedCompression(String)
    case tooLarge(String)

    public var description: String {
        switch self {
        case .notMCAP: return "not an MCAP file (it does not start with the MCAP magic bytes)"
        case .malformed(let why): return "malformed MCAP: \(why)"
        case .corruptChunk(let offset, let reason): return "corrupt chunk at byte \(offset): \(reason)"
        case .unsupportedCompression(let name): return "MCAP chunk compression \"\(name)\" is not supported (Visor reads zstd, lz4 and none)"
        case .tooLarge(let why): return "MCAP record too large: \(why)"
        }
    }
}
