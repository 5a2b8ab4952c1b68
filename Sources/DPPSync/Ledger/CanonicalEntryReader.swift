/// Reads a ledger entry laid out exactly as `LedgerEntry.writeCanonicalBytes` writes it, member
/// after member, without building a JSON tree: every entry `ledger verify` and replay read is
/// one. Through `JSONParser.parseDocument` each entry had cost a tree of ~100 values and an
/// array of members per object, and its rows came out in name order, which the canonical writer
/// and the state writer can only read by name (perf, `ledger verify` on 448,588 entries: parsing
/// 16 % of the checking thread's samples, sorting rows to re-serialise them another 2 %).
///
/// Anything else (another member order, whitespace, a number, a table this version does not
/// know) reads as `nil`, and `LedgerEntry.init(canonicalBytes:)` then reads it with the general
/// parser: what an entry says never depends on which of the two read it. Strings are read by
/// `JSONParser` either way.
struct CanonicalEntryReader {
    private var parser: JSONParser
    /// The members of a row's `key` or `row` object, read before its table (the last member) is
    /// known: where each name's bytes are, and its value. Reused from row to row.
    private var members: [(name: Range<Int>, value: String?)] = []
    /// A row's values by column position, reused from row to row.
    private var slots: [String?] = []

    private init(_ bytes: [UInt8]) { parser = JSONParser(bytes: bytes) }

    /// The entry `bytes` are, when they are in canonical layout; `nil` otherwise.
    static func read(_ bytes: [UInt8]) -> LedgerEntry? {
        var reader = CanonicalEntryReader(bytes)
        return try? reader.entry()
    }

    private mutating func entry() throws(JSONParseError) -> LedgerEntry? {
        guard parser.consume("{\"batch\":"), let batch = try parser.consumeStringOrNull(),
              parser.consume(",\"changes\":[") else { return nil }
        var rows: [RowImage] = []
        if !parser.consume("]") {
            repeat {
                guard let row = try row() else { return nil }
                rows.append(row)
            } while parser.consume(",")
            guard parser.consume("]") else { return nil }
        }
        guard parser.consume(",\"kind\":"), case let kind?? = try parser.consumeStringOrNull(),
              parser.consume(",\"provenance\":{\"file\":"), let file = try parser.consumeStringOrNull(),
              parser.consume(",\"fileName\":"), let fileName = try parser.consumeStringOrNull(),
              parser.consume(",\"mapping\":"), let mapping = try parser.consumeStringOrNull(),
              parser.consume(",\"mappingName\":"), let mappingName = try parser.consumeStringOrNull(),
              parser.consume(",\"record\":"), let record = try parser.consumeStringOrNull(),
              parser.consume("},\"seq\":"), case let seqText?? = try parser.consumeStringOrNull(), let sequence = Int64(seqText),
              parser.consume(",\"subject\":"), case let subject?? = try parser.consumeStringOrNull(),
              parser.consume(",\"time\":"), case let timeText?? = try parser.consumeStringOrNull(), let time = Timestamp(iso: timeText),
              parser.consume("}"), parser.atEnd()
        else { return nil }
        let provenance = Provenance(fileFingerprint: file, fileName: fileName, recordIndex: record.flatMap { Int($0) },
                                    mappingName: mappingName, mappingHash: mapping)
        return LedgerEntry(sequence: sequence, time: time, batchId: batch.flatMap { Int64($0) },
                           change: StateChange(kind: kind, subject: subject, rows: rows, provenance: provenance))
    }

    /// One change: `{"deleted":…,"key":{…},"row":{…},"table":…}`, made into an image of its
    /// table with the columns in the table's order, as the reconciler makes them.
    private mutating func row() throws(JSONParseError) -> RowImage? {
        let deleted: Bool
        if parser.consume("{\"deleted\":\"0\",\"key\":{") { deleted = false }
        else if parser.consume("{\"deleted\":\"1\",\"key\":{") { deleted = true }
        else { return nil }
        // The key repeats the row's key columns: read for its form only (re-serialising the entry
        // checks what it says).
        guard try readMembers(), parser.consume(",\"row\":{"), try readMembers(),
              parser.consume(",\"table\":"), case let tableName?? = try parser.consumeStringOrNull(), parser.consume("}"),
              let table = StateSchema.table(named: tableName), table.columns.count <= 64 else { return nil }  // a mask bit per column

        // Both are in canonical (name) order: one pass matches the members to the table's columns.
        let layout = table.canonicalLayout.columns
        if slots.count < table.columns.count { slots = Array(repeating: nil, count: table.columns.count) }
        var mask: UInt64 = 0
        var next = 0
        for member in members {
            while next < layout.count, !isName(member.name, of: layout[next]) { next += 1 }
            guard next < layout.count else { return nil }  // a column the table does not have, or out of order
            slots[layout[next].position] = member.value
            mask |= 1 << UInt64(layout[next].position)
            next += 1
        }
        var columns: [String] = [], values: [String?] = []
        columns.reserveCapacity(members.count); values.reserveCapacity(members.count)
        for position in table.columns.indices where mask & (1 << UInt64(position)) != 0 {
            columns.append(table.columns[position])
            values.append(slots[position])
        }
        var image = RowImage(table: table, carrying: RowValues(columns: columns, values: values))
        image.deleted = deleted
        return image
    }

    /// `true` when the name at `range` is `column`'s (its prefix is `"name":`).
    private func isName(_ range: Range<Int>, of column: StateTable.CanonicalLayout.Column) -> Bool {
        parser.bytes(in: range, equal: UnsafeBufferPointer(rebasing: column.prefix[1..<(column.prefix.count - 2)]))
    }

    /// The members of an object whose `{` is read, through its `}`: plain names, string or null
    /// values. `false` for anything else.
    private mutating func readMembers() throws(JSONParseError) -> Bool {
        members.removeAll(keepingCapacity: true)
        if parser.consume("}") { return true }
        repeat {
            guard let name = parser.consumePlainName(), let value = try parser.consumeStringOrNull() else { return false }
            members.append((name, value))
        } while parser.consume(",")
        return parser.consume("}")
    }
}
