import Testing
@testable import DPPSync

@Suite("Stored ledger bodies")
struct StoredBodyTests {
    @Test("an entry's bytes come back exactly; a body that compression does not shrink is kept as it is")
    func roundTrip() throws {
        let entry = Array(String(repeating: #"{"table":"work_order_part","row":{"action":"installed"}}"#, count: 20).utf8)
        let stored = StoredBody.encode(entry)
        #expect(stored.count < entry.count / 4)
        #expect(try StoredBody.decode(stored, size: entry.count) == entry)
        let tiny = Array("{}".utf8)
        #expect(StoredBody.encode(tiny) == tiny)
        #expect(try StoredBody.decode(tiny, size: tiny.count) == tiny)
        #expect(try StoredBody.decode(tiny, size: nil) == tiny, "entries written before v7 have no size: raw")
    }

    @Test("a size the bytes cannot inflate to, or an impossible one, is an error, not an allocation")
    func rejectsLies() {
        let entry = Array(String(repeating: "ledger ", count: 100).utf8)
        let stored = StoredBody.encode(entry)
        #expect(throws: StoredBodyError.self) { try StoredBody.decode(stored, size: entry.count + 1) }
        #expect(throws: StoredBodyError.self) { try StoredBody.decode(Array(stored.prefix(10)), size: entry.count) }
        #expect(throws: StoredBodyError.self) { try StoredBody.decode(stored, size: 1 << 40) }
    }
}
