import GRDB

/// Decides each mapped record against the DPP state, inside the file's
/// transaction (DESIGN.md §1): it resolves external keys, compares with what is
/// stored, and returns the changes to write. It reads; it never writes.
public struct Reconciler {
    public let configuration: Configuration
    /// Holds a reviewer accepted: these checks are waived for the record being resolved.
    public var waived: Set<ReasonCode> = []
    /// The day decisions are taken (`decided_at` of the outbox messages they make).
    public var decisionDate: String?
    /// Reference rows that one file's records cannot change (technicians, programme
    /// tasks), looked up once per file instead of once per record.
    let references = ReferenceCache()

    public init(configuration: Configuration, waived: Set<ReasonCode> = []) {
        self.configuration = configuration
        self.waived = waived
    }

    /// - Parameter source: the inbox source the record came from (ownership depends on it).
    public func decide(_ record: MappedRecord, provenance: Provenance, source: String = "", in db: Database) throws -> Decision {
        switch record.kind {
        case .asset: return try decideAsset(record, provenance: provenance, source: source, in: db)
        case .workOrderCompletion: return try decideCompletion(record, provenance: provenance, in: db)
        default:
            if let spec = ReferenceKind.spec(for: record.kind) { return try decideReference(record, spec: spec, provenance: provenance, in: db) }
            return Decision(outcome: .rejected, reason: .invalidField, message: "record kind '\(record.kind)' cannot be reconciled by this version")
        }
    }

    /// A decision whose outcome comes from the policy for `reason`.
    func byPolicy(_ reason: ReasonCode, _ message: String) -> Decision {
        if waived.contains(reason) { return Decision(outcome: .applied, reason: reason, message: "waived by review: " + message) }
        return Decision(outcome: configuration.outcome(for: reason), reason: reason, message: message)
    }

    /// `true` when `incoming` is older than the stored source time.
    func isStale(_ incoming: Timestamp?, stored: String??) -> (Bool, Timestamp?) {
        guard let incoming, let text = stored ?? nil, let storedTime = Timestamp(iso: text) else { return (false, nil) }
        return (incoming < storedTime, storedTime)
    }

    /// Writes an applied decision's changes, and forgets the cached rows they touch:
    /// the one way a file's decisions reach the store, so the cache cannot go stale.
    public func write(_ decision: Decision, with writer: inout StateWriter) throws {
        // The writer may keep asset columns unwritten a while; the lookups read through them.
        if references.unwrittenAssets !== writer.unwrittenAssets { references.unwrittenAssets = writer.unwrittenAssets }
        for change in decision.changes {
            try writer.apply(change)
            references.forget(change)
        }
    }

    /// Technicians and programme tasks by key, for the life of one reconciler (one file);
    /// components as completions name them, until a change applied in the file writes them.
    final class ReferenceCache {
        /// By table and key (a key of its own: joining the table's name and the key into one
        /// string had cost two appends and a longer hash for every technician and task looked up).
        private var rows: [RowKey: RowValues?] = [:]
        private struct RowKey: Hashable {
            var table: ObjectIdentifier
            var key: String
        }
        private var components: [String: RowValues?] = [:]
        private var dppIdsByCMMSNumber: [String: String?] = [:]
        /// What the writer of this file's decisions applied to assets but has not written yet.
        var unwrittenAssets: UnwrittenAssetColumns?

        /// An asset row as the file's decisions so far left it.
        func current(_ asset: RowValues?) -> RowValues? {
            guard let unwrittenAssets else { return asset }
            return unwrittenAssets.overlay(asset)
        }

        /// A component by dppId (most files name each many times).
        func component(_ dppId: String, in db: Database) throws -> RowValues? {
            if let cached = components[dppId] { return cached }
            let row = current(try StateWriter.row(StateSchema.asset, key: [dppId], in: db))
            components[dppId] = .some(row)
            return row
        }

