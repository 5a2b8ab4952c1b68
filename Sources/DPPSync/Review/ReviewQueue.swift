import GRDB

/// One held record waiting for (or given) a human decision.
public struct ReviewItem: Sendable {
    public var id: Int64
    public var batchId: Int64
    public var kind: String
    public var key: String
    public var reason: ReasonCode
    public var message: String
    public var status: String
    public var createdAt: String
    public var source: String
    public var fileName: String
    public var fileFingerprint: String
    public var recordIndex: Int
    public var line: Int?
    public var mappingName: String?
    public var mappingHash: String?
    /// The mapped record as it arrived.
    public var record: JSONValue
    public var resolvedBy: String?
    public var resolvedAt: String?
    public var note: String?

    public var jsonValue: JSONValue {
        let text = JSONValue.text
        return .object([
            ("id", .number(String(id))), ("status", .string(status)), ("reason", .string(reason.rawValue)), ("kind", .string(kind)),
            ("key", .string(key)), ("message", .string(message)), ("createdAt", .string(createdAt)), ("batch", .number(String(batchId))),
            ("source", .string(source)), ("file", .string(fileName)), ("fingerprint", .string(fileFingerprint)),
            ("recordIndex", .number(String(recordIndex))), ("line", line.map { .number(String($0)) } ?? .null),
            ("mapping", text(mappingName)), ("mappingHash", text(mappingHash)), ("record", record),
            ("resolvedBy", text(resolvedBy)), ("resolvedAt", text(resolvedAt)), ("note", text(note)),
        ])
    }
}

/// The review queue: held records, their context, and their resolution through
/// the same write path as any record.
public struct ReviewQueue {
    public let store: Store
    public let configuration: Configuration
    /// Where records rejected on review go (`Quarantine/<source>/`), and the mappings' folder.
    public let layout: RootLayout
    /// Where a test kills the resolution (`DPPSYNC_CRASH_AT`): `in-transaction`, before its commit.
    public var crashPoints: CrashPoints = .none

    public init(store: Store, configuration: Configuration, layout: RootLayout) {
        self.store = store; self.configuration = configuration; self.layout = layout
    }

    /// Holds a reviewer may accept: the check is waived for that record.
    public static let acceptable: Set<ReasonCode> = [.divergentDuplicate, .certExpired, .certInsufficient, .partInstalledElsewhere, .partNotCertified,
                                                        .sharedSerial]

    public struct Filter: Sendable {
        public var all = false
        public var reason: String?
        public var asset: String?
        /// Only items older than this many days.
        public var olderThanDays: Int?
        public init(all: Bool = false, reason: String? = nil, asset: String? = nil, olderThanDays: Int? = nil) {
            self.all = all; self.reason = reason; self.asset = asset; self.olderThanDays = olderThanDays
        }
    }

    /// An item with its file (its record's line is kept with it: migration v22).
    static let selectSQL = "SELECT r.*, f.source, f.name AS file_name, f.fingerprint, f.mapping_name FROM review_item r JOIN input_file f ON f.id = r.file_id"

    public func list(_ filter: Filter, now: Timestamp = .now()) throws -> [ReviewItem] {
        var clauses: [String] = []
        var arguments: [DatabaseValueConvertible] = []
        if !filter.all { clauses.append("r.status = 'open'") }
        if let reason = filter.reason { clauses.append("r.reason = ?"); arguments.append(reason) }
        if let days = filter.olderThanDays {
            clauses.append("r.created_at < ?")
            arguments.append(Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch - Int64(days) * 86_400_000).description)
        }
        return try store.read { db in
            if let asset = filter.asset {
                // A record names its asset by dppId or by CMMS number, whichever its source has: either finds it.
                // (Exactly: a LIKE pattern had read `_` and `%` in an id as wildcards, and ignored case.)
                let names = try Self.assetNames(asset, in: db)
                clauses.append("(" + names.map { _ in "instr(r.record, ?) > 0" }.joined(separator: " OR ") + ")")
                arguments += names.map { "\"" + $0 + "\"" }
            }
            let sql = Self.selectSQL + (clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")) + " ORDER BY r.id"
            return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map(Self.item)
        }
    }

    /// `asset` and the asset's other name: its CMMS number for a dppId, the dppIds of a CMMS number.
    public static func assetNames(_ asset: String, in db: Database) throws -> [String] {
        let others = try String.fetchAll(db, sql: """
            SELECT cmms_asset_num FROM asset WHERE dpp_id = ?1 AND cmms_asset_num IS NOT NULL
            UNION SELECT dpp_id FROM asset WHERE cmms_asset_num = ?1
            """, arguments: [asset])
        return [asset] + others.filter { $0 != asset }
    }

    public func item(_ id: Int64) throws -> ReviewItem? {
        try store.read { db in try Row.fetchOne(db, sql: Self.selectSQL + " WHERE r.id = ?", arguments: [id]).map(Self.item) }
    }

