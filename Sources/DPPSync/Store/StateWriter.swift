import GRDB
import GRDBSQLite

/// The one write path of DPP state (DESIGN.md §1): writes the rows of a change
/// and appends its ledger entry, in the caller's transaction. Nothing else
/// writes state tables, so replaying the ledger rebuilds every one of them.
public struct StateWriter {
    private let db: Database
    private let statements: StatementCache
    private var nextSequence: Int64
    public let batchId: Int64?
    private let clock: () -> Timestamp
    /// Books the ledger's share of the write path (benchmark).
    public var timings: StageTimings?

    /// Entries waiting to be serialised and hashed (pipelined writers only).
    private var pending: [LedgerEntry] = []
    /// Writes that wait (pipelined writers only): the subject index and the installation history,
    /// which nothing reads while a file is decided (`ledger history` and the due-date planner read
    /// them after it), and the asset columns a completion moves, which readers during the file take
    /// from `unwrittenAssets`. They go in key order a run at a time, rather than each to a random
    /// B-tree page as its completion is written (parts come from anywhere in the registry).
    private var subjects: [(subject: String, seq: Int64)] = []
    /// An installation waits as its three values (the image is made when it is written): with its
    /// image it had taken ~180 bytes, against ~56.
    private var installations: [(dppId: String, day: String, aircraft: String?, order: Int)] = []
    /// The asset columns applied but not written yet, for whoever reads assets during the file
    /// (the reconciler lays them over what it reads); `nil` for a writer that is not pipelined.
    public let unwrittenAssets: UnwrittenAssetColumns?
    /// How many subject entries and installations wait before they are written: a run of 32,768
    /// (a few MB) took the subject index from 6,117 to 2,572 cycles per entry on 100k work orders
    /// against a 270k-asset registry; each kind that waits took 3–6 % off the file's wall time.
    /// At 1M work orders both hold 2.5 million rows, and runs of 131,072 touch each page fewer
    /// times (1M XML, with the assets' runs below: rows 102.9 / 115.4 → 103.6 / 92.2 s, system time
    /// 55.7 / 60.2 → 53.5 / 50.4 s, wall 197.2 / 220.1 → 207.0 / 188.0 s, peak RSS +0 to +4 MB).
    /// Runs longer by half (196,608) fit in less memory than 131,072 took once an installation
    /// waits as its values rather than its image (sixteenth round); at 100k work orders the
    /// run left for the file's end is the same length (~107,000).
    var deferredRun = 196_608
    /// How many moved assets wait before they are written, one image each however often they
    /// moved (their own count: until the fourteenth round a run of subjects wrote them too, so
    /// they went ~16,000 at a time). A run of `n` moves in key order reads and dirties each page it
    /// touches once; the asset table is 72 MB at 100k work orders and 700 MB at 1M, against a 32 MB
    /// cache. 1M XML, 2 alternating rounds: the rows 116.6 / 96.4 → 78.2 / 89.6 s, system time
    /// 69.5 / 63.0 → 46.2 / 51.2 s, wall 208.8 / 174.0 → 148.5 / 173.5 s, peak RSS 145 → 164 MB.
    /// Every move of a file waiting to its end was slower at 100k (15.46 → 15.70 s) and took
    /// 247 MB (175 MB once the images were made one at a time). A run that is longer by half
    /// (196,608, `3 << 16`) fits in the memory 131,072 took once an asset's waiting columns are
    /// held inline (sixteenth round), and at 1M it makes a third fewer passes over the table
    /// (1M XML, one alternating round: 98.9 → 89.0 s, file phase 89.0 → 77.8 s, peak RSS 164 →
    /// 156 MB; 100k XML within the noise, 4 rounds, peak RSS 157–159 → 155–156 MB).
    var assetRun = 196_608
    /// The batch being serialised and hashed on the second core.
    private var inFlight: BackgroundWork<[HashedEntry]>?
    /// The entries of the batch in flight, freed here once it is hashed (see `handOver`).
    private var inFlightEntries: HandedOver<[LedgerEntry]>?
    /// Hashed entries already inserted, freed with the next batch on the pool's thread.
    private var inserted: [HashedEntry] = []
    private let pipelined: Bool
    /// Compresses the bodies of a writer that is not pipelined (those of a pipelined one
    /// are compressed on the second thread, with a compressor of its own).
    private let compressor: StoredBody.Compressor?
    /// The canonical bytes of a writer that is not pipelined, written here entry after entry.
    private let canonical: JSONByteBuffer?