        /// A component by the CMMS asset number of the registry's crosswalk.
        func component(cmmsNumber: String, in db: Database) throws -> RowValues? {
            if let known = dppIdsByCMMSNumber[cmmsNumber] { return try known.flatMap { try component($0, in: db) } }
            if crosswalkLoaded { return nil }
            crosswalkMisses += 1
            if crosswalkMisses >= Self.crosswalkLoadAfter {
                try loadCrosswalk(in: db)
                return try component(cmmsNumber: cmmsNumber, in: db)
            }
            let row = current(try StateWriter.row(StateSchema.asset, sql: Reconciler.assetByCMMSNumberSQL, arguments: [cmmsNumber], in: db))
            let dppId = row.flatMap { $0["dpp_id"] ?? nil }
            dppIdsByCMMSNumber[cmmsNumber] = .some(dppId)
            if let dppId { components[dppId] = .some(row) }
            return row
        }

        /// Numbers looked up one by one so far; `crosswalkLoaded` once they were all read at once.
        private var crosswalkMisses = 0
        private(set) var crosswalkLoaded = false
        /// A file that names this many components one by one names most of the fleet.
        static let crosswalkLoadAfter = 256

        /// Reads every component that has a CMMS asset number in one scan of the asset table,
        /// in its key order: looked up one at a time, each first mention of a component read a
        /// random page of the table (a 20,000-component fleet, 270,000 assets: ~11,000 reads of
        /// 64 KB in one file). The first component of a number wins, as in the single lookup.
        private func loadCrosswalk(in db: Database) throws {
            let table = StateSchema.asset
            let (id, number) = (table.columns.firstIndex(of: "dpp_id") ?? 0, table.columns.firstIndex(of: "cmms_asset_num") ?? 0)
            try DirectStatement(db, sql: Reconciler.componentsWithCMMSNumberSQL).forEachRow([], columns: table.columns.count, in: db) { values in
                guard let dppId = values[id], let cmmsNumber = values[number], dppIdsByCMMSNumber[cmmsNumber] == nil else { return }
                dppIdsByCMMSNumber[cmmsNumber] = .some(dppId)
                if components[dppId] == nil { components[dppId] = .some(current(RowValues(columns: table.columns, values: values))) }
            }
            crosswalkLoaded = true
        }

        func forget(_ change: StateChange) {
            for row in change.rows where row.isOf(StateSchema.asset) {
                if let dppId = row.values.value(of: "dpp_id", expectedAt: 0) ?? nil { components.removeValue(forKey: dppId) }
                // A new number for a component (or a new component) changes the crosswalk.
                if row.values["cmms_asset_num"] != nil {
                    dppIdsByCMMSNumber.removeAll()
                    // Read again only after as many lookups again: a file that changed numbers
                    // between lookups must not scan the table each time.
                    crosswalkLoaded = false
                    crosswalkMisses = 0
                }
            }
        }

        /// Statements of the lookups made for every record, found by a small key: GRDB's cache
        /// hashes the whole SQL text on every use (~2,000 instructions a lookup, three or four per
        /// work order).
        private var statements: StatementCache?

        /// The first row `sql` (a `SELECT` of `columns`, in that order) finds for `arguments`;
        /// `lookup` names the statement, which is always the same for a given `lookup`.
        func row(_ lookup: Lookup, columns: [String], sql: @autoclosure () -> String, arguments: [String], in db: Database) throws -> RowValues? {
            let row = try statement(lookup, sql: sql, in: db)?.firstRow(arguments, columns: columns.count, in: db).map { RowValues(columns: columns, values: $0) }
            return lookup.readsAssets ? current(row) : row
        }

        /// Every row `sql` finds for `arguments`, as `row(_:columns:sql:arguments:in:)` reads the first.
        func rows(_ lookup: Lookup, columns: [String], sql: @autoclosure () -> String, arguments: [String], in db: Database) throws -> [RowValues] {
            var rows: [RowValues] = []
            try statement(lookup, sql: sql, in: db)?.forEachRow(arguments, columns: columns.count, in: db) { values in
                let row = RowValues(columns: columns, values: values)
                rows.append(lookup.readsAssets ? current(row) ?? row : row)
            }
            return rows
        }

