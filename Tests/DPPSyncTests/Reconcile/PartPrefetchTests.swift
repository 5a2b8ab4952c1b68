@testable import DPPSync
import Foundation
import GRDB
import Testing

@Suite("parts read ahead")
struct PartPrefetchTests {
    /// A store with two parts: DPP-P-1 (HPV-100 s/n S1) and DPP-P-2 (HPV-100 s/n S2), in stores.
    func store() throws -> Store {
        let store = try Store(path: TemporaryFiles.path("dppsync-prefetch-", ".sqlite"))
        try store.write { db in
            var writer = try StateWriter(db: db, batchId: 1)
            let rows = (1...2).map { n in
                RowImage(table: StateSchema.asset, values: ["dpp_id": "DPP-P-\(n)", "part_number": "HPV-100", "serial_number": "S\(n)", "status": "IN_STOCK"])
            }
            try writer.apply(StateChange(kind: "asset.registered", subject: "DPP-P-1", rows: rows, provenance: Provenance()))
        }
        return store
    }

    /// One JSON Lines completion: a part by id, two by number (one unknown), an unserialised consumable.
    static let completion = #"{"workOrderId": "WO-1", "dppId": "DPP-C", "completionDate": "2026-01-05", "partsUsed": ["#
        + #""DPP-P-1", {"partNumber": "HPV-100", "serialNumber": "S2"}, {"partNumber": "HPV-100", "serialNumber": "S9"}, {"partNumber": "O-RING"}]}"#
        + "\n"

    func prepared(_ store: Store?, lines: String = Self.completion) throws -> [PreparedRecord] {
        let path = TemporaryFiles.path("dppsync-prefetch-", ".jsonl")
        try lines.write(toFile: path, atomically: true, encoding: .utf8)
        let text = try #require(DefaultMappings.files.first { $0.name == "workorders-json.mapping.yaml" }).text
        let mapping = try Mapping.load(text: text, file: "workorders-json.mapping.yaml")
        let feed = RecordFeed(input: .file(path), fileName: "wo.jsonl", mapping: mapping, timeZone: .utc, partsFrom: store)
        defer { _ = feed.close() }
        var records: [PreparedRecord] = []
        while let chunk = try feed.next() { records += chunk }
        return records
    }

