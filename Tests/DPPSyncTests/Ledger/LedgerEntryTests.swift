@testable import DPPSync
import Testing

@Suite("canonical ledger entry bytes")
struct LedgerEntryTests {
    /// The direct writer must give exactly the documented form: the JSON value with sorted keys.
    @Test("canonicalBytes equals canonicalJSON with sorted keys, for awkward values and foreign row images")
    func directWriterMatchesDefinition() throws {
        let awkward = ["quote \" and \\ backslash", "line\nfeed\r\ttab \u{01}\u{1F}", "ünïcødé ✈︎ 水素", "", "null"]
        var rows: [RowImage] = []
        for (i, text) in awkward.enumerated() {
            rows.append(RowImage(table: StateSchema.asset, values: ["dpp_id": "DPP-\(i)", "description": text, "status": i % 2 == 0 ? nil : text]))
            rows.append(RowImage(table: StateSchema.workOrderLabor, values: ["work_order_id": text, "line": String(i)], deleted: i % 2 == 1))
        }
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
}
