import Crypto

/// The after-image of one state row: every column's value as text (or `nil`).
public struct RowImage: Sendable, Hashable {
    public let table: String
    public var values: RowValues
    /// `true` when the change removes the row (its key columns identify it).
    public var deleted: Bool
    /// The table, when the image was made from it: the write path then needs no lookup by
    /// name (a dictionary lookup for every row written). Not part of the image's identity.
    /// Not retained: state tables are `StateSchema`'s, which live as long as the process, and
    /// each image made on the deciding thread and freed on the ledger's had counted a reference
    /// on the same few tables from both cores.
    private unowned(unsafe) let knownTable: StateTable?

    /// `table`, checked (in debug builds) to be one of `StateSchema`'s: an image does not retain it.
    private static func schemaTable(_ table: StateTable) -> StateTable {
        assert(StateSchema.table(named: table.name) === table, "\(table.name) is not one of StateSchema's tables")
        return table
    }

    /// The state table the image belongs to, `nil` for a name no state table has.
    var stateTable: StateTable? { knownTable ?? StateSchema.table(named: table) }

    /// `true` when the image is a row of `table`: the write path asks this of every row of every
    /// change, and an image made from its table answers by identity, with no names compared.
    func isOf(_ table: StateTable) -> Bool {
        if let knownTable { return knownTable === table }
        return self.table == table.name
    }

    public static func == (lhs: RowImage, rhs: RowImage) -> Bool {
        lhs.table == rhs.table && lhs.deleted == rhs.deleted && lhs.values == rhs.values
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(table); hasher.combine(values); hasher.combine(deleted)
    }

    /// Every column of `table` (one of `StateSchema.tables`), in its order (absent ones NULL; a
    /// value for no column of the table is dropped).
    public init(table: StateTable, values: RowValues, deleted: Bool = false) {
        self.table = table.name
        knownTable = Self.schemaTable(table)
        var ordered: [String?] = []
        ordered.reserveCapacity(table.columns.count)
        for (position, column) in table.columns.enumerated() { ordered.append(values.value(of: column, expectedAt: position) ?? nil) }
        self.values = RowValues(columns: table.columns, values: ordered)
        self.deleted = deleted
    }

    /// Every column of `table`, given in its order: nothing looked up by name. For the rows
    /// written for every work order (a dictionary literal had cost four arrays a row).
    init(table: StateTable, inColumnOrder values: [String?]) {
        precondition(values.count == table.columns.count, "one value per column of \(table.name)")
        self.table = table.name
        knownTable = Self.schemaTable(table)
        self.values = RowValues(columns: table.columns, values: values)
        self.deleted = false
    }

    /// The image of an update of a stored row: its key and the columns whose value
    /// changes, nothing else, so that a part moving between components costs the ledger
    /// four values rather than the whole asset row. Replay sets just these columns.
    public init(table: StateTable, updating current: RowValues, to updated: RowValues) {
        var changed: RowValues = [:]
        for column in table.columns where table.keyColumns.contains(column) || (updated[column] ?? nil) != (current[column] ?? nil) {
            changed[column] = .some(updated[column] ?? nil)  // a column set to null stays in the image
        }
        self.table = table.name
        knownTable = Self.schemaTable(table)
        self.values = changed
        self.deleted = false
    }

    /// Exactly the columns given (a partial image when they are not all of the table's).
    init(table: StateTable, carrying values: RowValues) {
        self.table = table.name; self.values = values; self.deleted = false
        knownTable = Self.schemaTable(table)
    }

    init(tableName: String, values: RowValues, deleted: Bool) {
        self.table = tableName; self.values = values; self.deleted = deleted
        knownTable = nil
    }

    /// `true` when the image carries only some of its table's columns (see `init(table:updating:to:)`).
    public var isPartial: Bool { stateTable.map(isPartial(in:)) ?? false }

    func isPartial(in table: StateTable) -> Bool { values.count < table.columns.count }
}

/// Where a change came from (DESIGN.md §4.8).
public struct Provenance: Sendable, Hashable {
    public var fileFingerprint: String?
    public var fileName: String?
    public var recordIndex: Int?
    public var mappingName: String?
    public var mappingHash: String?

