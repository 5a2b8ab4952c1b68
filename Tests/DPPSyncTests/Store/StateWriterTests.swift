@testable import DPPSync
import Foundation
import GRDB
import Testing

@Suite("one write path and ledger entries")
struct StateWriterTests {
    @Test("apply writes the rows and a ledger entry whose canonical bytes round-trip and replay")
    func applyAndReplay() throws {
        let path = TemporaryFiles.path("dppsync-writer-", ".sqlite")
        let store = try Store(path: path)
        let change = StateChange(kind: "asset.registered", subject: "DPP-1", rows: [
            RowImage(table: StateSchema.asset, values: ["dpp_id": "DPP-1", "status": "IN_SERVICE", "specifications": "{\"a\":1}"]),
        ], provenance: Provenance(fileFingerprint: "ab", fileName: "f.json", recordIndex: 0, mappingName: "m", mappingHash: "cd"))
        let clock: () -> Timestamp = { Timestamp(millisecondsSinceEpoch: 0) }
        try store.write { db in
            var writer = try StateWriter(db: db, batchId: 7, clock: clock)
            #expect(try writer.apply(change) == 1)
            var updated = change
            updated.kind = "asset.updated"
            updated.rows[0].values["status"] = "UNSERVICEABLE"
            #expect(try writer.apply(updated) == 2)
        }
        let (bodies, status) = try store.read { db in
            (try Data.fetchAll(db, sql: "SELECT sqlar_uncompress(body, body_size) FROM ledger_entry ORDER BY seq"),
             try String.fetchOne(db, sql: "SELECT status FROM asset"))
        }
        #expect(status == "UNSERVICEABLE")
        let first = try #require(LedgerEntry(canonicalBytes: [UInt8](bodies[0])))
        #expect(first.change == change)
        #expect(first.batchId == 7)
        #expect(first.canonicalBytes == [UInt8](bodies[0]), "same entry, same bytes")
        let text = String(decoding: bodies[0], as: UTF8.self)
        #expect(text.hasPrefix(#"{"batch":"7","changes":[{"deleted":"0","key":{"dpp_id":"DPP-1"},"row":{"#))
        #expect(text.contains(#""seq":"1","subject":"DPP-1","time":"1970-01-01T00:00:00.000Z"}"#))

        // Replay on an empty store rebuilds the same state.
        let replayPath = TemporaryFiles.path("dppsync-replay-", ".sqlite")
        let replay = try Store(path: replayPath)
        try replay.write { db in
            for body in bodies {
                for row in try #require(LedgerEntry(canonicalBytes: [UInt8](body))).change.rows { try StateWriter.write(row, in: db) }
            }
        }
        let rebuilt = try replay.read { db in try StateWriter.row(StateSchema.asset, key: ["DPP-1"], in: db) }
        let original = try store.read { db in try StateWriter.row(StateSchema.asset, key: ["DPP-1"], in: db) }
        #expect(rebuilt == original)
    }

