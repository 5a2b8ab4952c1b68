@testable import DPPSync
import Foundation
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

    /// `ledger verify` and replay read entries member by member when they are laid out as dppsync
    /// writes them; what an entry says must not depend on which reader read it.
    @Test("canonical bytes are read member by member into images in table order, as the general parser reads them")
    func canonicalReaderMatchesGeneralParser() throws {
        let awkward = ["quote \" and \\ backslash", "line\nfeed\r\ttab \u{01}\u{1F}", "ünïcødé ✈︎ 水素", "", "null"]
        var rows: [RowImage] = []
        for (i, text) in awkward.enumerated() {
            rows.append(RowImage(table: StateSchema.asset, values: ["dpp_id": "DPP-\(i)", "description": text, "status": i % 2 == 0 ? nil : text]))
            rows.append(RowImage(table: StateSchema.workOrderLabor, values: ["work_order_id": text, "line": String(i)], deleted: i % 2 == 1))
        }
        rows.append(RowImage(table: StateSchema.asset, updating: ["dpp_id": "P-1", "status": "SPARE", "installed_on": nil],
                             to: ["dpp_id": "P-1", "status": "INSTALLED", "installed_on": "EC-1"]))
        rows.append(RowImage(table: StateSchema.asset, carrying: ["description": "no key"]))
        rows.append(RowImage(table: StateSchema.installation, carrying: [:]))
        let entries = [
            LedgerEntry(sequence: 42, time: Timestamp(millisecondsSinceEpoch: 1_767_225_600_123), batchId: 3,
                        change: StateChange(kind: "workorder.completed", subject: "DPP-\"s\"", rows: rows,
                                            provenance: Provenance(fileFingerprint: "ab", fileName: "f.xml", recordIndex: 12, mappingName: "m", mappingHash: "cd"))),
            LedgerEntry(sequence: 1, time: Timestamp(millisecondsSinceEpoch: 0), batchId: nil,
                        change: StateChange(kind: "review.resolved", subject: "", rows: [], provenance: Provenance())),
        ]
        for entry in entries {
            let bytes = entry.canonicalBytes
            let read = try #require(CanonicalEntryReader.read(bytes))
            #expect(read == entry)
            #expect(read == LedgerEntry.readAsJSON(bytes))
            for (image, written) in zip(read.change.rows, entry.change.rows) {
                // In the table's order and knowing its table: written again and replayed by position.
                let table = try #require(written.stateTable)
                #expect(image.isOf(table))
                #expect(image.values.keys == table.columns.filter(written.values.keys.contains))
            }
            #expect(read.canonicalBytes == bytes)
        }

        // Another layout is left to the general parser, which reads what it can.
        let canonical = String(decoding: entries[0].canonicalBytes, as: UTF8.self)
        let other: [(String, String)] = [
            ("whitespace", canonical.replacingOccurrences(of: "{\"batch\":", with: "{ \"batch\":")),
            ("provenance members in another order", canonical.replacingOccurrences(of: "\"mapping\":\"cd\",\"mappingName\":\"m\"", with: "\"mappingName\":\"m\",\"mapping\":\"cd\"")),
            ("a table this version does not know", canonical.replacingOccurrences(of: "\"table\":\"work_order_labor\"", with: "\"table\":\"retired\"")),
            ("a number for a value", canonical.replacingOccurrences(of: "\"line\":\"1\"", with: "\"line\":1")),
            ("a column the table does not have", canonical.replacingOccurrences(of: "\"line\":\"1\"", with: "\"line\":\"1\",\"zz_extra\":\"x\"")),
            ("row columns out of order", canonical.replacingOccurrences(of: "\"row\":{\"dpp_id\":\"P-1\",\"installed_on\":\"EC-1\",",
                                                                        with: "\"row\":{\"installed_on\":\"EC-1\",\"dpp_id\":\"P-1\",")),
            ("an escaped name", canonical.replacingOccurrences(of: "\"dpp_id\":\"DPP-0\"", with: "\"dpp\\u005fid\":\"DPP-0\"")),
            // Read the same by both readers (strings are `JSONParser`'s either way); written again, it differs.
            ("an escape the canonical form does not use", canonical.replacingOccurrences(of: "\"f.xml\"", with: "\"f\\/.xml\"")),
        ]
        for (what, text) in other {
            let bytes = Array(text.utf8)
            #expect(bytes != entries[0].canonicalBytes, "\(what): the variant must differ")
            if !what.hasPrefix("an escape") { #expect(CanonicalEntryReader.read(bytes) == nil, "\(what)") }
            let general = try #require(LedgerEntry.readAsJSON(bytes), "\(what)")
            #expect(LedgerEntry(canonicalBytes: bytes) == general, "\(what)")
            #expect(general.canonicalBytes != bytes, "\(what): not canonical, as verify reports")
        }
        // Bytes that are no entry at all (cut short, followed by more, invalid UTF-8 in the time or in
        // a key's name) are none through either reader.
        // A key's names are read for their form only: a control character or invalid UTF-8 in one is no JSON.
        let key = canonical.utf8.distance(from: canonical.startIndex, to: try #require(canonical.range(of: "\"key\":{\"dpp_id\"")).upperBound) - 4
        let badNames = [[0x01], [0xFF]].map { Array(canonical.utf8.prefix(key)) + $0 + Array(canonical.utf8.dropFirst(key)) }
        for broken in [Array(canonical.utf8.dropLast()), Array(canonical.utf8) + [0x7B], Array(canonical.utf8.dropLast(10)) + [0xFF] + Array(canonical.utf8.suffix(10))] + badNames {
            #expect(CanonicalEntryReader.read(broken) == nil)
            #expect(LedgerEntry(canonicalBytes: broken) == nil)
        }
    }
}
