import GRDBSQLite

/// Copies the WAL's committed pages into the database file on a connection and a thread
/// of its own (a passive checkpoint), so that the deciding thread goes on while a large
/// file's pages are copied and flushed: after a 100k work-order file that copy took
/// about a second of the deciding thread's time, as `Store.checkpoint()` on the writer.
///
/// A passive checkpoint takes no write lock: the writer keeps committing, and its new
/// frames follow the copied ones. SQLite starts the WAL from its beginning again only
/// when a write begins after everything was copied, so the pass waits for the copy
/// before the next file's transaction (or the WAL would grow with every file), and ends
/// with `Store.checkpoint()`, which copies what the copy left and truncates the WAL.
struct WALCopier {
    let path: String

    /// Starts the copy on the second core; `wait()` on the result before the next file.
    func start() -> BackgroundWork<Void> {
        let path = path
        return BackgroundWork(.whenIdle) { try Self.copy(path: path) }
    }

    /// A failed copy loses nothing (the pages stay in the WAL, and the pass's last
    /// checkpoint copies them): the error only reaches whoever waits for it.
    static func copy(path: String) throws {
        var handle: OpaquePointer?
        defer { sqlite3_close_v2(handle) }
        let opened = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE, nil)
        guard opened == SQLITE_OK, let handle else {
            throw StoreError(message: "cannot open \(path) to copy its WAL (SQLite code \(opened))")
        }
        sqlite3_busy_timeout(handle, 30_000)
        // FULL: the WAL is flushed before its pages are copied and the database after.
        sqlite3_exec(handle, "PRAGMA synchronous = FULL", nil, nil, nil)
        let code = sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
        guard code == SQLITE_OK else {
            throw StoreError(message: "copying the WAL of \(path) failed: " + String(cString: sqlite3_errmsg(handle)))
        }
    }
}