    @Test("texts bound in place reach SQLite whole: empty, NULL, inline, long and non-ASCII, row after row")
    func textsBoundInPlace() throws {
        let store = try Store(path: TemporaryFiles.path("dppsync-bind-", ".sqlite"))
        let long = String(repeating: "Prüfung ✓ contact resistance nominal; ", count: 40)
        let first: RowValues = ["dpp_id": "P-1", "description": long, "position": "", "status": "OK", "manufacturer": "Äero GmbH", "part_number": nil]
        // Every column again, with other lengths: a value left over from the first row would show.
        let second: RowValues = ["dpp_id": "P-2", "description": "x", "position": nil, "status": long, "manufacturer": "", "part_number": "PN-ß"]
        try store.write { db in
            for values in [first, second] { try StateWriter.write(RowImage(table: StateSchema.asset, values: values), in: db) }
        }
        for values in [first, second] {
            let stored = try #require(try store.read { db in try StateWriter.row(StateSchema.asset, key: [(values["dpp_id"] ?? nil) ?? ""], in: db) })
            for (column, value) in values { #expect(stored[column] == .some(value), "\(column)") }
            // Lookups bind in place too.
            let found = try store.read { db in
                try StateWriter.row(StateSchema.asset, sql: StateSchema.asset.selectSQL(where: "description = ? AND dpp_id = ?"),
                                    arguments: [(values["description"] ?? nil) ?? "", (values["dpp_id"] ?? nil) ?? ""], in: db)
            }
            #expect(found?["dpp_id"] == values["dpp_id"])
        }
        let empty = try store.read { db in try String.fetchOne(db, sql: "SELECT quote(position) FROM asset WHERE dpp_id = 'P-1'") }
        #expect(empty == "''", "an empty text stays text, not NULL")
    }

    @Test("the statement cache gives back each key's own statement, scanned or hashed")
    func statementCache() throws {
        let store = try Store(path: TemporaryFiles.path("dppsync-statements-", ".sqlite"))
        let answers = try store.read { db in
            let cache = StatementCache(db)
            // More kinds than the cache scans, so that the last ones are found by hashing;
            // keys that differ in their table or columns only are different statements.
            let keys = (0..<40).map { StatementCache.Key(kind: $0 % 20, table: $0 < 20 ? nil : ObjectIdentifier(StateSchema.asset), columns: UInt64($0 % 3)) }
            var answers: [String?] = []
            for round in 0..<2 {
                for (n, key) in keys.enumerated() {
                    // The SQL is asked for only the first time: a second round that prepared again would answer -1.
                    let statement = try cache.statement(key) { round == 0 ? "SELECT \(n)" : "SELECT -1" }
                    answers.append(try statement.firstRow([], columns: 1, in: db)?.first ?? nil)
                }
            }
            return answers
        }
        let expected = (0..<40).map { String($0) }
        #expect(answers == expected + expected)
    }

    @Test("an update's partial image carries the key and the changed columns, sets only those, and replays to the same row")
    func partialImage() throws {
        let store = try Store(path: TemporaryFiles.path("dppsync-partial-", ".sqlite"))
        let stored: RowValues = ["dpp_id": "P-1", "part_number": "PN", "serial_number": "SN", "description": "seal kit", "status": "SERVICEABLE"]
        var moved = stored
        moved["status"] = "INSTALLED"; moved["parent_dpp_id"] = "C-1"; moved["description"] = nil
        let image = RowImage(table: StateSchema.asset, updating: RowImage(table: StateSchema.asset, values: stored).values, to: moved)
        #expect(image.isPartial)
        #expect(Set(image.values.keys) == ["dpp_id", "status", "parent_dpp_id", "description"])
        let bodies = try store.write { db in
            var writer = try StateWriter(db: db, batchId: 1, clock: { Timestamp(millisecondsSinceEpoch: 0) })
            try writer.apply(StateChange(kind: "asset.registered", subject: "P-1", rows: [RowImage(table: StateSchema.asset, values: stored)], provenance: Provenance()))
            try writer.apply(StateChange(kind: "workorder.completed", subject: "C-1", rows: [image], provenance: Provenance()))
            return try Data.fetchAll(db, sql: "SELECT sqlar_uncompress(body, body_size) FROM ledger_entry ORDER BY seq")
        }
        let row = try #require(try store.read { db in try StateWriter.row(StateSchema.asset, key: ["P-1"], in: db) })
        #expect(row["part_number"] == "PN" && row["serial_number"] == "SN", "columns the image does not carry are kept")
        #expect(row["status"] == "INSTALLED" && row["parent_dpp_id"] == "C-1" && row["description"] == .some(nil))
        let second = try #require(LedgerEntry(canonicalBytes: [UInt8](bodies[1])))
        #expect(second.change.rows == [image])
        #expect(second.canonicalBytes == [UInt8](bodies[1]))
        let replay = try Store(path: TemporaryFiles.path("dppsync-partial-replay-", ".sqlite"))
        try replay.write { db in
            for body in bodies { for row in try #require(LedgerEntry(canonicalBytes: [UInt8](body))).change.rows { try StateWriter.write(row, in: db) } }
        }
        #expect(try replay.read { db in try StateWriter.row(StateSchema.asset, key: ["P-1"], in: db) } == row)
    }

    @Test("a partial image updates its stored row in place, and makes the row when none is stored")
    func partialImageUpdatesOrInserts() throws {
        let store = try Store(path: TemporaryFiles.path("dppsync-partial-update-", ".sqlite"))
        let table = StateSchema.asset
        let mask = table.mask(of: ["dpp_id", "installed_on", "status"])
        #expect(mask == table.mask(of: ["status", "dpp_id", "installed_on"]), "the same columns in another order")
        #expect(table.partialUpsert(mask: mask).update == "UPDATE asset SET installed_on = ?2, status = ?3 WHERE dpp_id = ?1")
        #expect(table.partialUpsert(mask: table.maskBit(of: "dpp_id")).update == nil, "nothing to set but the key")
        #expect(table.partialUpsert(mask: table.maskBit(of: "status")).update == nil, "no key to find the row by")
        let moved = RowImage(table: table, carrying: ["dpp_id": "P-1", "installed_on": "AC-1", "status": "INSTALLED"])
        let absent = RowImage(table: table, carrying: ["dpp_id": "P-2", "installed_on": "AC-2", "status": "INSTALLED"])
        try store.write { db in
            try StateWriter.write(RowImage(table: table, values: ["dpp_id": "P-1", "part_number": "PN", "serial_number": "SN", "status": "SERVICEABLE"]), in: db)
            try StateWriter.write(moved, in: db)
            try StateWriter.write(absent, in: db)
        }
        let rows = try store.read { db in try ["P-1", "P-2"].map { try StateWriter.row(table, key: [$0], in: db) } }
        #expect(rows[0]?["status"] == "INSTALLED" && rows[0]?["installed_on"] == "AC-1" && rows[0]?["part_number"] == "PN")
        #expect(rows[1]?["status"] == "INSTALLED" && rows[1]?["installed_on"] == "AC-2" && rows[1]?["part_number"] == .some(nil))
    }

    /// A new store turned back into what an earlier version left (`sql`, with `migration` not yet
    /// applied), then opened again so that the migration runs on it.
    func reopened(undoing migration: String, with sql: String) throws -> Store {
        let path = TemporaryFiles.path("dppsync-migration-", ".sqlite")
        _ = try Store(path: path)
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: sql)
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = ?", arguments: [migration])
        }
        try queue.close()
        return try Store(path: path)
    }

