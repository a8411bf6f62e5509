import Foundation

/// A file the user named as an output, written where it is: the one way Visor writes what a
/// command was asked to write (transcripts, reports, traces, sessions, speech).
///
/// - The path is opened as a shell redirection opens it: a symbolic link is followed and its
///   target written (the link stays a link), a device or a FIFO (`/dev/null`, `/dev/full`, a pipe)
///   is written as it is and never replaced by a regular file. Nothing is written beside it and
///   renamed over it.
/// - A regular file is locked (`flock`, exclusive) before it is truncated, so that two Visor
///   processes never write one file at once: the second is refused with one line, and the first
///   one's file is left whole.
/// - A file Visor creates is readable by its owner only (0600).
/// - Every failed write (a full disk, a closed pipe) is an error naming the file.
public final class OutputFile {
    public let path: String
    /// What the file is, for messages ("transcript", "report").
    public let role: String
    public private(set) var fileDescriptor: Int32
    /// False for devices and FIFOs: nothing to lock, truncate or sync.
    public let isRegularFile: Bool

    /// Opens (creating or truncating) the output.
    /// - Throws: `VisorError` naming the file: a folder, a missing folder, no permission, or a
    ///   file another process is writing.
    public init(path: String, role: String, permissions: mode_t = 0o600) throws {
        self.path = path
        self.role = role
        try OutputFile.check(path, role: role)
        var fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, permissions)
        var created = fd >= 0
        if fd < 0 && errno == EEXIST {
            // There already, or a symbolic link (which O_EXCL never follows): open what it names,
            // creating a link's missing target.
            fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, permissions)
            created = false
        }
        guard fd >= 0 else { throw OutputFile.openError(path, role: role, errno: errno) }
        var info = stat()
        fstat(fd, &info)
        isRegularFile = (info.st_mode & S_IFMT) == S_IFREG
        if isRegularFile {
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                let busy = errno == EWOULDBLOCK
                Foundation.close(fd)
                throw VisorError(busy ? "\(role) \(path) is being written by another process; choose another file or wait for it to finish"
                                      : "cannot lock \(role) \(path): \(String(cString: strerror(errno)))")
            }
            if !created { _ = ftruncate(fd, 0) }
        }
        fileDescriptor = fd
    }

    deinit { if fileDescriptor >= 0 { Foundation.close(fileDescriptor) } }

    /// Writes all of `bytes`, retrying partial writes.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard fileDescriptor >= 0 else { throw VisorError("\(role) \(path) is already closed") }
        var offset = 0
        while offset < bytes.count {
            let n = Foundation.write(fileDescriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw OutputFile.writeError(path, role: role, errno: errno)
            }
            offset += n
        }
    }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    public func write(_ text: String) throws { try write(Array(text.utf8)) }

    /// Syncs a regular file to disk and closes it; errors that only show at close (NFS, a full
    /// disk) are reported.
    public func close() throws {
        guard fileDescriptor >= 0 else { return }
        let fd = fileDescriptor
        fileDescriptor = -1
        if isRegularFile && fsync(fd) != 0 && errno != EINVAL && errno != EROFS {
            let code = errno
            Foundation.close(fd)
            throw OutputFile.writeError(path, role: role, errno: code)
        }
        if Foundation.close(fd) != 0 && errno != EINTR { throw OutputFile.writeError(path, role: role, errno: errno) }
    }

    /// Writes a whole file at once.
    public static func write(_ bytes: [UInt8], to path: String, role: String) throws {
        let file = try OutputFile(path: path, role: role)
        try file.write(bytes)
        try file.close()
    }

    /// Checks, before a run starts, that `path` can be written: not a folder, its folder exists
    /// and may be written in. Writes nothing.
    public static func check(_ path: String, role: String) throws {
        guard !path.isEmpty else { throw VisorError("the \(role) needs a file name") }
        var info = stat()
        if stat(path, &info) == 0 {
            if (info.st_mode & S_IFMT) == S_IFDIR { throw VisorError("\(role) \(path) is a folder; give a file name") }
            guard access(path, W_OK) == 0 else { throw openError(path, role: role, errno: errno) }
            return
        }
        let folder = (path as NSString).deletingLastPathComponent
        let parent = folder.isEmpty ? "." : folder
        guard stat(parent, &info) == 0 else { throw VisorError("cannot write \(role) \(path): no such folder \(parent)") }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { throw VisorError("cannot write \(role) \(path): \(parent) is not a folder") }
        guard access(parent, W_OK) == 0 else { throw VisorError("cannot write \(role) \(path): no permission to write in \(parent)") }
    }

    /// Refuses outputs that would overwrite an input, or each other: the same file reached by any
    /// path (links included). Devices and FIFOs may be shared (two outputs to /dev/null).
    /// - Parameters:
    ///   - outputs: (what it is, path) of every output of the command.
    ///   - inputs: (what it is, path) of every input.
    public static func checkDistinct(outputs: [(role: String, path: String)], inputs: [(role: String, path: String)]) throws {
        func identity(_ path: String) -> (dev_t, ino_t)? {
            var info = stat()
            guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
            return (info.st_dev, info.st_ino)
        }
        func same(_ a: String, _ b: String) -> Bool {
            if let x = identity(a), let y = identity(b) { return x == y }
            // Not there yet (or not regular): the same name is still the same file.
            return (a as NSString).standardizingPath == (b as NSString).standardizingPath && identity(a) == nil && !isSpecial(a)
        }
        for (i, output) in outputs.enumerated() {
            for input in inputs where same(output.path, input.path) {
                throw VisorError("the \(output.role) \(output.path) is the \(input.role): writing it would destroy it; choose another file")
            }
            for other in outputs[..<i] where same(output.path, other.path) {
                throw VisorError("the \(other.role) and the \(output.role) are the same file, \(output.path); give each its own")
            }
        }
    }

    private static func isSpecial(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFREG
    }

    static func openError(_ path: String, role: String, errno code: Int32) -> VisorError {
        switch code {
        case EISDIR: return VisorError("\(role) \(path) is a folder; give a file name")
        case ENOENT: return VisorError("cannot write \(role) \(path): no such folder \((path as NSString).deletingLastPathComponent)")
        case EACCES, EPERM: return VisorError("cannot write \(role) \(path): permission denied")
        default: return VisorError("cannot write \(role) \(path): \(String(cString: strerror(code)))")
        }
    }

    static func writeError(_ path: String, role: String, errno code: Int32) -> VisorError {
        switch code {
        case ENOSPC, EDQUOT: return VisorError("cannot write \(role) \(path): the disk is full")
        case EPIPE: return VisorError("cannot write \(role) \(path): the reading end was closed")
        default: return VisorError("cannot write \(role) \(path): \(String(cString: strerror(code)))")
        }
    }
}
