import Foundation

/// Reading a file the user named as an input, with messages that say what is wrong with it: not
/// there, a folder, a device or a pipe (which Visor does not read: `/dev/zero` never ends), too
/// large, or not readable.
public enum InputFile {
    /// The whole file.
    /// - Parameters:
    ///   - role: what the file is, for messages ("session", "profile file").
    ///   - limitBytes: larger files are refused before they are read.
    /// - Throws: `VisorError` naming the file and what is wrong.
    public static func read(_ path: String, role: String, limitBytes: Int = Int.max) throws -> Data {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { throw VisorError("no such file: \(path)") }
            throw VisorError("cannot read \(role) \(path): \(String(cString: strerror(errno)))")
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw VisorError("\(role) \(path) is a directory; give a file")
        default: throw VisorError("\(role) \(path) is a device, pipe or socket, not a regular file; give a file")
        }
        guard Int(info.st_size) <= limitBytes else {
            throw VisorError("\(role) \(path) is \(info.st_size) bytes, more than the \(limitBytes) a \(role) may have")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let reason = errno == EACCES ? "permission denied" : String(cString: strerror(errno))
            throw VisorError("cannot read \(role) \(path): \(reason)")
        }
        defer { close(fd) }
        var data = Data(count: Int(info.st_size))
        var filled = 0
        let failure: Int32? = data.withUnsafeMutableBytes { buffer -> Int32? in
            while filled < buffer.count {
                let n = Foundation.read(fd, buffer.baseAddress! + filled, buffer.count - filled)
                if n < 0 { if errno == EINTR { continue }; return errno }
                if n == 0 { break }  // shrank while read: keep what is there
                filled += n
            }
            return nil
        }
        if let failure { throw VisorError("cannot read \(role) \(path): \(String(cString: strerror(failure)))") }
        if filled < data.count { data.removeSubrange(filled...) }
        return data
    }
}
