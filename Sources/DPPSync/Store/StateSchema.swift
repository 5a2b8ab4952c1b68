import Synchronization

/// A DPP state table: written only through `StateWriter.apply` and rebuilt
/// from the ledger by replay, so every column is part of the after-image.
/// A class: tables are looked up for every row written, and a reference is cheap to pass.
public final class StateTable: Sendable, Hashable {
    public let name: String
    public let keyColumns: [String]
    public let columns: [String]
    /// Statements built once (they are on the hot path of every write and lookup).
    /// Clustered on the key (`WITHOUT ROWID`): a row is written, and found by its key, in one B-tree.
    let createSQL: String
    let upsertSQL: String
    let deleteSQL: String
    let selectByKeySQL: String
    /// Columns and key columns in canonical (UTF-8 byte) order, each with its position in
    /// `columns` and its quoted name and colon: the ledger's canonical bytes are written without
    /// sorting, and a row in table order is read by position. Raw memory the table owns, read
    /// by the ledger's threads with no reference counted (callgrind, 5,000 work orders: ~1.2 M
    /// reference-count calls and 800,000 name comparisons fewer than arrays of names and prefixes).
    nonisolated(unsafe) let canonicalLayout: CanonicalLayout
    nonisolated(unsafe) let canonicalKeyLayout: CanonicalLayout

