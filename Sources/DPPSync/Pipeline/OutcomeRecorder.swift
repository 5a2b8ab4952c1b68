import GRDB

/// Writes record outcomes and review-queue items for one file, in its transaction.
final class OutcomeRecorder {
    let db: Database
    let batchId: Int64
    let fileId: Int64
    let mappingHash: String?
    let now: String
    /// Whether any record was ever rejected: if none was, no record can be a correction
    /// and the lookup per record is skipped.
    private var rejectionsExist: Bool?
    /// Technicians' personal details already written by this recorder (most files repeat them).
    private var personalWritten: [String: [String?]] = [:]

    private let statements: StatementCache

    init(db: Database, batchId: Int64, fileId: Int64, mappingHash: String?, now: String) {
        self.db = db; self.statements = StatementCache(db); self.batchId = batchId; self.fileId = fileId; self.mappingHash = mappingHash; self.now = now
    }

    func record(index: Int, line: Int?, kind: String, key: String?, decision: Decision, source: String? = nil) throws {
        var message = decision.message
        var corrects: Int64?
        // A record that arrives again after being rejected (a corrected extract dropped
        // back) is linked to the rejected one by source and key, whatever the file's name.
        if rejectionsExist == nil {
            // Named: left to itself, SQLite scanned the batch index of every outcome ever recorded.
            rejectionsExist = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM record_outcome INDEXED BY record_outcome_rejected WHERE outcome = 'rejected')") ?? true
        }
        if decision.outcome == .rejected { rejectionsExist = true }
        if rejectionsExist == true, let key, let source, decision.outcome != .rejected,
           let earlier = try Row.fetchOne(db.cachedStatement(sql: """
               SELECT o.id, o.record_index, o.batch_id, o.reason, f.name FROM record_outcome o JOIN input_file f ON f.id = o.file_id
               WHERE o.record_key = ? AND o.kind = ? AND o.outcome = 'rejected' AND f.source = ?
                 AND NOT EXISTS (SELECT 1 FROM record_outcome c WHERE c.corrects = o.id)
               ORDER BY o.id DESC LIMIT 1
               """), arguments: [key, kind, source]) {
            corrects = earlier["id"]
            message = "corrects record \(earlier["record_index"] as Int64) of \(earlier["name"] as String) (batch \(earlier["batch_id"] as Int64), rejected \((earlier["reason"] as String?) ?? "")): " + message
        }
        // One row per record of every file: bound directly (GRDB's generic argument handling was 2 % of a large file's instructions).
        let insert = try statements.statement(.init(kind: 1)) {
            """
            INSERT INTO record_outcome (batch_id, file_id, record_index, line, kind, record_key, outcome, reason, message, mapping_hash, corrects)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        }
        try insert.bind(batchId, at: 1)
        try insert.bind(fileId, at: 2)
        try insert.bind(Int64(index), at: 3)
        try insert.bind(line.map(Int64.init), at: 4)
        try insert.bind(corrects, at: 11)
        try insert.step(texts: [kind, key, decision.outcome.rawValue, decision.reason?.rawValue, message, mappingHash], from: 5, in: db)
    }

    /// Personal details (names, licence numbers) go beside the ledger, never into it.
    func storePersonal(_ personal: [(laborCode: String, name: String?, licence: String?)]) throws {
        for person in personal where personalWritten[person.laborCode] != [person.name, person.licence] {
            personalWritten[person.laborCode] = [person.name, person.licence]
            try db.cachedStatement(sql: "INSERT INTO technician_personal (labor_code, name, licence) VALUES (?, ?, ?) ON CONFLICT (labor_code) DO UPDATE SET name = excluded.name, licence = excluded.licence")
                .execute(arguments: [person.laborCode, person.name, person.licence])
        }
    }

    /// Puts a held record in the review queue, keeping the whole mapped record
    /// so it can be re-decided without its file.
    func hold(_ record: MappedRecord, decision: Decision) throws {
        try db.cachedStatement(sql: """
            INSERT INTO review_item (batch_id, file_id, record_index, line, kind, record_key, reason, message, record, mapping_hash, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [batchId, fileId, record.position.index, record.position.line, record.kind.rawValue, record.key,
                                     decision.reason?.rawValue ?? "", decision.message, record.jsonValue.jsonText(sortedKeys: true),
                                     mappingHash, now])
        try closeOlderItem(of: record, heldAs: db.lastInsertedRowID, reason: decision.reason)
    }