        private func statement(_ lookup: Lookup, sql: () -> String, in db: Database) throws -> DirectStatement? {
            if statements?.db !== db { statements = StatementCache(db) }
            return try statements?.statement(.init(kind: lookup.rawValue), sql: sql)
        }

        /// Authorisation lists as read from their stored JSON text: a few technicians certify
        /// every work order of a file, and each certification had parsed its technician's list again.
        private var parsedAuthorisations: [String: [String]] = [:]

        /// The authorisations a technician's `authorisations` column lists (none when it is not a JSON list).
        func authorisations(in text: String) -> [String] {
            if let known = parsedAuthorisations[text] { return known }
            var held: [String] = []
            if case .array(let items)? = try? JSONParser.parseDocument(Array(text.utf8)) { held = items.compactMap(\.scalarText) }
            parsedAuthorisations[text] = held
            return held
        }

        /// The programme tasks of each part number asked for.
        private var tasksByPartNumber: [String: [RowValues]] = [:]

        /// Every programme task for `partNumber`: what a completion that names no known task is
        /// checked against. A file names the same few part numbers again and again, and tasks do
        /// not change within it (one record kind per file).
        func tasks(ofPartNumber partNumber: String, in db: Database) throws -> [RowValues] {
            if let known = tasksByPartNumber[partNumber] { return known }
            let ids = try String.fetchAll(db.cachedStatement(sql: "SELECT task_id FROM maintenance_task WHERE part_number = ? ORDER BY task_id"), arguments: [partNumber])
            let tasks = try ids.compactMap { try row(StateSchema.maintenanceTask, $0, in: db) }
            tasksByPartNumber[partNumber] = tasks
            return tasks
        }

        /// The parts the record being decided names, as the decoding thread read them before
        /// the file's writes (`PartPrefetcher`); set for each record by the file processor.
        var prefetched: [PrefetchedPart] = []
        /// Part lookups answered from `prefetched` (the benchmark's `partsReadAhead`).
        private(set) var readAheadUsed = 0

        /// The part a completion names (its `Reconciler.partColumns`), as the file's decisions so far left it.
        func part(_ reference: PartReference, in db: Database) throws -> PartMatch {
            if let unwrittenAssets, let found = prefetched.first(where: { $0.reference == reference }) {
                if let values = found.values {
                    // Found before the file: current unless the file has changed that asset since.
                    let row = RowValues(columns: Reconciler.partColumns, values: values)
                    if let dppId = row["dpp_id"] ?? nil, !unwrittenAssets.mayHaveChanged(dppId) {
                        readAheadUsed += 1
                        return .found(row)
                    }
                } else if !unwrittenAssets.reshaped {
                    readAheadUsed += 1
                    return .absent  // absent before the file, and the file made no asset
                }
            }
            switch reference {
            case .dppId(let id):
                return try row(.partById, columns: Reconciler.partColumns, sql: Reconciler.partByIdSQL, arguments: [id], in: db).map { .found($0) } ?? .absent
            case .number(let partNumber, let serial):
                return PartMatch(candidates: try rows(.partByNumber, columns: Reconciler.partColumns, sql: Reconciler.partsByNumberSQL, arguments: [partNumber, serial], in: db))
            case .unserialised:
                return .absent
            }
        }

        /// The lookups `row(_:columns:sql:arguments:in:)` serves.
        enum Lookup: Int {
            case partById, partByNumber, workOrder

            var readsAssets: Bool { self != .workOrder }
        }

        func row(_ table: StateTable, _ key: String, in db: Database) throws -> RowValues? {
            let cacheKey = RowKey(table: ObjectIdentifier(table), key: key)
            if let cached = rows[cacheKey] { return cached }
            let row = try StateWriter.row(table, key: [key], in: db)
            rows[cacheKey] = .some(row)
            return row
        }
    }

    static func text(_ value: JSONValue?) -> String? {
        guard let value else { return nil }
        switch value {
        case .null: return nil
        case .array, .object: return value.jsonText(sortedKeys: true)
        default: return value.scalarText
        }
    }
}