    @Test("a store made before state tables were clustered is rebuilt on open, rows and indexes kept")
    func clusteredMigration() throws {
        // Make `asset` what earlier versions created: a rowid table with its key as an index.
        let store = try reopened(undoing: "v5-clustered-state", with: """
            DROP TABLE asset;
            CREATE TABLE asset (\(StateSchema.asset.columns.map { $0 == "dpp_id" ? "dpp_id TEXT NOT NULL" : $0 }.joined(separator: ", ")), PRIMARY KEY (dpp_id));
            CREATE INDEX asset_cmms ON asset(cmms_asset_num);
            CREATE INDEX asset_part_serial ON asset(part_number, serial_number);
            INSERT INTO asset (dpp_id, cmms_asset_num, part_number, serial_number) VALUES ('DPP-1', 'CMMS-1', 'PN', 'SN');
            """)
        let (sql, indexes, row) = try store.read { db in
            (try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = 'asset'") ?? "",
             try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'asset' AND sql IS NOT NULL ORDER BY name"),
             try StateWriter.row(StateSchema.asset, sql: StateSchema.asset.selectSQL(where: "cmms_asset_num = ?"), arguments: ["CMMS-1"], in: db))
        }
        #expect(sql.hasSuffix("WITHOUT ROWID"))
        #expect(indexes == ["asset_cmms", "asset_part_serial"])
        #expect(row?["dpp_id"] == "DPP-1" && row?["serial_number"] == "SN")
    }

