import CFUSE
import Foundation

/// The FUSE low-level callbacks of the virtual camera: a root directory holding `video0` (MMAP
/// streaming) and `video0-read` (the read() method). Each callback finds the camera through the
/// session's user data.
extension VirtualCamera {
    private static func camera(_ req: fuse_req_t?) -> VirtualCamera {
        Unmanaged<VirtualCamera>.fromOpaque(fuse_req_userdata(req)!).takeUnretainedValue()
    }

    private static let names: [(String, fuse_ino_t)] = [("video0", streamingInode), ("video0-read", readInode)]

    private func attributes(_ ino: fuse_ino_t) -> stat? {
        var st = stat()
        st.st_ino = __ino_t(ino)
        st.st_uid = getuid()
        st.st_gid = getgid()
        st.st_nlink = 1
        switch ino {
        case fuse_ino_t(FUSE_ROOT_ID):
            st.st_mode = S_IFDIR | 0o755
            st.st_nlink = 2
        case Self.streamingInode:
            st.st_mode = S_IFREG | 0o660
            st.st_size = off_t(fileSize)
        case Self.readInode:
            st.st_mode = S_IFREG | 0o660
        default:
            return nil
        }
        return st
    }

    func installCallbacks(_ ops: inout fuse_lowlevel_ops) {
        ops.lookup = { req, parent, name in
            let camera = VirtualCamera.camera(req)
            guard parent == fuse_ino_t(FUSE_ROOT_ID), let name, let ino = VirtualCamera.names.first(where: { $0.0 == String(cString: name) })?.1,
                  let st = camera.attributes(ino) else { _ = fuse_reply_err(req, ENOENT); return }
            var entry = fuse_entry_param()
            entry.ino = ino
            entry.generation = 1
            entry.attr = st
            entry.attr_timeout = 3600
            entry.entry_timeout = 3600
            _ = fuse_reply_entry(req, &entry)
        }
        ops.getattr = { req, ino, _ in
            guard var st = VirtualCamera.camera(req).attributes(ino) else { _ = fuse_reply_err(req, ENOENT); return }
            _ = fuse_reply_attr(req, &st, 3600)
        }
        ops.readdir = { req, ino, size, offset, _ in
            guard ino == fuse_ino_t(FUSE_ROOT_ID) else { _ = fuse_reply_err(req, ENOTDIR); return }
            let entries: [(String, fuse_ino_t)] = [(".", fuse_ino_t(FUSE_ROOT_ID)), ("..", fuse_ino_t(FUSE_ROOT_ID))] + VirtualCamera.names
            var buffer = [CChar](repeating: 0, count: size)
            var used = 0
            var index = Int(offset)
            while index < entries.count {
                var st = stat()
                st.st_ino = __ino_t(entries[index].1)
                st.st_mode = entries[index].1 == fuse_ino_t(FUSE_ROOT_ID) ? S_IFDIR : S_IFREG
                let needed = buffer.withUnsafeMutableBufferPointer { b in
                    fuse_add_direntry(req, b.baseAddress! + used, size - used, entries[index].0, &st, off_t(index + 1))
                }
                if needed > size - used { break }
                used += needed
                index += 1
            }
            _ = fuse_reply_buf(req, buffer, used)
        }
        ops.open = { req, ino, fi in
            guard let fi else { _ = fuse_reply_err(req, EINVAL); return }
            let camera = VirtualCamera.camera(req)
            switch ino {
            case VirtualCamera.streamingInode:
                // Through the page cache, so that mmap works and frames pushed with notify_store are seen.
                fi.pointee.direct_io = 0
                fi.pointee.keep_cache = 1
            case VirtualCamera.readInode:
                fi.pointee.direct_io = 1
                fi.pointee.nonseekable = 1
            default:
                _ = fuse_reply_err(req, EISDIR); return
            }
            fi.pointee.fh = camera.openHandle(ino)
            _ = fuse_reply_open(req, fi)
        }
        ops.release = { req, _, fi in
            if let fi { VirtualCamera.camera(req).release(fi.pointee.fh) }
            _ = fuse_reply_err(req, 0)
        }
        ops.read = { req, ino, size, offset, _ in
            let camera = VirtualCamera.camera(req)
            if ino == VirtualCamera.readInode { camera.readFrame(req!, size: size) } else { camera.readMapped(req!, size: size, offset: Int(offset)) }
        }
        ops.ioctl = { req, ino, cmd, _, fi, flags, inBuf, inSize, outSize in
            guard flags & VISOR_FUSE_IOCTL_COMPAT == 0 else { _ = fuse_reply_err(req, ENOSYS); return }
            let nonblocking = ((fi?.pointee.flags ?? 0) & O_NONBLOCK) != 0
            VirtualCamera.camera(req).handleIoctl(req!, ino, command: UInt(cmd), fh: fi?.pointee.fh ?? 0, nonblocking: nonblocking,
                                                  input: inBuf, inputSize: inSize, outputSize: outSize)
        }
        ops.poll = { req, ino, _, handle in
            VirtualCamera.camera(req).poll(req!, ino: ino, handle: handle)
        }
    }
}
