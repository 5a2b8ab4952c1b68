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

    @Test("bodies are zlib streams (RFC 1950), so the sqlite3 shell's sqlar_uncompress reads them")
    func zlibStreams() throws {
        let entry = Array(String(repeating: #"{"table":"work_order_test","row":{"result":"PASS"}}"#, count: 30).utf8)
        let stored = StoredBody.encode(entry)
        try #require(stored.count > 6)
        #expect(stored[0] & 0x0F == 8, "method deflate")
        #expect((Int(stored[0]) << 8 | Int(stored[1])) % 31 == 0, "header check bits")
        var (a, b): (UInt32, UInt32) = (1, 0)
        for byte in entry { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        let trailer = stored.suffix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        #expect(trailer == b << 16 | a, "Adler-32 of the canonical bytes")
    }

    @Test("a body that zlib itself wrote (stores from before libdeflate) reads back")
    func zlibWrittenBodies() throws {
        let canonical = Array((#"{"kind":"workorder.completed","rows":["#
            + String(repeating: #"{"table":"work_order_part","action":"installed"},"#, count: 6) + "{}]}").utf8)
        // What dppsync wrote with zlib (level 1, 4 KB window, memLevel 5): Python's
        // zlib.compressobj(1, zlib.DEFLATED, 12, 5) over the same bytes.
        let zlibWritten: [UInt8] = [
            0x48, 0x0d, 0xab, 0x56, 0xca, 0xce, 0xcc, 0x4b, 0x51, 0xb2, 0x52, 0x2a, 0xcf, 0x2f, 0xca, 0xce, 0x2f, 0x4a,
            0x49, 0x2d, 0xd2, 0x4b, 0xce, 0xcf, 0x2d, 0xc8, 0x49, 0x2d, 0x49, 0x4d, 0x51, 0xd2, 0x51, 0x2a, 0xca, 0x2f,
            0x2f, 0x56, 0xb2, 0x8a, 0xae, 0x56, 0x2a, 0x49, 0x4c, 0xca, 0x49, 0x85, 0x2a, 0x8b, 0x07, 0xab, 0x8b, 0x2f,
            0x48, 0x2c, 0x2a, 0x01, 0x2a, 0x49, 0x4c, 0x2e, 0xc9, 0xcc, 0xcf, 0x03, 0x4a, 0x65, 0xe6, 0x15, 0x97, 0x24,
            0xe6, 0xe4, 0x00, 0xf5, 0xd5, 0xea, 0x8c, 0x4c, 0x0d, 0xb5, 0xb1, 0xb5, 0x00, 0xc0, 0xad, 0x77, 0xe4,
        ]
        #expect(try StoredBody.decode(zlibWritten, size: canonical.count) == canonical)
        var damaged = zlibWritten
        damaged[damaged.count - 1] ^= 1
        #expect(throws: StoredBodyError.self, "a wrong Adler-32 is found") { try StoredBody.decode(damaged, size: canonical.count) }
    }
}