    static func item(_ row: Row) -> ReviewItem {
        let recordText: String = row["record"]
        return ReviewItem(id: row["id"], batchId: row["batch_id"], kind: row["kind"], key: row["record_key"],
                          reason: ReasonCode(rawValue: row["reason"]), message: row["message"], status: row["status"],
                          createdAt: row["created_at"], source: row["source"], fileName: row["file_name"], fileFingerprint: row["fingerprint"],
                          recordIndex: row["record_index"], line: row["line"], mappingName: row["mapping_name"], mappingHash: row["mapping_hash"],
                          record: (try? JSONParser.parseDocument(Array(recordText.utf8))) ?? .null,
                          resolvedBy: row["resolved_by"], resolvedAt: row["resolved_at"], note: row["note"])
    }

    /// What is stored under the item's record key, in its record's fields (a work order's labour, tests and
    /// parts as lists), for `review show`'s side-by-side view; `nil` when nothing is.
    public func storedFields(of item: ReviewItem) throws -> [String: JSONValue]? {
        guard let record = MappedRecord(json: item.record) else { return nil }
        return try store.read { db -> [String: JSONValue]? in
            switch record.kind {
            case .workOrderCompletion:
                guard let row = try StateWriter.row(StateSchema.workOrder, key: [item.key], in: db) else { return nil }
                return try Reconciler(configuration: configuration).storedCompletionFields(row, workOrderId: item.key, in: db)
            case .asset:
                guard let row = try StateWriter.row(StateSchema.asset, key: [item.key], in: db) else { return nil }
                return Self.fields(StateSchema.asset.columns.map { (Self.fieldName(ofColumn: $0), $0) }, of: row)
            default:
                guard let spec = ReferenceKind.spec(for: record.kind) else { return nil }
                guard let row = try StateWriter.row(spec.table, key: spec.key(of: spec.values(of: record)), in: db) else { return nil }
                var fields = Self.fields(spec.columns, of: row)
                // A technician's name and licence number live beside the certification (`technician_personal`).
                if record.kind == .technicianCertification,
                   let personal = try Row.fetchOne(db, sql: "SELECT name, licence FROM technician_personal WHERE labor_code = ?", arguments: [item.key]) {
                    for (field, value) in [("name", personal[0] as String?), ("licence", personal[1] as String?)] { fields[field] = value.map(JSONValue.string) }
                }
                return fields
            }
        }
    }

    /// `row`'s columns as a record's fields: a column that holds JSON (a list, an object) as that value.
    private static func fields(_ columns: [(field: String, column: String)], of row: RowValues) -> [String: JSONValue] {
        var fields: [String: JSONValue] = [:]
        for (field, column) in columns where column != "source_time" {
            guard let text = row[column] ?? nil else { continue }
            if text.first == "[" || text.first == "{", let value = try? JSONParser.parseDocument(Array(text.utf8)) { fields[field] = value } else { fields[field] = .string(text) }
        }
        return fields
    }

    /// `cmms_asset_num` → `cmmsAssetNum`: the asset table's columns are its record's fields, in snake case.
    private static func fieldName(ofColumn column: String) -> String {
        let words = column.split(separator: "_")
        return words.enumerated().map { $0.offset == 0 ? String($0.element) : $0.element.prefix(1).uppercased() + $0.element.dropFirst() }.joined()
    }

    public enum Resolution: String, Sendable { case accept, reject }

    /// Why a resolution could not be made.
    public struct ResolutionError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// What a resolution decided, and the sequence number of the last ledger entry it wrote
    /// (its `review.resolved` entry: the ledger's size once it committed).
    public struct Resolved: Sendable {
        public var decision: Decision
        public var lastEntry: Int64
        /// The batch the resolution was recorded in (its reconciliation report's).
        public var batchId: Int64
        /// What became of the records that waited for an accepted asset or certification, decided again with it.
        public var redecided: [Outcome: Int] = [:]
        /// A rejected record's reason file in the quarantine.
        public var quarantinedReason: String?
        /// A rejected record's extract in the quarantine, when it could be read again from the archive.
        public var quarantinedExtract: String?
        /// Why a rejected record's files could not be written to the quarantine (the rejection stands).
        public var quarantineError: String?
    }

    /// Resolves an open item in one `BEGIN IMMEDIATE` transaction: an accepted
    /// record is decided again with its hold waived and applied through the one
    /// write path; either way the resolution itself is ledgered.
    public func resolve(_ id: Int64, _ resolution: Resolution, note: String?, by: String, now: Timestamp = .now()) throws -> Resolved {
        let rejection = resolution == .reject ? try rejection(ofItem: id) : nil
        var (resolved, item) = try resolve(id, resolution, note: note, by: by, now: now)
        if let rejection {
            do {
                (resolved.quarantinedReason, resolved.quarantinedExtract) = try quarantine(item, rejection, decision: resolved.decision, now: now)
            } catch {
                resolved.quarantineError = "\(error)"
            }
        }
        return resolved
    }

