import CSQLiteSetup
import Foundation
import GRDB
import GRDBSQLite

/// The DPP store: `State/dppsync.sqlite`, in WAL mode with `synchronous=FULL`
/// so that a committed file's effects survive a power cut (DESIGN.md §4.6).
public final class Store: Sendable {
    public let pool: DatabasePool
    public let path: String

    /// Opens (creating and migrating if needed) the store at `path`.
    /// - Parameter busyTimeout: how long a write waits, in seconds, for another process's write
    ///   transaction to end (a run's file is one transaction: ~90 s for a million work orders).
    public init(path: String, readOnly: Bool = false, walKeptBytes: Int64 = 1 << 30, busyTimeout: TimeInterval = 30) throws {
        _ = Self.librarySetUp
        var config = GRDB.Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(busyTimeout)
        config.readonly = readOnly
        config.prepareDatabase { db in
            db.add(function: Self.sqlarUncompress)
            // Takes effect only while the file is still empty, before GRDB switches it to WAL.
            try db.execute(sql: "PRAGMA page_size = \(Self.pageSize)")
            // The last connection to close keeps the WAL file instead of deleting it (`checkpoint()`).
            var persist: Int32 = 1
            sqlite3_file_control(db.sqliteConnection, "main", SQLITE_FCNTL_PERSIST_WAL, &persist)
        }
        self.path = path
        self.walKeptBytes = walKeptBytes
        self.pool = try DatabasePool(path: path, configuration: config)
        // GRDB sets NORMAL on WAL pools after `prepareDatabase`; the writer must be FULL.
        if !readOnly {
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                try db.execute(sql: "PRAGMA cache_size = -\(Self.writerCacheKiB)")
            }
        }
        if !readOnly { try Self.migrator.migrate(pool) }
    }

    /// Whether `error` is SQLite's "busy": another process's write transaction outlasted the
    /// busy timeout (the caller's writes did not happen).
    public static func isBusy(_ error: any Error) -> Bool {
        (error as? DatabaseError)?.resultCode == .SQLITE_BUSY
    }

    /// SQLite set up once per process, before the first connection opens (`CSQLiteSetup`):
    /// without a mutex per connection and without memory statistics, locking and unlocking
    /// had been 6 % of the thread that decides a large file (perf), taken on every bind,
    /// step, column read and allocation.
    private static let librarySetUp: Void = { _ = dppsync_sqlite_setup() }()

    /// The writer's page cache. A file's transaction touches far more pages than
    /// SQLite's default 2 MB holds, and then spills dirty pages to the WAL mid-transaction
    /// and re-reads hot index pages. With 4 KB pages 16 MB kept the indexes' working set;
    /// with 64 KB pages a miss re-reads 64 KB (16 MB: 41,000 reads, 2.5 GB, for 100k work
    /// orders), and 32 MB was 0.6–2 s faster in alternating runs at +12 MB peak RSS; 48 MB
    /// was no faster than 32. At 1M work orders the indexes written in random key order
    /// (the ledger's subjects, each component's latest work order) outgrow it: 96 MB took
    /// the 1M XML file from 137–142 s to 126 s (ledger 13.5 → 7.8 s) but peak RSS to 203 MB,
    /// over the 200 MB bound.
    static let writerCacheKiB = 32 * 1024

    /// The page size of a new store (an existing store keeps the one it was created with).
    /// A nightly file is one large transaction: every page it dirties goes to the WAL as a
    /// frame (two `pwrite`s, header and page), is re-checksummed at commit when the cache
    /// spilled, and is copied again by the checkpoint, so small pages mean many writes (4 KB:
    /// ~400,000 for a 100k work-order file, a fifth of the deciding thread's time). Large pages
    /// mean that a lookup the cache misses reads, and later writes back, a whole page: 64 KB
    /// pages had won only while the benchmark's work orders took their parts in registry order
    /// (each lookup beside the last); with parts drawn from anywhere in the registry, as a real
    /// night's are, the 100k file took 19.9–20.7 s with 64 KB pages, 16.2–17.5 s with 16 KB,
    /// 17.7–18.7 s with 8 KB and 16.8 s with 4 KB, and in registry order 12.0–13.3 s with
    /// 16 KB against 11.6–12.7 s with 64 KB (alternating runs).
    static let pageSize = 16384

    /// `sqlar_uncompress(data, size)` as the `sqlite3` shell has it, so that SQL reading
    /// ledger bodies (tests, auditors' queries) is the same inside and outside dppsync.
    static let sqlarUncompress = DatabaseFunction("sqlar_uncompress", argumentCount: 2, pure: true) { values in
        guard let data = Data.fromDatabaseValue(values[0]) else { return values[0] }
        let size = Int.fromDatabaseValue(values[1])
        return Data(try StoredBody.decode([UInt8](data), size: size.flatMap { $0 > 0 ? $0 : nil }))
    }

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction: the write lock is taken
    /// up front, so a concurrent writer waits (busy timeout) instead of failing
    /// at commit.
    public func write<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.writeWithoutTransaction { db in
            var result: T?
            try db.inTransaction(.immediate) {
                result = try body(db)
                return .commit
            }
            return result!
        }
    }

    public func read<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.read(body)
    }

    /// Starts the write-out of the WAL's dirty pages on a thread of its own, at the lowest priority,
    /// and returns: nobody waits for it (`FileProcessor.startFeed` says when and what it saves).
    /// Started all through a file instead, the write-out had cost more system time than the
    /// commit saved.
    func startWritingOutWAL() {
        let wal = path + "-wal"
        _ = BackgroundWork(.whenIdle) { FileSystem.startWritingOut(wal) }
    }

    /// Starts copying the WAL's committed pages into the database file on the second
    /// core (see `WALCopier`); wait for it before the next file's transaction.
    func copyWALInBackground() -> BackgroundWork<Void> {
        WALCopier(path: path).start()
    }

    /// Turns SQLite's own checkpoint off or on again. It runs inside the commit that takes
    /// the WAL past 1,000 pages, on the committing thread: after a 100k work-order file,
    /// 1.4 s of the deciding thread's time went on copying pages in it. A pass turns it off
    /// and copies the WAL itself (`copyWALInBackground`, then `checkpoint`).
    func setAutomaticCheckpoints(_ enabled: Bool) {
        _ = try? pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(enabled ? 1000 : 0)")
        }
    }

    /// The largest WAL file `checkpoint()` keeps for the next run to write over (1 GiB:
    /// a 100k work-order file leaves ~360 MB); a larger one is truncated.
    let walKeptBytes: Int64

    /// Copies every page of the WAL into the database and cuts the WAL file to nothing, so that bytes a
    /// transaction deleted (with `secure_delete`) are in no file; `false` while another process reads.
    public func clearWAL() -> Bool {
        (try? pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }) != nil
    }

    /// Moves the WAL's pages into the database file so the WAL does not grow
    /// without bound over a long night, and leaves the WAL file for the next file or
    /// run to write over from its start.
    ///
    /// Why keep it: a 100k work-order file writes ~360 MB of WAL frames. Into a file
    /// truncated by the last run, every frame needs new page-cache pages, and on this
    /// VM taking fresh pages is the slow part of a write (`copy_folio_from_iter_atomic`:
    /// 11 % of a run's CPU, ~300 MB/s); written over a kept file's cached pages it fell
    /// to 4 %. SQLite writes the WAL from its start again only when a write begins after
    /// everything was copied, and a reopened store recovers every frame that still
    /// matches the WAL header, as if none were copied: so after the copy one small write
    /// (the unchanged `user_version`) starts a new header, which leaves the old frames
    /// stale, and is copied in turn. Connections keep the file when they close
    /// (`SQLITE_FCNTL_PERSIST_WAL`, set in `init`).
    public func checkpoint() {
        _ = try? pool.writeWithoutTransaction { db in
            let walBytes = FileSystem.signature(of: path + "-wal")?.size ?? 0
            guard walBytes <= walKeptBytes else {
                try db.checkpoint(.truncate)
                return
            }
            try db.checkpoint(.restart)
            let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
            try db.execute(sql: "PRAGMA user_version = \(version)")
            try db.checkpoint(.passive)
        }
    }
}