    public init(fileFingerprint: String? = nil, fileName: String? = nil, recordIndex: Int? = nil,
                mappingName: String? = nil, mappingHash: String? = nil) {
        self.fileFingerprint = fileFingerprint; self.fileName = fileName; self.recordIndex = recordIndex
        self.mappingName = mappingName; self.mappingHash = mappingHash
    }
}

/// A change of DPP state, as handed to the one write path.
public struct StateChange: Sendable, Hashable {
    /// What happened, e.g. `asset.registered`, `workorder.completed`.
    public var kind: String
    /// The component it concerns (`dppId`).
    public var subject: String
    public var rows: [RowImage]
    public var provenance: Provenance

    public init(kind: String, subject: String, rows: [RowImage], provenance: Provenance) {
        self.kind = kind; self.subject = subject; self.rows = rows; self.provenance = provenance
    }
}

/// One ledger entry: a state change with its sequence number, time and batch.
///
/// Canonical byte form (what is hashed): UTF-8 JSON, no insignificant
/// whitespace, object members ordered by the UTF-8 bytes of their names, every
/// scalar a JSON string (numbers as decimal text) or `null`, strings escaping
/// only `"`, `\` and control characters (`\n`, `\r`, `\t`, else `\u00XX`):
///
///     {"batch":"3","changes":[{"deleted":"0","key":{…},"row":{…},"table":"asset"}],
///      "kind":"asset.registered","provenance":{…},"seq":"1","subject":"DPP-H2-001",
///      "time":"2026-01-10T02:00:00.000Z"}
public struct LedgerEntry: Sendable, Hashable {
    public var sequence: Int64
    public var time: Timestamp
    public var batchId: Int64?
    public var change: StateChange

    public init(sequence: Int64, time: Timestamp, batchId: Int64?, change: StateChange) {
        self.sequence = sequence; self.time = time; self.batchId = batchId; self.change = change
    }

    public var canonicalJSON: JSONValue {
        let text = JSONValue.text
        let changes: [JSONValue] = change.rows.map { row in
            let keyColumns = StateSchema.table(named: row.table)?.keyColumns ?? []
            return .object([
                ("deleted", .string(row.deleted ? "1" : "0")),
                ("key", .object(keyColumns.map { ($0, text(row.values[$0] ?? nil)) })),
                ("row", .object(row.values.map { ($0.key, text($0.value)) })),
                ("table", .string(row.table)),
            ])
        }
        let p = change.provenance
        return .object([
            ("batch", text(batchId.map(String.init))),
            ("changes", .array(changes)),
            ("kind", .string(change.kind)),
            ("provenance", .object([
                ("file", text(p.fileFingerprint)), ("fileName", text(p.fileName)),
                ("mapping", text(p.mappingHash)), ("mappingName", text(p.mappingName)),
                ("record", text(p.recordIndex.map(String.init))),
            ])),
            ("seq", .string(String(sequence))),
            ("subject", .string(change.subject)),
            ("time", .string(time.description)),
        ])
    }

    /// The bytes that are hashed into the Merkle tree: `canonicalJSON` with sorted
    /// keys, written directly (members in their precomputed canonical order), since
    /// every change of the DPP passes through here.
    public var canonicalBytes: [UInt8] {
        let out = JSONByteBuffer(capacity: 512 + change.rows.count * 256)
        writeCanonicalBytes(to: out)
        return out.bytes
    }