    private func resolve(_ id: Int64, _ resolution: Resolution, note: String?, by: String, now: Timestamp) throws -> (Resolved, ReviewItem) {
        try store.write { db in
            guard let row = try Row.fetchOne(db, sql: Self.selectSQL + " WHERE r.id = ?", arguments: [id]) else {
                throw ResolutionError(message: "no review item \(id)")
            }
            let item = Self.item(row)
            guard item.status == "open" else {
                throw ResolutionError(message: "review item \(id) is already \(item.status)\(item.resolvedBy.map { " by \($0)" } ?? "")")
            }
            guard let record = MappedRecord(json: item.record) else { throw ResolutionError(message: "review item \(id) holds no readable record") }
            try db.execute(sql: "INSERT INTO batch (started_at, status, trigger, pid) VALUES (?, 'running', 'review', ?)", arguments: [now.description, Int(getpid())])
            let batchId = db.lastInsertedRowID
            var writer = try StateWriter(db: db, batchId: batchId, clock: { now })
            let provenance = Provenance(fileFingerprint: item.fileFingerprint, fileName: item.fileName, recordIndex: item.recordIndex,
                                        mappingName: item.mappingName, mappingHash: item.mappingHash)
            var decision: Decision
            var redecided: [Outcome: Int] = [:]
            switch resolution {
            case .accept:
                guard Self.acceptable.contains(item.reason) else {
                    throw ResolutionError(message: "a record held for \(item.reason) cannot be accepted: it waits for a reference that is not known; reject it or let it wait")
                }
                var reconciler = Reconciler(configuration: configuration, waived: [item.reason])
                reconciler.decisionDate = now.civilDate().description
                decision = try reconciler.decide(record, provenance: provenance, source: item.source, in: db)
                guard decision.outcome == .applied else {
                    throw ResolutionError(message: "accepting does not clear this record: it would now be \(decision.outcome) (\(decision.reason?.rawValue ?? "-")): \(decision.message)")
                }
                try reconciler.write(decision, with: &writer)
                decision.message = "accepted by \(by): " + decision.message
                // An accepted asset (held SHARED_SERIAL) may be what held records wait for, as a file's would be.
                if Redecider.referenceKinds.contains(record.kind) {
                    var plain = Reconciler(configuration: configuration)
                    plain.decisionDate = reconciler.decisionDate
                    redecided = try Redecider(reconciler: plain, db: db, batchId: batchId, now: now.description).redecideWaiting(writer: &writer)
                }
            case .reject:
                decision = Self.rejection(item, by: by, note: note)
            }
            let lastEntry = try writer.apply(StateChange(kind: "review.resolved", subject: subject(of: record, in: db), rows: [
                RowImage(table: StateSchema.reviewResolution, values: [
                    "item_id": String(id), "record_kind": item.kind, "record_key": item.key, "reason": item.reason.rawValue,
                    "decision": resolution.rawValue, "note": note, "resolved_by": by, "resolved_at": now.description,
                ]),
            ], provenance: provenance))
            try db.execute(sql: "UPDATE review_item SET status = ?, resolved_at = ?, resolved_by = ?, note = ? WHERE id = ?",
                           arguments: [resolution == .accept ? "accepted" : "rejected", now.description, by, note, id])
            let recorder = OutcomeRecorder(db: db, batchId: batchId, fileId: row["file_id"], mappingHash: item.mappingHash, now: now.description)
            try recorder.record(index: item.recordIndex, line: item.line, kind: item.kind, key: item.key, decision: decision)
            // An accepted certification's name and licence number, kept beside the ledger as a run keeps them
            // (they had not been stored: the certificates signed after it carried the previous licence number).
            if decision.outcome == .applied { try recorder.storePersonal(decision.personal) }
            try db.execute(sql: "UPDATE batch SET status = 'completed', finished_at = ? WHERE id = ?", arguments: [now.description, batchId])
            crashPoints.reached(.inTransaction)
            return (Resolved(decision: decision, lastEntry: lastEntry, batchId: batchId, redecided: redecided), item)
        }
    }

    /// A rejection on review: who, and why when they said.
    static func rejection(_ item: ReviewItem, by: String, note: String?) -> Decision {
        Decision(outcome: .rejected, reason: item.reason, message: "rejected on review by \(by)" + (note.map { ": \($0)" } ?? ""))
    }

    private func subject(of record: MappedRecord, in db: Database) throws -> String {
        if record.kind == .workOrderCompletion, let dppId = (try Reconciler(configuration: configuration).asset(of: record, in: db)?.row?["dpp_id"]) ?? nil {
            return dppId
        }
        return record.string("dppId") ?? record.key
    }
}

#if canImport(Glibc)
import Glibc
#endif