    @Test("a batch's counts by outcome and reason are read from the outcome index alone, also in a store made before it held the reason")
    func outcomeCountsFromTheIndex() throws {
        let counts = "SELECT outcome, reason, COUNT(*) AS n FROM record_outcome WHERE batch_id = ? GROUP BY outcome, reason ORDER BY outcome, reason"
        let notPlain = "SELECT COUNT(*) FROM record_outcome WHERE batch_id = ? AND NOT (outcome = 'applied' AND reason IS NULL)"
        let fresh = try Store(path: TemporaryFiles.path("dppsync-outcome-index-", ".sqlite"))
        let earlier = try reopened(undoing: "v15-outcome-batch-reason", with: """
            DROP INDEX record_outcome_batch;
            CREATE INDEX record_outcome_batch ON record_outcome(batch_id, outcome);
            """)
        for store in [fresh, earlier] {
            let plans = try store.read { db in
                try [counts, notPlain].map { sql in
                    try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: [1]).map { $0["detail"] as String }.joined(separator: "; ")
                }
            }
            for plan in plans { #expect(plan.contains("COVERING INDEX record_outcome_batch"), "\(plan)") }
        }
    }

    @Test("an outbox queue made before it was clustered is rebuilt on open, its rows and emission marks kept")
    func clusteredQueueMigration() throws {
        let store = try reopened(undoing: "v9-outbox-queue-clustered", with: """
            DROP TABLE outbox_queue;
            CREATE TABLE outbox_queue (message_id TEXT PRIMARY KEY, ledger_seq INTEGER NOT NULL, emitted_at TEXT, file TEXT,
                                       batch_id INTEGER NOT NULL DEFAULT 0);
            CREATE INDEX outbox_queue_batch ON outbox_queue(batch_id, ledger_seq);
            CREATE INDEX outbox_queue_pending ON outbox_queue(ledger_seq) WHERE emitted_at IS NULL;
            INSERT INTO outbox_queue VALUES ('MDN-1', 7, '2026-01-10T02:00:00.000Z', '/o/MDN-1.json', 1), ('CRS-WO-1', 9, NULL, NULL, 2);
            """)
        let (sql, rows, pending) = try store.read { db in
            (try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE name = 'outbox_queue'") ?? "",
             try Row.fetchAll(db, sql: "SELECT message_id, ledger_seq, emitted_at, file, batch_id FROM outbox_queue ORDER BY ledger_seq"),
             try String.fetchAll(db, sql: "SELECT message_id FROM outbox_queue WHERE emitted_at IS NULL ORDER BY ledger_seq"))
        }
        #expect(sql.hasSuffix("WITHOUT ROWID"))
        #expect(rows.map { $0["message_id"] as String } == ["MDN-1", "CRS-WO-1"])
        #expect(rows[0]["emitted_at"] as String? == "2026-01-10T02:00:00.000Z" && rows[0]["file"] as String? == "/o/MDN-1.json")
        #expect(rows[1]["batch_id"] as Int64 == 2)
        #expect(pending == ["CRS-WO-1"])
    }