    /// Writes `canonicalBytes` into `out`, which is emptied first (the ledger's writer
    /// reuses one buffer for every entry it hashes).
    func writeCanonicalBytes(to out: JSONByteBuffer) {
        out.removeAll()
        out.append(member: "{\"batch\":", batchId.map(String.init))
        out.append(literal: ",\"changes\":[")
        for (index, row) in change.rows.enumerated() {
            if index > 0 { out.append(literal: ",") }
            out.append(literal: row.deleted ? "{\"deleted\":\"1\",\"key\":{" : "{\"deleted\":\"0\",\"key\":{")
            // The values are read in place where the image's columns are its table's in the table's
            // order (every image the reconciler makes, whole or partial): no name is looked up.
            let table = row.stateTable
            let mask = table?.orderedMask(of: row.values.keys)
            func slot(of position: Int) -> Int { ((mask ?? 0) & ((1 << UInt64(position)) &- 1)).nonzeroBitCount }
            if let table {
                for (i, column) in table.canonicalKeyLayout.columns.enumerated() {
                    if i > 0 { out.append(literal: ",") }
                    out.append(column.prefix)
                    if let mask {
                        if mask & (1 << UInt64(column.position)) == 0 { out.append(literal: "null"); continue }
                        row.values.withUTF8(at: slot(of: column.position)) { out.append(quotedUTF8: $0) }
                    } else {
                        out.append(quoted: row.values[table.columns[column.position]] ?? nil)
                    }
                }
            }
            out.append(literal: "},\"row\":{")
            if let table, let mask {
                var written = 0
                for column in table.canonicalLayout.columns where mask & (1 << UInt64(column.position)) != 0 {
                    if written > 0 { out.append(literal: ",") }
                    out.append(column.prefix)
                    row.values.withUTF8(at: slot(of: column.position)) { out.append(quotedUTF8: $0) }
                    written += 1
                }
            } else {
                // Columns in another order (as replay reads them), or of a table or with a column
                // this version does not know: sorted by name, as the canonical form has them.
                for (i, (column, value)) in row.values.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }).enumerated() {
                    if i > 0 { out.append(literal: ",") }
                    out.append(quoted: column)
                    out.append(literal: ":")
                    out.append(quoted: value)
                }
            }
            out.append(literal: "},\"table\":")
            out.append(quoted: row.table)
            out.append(literal: "}")
        }
        out.append(member: "],\"kind\":", change.kind)
        let p = change.provenance
        out.append(member: ",\"provenance\":{\"file\":", p.fileFingerprint)
        out.append(member: ",\"fileName\":", p.fileName)
        out.append(member: ",\"mapping\":", p.mappingHash)
        out.append(member: ",\"mappingName\":", p.mappingName)
        out.append(member: ",\"record\":", p.recordIndex.map(String.init))
        out.append(member: "},\"seq\":", String(sequence))
        out.append(member: ",\"subject\":", change.subject)
        out.append(member: ",\"time\":", time.description)
        out.append(literal: "}")
    }

    /// RFC 6962 leaf hash: SHA-256(0x00 ‖ entry).
    public static func leafHash(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBufferPointer(leafHash)
    }

    /// The same, of bytes read in place.
    static func leafHash(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: [0x00])
        hasher.update(bufferPointer: UnsafeRawBufferPointer(bytes))
        return Array(hasher.finalize())
    }

    /// Parses canonical bytes back into an entry (for replay and verification). Bytes in another
    /// layout (which `ledger verify` reports as not canonical) are read by the general parser.
    public init?(canonicalBytes bytes: [UInt8]) {
        guard let entry = CanonicalEntryReader.read(bytes) ?? Self.readAsJSON(bytes) else { return nil }
        self = entry
    }

    /// The entry in `bytes` read as any JSON document: members in any order, whitespace, rows of
    /// tables this version does not know.
    static func readAsJSON(_ bytes: [UInt8]) -> LedgerEntry? {
        guard let json = try? JSONParser.parseDocument(bytes),
              case .string(let seqText)? = json["seq"], let seq = Int64(seqText),
              case .string(let timeText)? = json["time"], let time = Timestamp(iso: timeText),
              case .string(let kind)? = json["kind"], case .string(let subject)? = json["subject"],
              case .array(let changes)? = json["changes"]
        else { return nil }
        var batch: Int64?
        if case .string(let b)? = json["batch"] { batch = Int64(b) }
        var rows: [RowImage] = []
        for change in changes {
            guard case .string(let table)? = change["table"], case .object(let members)? = change["row"] else { return nil }
            var values: RowValues = [:]
            for (column, value) in members {
                if case .string(let s) = value { values[column] = s } else { values[column] = .some(nil) }
            }
            rows.append(RowImage(tableName: table, values: values, deleted: change["deleted"] == .string("1")))
        }
        func text(_ v: JSONValue?) -> String? { if case .string(let s)? = v { return s } else { return nil } }
        let p = json["provenance"]
        let provenance = Provenance(fileFingerprint: text(p?["file"]), fileName: text(p?["fileName"]),
                                    recordIndex: text(p?["record"]).flatMap { Int($0) },
                                    mappingName: text(p?["mappingName"]), mappingHash: text(p?["mapping"]))
        return LedgerEntry(sequence: seq, time: time, batchId: batch,
                           change: StateChange(kind: kind, subject: subject, rows: rows, provenance: provenance))
    }
}
