@testable import DPPSync
import Testing

@Suite("flat JSON objects")
struct FlatJSONObjectTests {
    static let names = ["reference", "validUntil"]

    @Test("a compact object of plain strings is read as the parser reads it", arguments: [
        #"{"reference":"EF1-2025-000417","type":"EASA Form 1","validUntil":"2027-03-31"}"#,
        #"{"reference":"EF1-1"}"#, #"{"type":"EASA Form 1"}"#, "{}", #"{"reference":""}"#,
        #"{"reference":"a","reference":"b"}"#, #"{"reference":"é ✈︎ ü","validUntil":"2026-01-01"}"#,
    ])
    func agreesWithParser(_ text: String) throws {
        let fast = try #require(FlatJSONObject(names: Self.names).strings(in: text))
        let parsed = try JSONParser.parseDocument(Array(text.utf8))
        #expect(fast == Self.names.map { parsed[$0]?.scalarText })
    }

    @Test("anything else is left to the parser", arguments: [
        #"{"reference":"EF1","validUntil":null}"#, #"{ "reference":"EF1"}"#, #"{"reference":"E\"F"}"#,
        #"{"reference":"E\u0046"}"#, #"{"reference":1}"#, #"{"reference":{"id":"x"}}"#, #"{"reference":"EF1"} "#,
        #"{"reference":"EF1"}x"#, #"{"reference":"EF1""#, #"{"reference":"EF1",}"#, #"["EF1"]"#, #""EF1""#, "",
        "{\"reference\":\"a\tb\"}", "not json",
    ])
    func declines(_ text: String) {
        #expect(FlatJSONObject(names: Self.names).strings(in: text) == nil)
    }
}