    @Test("an outbox queue made before it held each message's channel gets it from the message on open, and its pending index covers it")
    func queueChannelMigration() throws {
        let store = try reopened(undoing: "v16-outbox-queue-channel", with: """
            DROP INDEX outbox_queue_pending;
            ALTER TABLE outbox_queue DROP COLUMN channel;
            CREATE INDEX outbox_queue_pending ON outbox_queue(ledger_seq) WHERE emitted_at IS NULL;
            INSERT INTO outbox_message (message_id, channel, body) VALUES ('MDN-1', 'maintenance-due', '{}'), ('CRS-WO-1', 'release-certificates', '{}');
            INSERT INTO outbox_queue (message_id, ledger_seq, emitted_at, file, batch_id)
                VALUES ('MDN-1', 7, '2026-01-10T02:00:00.000Z', '/o/MDN-1.json', 1), ('CRS-WO-1', 9, NULL, NULL, 2), ('GONE-1', 11, NULL, NULL, 2);
            """)
        let (channels, plan) = try store.read { db in
            (try Row.fetchAll(db, sql: "SELECT message_id, channel FROM outbox_queue ORDER BY ledger_seq").map { "\($0[0] as String)=\($0[1] as String)" },
             try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + OutboxEmitter.pendingBatchesSQL,
                              arguments: ["release-certificates"]).map { $0["detail"] as String }.joined(separator: "; "))
        }
        // A queued message whose row is gone (a tampered store) gets no channel rather than failing the open.
        #expect(channels == ["MDN-1=maintenance-due", "CRS-WO-1=release-certificates", "GONE-1="])
        #expect(plan.contains("COVERING INDEX outbox_queue_pending"), "\(plan)")
    }

    @Test("the store runs in WAL mode with synchronous=FULL and foreign keys on")
    func pragmas() throws {
        let store = try Store(path: TemporaryFiles.path("dppsync-pragma-", ".sqlite"))
        let pragmas = try store.write { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"),
             try Int.fetchOne(db, sql: "PRAGMA foreign_keys"))
        }
        #expect(pragmas.0 == "wal")
        #expect(pragmas.1 == 2)
        #expect(pragmas.2 == 1)
    }

    @Test("a pipelined writer writes the subject index and installations a run at a time and at finish, each key's last decision last")
    func subjectIndexInRuns() throws {
        let store = try Store(path: TemporaryFiles.path("dppsync-subjects-", ".sqlite"))
        let provenance = Provenance(fileFingerprint: "ab", fileName: "f.json", recordIndex: 0, mappingName: "m", mappingHash: "cd")
        // Each completion moves two parts, named so that key order differs from write order; Q0 and Q1
        // go on another aircraft on one day each time (the last decision stands).
        func completion(_ n: Int) -> StateChange {
            StateChange(kind: "workorder.completed", subject: "DPP-C", rows: [
                RowImage(table: StateSchema.asset, values: ["dpp_id": "DPP-P\(9 - n)", "status": "INSTALLED"]),
                RowImage(table: StateSchema.installation, inColumnOrder: ["DPP-P\(9 - n)", "2026-12-01", "AC-\(n)"]),
                RowImage(table: StateSchema.asset, values: ["dpp_id": "DPP-Q\(n % 2)", "status": "INSTALLED"]),
                RowImage(table: StateSchema.installation, inColumnOrder: ["DPP-Q\(n % 2)", "2026-12-01", "AC-\(n)"]),
            ], provenance: provenance)
        }
        var listedBeforeFinish = 0
        try store.write { db in
            var writer = try StateWriter(db: db, batchId: 1, pipelined: true, clock: { Timestamp(millisecondsSinceEpoch: 0) })
            writer.deferredRun = 16
            for n in 0..<7 { try writer.apply(completion(n)) }
            listedBeforeFinish = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ledger_subject") ?? -1
            try writer.finish()
        }
        // A run of sixteen writes went after the 4th completion; the other three completions' waited for finish.
        #expect(listedBeforeFinish == 8)
        let listed = try store.read { db in
            try Row.fetchAll(db, sql: "SELECT subject, seq FROM ledger_subject ORDER BY seq, subject").map { "\($0[0] as String)@\($0[1] as Int64)" }
        }
        let expected = (0..<7).flatMap { n in ["DPP-P\(9 - n)@\(n + 1)", "DPP-Q\(n % 2)@\(n + 1)"] }
        #expect(listed == expected)
        let installed = try store.read { db in
            try Row.fetchAll(db, sql: "SELECT dpp_id, start_day, aircraft FROM installation ORDER BY 1, 2").map { "\($0[0] as String) \($0[1] as String) \($0[2] as String)" }
        }
        #expect(installed == ["DPP-P3 2026-12-01 AC-6", "DPP-P4 2026-12-01 AC-5", "DPP-P5 2026-12-01 AC-4", "DPP-P6 2026-12-01 AC-3",
                              "DPP-P7 2026-12-01 AC-2", "DPP-P8 2026-12-01 AC-1", "DPP-P9 2026-12-01 AC-0", "DPP-Q0 2026-12-01 AC-6",
                              "DPP-Q1 2026-12-01 AC-5"])
    }

    @Test("a pipelined writer keeps an asset's moves unwritten, readable through the overlay, and writes them before any other write of the asset")
    func assetMovesWait() throws {
        let store = try Store(path: TemporaryFiles.path("dppsync-moves-", ".sqlite"))
        let provenance = Provenance(fileFingerprint: "ab", fileName: "f.json", recordIndex: 0, mappingName: "m", mappingHash: "cd")
        func change(_ values: RowValues) -> StateChange {
            StateChange(kind: "test", subject: "DPP-1", rows: [RowImage(table: StateSchema.asset, carrying: values)], provenance: provenance)
        }
        let full = RowValues(columns: StateSchema.asset.columns, values: StateSchema.asset.columns.map { $0 == "dpp_id" ? "DPP-1" : nil })
        func status(_ db: Database) throws -> String? { try String.fetchOne(db, sql: "SELECT status FROM asset WHERE dpp_id = 'DPP-1'") }
        try store.write { db in
            var writer = try StateWriter(db: db, batchId: 1, pipelined: true, clock: { Timestamp(millisecondsSinceEpoch: 0) })
            var registered = full
            registered["status"] = "IN_STOCK"
            try writer.apply(change(registered))
            try writer.apply(change(["dpp_id": "DPP-1", "status": "INSTALLED", "parent_dpp_id": "DPP-C"]))
            #expect(try status(db) == "IN_STOCK", "the move waits")
            let read = try StateWriter.row(StateSchema.asset, key: ["DPP-1"], in: db)
            let overlaid = try #require(writer.unwrittenAssets).overlay(read)
            #expect((overlaid?["status"] ?? nil) == "INSTALLED" && (overlaid?["parent_dpp_id"] ?? nil) == "DPP-C")
            #expect((overlaid?["description"] ?? nil) == nil && overlaid?.count == read?.count, "only the columns the read carries")
            // A whole image of the asset (a registry record) goes after the move, so it stands.
            var corrected = full
            corrected["status"] = "QUARANTINED"
            try writer.apply(change(corrected))
            #expect(writer.unwrittenAssets?.isEmpty == true)
            try writer.finish()
            #expect(try status(db) == "QUARANTINED")
        }
    }

    @Test("an installation written at once (a delete) goes after the installations waiting before it")
    func installationWritesKeepTheirOrder() throws {
        let store = try Store(path: TemporaryFiles.path("dppsync-installation-order-", ".sqlite"))
        func change(_ row: RowImage) -> StateChange { StateChange(kind: "test", subject: "DPP-1", rows: [row], provenance: Provenance()) }
        try store.write { db in
            var writer = try StateWriter(db: db, batchId: 1, pipelined: true, clock: { Timestamp(millisecondsSinceEpoch: 0) })
            try writer.apply(change(RowImage(table: StateSchema.installation, values: ["dpp_id": "DPP-1", "start_day": "2026-12-01", "aircraft": "AC-1"])))
            try writer.apply(change(RowImage(table: StateSchema.installation, values: ["dpp_id": "DPP-1", "start_day": "2026-12-01"], deleted: true)))
            try writer.apply(change(RowImage(table: StateSchema.installation, values: ["dpp_id": "DPP-1", "start_day": "2026-12-02", "aircraft": "AC-2"])))
            try writer.finish()
        }
        let rows = try store.read { db in try String.fetchAll(db, sql: "SELECT start_day || ' ' || aircraft FROM installation ORDER BY 1") }
        #expect(rows == ["2026-12-02 AC-2"])
    }

    @Test("moves of one asset that set different columns add up while they wait: in the overlay and in the row written")
    func assetMovesAddUp() throws {
        let store = try Store(path: TemporaryFiles.path("dppsync-move-columns-", ".sqlite"))
        func change(_ values: RowValues) -> StateChange {
            StateChange(kind: "test", subject: "DPP-1", rows: [RowImage(table: StateSchema.asset, carrying: values)], provenance: Provenance())
        }
        try store.write { db in
            var writer = try StateWriter(db: db, batchId: 1, pipelined: true, clock: { Timestamp(millisecondsSinceEpoch: 0) })
            try writer.apply(StateChange(kind: "test", subject: "DPP-1", rows: [
                RowImage(table: StateSchema.asset, values: ["dpp_id": "DPP-1", "status": "IN_STOCK"]),
                RowImage(table: StateSchema.asset, values: ["dpp_id": "DPP-2", "status": "IN_STOCK"]),
            ], provenance: Provenance()))
            try writer.apply(change(["dpp_id": "DPP-1", "parent_dpp_id": "DPP-C", "status": "INSTALLED"]))
            try writer.apply(change(["dpp_id": "DPP-2", "status": "INSTALLED"]))
            try writer.apply(change(["dpp_id": "DPP-1", "position": "POS-1"]))
            let read = try StateWriter.row(StateSchema.asset, key: ["DPP-1"], in: db)
            let overlaid = try #require(writer.unwrittenAssets?.overlay(read))
            #expect([overlaid["parent_dpp_id"], overlaid["position"], overlaid["status"]] == ["DPP-C", "POS-1", "INSTALLED"])
            try writer.finish()
        }
        let rows = try store.read { db in
            try Row.fetchAll(db, sql: "SELECT dpp_id, parent_dpp_id, position, status FROM asset ORDER BY dpp_id").map { row in
                (0..<4).map { (row[$0] as String?) ?? "∅" }.joined(separator: " ")
            }
        }
        #expect(rows == ["DPP-1 DPP-C POS-1 INSTALLED", "DPP-2 ∅ ∅ INSTALLED"])
    }

    @Test("moved assets wait a run of their own, one image each with the last value applied, then go to the store")
    func assetMovesInRuns() throws {
        let store = try Store(path: TemporaryFiles.path("dppsync-move-runs-", ".sqlite"))
        // A move's change is about the asset it moves: no other subject waits beside it.
        func change(_ rows: [RowImage]) -> StateChange {
            StateChange(kind: "test", subject: (rows[0].values["dpp_id"] ?? nil) ?? "", rows: rows, provenance: Provenance())
        }
        func move(_ dppId: String, _ status: String) -> RowImage {
            RowImage(table: StateSchema.asset, carrying: ["dpp_id": .some(dppId), "status": .some(status)])
        }
        func statuses(_ db: Database) throws -> [String] { try String.fetchAll(db, sql: "SELECT status FROM asset ORDER BY dpp_id") }
        try store.write { db in
            var writer = try StateWriter(db: db, batchId: 1, pipelined: true, clock: { Timestamp(millisecondsSinceEpoch: 0) })
            writer.assetRun = 2  // their own count: the subject index and installations keep theirs
            for n in 1...3 { try writer.apply(change([RowImage(table: StateSchema.asset, values: ["dpp_id": "DPP-\(n)", "status": "IN_STOCK"])])) }
            try writer.apply(change([move("DPP-1", "INSTALLED"), move("DPP-1", "REMOVED")]))
            #expect(try statuses(db) == ["IN_STOCK", "IN_STOCK", "IN_STOCK"], "one asset waiting, though moved twice")
            try writer.apply(change([move("DPP-3", "INSTALLED")]))
            #expect(try statuses(db) == ["REMOVED", "IN_STOCK", "INSTALLED"], "a run of two assets is written, the last move of each")
            #expect(writer.unwrittenAssets?.isEmpty == true)
            try writer.apply(change([move("DPP-2", "INSTALLED")]))
            #expect(try statuses(db) == ["REMOVED", "IN_STOCK", "INSTALLED"])
            try writer.finish()
            #expect(try statuses(db) == ["REMOVED", "INSTALLED", "INSTALLED"], "the rest at finish")
        }
    }

    @Test("a new store has 16 KB pages; a store made with another page size keeps it")
    func pageSize() throws {
        let fresh = try Store(path: TemporaryFiles.path("dppsync-page-", ".sqlite"))
        #expect(try fresh.read { db in try Int.fetchOne(db, sql: "PRAGMA page_size") } == 16384)

        let path = TemporaryFiles.path("dppsync-page-4k-", ".sqlite")
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try db.execute(sql: "PRAGMA page_size = 4096; CREATE TABLE earlier (x)") }
        try queue.close()
        let existing = try Store(path: path)
        #expect(try existing.read { db in try Int.fetchOne(db, sql: "PRAGMA page_size") } == 4096)
        #expect(try existing.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM grdb_migrations") } ?? 0 > 0)
    }
}
