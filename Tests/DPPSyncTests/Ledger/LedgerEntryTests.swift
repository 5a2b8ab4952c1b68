@testable import DPPSync
import Testing

@Suite("canonical ledger entry bytes")
struct LedgerEntryTests {
    /// The direct writer must give exactly the documented form: the JSON value with sorted keys.
    @Test("canonicalBytes equals canonicalJSON with sorted keys, for awkward values and foreign row images")
    func directWriterMatchesDefinition() throws {
        let awkward = ["quote \" and \\ backslash", "line\nfeed\r\ttab \u{01}\u{1F}", "ünïcødé ✈︎ 水素", "", "null",
                       "a NUL \u{0} inside, then more than fifteen bytes"]
        var rows: [RowImage] = []
        for (i, text) in awkward.enumerated() {
            rows.append(RowImage(table: StateSchema.asset, values: ["dpp_id": "DPP-\(i)", "description": text, "status": i % 2 == 0 ? nil : text]))
            rows.append(RowImage(table: StateSchema.workOrderLabor, values: ["work_order_id": text, "line": String(i)], deleted: i % 2 == 1))
        }
        // Partial images: a move (its key and the columns it changes), some columns without the
        // key (written as null), and columns out of their table's order (as replay reads them).
        rows.append(RowImage(table: StateSchema.asset, updating: ["dpp_id": "P-1", "status": "SPARE", "installed_on": nil, "description": "x"],
                             to: ["dpp_id": "P-1", "status": "INSTALLED", "installed_on": "EC-\"1\"", "description": "x"]))
        rows.append(RowImage(table: StateSchema.asset, carrying: ["description": "no key", "status": nil]))
        rows.append(RowImage(table: StateSchema.asset, carrying: ["status": "out of order", "dpp_id": "P-2"]))
        // Replayed bytes can name a table or columns this version does not know.
        rows.append(RowImage(tableName: "retired_table", values: ["b": "2", "a": nil, "Z": "upper"], deleted: false))
        rows.append(RowImage(tableName: StateSchema.technician.name, values: ["labor_code": "X"], deleted: false))
        for (batch, provenance) in [(Int64?.some(3), Provenance(fileFingerprint: "ab", fileName: "f \"1\".xml", recordIndex: 12, mappingName: "m", mappingHash: "cd")),
                                    (nil, Provenance())] {
            let entry = LedgerEntry(sequence: 42, time: Timestamp(millisecondsSinceEpoch: 1_767_225_600_123), batchId: batch,
                                    change: StateChange(kind: "workorder.completed", subject: "DPP-\u{7F}-\"s\"", rows: rows, provenance: provenance))
            #expect(entry.canonicalBytes == entry.canonicalJSON.jsonBytes(sortedKeys: true))
            #expect(LedgerEntry(canonicalBytes: entry.canonicalBytes)?.canonicalBytes == entry.canonicalBytes)
        }
    }

    /// The ledger's writer reuses one buffer from entry to entry: a large entry that makes it
    /// grow, then a small one, must each come out exactly as defined, with escapes on either
    /// side of the eight-byte runs the writer copies whole.
    @Test("one buffer reused for a large entry and a small one gives each its canonical bytes")
    func reusedBufferMatchesDefinition() throws {
        var texts: [String] = []
        for position in [0, 6, 7, 8, 9, 15, 16, 17, 63] {
            for escape in ["\"", "\\", "\n", "\u{02}"] {
                texts.append(String(repeating: "a", count: position) + escape + String(repeating: "b", count: 20 - position % 20))
            }
        }
        texts.append(String(repeating: "{\"quoted\":\"json\"}", count: 400))  // ~7 KB, mostly escapes: the buffer grows
        let large = LedgerEntry(sequence: 7, time: Timestamp(millisecondsSinceEpoch: 1_767_225_600_000), batchId: 1,
                                change: StateChange(kind: "workorder.completed", subject: "DPP-C-1",
                                                    rows: texts.enumerated().map { RowImage(table: StateSchema.asset, values: ["dpp_id": "DPP-\($0.offset)", "specifications": $0.element]) },
                                                    provenance: Provenance(fileName: "wo.xml", recordIndex: 3)))
        let small = LedgerEntry(sequence: 8, time: Timestamp(millisecondsSinceEpoch: 1_767_225_600_001), batchId: nil,
                                change: StateChange(kind: "asset.registered", subject: "DPP-P-1",
                                                    rows: [RowImage(table: StateSchema.asset, values: ["dpp_id": "DPP-P-1"])], provenance: Provenance()))
        let buffer = JSONByteBuffer(capacity: 64)
        for entry in [large, small, large] {
            entry.writeCanonicalBytes(to: buffer)
            let expected = entry.canonicalJSON.jsonBytes(sortedKeys: true)
            #expect(buffer.bytes == expected)
            #expect(buffer.withBytes { LedgerEntry.leafHash($0) } == LedgerEntry.leafHash(expected))
        }
    }
}