    public init(name: String, keyColumns: [String], columns: [String]) {
        self.name = name
        self.keyColumns = keyColumns
        self.columns = columns
        createSQL = "CREATE TABLE \(name) (" + columns.map { $0 + (keyColumns.contains($0) ? " TEXT NOT NULL" : "") }.joined(separator: ", ")
            + ", PRIMARY KEY (" + keyColumns.joined(separator: ", ") + ")) WITHOUT ROWID"
        upsertSQL = Self.upsertSQL(name, keyColumns, columns)
        let keyMatch = keyColumns.map { "\($0) = ?" }.joined(separator: " AND ")
        deleteSQL = "DELETE FROM \(name) WHERE " + keyMatch
        selectByKeySQL = "SELECT " + columns.joined(separator: ", ") + " FROM \(name) WHERE " + keyMatch
        func canonical(_ names: [String]) -> CanonicalLayout {
            CanonicalLayout(names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { name in
                var prefix: [UInt8] = []
                JSONValue.appendQuoted(name, to: &prefix)
                prefix.append(UInt8(ascii: ":"))
                return (prefix, columns.firstIndex(of: name) ?? 0)
            })
        }
        columnIndex = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1, $0) })
        canonicalLayout = canonical(columns)
        canonicalKeyLayout = canonical(keyColumns)
    }

    deinit {
        canonicalLayout.deallocate()
        canonicalKeyLayout.deallocate()
    }

    /// Columns in canonical order as raw memory: each one's position in `columns` and the
    /// bytes of its `"name":`. Made and freed by its table.
    struct CanonicalLayout {
        struct Column {
            /// Index in the table's `columns`, and so in a row image made from the table.
            let position: Int
            /// `"name":`
            let prefix: UnsafeBufferPointer<UInt8>
        }

        let columns: UnsafeBufferPointer<Column>
        /// The prefixes' bytes, one after the other.
        private let bytes: UnsafeMutableBufferPointer<UInt8>

        fileprivate init(_ canonical: [(prefix: [UInt8], position: Int)]) {
            let bytes = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(canonical.reduce(0) { $0 + $1.prefix.count }, 1))
            let columns = UnsafeMutableBufferPointer<Column>.allocate(capacity: canonical.count)
            var offset = 0
            for (index, column) in canonical.enumerated() {
                let start = bytes.baseAddress! + offset
                start.initialize(from: column.prefix, count: column.prefix.count)
                (columns.baseAddress! + index).initialize(to: Column(position: column.position, prefix: UnsafeBufferPointer(start: start, count: column.prefix.count)))
                offset += column.prefix.count
            }
            self.columns = UnsafeBufferPointer(columns)
            self.bytes = bytes
        }

        fileprivate func deallocate() {
            bytes.deallocate()
            columns.deallocate()
        }
    }

    private static func upsertSQL(_ name: String, _ keyColumns: [String], _ columns: [String]) -> String {
        let updates = columns.filter { !keyColumns.contains($0) }.map { "\($0) = excluded.\($0)" }
        return "INSERT INTO \(name) (" + columns.joined(separator: ", ") + ") VALUES ("
            + columns.map { _ in "?" }.joined(separator: ", ") + ") ON CONFLICT (" + keyColumns.joined(separator: ", ")
            + ") DO " + (updates.isEmpty ? "NOTHING" : "UPDATE SET " + updates.joined(separator: ", "))
    }

    /// The upsert of some columns only (a partial row image): `mask` has bit `i` set for
    /// `columns[i]`. The few shapes that occur are built once.
    ///
    /// `update` sets the same columns of the row with the same key, bound the same way (`?n` is
    /// `columns[n - 1]`), and is `nil` when the image does not carry the whole key or nothing
    /// else. A partial image is the change of a stored row: the update finds it without first
    /// trying, and failing, to insert it (~1,000 instructions less per part a completion moves,
    /// ~4,600 in a C loop over parts whose pages are not cached).
    func partialUpsert(mask: UInt64) -> (sql: String, columns: [String], update: String?) {
        partialUpserts.withLock { cache in
            if let known = cache[mask] { return known }
            let chosen = columns.indices.filter { mask & (1 << UInt64($0)) != 0 }.map { columns[$0] }
            let parameter = { (column: String) in "?" + String((chosen.firstIndex(of: column) ?? 0) + 1) }
            let set = chosen.filter { !keyColumns.contains($0) }.map { "\($0) = " + parameter($0) }
            let update = set.isEmpty || !keyColumns.allSatisfy(chosen.contains) ? nil
                : "UPDATE \(name) SET " + set.joined(separator: ", ") + " WHERE " + keyColumns.map { "\($0) = " + parameter($0) }.joined(separator: " AND ")
            let made = (sql: Self.upsertSQL(name, keyColumns, chosen), columns: chosen, update: update)
            cache[mask] = made
            return made
        }
    }

    /// The `partialUpsert` mask of `columns` (a column the table does not have adds nothing).
    /// Columns in the table's order, as the reconciler makes partial images, take one pass over
    /// the table's columns and no hashing; others (a replayed image's, in canonical order) are
    /// looked up one by one.
    func mask(of columns: [String]) -> UInt64 {
        var mask: UInt64 = 0
        var next = 0
        for (position, column) in self.columns.enumerated() where next < columns.count && columns[next] == column {
            mask |= 1 << UInt64(position)
            next += 1
        }
        return next == columns.count ? mask : columns.reduce(UInt64(0)) { $0 | maskBit(of: $1) }
    }

    /// The mask of `columns` when they are some of the table's in its order (as every image the
    /// reconciler makes is), so that the value of the column at `position` is the image's
    /// `(mask & (1 << position - 1)).nonzeroBitCount`th; otherwise `nil`.
    func orderedMask(of columns: [String]) -> UInt64? {
        if columns == self.columns { return fullMask }  // the image shares its table's array: no names compared
        guard self.columns.count <= 64 else { return nil }
        var mask: UInt64 = 0
        var next = 0
        for (position, column) in self.columns.enumerated() where next < columns.count && columns[next] == column {
            mask |= 1 << UInt64(position)
            next += 1
        }
        return next == columns.count ? mask : nil
    }

    private var fullMask: UInt64 { columns.count >= 64 ? ~0 : (1 << UInt64(columns.count)) - 1 }

    /// The bit of `column` in a `partialUpsert` mask (0 for a column the table does not have).
    func maskBit(of column: String) -> UInt64 {
        columnIndex[column].map { 1 << UInt64($0) } ?? 0
    }
    private let columnIndex: [String: Int]
    private let partialUpserts = Mutex<[UInt64: (sql: String, columns: [String], update: String?)]>([:])

    /// `SELECT` of every column (in table order) with a condition of the caller's.
    func selectSQL(_ selected: [String]? = nil, where condition: String) -> String {
        "SELECT " + (selected ?? columns).joined(separator: ", ") + " FROM \(name) WHERE " + condition
    }

    public static func == (lhs: StateTable, rhs: StateTable) -> Bool { lhs.name == rhs.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }
}