    /// One open item per record and source: a corrected extract that is still held (divergent, a
    /// licence still expired) closes the item of the version it corrects, which had stayed open
    /// beside it for someone to reject by hand. Left open: an item whose version is newer (an old
    /// file arriving late), one from another mapping (a JSON message and a Maximo export of one
    /// work order enrich each other), and records waiting for a reference, which `Redecider`
    /// decides in turn, each version in its order.
    private func closeOlderItem(of record: MappedRecord, heldAs item: Int64, reason: ReasonCode?) throws {
        guard let reason, !Redecider.waitingReasons.contains(reason) else { return }
        try db.cachedStatement(sql: """
            UPDATE review_item SET status = 'redecided', resolved_at = ?1, resolved_by = 'dppsync', note = 'held again: review item #' || ?2
            WHERE status = 'open' AND record_key = ?3 AND kind = ?4 AND id <> ?2
              AND reason NOT IN (\(Self.waitingReasonList))
              AND (SELECT mapping_name FROM input_file WHERE id = review_item.file_id) = (SELECT mapping_name FROM input_file WHERE id = ?5)
              AND (?6 IS NULL OR json_extract(record, '$.timestamp') IS NULL OR json_extract(record, '$.timestamp') <= ?6)
            """).execute(arguments: [now, item, record.key, record.kind.rawValue, fileId, record.timestamp?.description])
    }

    private static let waitingReasonList = Redecider.waitingReasons.map { "'\($0.rawValue)'" }.joined(separator: ", ")
}

/// Re-decides held records that waited for a reference (an asset or part) once
/// a file may have brought it, so that the order files arrive in does not
/// change the end state.
struct Redecider {
    let reconciler: Reconciler
    let db: Database
    let batchId: Int64
    let now: String

    static let waitingReasons: [ReasonCode] = [.unknownAsset, .unknownPart, .unknownTechnician]
    /// Kinds whose arrival may resolve a waiting record.
    static let referenceKinds: Set<RecordKind> = [.asset, .technicianCertification]

    func redecideWaiting(writer: inout StateWriter) throws -> [Outcome: Int] {
        var counts: [Outcome: Int] = [:]
        let rows = try Row.fetchAll(db, sql: """
            SELECT r.id, r.file_id, r.record_index, r.record, r.mapping_hash, r.reason, f.fingerprint, f.name, f.mapping_name, f.source
            FROM review_item r JOIN input_file f ON f.id = r.file_id
            WHERE r.status = 'open' AND r.reason IN (\(Self.waitingReasons.map { "'\($0.rawValue)'" }.joined(separator: ",")))
            ORDER BY r.id
            """)
        for row in rows {
            let text: String = row["record"]
            guard let json = try? JSONParser.parseDocument(Array(text.utf8)), let record = MappedRecord(json: json) else { continue }
            let provenance = Provenance(fileFingerprint: row["fingerprint"], fileName: row["name"], recordIndex: row["record_index"],
                                        mappingName: row["mapping_name"], mappingHash: row["mapping_hash"])
            var decision = try reconciler.decide(record, provenance: provenance, source: row["source"], in: db)
            if decision.outcome == .held, decision.reason?.rawValue == row["reason"] { continue }
            if decision.outcome == .applied {
                try reconciler.write(decision, with: &writer)
            }
            let itemId: Int64 = row["id"]
            let previous: String = row["reason"]
            decision.message = "re-decided (was held \(previous), review item \(itemId)): " + decision.message
            try db.cachedStatement(sql: "UPDATE review_item SET status = 'redecided', resolved_at = ?, resolved_by = 'dppsync', note = ? WHERE id = ?")
                .execute(arguments: [now, decision.message, itemId])
            let recorder = OutcomeRecorder(db: db, batchId: batchId, fileId: row["file_id"], mappingHash: row["mapping_hash"], now: now)
            if decision.outcome == .held { try recorder.hold(record, decision: decision) }
            try recorder.record(index: record.position.index, line: record.position.line, kind: record.kind.rawValue, key: record.key, decision: decision)
            counts[decision.outcome, default: 0] += 1
        }
        return counts
    }
}
