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
        let unknown = try cli.run("report", "reconciliation", "--batch", "999")
        #expect(unknown.status == 2 && unknown.stderr.contains("no batch 999"), "\(unknown.stderr)")
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

    @Test("the compliance report of a period: releases to service and their certificates, compliance findings and what review made of them, overdue maintenance and expired certificates, in JSON, CSV and HTML tied to the signed checkpoint")
    func complianceReport() throws {
        let cli = try OutboxTests.rootWithReferences()
        try cli.dropFixture("maximo-workorders.xml", source: "workorders")
        // AGARCIA's licence expired on 2025-05-14: held (CERT_EXPIRED), then rejected on review.
        try cli.drop(#"{"dppId": "DPP-H2-001", "workOrderId": "WO-70001", "completionDate": "2025-11-20", "returnToService": true, "labor": [{"laborCode": "AGARCIA", "hours": 2}]}"#,
                     as: "expired.json", source: "workorders")
        // The same, accepted on review: released, but not as a plain certified release.
        try cli.drop(#"{"dppId": "DPP-H2-002", "workOrderId": "WO-70005", "completionDate": "2025-11-22", "returnToService": true, "labor": [{"laborCode": "AGARCIA", "hours": 1}]}"#,
                     as: "waived.json", source: "workorders")
        // Not returned to service: asked for no release, so none is listed.
        try cli.drop(#"{"dppId": "DPP-H2-002", "workOrderId": "WO-70006", "completionDate": "2025-11-23", "returnToService": false}"#, as: "kept.json", source: "workorders")
        // A failed leak test blocks the release (TEST_FAILED, applied).
        try cli.drop(#"{"dppId": "DPP-H2-002", "workOrderId": "WO-70002", "completionDate": "2025-11-21", "returnToService": true, "labor": [{"laborCode": "JSMITH", "hours": 6}], "tests": [{"name": "Leak test", "value": 3.2, "upperLimit": 1.5}]}"#,
                     as: "failed.json", source: "workorders")
        _ = try OutboxTests.run(cli)
        let item = try #require(try cli.scalar("SELECT id FROM review_item WHERE record_key = 'WO-70001'"))
        #expect(try cli.run("review", "resolve", item, "--reject", "--note", "licence expired", "--by", "auditor").status == 0)
        let waivedItem = try #require(try cli.scalar("SELECT id FROM review_item WHERE record_key = 'WO-70005'"))
        #expect(try cli.run("review", "resolve", waivedItem, "--accept", "--note", "licence renewal in the post", "--by", "qa.lead").status == 0)

        // Decisions are dated by the day they were made (today), completions by their completion day.
        let today = Timestamp.now().civilDate().description
        let printed = try cli.run("report", "compliance", "--from", "2025-11-01", "--to", today)
        #expect(printed.status == 0)
        let base = cli.root + "/Reports/compliance/compliance-2025-11-01-to-\(today)"
        let text = try String(contentsOfFile: base + ".json", encoding: .utf8)
        #expect(printed.stdout == text)
        let json = try JSONParser.parseDocument(Array(text.utf8))
        #expect(json["schema"] == .string("dppsync.compliance/1") && json["from"] == .string("2025-11-01"))
        #expect(json["ledger"]?["treeSize"]?.scalarText == (try cli.scalar("SELECT MAX(tree_size) FROM checkpoint")))
        guard case .array(let releases)? = json["releases"]?["items"], case .array(let findings)? = json["findings"]?["items"],
              case .array(let overdue)? = json["overdueMaintenance"] else { Issue.record("sections missing: \(text)"); return }
        #expect(json["releases"]?["counts"] == .array([.object([("releaseStatus", .string("blocked")), ("workOrders", .number("1"))]),
                                                       .object([("releaseStatus", .string("released")), ("workOrders", .number("2"))])]))
        let released = try #require(releases.first { $0["workOrderId"] == .string("WO-54321") })
        #expect(released["certifyingStaff"] == .string("JSMITH") && released["licenceCategory"] == .string("B1"))
        #expect(released["certificateId"] == .string("CRS-WO-54321"))
        #expect(released["ledgerEntry"]?.scalarText == (try cli.scalar("SELECT ledger_seq FROM outbox_queue WHERE message_id = 'CRS-WO-54321'")))
        let blocked = try #require(releases.first { $0["workOrderId"] == .string("WO-70002") })
        #expect(blocked["releaseStatus"] == .string("blocked") && blocked["certificateId"] == .null)
        #expect(releases.count == 3, "the held WO-70001 is no release but a finding, and WO-70006 asked for none")
        let waived = try #require(releases.first { $0["workOrderId"] == .string("WO-70005") })
        #expect(waived["releasedOnReviewDespite"] == .string("CERT_EXPIRED") && waived["certificateId"] == .string("CRS-WO-70005"))
        #expect(released["releasedOnReviewDespite"] == .null)
        let expired = try #require(findings.first { $0["recordKey"] == .string("WO-70001") })
        #expect(expired["reason"] == .string("CERT_EXPIRED") && expired["outcome"] == .string("held") && expired["decidedOn"] == .string(today))
        #expect(expired["review"]?["status"] == .string("rejected") && expired["review"]?["resolvedBy"] == .string("auditor"))
        #expect(findings.contains { $0["recordKey"] == .string("WO-70002") && $0["reason"] == .string("TEST_FAILED") && $0["review"] == .null })
        // The accepted record's outcome (in the resolution's batch) names the item that held it, as the held one does.
        let accepted = findings.filter { $0["recordKey"] == .string("WO-70005") }
        #expect(accepted.map { $0["outcome"] } == [.string("held"), .string("applied")])
        #expect(accepted.allSatisfy { $0["review"]?["status"] == .string("accepted") && $0["review"]?["note"] == .string("licence renewal in the post") })
        // WO-70006 (2025-11-23) names no task: it accomplished the component's one task, due again 180 days on (before today).
        #expect(overdue.contains { $0["dppId"] == .string("DPP-H2-002") && $0["taskId"] == .string("LH2-LEAK-01") && $0["dueDate"] == .string("2026-05-22") }, "\(overdue)")

        let csv = try String(contentsOfFile: base + ".csv", encoding: .utf8).split(separator: "\r\n")
        #expect(csv.first == "section,date,dpp_id,key,task,status,reason,technician,licence_category,certificate,ledger_entry,file,review,detail")
        #expect(csv.contains { $0.hasPrefix("release,2025-11-05,DPP-H2-001,WO-54321,FCS-INSP-01,released,,JSMITH,B1,CRS-WO-54321,") })
        #expect(csv.contains { $0.hasPrefix("finding,\(today),,WO-70001,,held,CERT_EXPIRED,,,,,workorders/expired.json,review #\(item): rejected; auditor;") })
        let html = try String(contentsOfFile: base + ".html", encoding: .utf8)
        #expect(html.contains("Compliance report — 2025-11-01 to \(today)") && html.contains("CRS-WO-54321") && html.contains("CERT_EXPIRED"))
        #expect(html.contains("LH2-LEAK-01") && html.contains("dppsync.local/ampel360"))
        #expect(html.range(of: "WO-70002")?.lowerBound ?? html.endIndex < html.range(of: "WO-54321")?.lowerBound ?? html.startIndex,
                "releases not certified come first")
        #expect(html.range(of: "WO-70005")?.lowerBound ?? html.endIndex < html.range(of: "WO-54321")?.lowerBound ?? html.startIndex,
                "and so do releases on review")
        // A certificate is valid through its last day (DPP-H2-002's: 2026-12-31), expired the day after.
        let expiredOn = { (day: String) throws -> [JSONValue] in
            let report = try JSONParser.parseDocument(Array(try cli.run("report", "compliance", "--from", "2026-12-01", "--to", day).stdout.utf8))
            guard case .array(let expired)? = report["expiredCertificates"] else { return [] }
            return expired.compactMap { $0["dppId"] }
        }
        #expect(try expiredOn("2026-12-31").isEmpty)
        #expect(try expiredOn("2027-01-01") == [.string("DPP-H2-002")])
        // The calendar's last day is a day like another.
        let far = try JSONParser.parseDocument(Array(try cli.run("report", "compliance", "--from", "2025-11-01", "--to", "9999-12-31").stdout.utf8))
        #expect(far["releases"]?["counts"] == json["releases"]?["counts"])

        // A period before any work: no release, no finding; the dates are checked.
        let quiet = try cli.run("report", "compliance", "--from", "2024-01-01", "--to", "2024-01-31")
        let empty = try JSONParser.parseDocument(Array(quiet.stdout.utf8))
        #expect(empty["releases"]?["items"] == .array([]) && empty["findings"]?["items"] == .array([]))
        #expect(try cli.run("report", "compliance", "--from", "2025-12-01", "--to", "2025-11-01").status == 2)
        #expect(try cli.run("report", "compliance", "--to", "yesterday").status == 2)
    }

    @Test("the compliance report's overdue maintenance is as of the period's last day: work done, moves and hours flown after it do not count, nor hours flown before a component was fitted")
    func overdueAsOfPeriodEnd() throws {
        let cli = try OutboxTests.rootWithReferences()
        // DPP-H2-002 was installed on EC-AMP on 2025-06-02: its leak test (180 days) was due on 2025-11-29. It moved to
        // EC-AMQ on 2026-01-10, and the test was done on 2026-01-15. DPP-H2-077, in stores, had its inspection (400 FC)
        // on the bench on 2025-12-01, and was fitted to EC-AMP on 2026-01-10 only: EC-AMP's 450 cycles of 2025-12-10
        // are not its own.
        try cli.drop(#"{"exportedAt": "2026-01-11T02:00:00Z", "assets": [{"dppId": "DPP-H2-002", "partNumber": "AMP-LH2-TANK-A", "serialNumber": "LH2A-00003", "installedOn": "EC-AMQ", "position": "AFT-TANK", "installedAt": "2026-01-10", "status": "IN_SERVICE"}, {"dppId": "DPP-H2-077", "partNumber": "AMP-FCS-100", "serialNumber": "FCS100-00077", "status": "IN_STOCK"}]}"#,
                     as: "moves.json", source: "registry")
        try cli.drop(#"{"dppId": "DPP-H2-077", "workOrderId": "WO-80077", "taskId": "FCS-INSP-01", "completionDate": "2025-12-01", "returnToService": false}"#,
                     as: "bench.json", source: "workorders")
        try cli.drop(#"{"aircraft": "EC-AMP", "reportedAt": "2025-12-11T02:00:00Z", "flights": [{"date": "2025-12-10", "flightHours": 20, "cycles": 450}]}"#,
                     as: "december.json", source: "utilisation")
        #expect(try OutboxTests.run(cli).status == 0)
        try cli.drop(#"{"exportedAt": "2026-01-12T02:00:00Z", "assets": [{"dppId": "DPP-H2-077", "partNumber": "AMP-FCS-100", "serialNumber": "FCS100-00077", "installedOn": "EC-AMP", "position": "NACELLE-R1", "installedAt": "2026-01-10", "status": "IN_SERVICE"}]}"#,
                     as: "fitted.json", source: "registry")
        try cli.drop(#"{"dppId": "DPP-H2-002", "workOrderId": "WO-80002", "completionDate": "2026-01-15", "returnToService": false}"#,
                     as: "late.json", source: "workorders")
        #expect(try OutboxTests.run(cli).status == 0)
        let overdue = { (from: String, to: String) throws -> [String] in
            let report = try JSONParser.parseDocument(Array(try cli.run("report", "compliance", "--from", from, "--to", to).stdout.utf8))
            guard case .array(let items)? = report["overdueMaintenance"] else { Issue.record("no overdueMaintenance"); return [] }
            return items.compactMap { item in
                guard item["dppId"] == .string("DPP-H2-002") || item["dppId"] == .string("DPP-H2-077") else { return nil }
                return [item["dppId"], item["taskId"], item["dueDate"], item["lastAccomplished"]].compactMap { $0?.scalarText }.joined(separator: " ")
            }
        }
        #expect(try overdue("2025-12-01", "2025-12-31") == ["DPP-H2-002 LH2-LEAK-01 2025-11-29 2025-06-02"])
        #expect(try overdue("2026-01-01", "2026-01-31").filter { $0.hasPrefix("DPP-H2-002") }.isEmpty, "answered on 2026-01-15")

        // Removed from its aircraft since, and scrapped: what was overdue at December's end still is, in December's report.
        try cli.drop(#"{"exportedAt": "2026-02-01T02:00:00Z", "assets": [{"dppId": "DPP-H2-002", "partNumber": "AMP-LH2-TANK-A", "serialNumber": "LH2A-00003", "status": "SCRAPPED"}]}"#,
                     as: "scrapped.json", source: "registry")
        #expect(try OutboxTests.run(cli).status == 0)
        #expect(try cli.scalar("SELECT status || ' ' || COALESCE(installed_on, '-') FROM asset WHERE dpp_id = 'DPP-H2-002'") == "SCRAPPED -")
        #expect(try overdue("2025-12-01", "2025-12-31") == ["DPP-H2-002 LH2-LEAK-01 2025-11-29 2025-06-02"])
        #expect(try overdue("2026-02-01", "2026-02-28").filter { $0.hasPrefix("DPP-H2-002") }.isEmpty, "off every aircraft from 2026-02-01")
    }

    /// A root with the reference data, the reference CAOS prediction and its aircraft's ground windows waiting in the inbox.
    static func rootWithPrediction(_ name: String = #function) throws -> CLI {
        let cli = try OutboxTests.rootWithReferences(name)
        try cli.dropFixture("caos-predictions.json", source: "caos")
        try cli.dropFixture("ground-windows.json", source: "ground-windows")
        return cli
    }

    @Test("the predictive report says what became of every CAOS prediction as of a day: open with the alert in force, answered by the work order named, or why it has no alert")
    func predictiveReport() throws {
        let cli = try Self.rootWithPrediction()
        let prediction = { (id: String, dppId: String, detected: String) in
            #"{"predictionId": "\#(id)", "dppId": "\#(dppId)", "detectedAt": "\#(detected)", "predictedFailureWithinHours": 100}"#
        }
        try cli.drop("[" + [prediction("P-UNKNOWN", "DPP-NOPE", "2025-11-05T08:00:00Z"), prediction("P-STOCK", "DPP-PART-123", "2025-11-05T08:00:00Z"),
                            prediction("P-LATER", "DPP-H2-002", "2025-11-20T08:00:00Z")].joined(separator: ", ") + "]", as: "more.json", source: "caos")
        #expect(try OutboxTests.run(cli, asOf: "2025-11-06").status == 0)
        let states = { (asOf: String) throws -> [String: JSONValue] in
            let report = try JSONParser.parseDocument(Array(try cli.run("report", "predictive", "--as-of", asOf).stdout.utf8))
            guard case .array(let items)? = report["predictions"] else { Issue.record("no predictions"); return [:] }
            return Dictionary(uniqueKeysWithValues: items.compactMap { item in item["predictionId"]?.scalarText.map { ($0, item) } })
        }
        var byId = try states("2025-11-06")
        #expect(byId["P-UNKNOWN"]?["state"] == .string("unknown-component") && byId["P-STOCK"]?["state"] == .string("off-aircraft"))
        #expect(byId["P-LATER"]?["state"] == .string("not-yet-detected"))
        let open = try #require(byId["CAOS-20251105-0042"])
        #expect(open["state"] == .string("open") && open["priority"] == .string("Medium") && open["alertInForce"] == .string("PRA-CAOS-20251105-0042-M"))
        #expect(open["groundWindow"]?["start"] == .string("2025-11-08T22:00:00.000Z") && open["predictedFailureBy"] == .string("2025-11-14T21:42:10.000Z"))

        // Corrective work on 2025-11-10 answers it from that day on; as of the day before, it was still open.
        try cli.drop(#"{"dppId": "DPP-H2-001", "workOrderId": "WO-60001", "completionDate": "2025-11-10", "returnToService": false}"#, as: "fix.json", source: "workorders")
        #expect(try OutboxTests.run(cli, asOf: "2025-11-10").status == 0)
        byId = try states("2025-11-10")
        #expect(byId["CAOS-20251105-0042"]?["state"] == .string("answered") && byId["CAOS-20251105-0042"]?["answeredBy"] == .string("WO-60001"))
        #expect(try states("2025-11-09")["CAOS-20251105-0042"]?["state"] == .string("open"))
        #expect(byId["CAOS-20251105-0042"]?["alertInForce"] == .null && byId["P-LATER"]?["alertInForce"] == .null, "only an open prediction has an alert in force")
        let csv = try String(contentsOfFile: cli.root + "/Reports/predictive/predictive-2025-11-09.csv", encoding: .utf8)
        #expect(csv.hasPrefix("prediction_id,dpp_id,detected_at,anomaly,state,answered_by,alert_in_force,priority,overdue,predicted_failure_by,planned_hours,"))
        let html = try String(contentsOfFile: cli.root + "/Reports/predictive/predictive-2025-11-10.html", encoding: .utf8)
        #expect(html.contains("CAOS predictions — as of 2025-11-10") && html.contains("WO-60001") && html.contains("unknown-component"))
        #expect(try cli.run("report", "predictive", "--as-of", "soon").status == 2)
    }

    @Test("the predictive page shows 1,000 predictions, the open ones first, and says where the rest are; the JSON and CSV hold every one")
    func predictivePageLimit() throws {
        let cli = try Self.rootWithPrediction()
        // 1,003 predictions on a component the registry does not know, sorted before the one open prediction.
        let unknown = (0..<1_003).map { #"{"predictionId": "A-\#(1_000 + $0)", "dppId": "DPP-NOPE", "detectedAt": "2025-11-05T08:00:00Z"}"# }
        try cli.drop("[" + unknown.joined(separator: ", ") + "]", as: "unknown.json", source: "caos")
        #expect(try OutboxTests.run(cli, asOf: "2025-11-06").status == 0)
        let report = try JSONParser.parseDocument(Array(try cli.run("report", "predictive", "--as-of", "2025-11-06").stdout.utf8))
        guard case .array(let items)? = report["predictions"] else { Issue.record("no predictions"); return }
        #expect(items.count == 1_004 && items.last?["state"] == .string("open"))
        #expect(report["counts"] == .array(PredictionAssessment.State.allCases.map { state in
            .object([("state", .string(state.rawValue)), ("predictions", .number(state == .open ? "1" : state == .unknownComponent ? "1003" : "0"))])
        }))
        let csv = try String(contentsOfFile: cli.root + "/Reports/predictive/predictive-2025-11-06.csv", encoding: .utf8)
        #expect(csv.split(separator: "\r\n").count == 1_005)
        let html = try String(contentsOfFile: cli.root + "/Reports/predictive/predictive-2025-11-06.html", encoding: .utf8)
        #expect(html.contains("This page shows 1000 of 1004, open ones first"))
        #expect(html.contains("CAOS-20251105-0042") && html.contains("A-1998") && !html.contains("A-1999"), "the open one, then the first 999 others")
    }
}
