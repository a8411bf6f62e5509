import Foundation
import GRDB
import Logging
import VisorCore

/// One thing the glasses remember: a note the wearer dictated, text they had read to them, or a
/// photo they took, with what was in view then.
public struct MemoryEntry: Equatable, Sendable {
    public enum Kind: String, Sendable, CaseIterable { case note, reading, photo }
    public var id: Int64
    public var kind: Kind
    public var text: String
    /// What was in view when it was stored (text read, codes, people), as words.
    public var scene: String
    /// The photo's file, for photos.
    public var photoPath: String?
    /// The session's clock when stored, and the wall-clock time it was stored at (ISO 8601).
    public var sessionTimeNanoseconds: Int64
    public var recordedAt: String
}

/// The wearer's memory: a SQLite database (through GRDB) in a file the wearer chooses, created
/// readable by its owner only, with full-text search (FTS5, Porter stemming). Deleted rows are
/// overwritten (`secure_delete`), and `forgetAll` rebuilds the file so nothing deleted can be
/// read back from it.
public final class Memory {
    public let path: String
    private let db: DatabaseQueue
    private let logger = Logger(label: "visor.memory")

    /// Opens (or creates) the memory at `path`.
    /// - Throws: `VisorError` when the folder or file cannot be made, or the file is not a Visor memory.
    public init(path: String) throws {
        self.path = path
        let fm = FileManager.default
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty && !fm.fileExists(atPath: folder) {
            do { try fm.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]) }
            catch { throw VisorError("memory \(path): cannot make its folder (\(error.localizedDescription))") }
        }
        if !fm.fileExists(atPath: path) {
            let fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw VisorError("memory \(path): cannot create the file: \(String(cString: strerror(errno)))") }
            close(fd)
        }
        var config = Configuration()
        config.label = "visor.memory"
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        do {
            db = try DatabaseQueue(path: path, configuration: config)
            try Memory.migrator.migrate(db)
        } catch let error as DatabaseError {
            throw VisorError("memory \(path): \(error.message ?? "not a SQLite database")")
        } catch {
            throw VisorError("memory \(path): \(error)")
        }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "memory") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("kind", .text).notNull()
                t.column("text", .text).notNull()
                t.column("scene", .text).notNull().defaults(to: "")
                t.column("photo_path", .text)
                t.column("session_time_ns", .integer).notNull()
                t.column("recorded_at", .text).notNull()
            }
            try db.create(virtualTable: "memory_fts", using: FTS5()) { t in
                t.synchronize(withTable: "memory")
                t.tokenizer = .porter(wrapping: .unicode61())
                t.column("text")
                t.column("scene")
            }
        }
        return migrator
    }

    /// Stores an entry; returns its id.
    @discardableResult
    public func add(kind: MemoryEntry.Kind, text: String, scene: String, photoPath: String? = nil,
                    sessionTimeNanoseconds: UInt64, recordedAt: Date = Date()) throws -> Int64 {
        let stamp = ISO8601DateFormatter().string(from: recordedAt)
        return try write { db in
            try db.execute(sql: "INSERT INTO memory (kind, text, scene, photo_path, session_time_ns, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [kind.rawValue, String(text.prefix(2000)), String(scene.prefix(2000)), photoPath,
                                       Int64(clamping: sessionTimeNanoseconds), stamp])
            return db.lastInsertedRowID
        }
    }

    /// The newest entries first.
    public func list(limit: Int = 100) throws -> [MemoryEntry] {
        try read { db in try Row.fetchAll(db, sql: "SELECT * FROM memory ORDER BY id DESC LIMIT ?", arguments: [limit]).map(Memory.entry) }
    }

    /// Entries matching any of the words (stemmed: "cars" finds "car"), best match first. Common
    /// words ("the", "is", "where") are left out of the search.
    public func search(_ words: String, limit: Int = 10) throws -> [MemoryEntry] {
        let tokens = words.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init).filter { !Memory.stopWords.contains($0) }
        guard !tokens.isEmpty else { return [] }
        let pattern = tokens.map { "\"\($0)\"" }.joined(separator: " OR ")
        return try read { db in
            try Row.fetchAll(db, sql: """
                SELECT memory.* FROM memory JOIN memory_fts ON memory_fts.rowid = memory.id
                WHERE memory_fts MATCH ? ORDER BY bm25(memory_fts), memory.id DESC LIMIT ?
                """, arguments: [pattern, limit]).map(Memory.entry)
        }
    }

    /// Forgets one entry; false when there is none with that id. A photo's file is deleted too.
    /// Nothing of it stays in the file: FTS5 deletes by adding tombstones and keeps the old
    /// segments, which still hold the entry's words, so the index is rebuilt from the rows that
    /// remain, and the file rebuilt (VACUUM) so that no freed page keeps them either.
    @discardableResult
    public func forget(id: Int64) throws -> Bool {
        let photo = try read { db in try String.fetchOne(db, sql: "SELECT photo_path FROM memory WHERE id = ?", arguments: [id]) }
        let removed = try write { db -> Bool in
            try db.execute(sql: "DELETE FROM memory WHERE id = ?", arguments: [id])
            guard db.changesCount > 0 else { return false }
            try db.execute(sql: "INSERT INTO memory_fts(memory_fts) VALUES('rebuild')")
            return true
        }
        if removed { do { try db.vacuum() } catch { throw VisorError("memory \(path): \(error)") } }
        if let photo { try? FileManager.default.removeItem(atPath: photo) }
        return removed
    }

    /// Forgets everything: rows, the search index and photos, then rebuilds the file (VACUUM)
    /// so that none of it stays in free pages. Returns how many entries were forgotten.
    @discardableResult
    public func forgetAll() throws -> Int {
        let photos = try read { db in try String.fetchAll(db, sql: "SELECT photo_path FROM memory WHERE photo_path IS NOT NULL") }
        let count = try write { db -> Int in
            let n = try Int.fetchOne(db, sql: "SELECT count(*) FROM memory") ?? 0
            try db.execute(sql: "DELETE FROM memory")
            try db.execute(sql: "INSERT INTO memory_fts(memory_fts) VALUES('rebuild')")
            try db.execute(sql: "DELETE FROM sqlite_sequence WHERE name = 'memory'")
            return n
        }
        do { try db.vacuum() } catch { throw VisorError("memory \(path): \(error)") }
        for photo in photos { try? FileManager.default.removeItem(atPath: photo) }
        logger.info("forgot \(count) entries")
        return count
    }

    /// The words of what the wearer noted and had read (lower case, three letters or more, common
    /// words left out), at most `limit`: the context that speech recognition favours.
    public func vocabulary(limit: Int = 500) throws -> Set<String> {
        let texts = try read { db in try String.fetchAll(db, sql: "SELECT text FROM memory WHERE kind != 'photo' ORDER BY id DESC LIMIT 200") }
        var words = Set<String>()
        for text in texts {
            for w in text.lowercased().split(whereSeparator: { !$0.isLetter }) where w.count >= 3 && !Memory.stopWords.contains(String(w)) {
                words.insert(String(w))
                if words.count >= limit { return words }
            }
        }
        return words
    }

    public func count() throws -> Int { try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM memory") ?? 0 } }

    private func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try db.read(body) } catch let e as DatabaseError { throw VisorError("memory \(path): \(e.message ?? "\(e)")") }
    }

    private func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try db.write(body) } catch let e as DatabaseError { throw VisorError("memory \(path): \(e.message ?? "\(e)")") }
    }

    private static func entry(_ row: Row) -> MemoryEntry {
        MemoryEntry(id: row["id"], kind: MemoryEntry.Kind(rawValue: row["kind"]) ?? .note, text: row["text"], scene: row["scene"],
                    photoPath: row["photo_path"], sessionTimeNanoseconds: row["session_time_ns"], recordedAt: row["recorded_at"])
    }

    static let stopWords: Set<String> = ["a", "an", "the", "is", "are", "was", "were", "where", "what", "my", "i", "did", "do", "it",
                                         "of", "on", "in", "at", "to", "and", "or", "this", "that", "me", "you", "put", "left"]
}
