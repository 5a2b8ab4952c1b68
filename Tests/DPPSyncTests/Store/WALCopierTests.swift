@testable import DPPSync
import Foundation
import GRDB
import Testing

@Suite("the WAL is copied into the database on the second core")
struct WALCopierTests {
    /// The rows of `technician` that the database file holds without its WAL (a copy of
    /// the file alone), or `nil` when not even the table is there yet.
    private func rowsInDatabaseFileAlone(_ path: String) throws -> Int? {
        let copy = NSTemporaryDirectory() + "dppsync-walcopy-alone-" + UUID().uuidString + ".sqlite"
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        return try DatabaseQueue(path: copy).read { db in
            try db.tableExists("technician") ? try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM technician") : nil
        }
    }

    @Test("with SQLite's own checkpoint off, committed pages reach the database file only through the copy")
    func copiesCommittedPages() throws {
        let path = NSTemporaryDirectory() + "dppsync-walcopy-" + UUID().uuidString + ".sqlite"
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
        // The writer goes on as before, and the WAL is emptied by the pass's own checkpoint.
        try store.write { db in try db.execute(sql: "INSERT INTO technician (labor_code) VALUES ('T-after')") }
        store.checkpoint()
        let walSize = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        #expect(walSize == 0)
        #expect(try rowsInDatabaseFileAlone(path) == 2001)
    }

    @Test("a database that cannot be opened is an error for whoever waits, nothing else")
    func missingDatabase() {
        let path = NSTemporaryDirectory() + "dppsync-walcopy-missing-" + UUID().uuidString + "/none.sqlite"
        #expect(throws: StoreError.self) { try WALCopier(path: path).start().wait() }
    }
}