    /// An entry's columns, leaf hash and stored body, ready to insert. It keeps no
    /// row images: those stay with the entry, on the thread that made them.
    struct HashedEntry: Sendable {
        var sequence: Int64
        var time: String
        var batchId: Int64?
        var kind: String
        var subject: String
        var canonicalSize: Int
        var storedBody: [UInt8]
        var leafHash: [UInt8]

        /// - Parameter buffer: where the canonical bytes are written, then compressed and
        ///   hashed in place (reused from entry to entry; never an array of their own).
        init(_ entry: LedgerEntry, compressor: StoredBody.Compressor?, buffer: JSONByteBuffer) {
            sequence = entry.sequence
            time = entry.time.description
            batchId = entry.batchId
            kind = entry.change.kind
            subject = entry.change.subject
            entry.writeCanonicalBytes(to: buffer)
            canonicalSize = buffer.count
            (storedBody, leafHash) = buffer.withBytes { bytes in
                (compressor?.encode(bytes) ?? Array(bytes), LedgerEntry.leafHash(bytes))
            }
        }
    }

    /// Starts writing inside `db`'s open transaction; the sequence continues the ledger.
    /// - Parameter pipelined: serialise and hash entries on a second thread, a batch at a
    ///   time, while the rows of the next changes are written; the caller must then call
    ///   `finish()` before its transaction ends (the file processor's hot path).
    public init(db: Database, batchId: Int64?, pipelined: Bool = false, clock: @escaping () -> Timestamp = Timestamp.now) throws {
        self.db = db
        self.statements = StatementCache(db)
        self.batchId = batchId
        self.clock = clock
        self.pipelined = pipelined
        self.compressor = pipelined ? nil : StoredBody.Compressor()
        self.canonical = pipelined ? nil : JSONByteBuffer()
        self.unwrittenAssets = pipelined ? UnwrittenAssetColumns() : nil
        self.nextSequence = (try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM ledger_entry") ?? 0) + 1
    }

    /// Writes `change` and its ledger entry; returns the entry's sequence number.
    ///
    /// One pass over the change's rows writes them (or lets them wait), notes the other components
    /// they touch and queues the outbox messages they decide: three passes had copied every row
    /// three times and made an array of subjects per change.
    @discardableResult
    public mutating func apply(_ change: StateChange) throws -> Int64 {
        let rowsStart = timings == nil ? 0 : StageTimings.now()
        let sequence = nextSequence
        // This change's other subjects: those of a pipelined writer wait from `firstOther` on.
        let firstOther = subjects.count
        var others: [String] = []
        for row in change.rows {
            let table = row.stateTable
            let isAsset = table === StateSchema.asset, isInstallation = table === StateSchema.installation
            // Every other component the change touches finds it through the subject index
            // (derived from the rows, so `ledger verify` can rebuild it).
            if let id = Self.otherSubject(of: row, table: table, in: change) {
                if pipelined {
                    // (A run written mid-change took this change's first ones with it: the index ignores repeats.)
                    if !subjects[min(firstOther, subjects.count)...].contains(where: { $0.subject == id }) { subjects.append((id, sequence)) }
                } else if !others.contains(id) {
                    others.append(id)
                }
            }
            if let unwrittenAssets, UnwrittenAssetColumns.mayWait(row) {
                unwrittenAssets.record(row, dppId: (row.values.value(of: "dpp_id", expectedAt: 0) ?? nil) ?? "")
            } else if pipelined, isInstallation, !row.deleted, !row.isPartial(in: StateSchema.installation) {
                let dppId = (row.values.value(of: "dpp_id", expectedAt: 0) ?? nil) ?? ""
                let day = (row.values.value(of: "start_day", expectedAt: 1) ?? nil) ?? ""
                installations.append((dppId, day, row.values.value(of: "aircraft", expectedAt: 2) ?? nil, installations.count))
            } else {
                // Any other write of an installation goes after those applied before it.
                if isInstallation, !installations.isEmpty { try writeSubjectsAndInstallations() }
                // Any other write of an asset goes after the moves applied before it.
                if isAsset {
                    if unwrittenAssets?.isEmpty == false { try writeUnwrittenAssets() }
                    unwrittenAssets?.noteWritten(row)
                }
                try Self.write(row, using: statements)
            }
            if table === StateSchema.outboxMessage, !row.deleted { try queue(row, sequence: sequence) }
        }
        for other in others { try insertSubject(other, sequence) }
        if subjects.count + installations.count >= deferredRun { try writeSubjectsAndInstallations() }
        if unwrittenAssets?.count ?? 0 >= assetRun { try writeUnwrittenAssets() }
        let entry = LedgerEntry(sequence: sequence, time: clock(), batchId: batchId, change: change)
        nextSequence += 1
        let ledgerStart = timings == nil ? 0 : StageTimings.now()
        timings?.add(.rows, ledgerStart - rowsStart)
        defer { if let timings { timings.add(.ledger, StageTimings.now() - ledgerStart) } }
        if pipelined {
            pending.append(entry)
            if pending.count >= 512 { try handOver() }
        } else {
            try insert(HashedEntry(entry, compressor: compressor, buffer: canonical ?? JSONByteBuffer()))
        }
        return sequence
    }

    /// A decided outbox message waits in the delivery queue until its file is written, and
    /// becomes its stream's head.
    private func queue(_ message: RowImage, sequence: Int64) throws {
        let messageId = (message.values["message_id"] ?? nil) ?? ""
        let channel = (message.values["channel"] ?? nil) ?? ""
        let insert = try statements.statement(.init(kind: Statements.queue)) {
            "INSERT INTO outbox_queue (message_id, channel, ledger_seq, batch_id) VALUES (?, ?, ?, ?)"
        }
        try insert.bind(sequence, at: 3)
        try insert.bind(batchId ?? 0, at: 4)
        try insert.step(texts: [messageId, channel], from: 1, in: db)
        // The stream's latest message, for the planner (a certificate is a stream of its own, never asked for).
        // A new head has no known source until the planner that decided it records one.
        guard channel != ReleaseCertificate.channel, let stream = message.values["stream"] ?? nil else { return }
        let head = try statements.statement(.init(kind: Statements.streamHead)) {
            "INSERT INTO outbox_stream (stream, message_id) VALUES (?, ?) ON CONFLICT (stream) DO UPDATE SET message_id = excluded.message_id, source = NULL"
        }
        try head.step(texts: [stream, messageId], from: 1, in: db)
    }

    /// Inserts the entries still being hashed; a pipelined writer's last call in its transaction.
    public mutating func finish() throws {
        let start = timings == nil ? 0 : StageTimings.now()
        defer { if let timings { timings.add(.ledger, StageTimings.now() - start) } }
        try handOver()
        try handOver()
        try writeDeferred()
    }

    /// Writes the waiting asset columns, subject index entries and installations in key order;
    /// those of one key in the order they were applied, so the last one written is the last
    /// one decided.
    private mutating func writeDeferred() throws {
        try writeUnwrittenAssets()
        try writeSubjectsAndInstallations()
    }

    private func writeUnwrittenAssets() throws {
        if let unwrittenAssets, !unwrittenAssets.isEmpty {
            try unwrittenAssets.writeAll { try Self.write($0, using: statements) }
        }
    }

    private mutating func writeSubjectsAndInstallations() throws {
        subjects.sort { $0.subject != $1.subject ? $0.subject < $1.subject : $0.seq < $1.seq }
        for (subject, seq) in subjects { try insertSubject(subject, seq) }
        subjects.removeAll(keepingCapacity: true)
        installations.sort { ($0.dppId, $0.day, $0.order) < ($1.dppId, $1.day, $1.order) }
        for installation in installations {
            try Self.write(.installation(dppId: installation.dppId, day: installation.day, aircraft: installation.aircraft), using: statements)
        }
        installations.removeAll(keepingCapacity: true)
    }

    private func insertSubject(_ subject: String, _ seq: Int64) throws {
        let insert = try statements.statement(.init(kind: Statements.subject)) {
            "INSERT OR IGNORE INTO ledger_subject (subject, seq) VALUES (?, ?)"
        }
        try insert.bind(seq, at: 2)
        try insert.step(texts: [subject], from: 1, in: db)
    }

    /// Inserts the batch in flight and hands the pending entries to the second thread.
    ///
    /// Memory goes back to the side that allocated it: the entries (made here) are freed here
    /// once their batch is hashed, and the hashed entries (made on libdispatch's pool) are freed
    /// there with the next batch, on whichever pool thread runs it (the last batch's here, with
    /// the writer). glibc's malloc locks the arena of a block freed on another thread, and its
    /// owner was taking it at the same time: freed where they were hashed, the entries had cost
    /// ~50,000 futex calls per 100k work orders, each side waiting for the other's arena.
    private mutating func handOver() throws {
        if let inFlight {
            let hashed = try inFlight.wait()
            for entry in hashed { try insert(entry) }
            self.inFlight = nil
            inFlightEntries?.value = []
            inFlightEntries = nil
            inserted = hashed
        }
        guard !pending.isEmpty else { return }
        let batch = HandedOver(pending)
        pending.removeAll(keepingCapacity: true)
        let spent = HandedOver(inserted)
        inserted = []
        inFlightEntries = batch
        inFlight = BackgroundWork {
            spent.value = []
            let (compressor, buffer) = (StoredBody.Compressor(), JSONByteBuffer())
            return batch.value.map { HashedEntry($0, compressor: compressor, buffer: buffer) }
        }
    }

    private func insert(_ hashed: HashedEntry) throws {
        let insert = try statements.statement(.init(kind: Statements.ledgerEntry)) {
            "INSERT INTO ledger_entry (seq, time, batch_id, kind, subject, body, body_size, leaf_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        }
        try insert.bind(hashed.sequence, at: 1)
        try insert.bind(hashed.batchId, at: 3)
        try insert.bind(Int64(hashed.canonicalSize), at: 7)
        try insert.withBlob(hashed.storedBody, at: 6) {
            try insert.withBlob(hashed.leafHash, at: 8) {
                try insert.bind(hashed.time, at: 2)
                try insert.bind(hashed.kind, at: 4)
                try insert.bind(hashed.subject, at: 5)
                try insert.step(db)
            }
        }
    }

    /// The components a change concerns besides its subject (parts it installed or removed), each once.
    static func otherSubjects(of change: StateChange) -> [String] {
        var others: [String] = []
        for row in change.rows {
            if let id = otherSubject(of: row, table: row.stateTable, in: change), !others.contains(id) { others.append(id) }
        }
        return others
    }

    /// The component an asset or installation image of `change` names, when it is not the change's subject.
    private static func otherSubject(of row: RowImage, table: StateTable?, in change: StateChange) -> String? {
        guard table === StateSchema.asset || table === StateSchema.installation,
              // Both tables' key, and so their images' first column.
              let id = row.values.value(of: "dpp_id", expectedAt: 0) ?? nil, id != change.subject else { return nil }
        return id
    }

    /// Kinds of the writer's statements in its `StatementCache`.
    private enum Statements {
        static let upsert = 1, partialUpsert = 2, delete = 3, subject = 4, queue = 5, ledgerEntry = 6, streamHead = 7, partialUpdate = 8
    }

    /// Writes one row image (upsert or delete). Also used by ledger replay.
    static func write(_ row: RowImage, in db: Database) throws {
        try write(row, using: StatementCache(db))
    }

    private static func write(_ row: RowImage, using statements: StatementCache) throws {
        guard let table = row.stateTable else {
            throw StoreError(message: "unknown state table '\(row.table)'")
        }
        let id = ObjectIdentifier(table)
        if row.deleted {
            try statements.statement(.init(kind: Statements.delete, table: id)) { table.deleteSQL }
                .execute(table.keyColumns, of: row, in: statements.db)
        } else if row.isPartial(in: table) {
            // A partial image: set the columns it carries, in table order. Found from the
            // image's few columns (a scan of the table's columns looked each one up in the image).
            let mask = table.mask(of: row.values.keys)
            let upsert = table.partialUpsert(mask: mask)
            if let update = upsert.update {
                try statements.statement(.init(kind: Statements.partialUpdate, table: id, columns: mask)) { update }
                    .execute(upsert.columns, of: row, in: statements.db)
                // No stored row (not made by the reconciler; a replay of foreign entries could):
                // the upsert makes it, as it always did.
                // (Through the C API: GRDB's `changesCount` first checks it runs on the database's queue.)
                if sqlite3_changes(statements.db.sqliteConnection) > 0 { return }
            }
            try statements.statement(.init(kind: Statements.partialUpsert, table: id, columns: mask)) { upsert.sql }
                .execute(upsert.columns, of: row, in: statements.db)
        } else {
            try statements.statement(.init(kind: Statements.upsert, table: id)) { table.upsertSQL }
                .execute(table.columns, of: row, in: statements.db)
        }
    }

    /// The current row of `table` with the given key, as text, or `nil`.
    public static func row(_ table: StateTable, key: [String], in db: Database) throws -> RowValues? {
        try row(table, sql: table.selectByKeySQL, arguments: key, in: db)
    }

    /// The first row of `table` that `sql` (a `SELECT` of all its columns in table order) finds.
    static func row(_ table: StateTable, sql: String, arguments: [String], in db: Database) throws -> RowValues? {
        try row(columns: table.columns, sql: sql, arguments: arguments, in: db)
    }

    /// The first row that `sql` (a `SELECT` of `columns`, in that order) finds, by column name.
    static func row(columns: [String], sql: String, arguments: [String], in db: Database) throws -> RowValues? {
        guard let row = try DirectStatement(db, sql: sql).firstRow(arguments, columns: columns.count, in: db) else { return nil }
        return RowValues(columns: columns, values: row)
    }
}

/// A store operation that failed for a reason of dppsync's own.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

import Foundation