/// The DPP state tables. Columns are untyped text (SQLite affinity), so that the
/// ledger's canonical after-images, which carry every value as a string, replay
/// to identical rows.
public enum StateSchema {
    public static let asset = StateTable(name: "asset", keyColumns: ["dpp_id"], columns: [
        "dpp_id", "cmms_asset_num", "part_number", "serial_number", "description", "manufacturer",
        "installed_on", "parent_dpp_id", "position", "installed_at", "status", "criticality",
        "certification", "specifications", "source_time",
    ])
    public static let workOrder = StateTable(name: "work_order", keyColumns: ["work_order_id"], columns: [
        "work_order_id", "dpp_id", "site_id", "task_id", "completion_date", "status", "status_date",
        "findings", "return_to_service", "release_status", "certifying_staff", "source_time",
    ])
    public static let workOrderLabor = StateTable(name: "work_order_labor", keyColumns: ["work_order_id", "line"], columns: [
        "work_order_id", "line", "labor_code", "hours", "craft", "start_date",
    ])
    public static let workOrderTest = StateTable(name: "work_order_test", keyColumns: ["work_order_id", "line"], columns: [
        "work_order_id", "line", "name", "value", "unit", "lower_limit", "upper_limit", "result",
    ])
    /// Licence category, authorisations and validity, by labour code. Names and
    /// licence numbers are personal data: they live in `technician_personal`,
    /// outside the ledger, and can be erased.
    public static let technician = StateTable(name: "technician", keyColumns: ["labor_code"], columns: [
        "labor_code", "category", "authorisations", "valid_from", "valid_until", "source_time",
    ])
    public static let maintenanceTask = StateTable(name: "maintenance_task", keyColumns: ["task_id"], columns: [
        "task_id", "part_number", "maintenance_type", "interval_days", "interval_flight_hours", "interval_cycles",
        "tolerance_days", "estimated_duration", "required_category", "required_authorisation", "release_certificate", "source_time",
    ])
    public static let utilisation = StateTable(name: "utilisation", keyColumns: ["aircraft", "day"], columns: [
        "aircraft", "day", "flight_hours", "cycles", "source_time",
    ])
    public static let caosPrediction = StateTable(name: "caos_prediction", keyColumns: ["prediction_id"], columns: [
        "prediction_id", "dpp_id", "detected_at", "anomaly", "indicator", "value", "threshold", "confidence",
        "predicted_failure_within_hours", "recommended_action", "recommended_task_id", "source_time",
    ])
    public static let groundWindow = StateTable(name: "ground_window", keyColumns: ["aircraft", "start"], columns: [
        "aircraft", "start", "end", "station", "source_time",
    ])
    public static let workOrderPart = StateTable(name: "work_order_part", keyColumns: ["work_order_id", "part_dpp_id"], columns: [
        "work_order_id", "part_dpp_id", "action",
    ])
    /// Which aircraft a component was installed on from which day: flight hours and
    /// cycles accrue to the aircraft the component was on that day.
    public static let installation = StateTable(name: "installation", keyColumns: ["dpp_id", "start_day"], columns: [
        "dpp_id", "start_day", "aircraft",
    ])
    /// An outbox message dppsync decided to send (the decision is DPP history, so
    /// ledgered); its delivery is tracked outside the state in `outbox_queue`.
    public static let outboxMessage = StateTable(name: "outbox_message", keyColumns: ["message_id"], columns: [
        "message_id", "channel", "subject", "stream", "replaces", "body", "decided_at",
    ])

    /// A reviewer's decision on a held record: part of the DPP's history, so ledgered.
    public static let reviewResolution = StateTable(name: "review_resolution", keyColumns: ["item_id"], columns: [
        "item_id", "record_kind", "record_key", "reason", "decision", "note", "resolved_by", "resolved_at",
    ])

    /// An asset's certificate expiry (`validUntil`), or NULL: the expression of the index
    /// `asset_certificate_expiry`, which a query must repeat word for word to use it.
    static let certificateExpirySQL = "(CASE WHEN json_valid(certification) THEN json_extract(certification, '$.validUntil') END)"

    public static let tables: [StateTable] = [asset, workOrder, workOrderPart, workOrderLabor, workOrderTest,
                                              technician, maintenanceTask, utilisation, caosPrediction, groundWindow, reviewResolution,
                                              installation, outboxMessage]

    private static let byName = Dictionary(uniqueKeysWithValues: tables.map { ($0.name, $0) })
    public static func table(named name: String) -> StateTable? { byName[name] }
}

extension RowImage {
    /// A whole `installation` row, its values in the table's column order: the reconciler makes
    /// them, and a pipelined `StateWriter` keeps just these three values until it writes them.
    static func installation(dppId: String, day: String, aircraft: String?) -> RowImage {
        RowImage(table: StateSchema.installation, inColumnOrder: [dppId, day, aircraft])
    }
}