    @Test("the decoding thread reads the parts a completion names, by id and by number, as the store holds them")
    func readAhead() throws {
        let store = try store()
        let parts = try #require(try prepared(store).first).parts
        #expect(parts.map(\.reference) == [.dppId("DPP-P-1"), .number("HPV-100", serial: "S2"), .number("HPV-100", serial: "S9")],
                "an unserialised consumable is not looked up")
        let status = Reconciler.partColumns.firstIndex(of: "status") ?? 0
        #expect(parts.map { $0.values?[0] ?? nil } == ["DPP-P-1", "DPP-P-2", nil], "the unknown part is read as absent")
        #expect(parts.first?.values?[status] == "IN_STOCK")
        #expect(try #require(try prepared(nil).first).parts.isEmpty, "without a store nothing is read ahead")
    }

    @Test("parts are looked up a batch of completions at a time, in key order, and each completion gets its own in line order")
    func batches() throws {
        let store = try store()
        // More completions than one batch of lookups (2,048), each naming the two parts in either order.
        var lines = ""
        for n in 0..<2_100 {
            let byId = #""DPP-P-1""#
            let byNumber = #"{"partNumber": "HPV-100", "serialNumber": "S\#(n % 3 == 0 ? 9 : 2)"}"#
            let parts = n % 2 == 0 ? byId + ", " + byNumber : byNumber + ", " + byId
            lines += #"{"workOrderId": "WO-\#(n)", "dppId": "DPP-C", "completionDate": "2026-01-05", "partsUsed": [\#(parts)]}"# + "\n"
        }
        let records = try prepared(store, lines: lines)
        #expect(records.count == 2_100)
        for (n, record) in records.enumerated() {
            let byId = PartReference.dppId("DPP-P-1")
            let byNumber = PartReference.number("HPV-100", serial: n % 3 == 0 ? "S9" : "S2")
            let expected: [PartReference] = n % 2 == 0 ? [byId, byNumber] : [byNumber, byId]
            let numbered: String? = n % 3 == 0 ? nil : "DPP-P-2"  // S9 is not in the store
            let found: [String?] = record.parts.map { part in part.values?[0] ?? nil }
            #expect(record.parts.map { part in part.reference } == expected, "record \(n)")
            #expect(found == (n % 2 == 0 ? ["DPP-P-1", numbered] : [numbered, "DPP-P-1"]), "record \(n)")
        }
        #expect(PartReference.dppId("DPP-P-2").precedes(.number("A", serial: "1")))
        #expect(PartReference.number("A", serial: "1").precedes(.number("A", serial: "2")))
        #expect(!PartReference.number("B", serial: "1").precedes(.number("A", serial: "2")))
    }

    @Test("a part named by number in one completion and by id in another gets its one row both times; an unknown id is absent")
    func oneRowByNumberAndById() throws {
        let store = try store()
        let lines = #"{"workOrderId": "WO-1", "dppId": "DPP-C", "completionDate": "2026-01-05", "partsUsed": [{"partNumber": "HPV-100", "serialNumber": "S2"}, "DPP-P-9"]}"#
            + "\n" + #"{"workOrderId": "WO-2", "dppId": "DPP-C", "completionDate": "2026-01-05", "partsUsed": ["DPP-P-2", {"partNumber": "HPV-100", "serialNumber": "S1"}]}"#
            + "\n"
        let records = try prepared(store, lines: lines)
        #expect(records.map { record in record.parts.map { part in part.values?[0] ?? nil } } == [["DPP-P-2", nil], ["DPP-P-2", "DPP-P-1"]])
        let status = Reconciler.partColumns.firstIndex(of: "status") ?? 0
        #expect(records.flatMap(\.parts).compactMap { $0.values?[status] ?? nil } == ["IN_STOCK", "IN_STOCK", "IN_STOCK"])
    }

    @Test("a part read ahead stands until the file changes that asset; a part not found stays absent until the file makes assets")
    func readAheadUntilChanged() throws {
        let store = try store()
        try store.write { db in
            var writer = try StateWriter(db: db, batchId: 2, pipelined: true, clock: { Timestamp(millisecondsSinceEpoch: 0) })
            let cache = Reconciler.ReferenceCache()
            // Rows unlike the stored ones, so that the test tells which one was used.
            func ahead(_ reference: PartReference, _ status: String?) -> PrefetchedPart {
                let id: String? = if case .dppId(let id) = reference { id } else { "DPP-P-2" }
                return PrefetchedPart(reference: reference, values: status.map { status in
                    Reconciler.partColumns.map { $0 == "dpp_id" ? id : $0 == "status" ? status : nil }
                })
            }
            cache.prefetched = [ahead(.dppId("DPP-P-1"), "READ-AHEAD"), ahead(.number("HPV-100", serial: "S2"), "READ-AHEAD"),
                                ahead(.number("HPV-100", serial: "S9"), nil)]
            func status(_ reference: PartReference) throws -> String?? {
                guard case .found(let row) = try cache.part(reference, in: db) else { return nil }
                return .some(row["status"] ?? nil)
            }

            #expect(try status(.dppId("DPP-P-1")) == .some("IN_STOCK"), "not used for a writer that keeps nothing unwritten")
            cache.unwrittenAssets = writer.unwrittenAssets
            #expect(try status(.dppId("DPP-P-1")) == .some("READ-AHEAD"))
            #expect(try status(.number("HPV-100", serial: "S2")) == .some("READ-AHEAD"))
            #expect(try status(.number("HPV-100", serial: "S9")) == nil)
            #expect(try status(.number("HPV-100", serial: "S1")) == .some("IN_STOCK"), "a part not read ahead is read")

            // DPP-P-1 moves: read again, through what waits unwritten. DPP-P-2 still reads ahead.
            let move = RowImage(table: StateSchema.asset, carrying: ["dpp_id": "DPP-P-1", "status": "INSTALLED", "parent_dpp_id": "DPP-C"])
            try writer.apply(StateChange(kind: "test", subject: "DPP-C", rows: [move], provenance: Provenance()))
            #expect(try status(.dppId("DPP-P-1")) == .some("INSTALLED"))
            #expect(try status(.number("HPV-100", serial: "S2")) == .some("READ-AHEAD"))

            // A new asset numbered HPV-100 s/n S9: the absence read ahead no longer holds, nor does any row.
            let registered = RowImage(table: StateSchema.asset, values: ["dpp_id": "DPP-P-9", "part_number": "HPV-100", "serial_number": "S9", "status": "IN_STOCK"])
            try writer.apply(StateChange(kind: "test", subject: "DPP-P-9", rows: [registered], provenance: Provenance()))
            #expect(try status(.number("HPV-100", serial: "S9")) == .some("IN_STOCK"))
            #expect(try status(.number("HPV-100", serial: "S2")) == .some("IN_STOCK"))
            try writer.finish()
        }
    }

    @Test("a Bloom filter never forgets a key, and answers maybe for few others")
    func bloomFilter() {
        var filter = BloomFilter(log2Bits: 20)
        #expect(!filter.mayContain("DPP-P-0"), "empty")
        for n in 0..<50_000 { filter.insert("DPP-P-\(n)") }
        #expect((0..<50_000).allSatisfy { filter.mayContain("DPP-P-\($0)") })
        // 3 probes in one word, 50,000 keys in 2^20 bits: ~0.5 % (461 here).
        let falseAnswers = (50_000..<150_000).filter { filter.mayContain("DPP-P-\($0)") }.count
        #expect(falseAnswers < 1_000, "\(falseAnswers) false answers in 100,000")
        // At the size a 1M work-order file fills: 2.5 million keys in the default 2^25 bits.
        var full = BloomFilter()
        for n in 0..<2_500_000 { full.insert("DPP-P-\(n)") }
        let fullFalse = (2_500_000..<2_600_000).filter { full.mayContain("DPP-P-\($0)") }.count
        #expect(fullFalse < 3_000, "\(fullFalse) false answers in 100,000")
    }
}
