@testable import DPPSync
import Foundation
import GRDB
import Testing

@Suite("the WAL is copied into the database on the second core")
struct WALCopierTests {
    /// The rows of `technician` that the database file holds without its WAL (a copy of
    /// the file alone), or `nil` when not even the table is there yet.
    private func rowsInDatabaseFileAlone(_ path: String) throws -> Int? {
        let copy = TemporaryFiles.path("dppsync-walcopy-alone-", ".sqlite")
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        return try DatabaseQueue(path: copy).read { db in
            try db.tableExists("technician") ? try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM technician") : nil
        }
    }

    @Test("with SQLite's own checkpoint off, committed pages reach the database file only through the copy")
    func copiesCommittedPages() throws {
        let path = TemporaryFiles.path("dppsync-walcopy-", ".sqlite")
        let store = try Store(path: path)
        store.setAutomaticCheckpoints(false)
        try store.write { db in
            for i in 0..<2000 {
                try db.execute(sql: "INSERT INTO technician (labor_code, category) VALUES (?, 'B1')", arguments: ["T\(i)"])
            }
        }
        #expect(try rowsInDatabaseFileAlone(path) ?? 0 == 0, "the commit stayed in the WAL")
        try store.copyWALInBackground().wait()
        #expect(try rowsInDatabaseFileAlone(path) == 2000)
        // The writer goes on as before, and the pass's own checkpoint copies what is left.
        try store.write { db in try db.execute(sql: "INSERT INTO technician (labor_code) VALUES ('T-after')") }
        store.checkpoint()
        #expect(try rowsInDatabaseFileAlone(path) == 2001)
    }

    private func walSize(_ path: String) -> Int64 {
        (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int64) ?? 0
    }

    /// One file's worth of writes: 3,000 technicians with some text each.
    private func writeFile(_ store: Store, tag: String) throws {
        try store.write { db in
            for i in 0..<3000 {
                try db.execute(sql: "INSERT INTO technician (labor_code, category, authorisations) VALUES (?, 'B1', ?)",
                               arguments: ["\(tag)-\(i)", String(repeating: "authorisation ", count: 20)])
            }
        }
    }

    @Test("the WAL file is kept for the next run, which writes over it from its start instead of after its old frames")
    func walKeptAndWrittenOver() throws {
        let path = TemporaryFiles.path("dppsync-walkept-", ".sqlite")
        var kept: Int64 = 0
        do {
            let store = try Store(path: path)
            store.setAutomaticCheckpoints(false)
            try writeFile(store, tag: "night1")
            store.checkpoint()
            kept = walSize(path)
            #expect(kept > 1 << 20, "the first night's WAL is kept")
            #expect(try rowsInDatabaseFileAlone(path) == 3000, "and everything in it was copied")
        }
        // The store closed (the run ended) and opens again the next night.
        try secondNight(path) { #expect(walSize(path) <= kept, "written over, not appended after the first night's frames") }
    }

    /// The next night's run on the store at `path`: a file written (then `written` runs), copied,
    /// and both nights' rows in the database file and the store.
    private func secondNight(_ path: String, written: () -> Void = {}) throws {
        let store = try Store(path: path)
        store.setAutomaticCheckpoints(false)
        try writeFile(store, tag: "night2")
        written()
        store.checkpoint()
        #expect(try rowsInDatabaseFileAlone(path) == 6000)
        let count = try store.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM technician") }
        #expect(count == 6000)
    }

    @Test("a run killed between the WAL's copy and the small write that renews its header loses nothing; the next run copies the old frames again")
    func killedBeforeTheNewHeader() throws {
        let path = TemporaryFiles.path("dppsync-walkill-", ".sqlite")
        do {
            let store = try Store(path: path)
            store.setAutomaticCheckpoints(false)
            try writeFile(store, tag: "night1")
            // What `checkpoint()` does up to the kill: everything copied, the WAL's header not renewed.
            _ = try store.pool.writeWithoutTransaction { db in try db.checkpoint(.restart) }
        }
        try secondNight(path)
    }

    @Test("a WAL larger than the store keeps is truncated")
    func largeWALTruncated() throws {
        let path = TemporaryFiles.path("dppsync-walbig-", ".sqlite")
        let store = try Store(path: path, walKeptBytes: 1 << 20)
        store.setAutomaticCheckpoints(false)
        try writeFile(store, tag: "big")
        #expect(walSize(path) > 1 << 20)
        store.checkpoint()
        #expect(walSize(path) == 0)
        #expect(try rowsInDatabaseFileAlone(path) == 3000)
    }

    @Test("a database that cannot be opened is an error for whoever waits, nothing else")
    func missingDatabase() {
        let path = TemporaryFiles.path("dppsync-walcopy-missing-", "/none.sqlite")
        #expect(throws: StoreError.self) { try WALCopier(path: path).start().wait() }
    }
}
