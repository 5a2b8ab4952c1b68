import DPPSync
import Foundation
import Testing

@Suite("reconciliation reports")
struct ReportTests {
    @Test("each batch writes HTML, JSON and CSV; every record is in JSON and CSV, the HTML shows what was not simply applied")
    func reportFiles() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.dropFixture("completions.jsonl", source: "workorders")
        try cli.dropFixture("unknown-asset-wo.json", source: "workorders")
        _ = try cli.run("run", "--once", "--stability-window", "0")
        let base = cli.root + "/Reports/reconciliation/batch-1"
        let json = try JSONParser.parseDocument(Array(try String(contentsOfFile: base + ".json", encoding: .utf8).utf8))
        #expect(json["schema"] == .string("dppsync.reconciliation/1"))
        guard case .array(let records)? = json["records"], case .array(let files)? = json["files"] else { Issue.record("no records"); return }
        #expect(records.count == 3 + 5 + 1)
        #expect(files.count == 3)
        let csv = try String(contentsOfFile: base + ".csv", encoding: .utf8)
        let lines = csv.split(separator: "\r\n")
        #expect(lines.first == "batch,source,file,fingerprint,record_index,line,kind,record_key,outcome,reason,message,mapping_hash")
        #expect(lines.count == 1 + 9)
        let html = try String(contentsOfFile: base + ".html", encoding: .utf8)
        #expect(html.contains("Reconciliation report — batch 1"))
        #expect(html.contains("UNKNOWN_ASSET") && html.contains("INVALID_FIELD") && html.contains("NOT_PARSEABLE"))
        #expect(!html.contains("<link") && !html.contains("src=\"http"), "self-contained")
        #expect(!html.contains("WO-70002"), "simply applied records are only in the CSV and JSON")
        // Regenerated on demand, printed in the chosen format.
        let printed = try cli.run("report", "reconciliation", "--batch", "1", "--format", "csv")
        #expect(printed.stdout == csv)
    }

    @Test("the HTML lists what needs a person first: rejected, held, superseded, applied with a reason, duplicates, then filtered")
    func htmlOrder() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.dropFixture("technician-certifications.json", source: "certifications")
        try cli.dropFixture("work-order-complete.json", source: "workorders")
        _ = try ReconciliationTests.run(cli)
        // One batch: the Maximo export first (WO-54330 filtered, WO-54321 enriching the stored one), then
        // the JSON message again under another name with a byte changed (a duplicate record).
        try cli.dropFixture("maximo-workorders.xml", source: "workorders", as: "a.xml")
        try cli.drop(try Fixtures.text("work-order-complete.json") + " ", as: "b.json", source: "workorders")
        _ = try ReconciliationTests.run(cli)
        let html = try String(contentsOfFile: cli.root + "/Reports/reconciliation/batch-2.html", encoding: .utf8)
        // The records' rows (after the counts table, which is by outcome name).
        let rows = try #require(html.range(of: "<tr class=\"").map { html[$0.lowerBound...] })
        let order = ["ENRICHED", "DUPLICATE", "FILTERED"].map { rows.range(of: ">\($0)<")?.lowerBound }
        #expect(order.allSatisfy { $0 != nil }, "\(html)")
        #expect(order.compactMap { $0 } == order.compactMap { $0 }.sorted(), "applied with a reason, then duplicates, then filtered")
    }

    @Test("values a spreadsheet would run as formulas are neutralised in the CSV; HTML escapes markup")
    func hostileValues() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.drop(#"{"dppId": "DPP-H2-001", "workOrderId": "=HYPERLINK(\"x\")", "completionDate": "2025-11-05", "findings": "<script>alert(1)</script>"}"#, as: "evil.json", source: "workorders")
        try cli.drop(#"{"dppId": "DPP-X", "workOrderId": "<b>WO</b>", "completionDate": "2025-11-05"}"#, as: "evil2.json", source: "workorders")
        _ = try cli.run("run", "--once", "--stability-window", "0")
        let csv = try String(contentsOfFile: cli.root + "/Reports/reconciliation/batch-1.csv", encoding: .utf8)
        #expect(csv.contains("\"'=HYPERLINK(\"\"x\"\")\""))
        let html = try String(contentsOfFile: cli.root + "/Reports/reconciliation/batch-1.html", encoding: .utf8)
        #expect(!html.contains("<b>WO</b>"))
        #expect(html.contains("&lt;b&gt;WO&lt;/b&gt;"))
    }
}
