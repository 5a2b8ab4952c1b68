import DPPSync
import Foundation
import Testing

@Suite("JSON documents streamed record by record")
struct StreamingJSONTests {
    @Test("context values after the records array are still read; strings with brackets and escapes do not confuse the scanner")
    func contextAfterRecords() throws {
        let cli = try CLI.freshRoot()
        let text = """
            {"assets": [
              {"dppId": "DPP-A", "description": "bracket ] and brace } and \\"quote\\" and \\\\", "status": "IN_SERVICE", "specifications": {"a": [1, {"b": "]"}]}},
              {"dppId": "DPP-B", "status": "IN_STOCK", "certification": null}
            ],
            "exportedAt": "2025-11-01T02:00:00Z", "note": {"nested": ["x", "y"]}}
            """
        try cli.drop(text, as: "reg.json", source: "registry")
        #expect(try cli.run("run", "--once", "--stability-window", "0").status == 0)
        #expect(try cli.scalar("SELECT description FROM asset WHERE dpp_id = 'DPP-A'") == "bracket ] and brace } and \"quote\" and \\")
        #expect(try cli.scalar("SELECT source_time FROM asset WHERE dpp_id = 'DPP-B'") == "2025-11-01T02:00:00.000Z")
        #expect(try cli.scalar("SELECT specifications FROM asset WHERE dpp_id = 'DPP-A'") == #"{"a":[1,{"b":"]"}]}"#)
    }

    @Test("a top-level array of completions streams; a record failing a rule keeps its line and a wrapped extract")
    func topLevelArray() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.drop("""
            [
              {"dppId": "DPP-H2-001", "workOrderId": "WO-1", "completionDate": "2025-11-05"},
              {"dppId": "DPP-H2-002", "workOrderId": "WO-2",
               "completionDate": "someday"}
            ]
            """, as: "batch.json", source: "workorders")
        #expect(try cli.run("run", "--once", "--stability-window", "0").status == 1)
        #expect(try cli.scalar("SELECT COUNT(*) FROM work_order") == "1")
        #expect(try cli.scalar("SELECT line FROM record_outcome WHERE record_key = 'WO-2'") == "3")
        let extract = try #require(cli.files(in: "Quarantine/workorders").first { $0.hasSuffix("-1.json") })
        let text = try String(contentsOfFile: cli.root + "/Quarantine/workorders/" + extract, encoding: .utf8)
        #expect(text.hasPrefix("[") && text.contains("WO-2") && !text.contains("WO-1"))
    }

    @Test("a document broken half way is quarantined whole with the line; nothing of it applies")
    func brokenHalfWay() throws {
        let cli = try CLI.freshRoot()
        let lines = (0..<50).map { #"    {"dppId": "DPP-\#($0)", "status": "IN_SERVICE"},"# }
        try cli.drop("{\"exportedAt\": \"2025-11-01T02:00:00Z\", \"assets\": [\n" + lines.joined(separator: "\n") + "\n    {\"dppId\": \"DPP-X\" \"status\": 1}\n]}", as: "reg.json", source: "registry")
        #expect(try cli.run("run", "--once", "--stability-window", "0").status == 1)
        #expect(try cli.scalar("SELECT COUNT(*) FROM asset") == "0")
        let reason = try String(contentsOfFile: cli.root + "/Quarantine/registry/reg.json.reason.json", encoding: .utf8)
        #expect(reason.contains("NOT_PARSEABLE") && reason.contains("line 52"), "\(reason)")
    }
    @Test("a member name the parser refuses quarantines its file with the line, and the next files go on", arguments: [
        #"{"exported\qAt": "2025-11-01T02:00:00Z", "assets": []}"#,  // an unknown escape
        "{\"expor\tted\": 1,\n \"assets\": []}",  // a raw tab in the name
    ])
    func badMemberName(_ text: String) throws {
        let cli = try CLI.freshRoot()
        try cli.drop(text, as: "a-broken.json", source: "registry")
        try cli.drop(#"{"exportedAt": "2025-11-01T02:00:00Z", "assets": [{"dppId": "DPP-A", "status": "IN_SERVICE"}]}"#, as: "b-good.json", source: "registry")
        #expect(try cli.run("run", "--once", "--stability-window", "0").status == 1)
        let reason = try String(contentsOfFile: cli.root + "/Quarantine/registry/a-broken.json.reason.json", encoding: .utf8)
        #expect(reason.contains("NOT_PARSEABLE") && reason.contains("line 1"), "\(reason)")
        #expect(try cli.scalar("SELECT status FROM asset WHERE dpp_id = 'DPP-A'") == "IN_SERVICE")
        #expect(cli.files(in: "Inbox/registry/.processing").isEmpty, "nothing left to block the next run")
    }
}
