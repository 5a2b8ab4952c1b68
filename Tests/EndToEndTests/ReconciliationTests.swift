import DPPSync
import Foundation
import Testing

@Suite("reconciliation rules through run --once")
struct ReconciliationTests {
    static func run(_ cli: CLI) throws -> CLI.Result { try cli.run("run", "--once", "--stability-window", "0") }

    /// Every state table, row by row, for order-independence comparisons. The outbox
    /// messages are left out: what was sent after each pass is history that depends
    /// on what had arrived by then (the DPP state they describe is compared).
    static func stateDump(_ cli: CLI) throws -> [String] {
        try StateSchema.tables.filter { $0 != StateSchema.outboxMessage }.flatMap { table in
            try cli.query("SELECT * FROM \(table.name) ORDER BY " + table.keyColumns.joined(separator: ", ")).map { row in
                table.name + ": " + row.map { $0 ?? "∅" }.joined(separator: " | ")
            }
        }
    }

    func outcome(_ cli: CLI, key: String, batch: Int? = nil) throws -> String? {
        try cli.scalar("SELECT outcome || ' ' || COALESCE(reason, '-') FROM record_outcome WHERE record_key = '\(key)'" + (batch.map { " AND batch_id = \($0)" } ?? "") + " ORDER BY id DESC LIMIT 1")
    }

    @Test("the seed's JSON then the Maximo export of WO-54321: NO_CERTIFYING_STAFF, then ENRICHED and released by JSMITH")
    func enrichment() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.dropFixture("technician-certifications.json", source: "certifications")
        try cli.dropFixture("maintenance-programme.yaml", source: "programme")
        try cli.dropFixture("work-order-complete.json", source: "workorders")
        #expect(try Self.run(cli).status == 0)
        #expect(try outcome(cli, key: "WO-54321") == "applied NO_CERTIFYING_STAFF")
        #expect(try cli.scalar("SELECT release_status FROM work_order") == "awaiting-certifying-staff")
        try cli.dropFixture("maximo-workorders.xml", source: "workorders")
        #expect(try Self.run(cli).status == 0)
        #expect(try outcome(cli, key: "WO-54321", batch: 2) == "applied ENRICHED")
        #expect(try cli.scalar("SELECT release_status || ' ' || certifying_staff FROM work_order") == "released JSMITH")
        #expect(try cli.scalar("SELECT message FROM record_outcome WHERE batch_id = 2 AND record_key = 'WO-54321'")?.contains("enriched with labor, tests") == true)
        // The same export again: a duplicate file; the same record in a new file: a duplicate record.
        try cli.drop(try Fixtures.text("maximo-workorders.xml") + "\n", as: "again.xml", source: "workorders")
        #expect(try Self.run(cli).status == 0)
        #expect(try outcome(cli, key: "WO-54321", batch: 3) == "duplicate DUPLICATE")
    }

    @Test("a programme interval or a day's utilisation outside what it can be is rejected with the field, the value and the range")
    func outOfRangeReferenceValues() throws {
        let cli = try CLI.freshRoot()
        try cli.drop(try Fixtures.text("maintenance-programme.yaml").replacingOccurrences(of: "cycles: 400", with: "cycles: 0"),
                     as: "programme.yaml", source: "programme")
        try cli.drop(try Fixtures.text("utilisation.json").replacingOccurrences(of: "\"flightHours\": 7.1", with: "\"flightHours\": 31"),
                     as: "utilisation.json", source: "utilisation")
        #expect(try Self.run(cli).status == 1)
        #expect(try outcome(cli, key: "FCS-INSP-01") == "rejected INVALID_FIELD")
        #expect(try cli.scalar("SELECT message FROM record_outcome WHERE record_key = 'FCS-INSP-01'") == "intervalCycles 0 is not an interval of cycles (1 to 1000000)")
        #expect(try outcome(cli, key: "LH2-LEAK-01") == "applied -")
        #expect(try cli.scalar("SELECT message FROM record_outcome WHERE record_key = 'EC-AMP|2025-11-05'") == "flightHours 31 is not one day's flight hours (0 to 24)")
        #expect(try cli.scalar("SELECT COUNT(*) FROM utilisation") == "1")
    }

    @Test("files of one night end in the same state in every order, across separate passes", arguments: Array(0..<24))
    func orderIndependence(permutation: Int) throws {
        let files: [(String, String)] = [("dpp-registry.json", "registry"), ("technician-certifications.json", "certifications"),
                                         ("maximo-workorders.xml", "workorders"), ("work-order-complete.json", "workorders")]
        func permuted(_ n: Int) -> [(String, String)] {
            var pool = files, order: [(String, String)] = [], k = n
            for base in stride(from: pool.count, to: 0, by: -1) { order.append(pool.remove(at: k % base)); k /= base }
            return order
        }
        let reference = try CLI.freshRoot("order-reference-\(permutation)")
        for (name, source) in files { try reference.dropFixture(name, source: source) }
        _ = try Self.run(reference)
        let expected = try Self.stateDump(reference)

        let cli = try CLI.freshRoot("order-\(permutation)")
        for (name, source) in permuted(permutation) {
            try cli.dropFixture(name, source: source)
            _ = try Self.run(cli)
        }
        #expect(try Self.stateDump(cli) == expected, "order \(permuted(permutation).map(\.0))")
        #expect(try cli.scalar("SELECT COUNT(*) FROM review_item WHERE status = 'open'") == "0")
        #expect(try cli.run("ledger", "verify").status == 0)
    }

    @Test("a second source without labour enriches a released work order (its stored labour is certified), a part named twice is one part, and other facts under the same registry time wait for a person")
    func enrichmentAndTies() throws {
        let cli = try Self.withReferences()
        try cli.drop(#"{"dppId": "DPP-H2-001", "workOrderId": "WO-70", "completionDate": "2025-11-05", "returnToService": true, "labor": [{"laborCode": "JSMITH", "hours": 2}], "partsUsed": ["DPP-PART-123", "DPP-PART-123"]}"#,
                     as: "a.json", source: "workorders")
        _ = try Self.run(cli)
        #expect(try cli.scalar("SELECT release_status FROM work_order") == "released")
        // The test bench's own export: the same work order, its test, no labour.
        try cli.drop(#"{"dppId": "DPP-H2-001", "workOrderId": "WO-70", "completionDate": "2025-11-05", "returnToService": true, "partsUsed": ["DPP-PART-123"], "tests": [{"name": "Leak", "value": 0.8, "upperLimit": 1.5}]}"#,
                     as: "b.json", source: "workorders")
        _ = try Self.run(cli)
        #expect(try outcome(cli, key: "WO-70", batch: 3) == "applied ENRICHED")
        #expect(try cli.scalar("SELECT release_status || ' ' || certifying_staff FROM work_order") == "released JSMITH")
        // The first message again, byte for byte but for a space: its part twice is still the one part stored.
        try cli.drop(#" {"dppId": "DPP-H2-001", "workOrderId": "WO-70", "completionDate": "2025-11-05", "returnToService": true, "labor": [{"laborCode": "JSMITH", "hours": 2}], "partsUsed": ["DPP-PART-123", "DPP-PART-123"]}"#,
                     as: "c.json", source: "workorders")
        _ = try Self.run(cli)
        #expect(try outcome(cli, key: "WO-70", batch: 4) == "duplicate DUPLICATE")
        // The registry again under the same export time, with another description: neither is the newer.
        try cli.drop(try Fixtures.text("dpp-registry.json").replacingOccurrences(of: "Liquid hydrogen tank, aft", with: "LH2 tank (aft)"),
                     as: "reg2.json", source: "registry")
        #expect(try Self.run(cli).status == 1)
        #expect(try outcome(cli, key: "DPP-H2-002", batch: 5) == "held DIVERGENT_DUPLICATE")
        #expect(try cli.scalar("SELECT description FROM asset WHERE dpp_id = 'DPP-H2-002'") == "Liquid hydrogen tank, aft")
    }

    @Test("a newer version that leaves facts out keeps the stored ones (labour, tests, the release); a failed test that comes as an enrichment is reported TEST_FAILED")
    func newerVersionKeepsAbsentFacts() throws {
        let cli = try Self.withReferences()
        let maximo = try Fixtures.text("maximo-workorders.xml")
        try cli.drop(maximo, as: "comp.xml", source: "workorders")
        _ = try Self.run(cli)
        #expect(try cli.scalar("SELECT release_status FROM work_order WHERE work_order_id = 'WO-54321'") == "released")
        // Closed a day later with another finding, and without its labour and test lines.
        var closed = maximo.replacingOccurrences(of: "<STATUS>COMP</STATUS>\n      <STATUSDATE>2025-11-05T16:10:00+01:00",
                                                 with: "<STATUS>CLOSE</STATUS>\n      <STATUSDATE>2025-11-06T09:00:00+01:00")
            .replacingOccurrences(of: "No issues", with: "No issues; seal kit replaced")
        for element in ["LABTRANS", "AMP_TESTRESULT"] {
            while let open = closed.range(of: "<\(element)>"), let close = closed.range(of: "</\(element)>", range: open.upperBound..<closed.endIndex) {
                closed.removeSubrange(open.lowerBound..<close.upperBound)
            }
        }
        try cli.drop(closed, as: "close.xml", source: "workorders")
        _ = try Self.run(cli)
        #expect(try outcome(cli, key: "WO-54321", batch: 3) == "applied -")
        #expect(try cli.scalar("SELECT findings || ' ' || status || ' ' || release_status || ' ' || certifying_staff FROM work_order WHERE work_order_id = 'WO-54321'")
                == "No issues; seal kit replaced CLOSE released JSMITH")
        #expect(try cli.scalar("SELECT COUNT(*) FROM work_order_labor WHERE work_order_id = 'WO-54321'") == "1")
        #expect(try cli.scalar("SELECT COUNT(*) FROM work_order_test WHERE work_order_id = 'WO-54321'") == "1")

        // Released with no test; the test bench's export then reports a failed one for the same work.
        try cli.drop(#"{"dppId": "DPP-H2-002", "workOrderId": "WO-80", "completionDate": "2025-11-07", "returnToService": true, "labor": [{"laborCode": "JSMITH", "hours": 1}]}"#,
                     as: "wo80.json", source: "workorders")
        _ = try Self.run(cli)
        try cli.drop(#"{"dppId": "DPP-H2-002", "workOrderId": "WO-80", "completionDate": "2025-11-07", "returnToService": true, "tests": [{"name": "Leak", "value": 2.8, "upperLimit": 1.5}]}"#,
                     as: "wo80-test.json", source: "workorders")
        _ = try Self.run(cli)
        #expect(try outcome(cli, key: "WO-80", batch: 5) == "applied TEST_FAILED")
        #expect(try cli.scalar("SELECT release_status FROM work_order WHERE work_order_id = 'WO-80'") == "blocked")
    }

    @Test("an older version that only adds facts (its labour) enriches the newer one, whose task and status stay: the same end in either order of arrival")
    func olderVersionAddingFacts() throws {
        let original = try Fixtures.text("maximo-workorders.xml")
        // The older version names another task (PMNUM is no fact of the work, so not a difference).
        let maximo = original.replacingOccurrences(of: "<PMNUM>FCS-INSP-01</PMNUM>", with: "<PMNUM>OLD-TASK</PMNUM>")
        var closedWithoutLabour = original.replacingOccurrences(of: "<STATUS>COMP</STATUS>\n      <STATUSDATE>2025-11-05T16:10:00+01:00",
                                                              with: "<STATUS>CLOSE</STATUS>\n      <STATUSDATE>2025-11-06T09:00:00+01:00")
        if let open = closedWithoutLabour.range(of: "<LABTRANS>"), let close = closedWithoutLabour.range(of: "</LABTRANS>") {
            closedWithoutLabour.removeSubrange(open.lowerBound..<close.upperBound)
        }
        var ends: [[[String?]]] = []
        for order in [[maximo, closedWithoutLabour], [closedWithoutLabour, maximo]] {
            let cli = try Self.withReferences("olderVersionAddingFacts-\(ends.count)")
            for (i, text) in order.enumerated() {
                try cli.drop(text, as: "wo-\(i).xml", source: "workorders")
                _ = try Self.run(cli)
            }
            ends.append(try cli.query("""
                SELECT w.status, w.status_date, w.task_id, w.release_status, w.certifying_staff, (SELECT COUNT(*) FROM work_order_labor l WHERE l.work_order_id = w.work_order_id)
                FROM work_order w WHERE w.work_order_id = 'WO-54321'
                """))
        }
        #expect(ends[0] == [["CLOSE", "2025-11-06T08:00:00.000Z", "FCS-INSP-01", "released", "JSMITH", "1"]], "\(ends[0])")
        #expect(ends[1] == ends[0])
    }

    @Test("a re-sent older work order (COMP → CLOSE) moves no part back and leaves a later completion's status")
    func resentOlderWorkOrder() throws {
        let cli = try Self.withReferences()
        let maximo = try Fixtures.text("maximo-workorders.xml")
        // WO-54321 (5 November) fits the seal kit SK7-88812 to DPP-H2-001 and releases it.
        try cli.drop(maximo, as: "comp.xml", source: "workorders")
        _ = try Self.run(cli)
        // Later work: the kit moves to DPP-H2-002, and DPP-H2-001 is taken out of service.
        try cli.drop("""
            {"dppId": "DPP-H2-001", "workOrderId": "WO-60", "completionDate": "2025-11-07", "partsUsed": [{"dppId": "DPP-PART-123", "action": "removed"}], "returnToService": false}
            {"dppId": "DPP-H2-002", "workOrderId": "WO-61", "completionDate": "2025-11-08", "partsUsed": ["DPP-PART-123"]}
            """, as: "later.jsonl", source: "workorders")
        _ = try Self.run(cli)
        // The CMMS closes WO-54321: the same work, a newer status date.
        try cli.drop(maximo.replacingOccurrences(of: "<STATUS>COMP</STATUS>\n      <STATUSDATE>2025-11-05T16:10:00+01:00",
                                                 with: "<STATUS>CLOSE</STATUS>\n      <STATUSDATE>2025-11-20T09:00:00+01:00"),
                     as: "close.xml", source: "workorders")
        _ = try Self.run(cli)
        #expect(try cli.scalar("SELECT status FROM work_order WHERE work_order_id = 'WO-54321'") == "CLOSE")
        #expect(try cli.scalar("SELECT parent_dpp_id FROM asset WHERE dpp_id = 'DPP-PART-123'") == "DPP-H2-002")
        #expect(try cli.scalar("SELECT status FROM asset WHERE dpp_id = 'DPP-H2-001'") == "UNSERVICEABLE")
        #expect(try cli.run("ledger", "verify").status == 0)
    }

    @Test("a work order re-sent after a record of the same file changed its component is decided against that change, as in a file of its own")
    func resentAfterAChangeInTheSameFile() throws {
        // WO-1 returns DPP-H2-001 to service; WO-2 (a later completion) then takes it out of service, and
        // WO-1 comes again with the same facts: a re-send of older work, which leaves WO-2's status (it
        // had returned the component to service again). The writer holds the status WO-2 set until a run
        // of moves is written: the re-sent work order must be compared with it, in one file as in three.
        let first = #"{"dppId": "DPP-H2-001", "workOrderId": "WO-1", "completionDate": "2025-11-05", "returnToService": true}"#
        let second = #"{"dppId": "DPP-H2-001", "workOrderId": "WO-2", "completionDate": "2025-11-06", "returnToService": false}"#
        var dumps: [[String]] = []
        for together in [false, true] {
            let cli = try CLI.freshRoot("resent-\(together)")
            try cli.dropFixture("dpp-registry.json", source: "registry")
            try cli.drop(first, as: "first.json", source: "workorders")
            _ = try Self.run(cli)
            if together {
                try cli.drop(second + "\n" + first + "\n", as: "night.jsonl", source: "workorders")
                _ = try Self.run(cli)
            } else {
                try cli.drop(second, as: "second.json", source: "workorders")
                _ = try Self.run(cli)
                try cli.drop(first + "\n", as: "again.json", source: "workorders")
                _ = try Self.run(cli)
            }
            #expect(try cli.scalar("SELECT status FROM asset WHERE dpp_id = 'DPP-H2-001'") == "UNSERVICEABLE", "together: \(together)")
            #expect(try outcome(cli, key: "WO-1") == "duplicate DUPLICATE", "together: \(together)")
            #expect(try cli.run("ledger", "verify").status == 0)
            dumps.append(try Self.stateDump(cli))
        }
        #expect(dumps[0] == dumps[1])
    }

    @Test("an older registry export is superseded (STALE_UPDATE) and never overwrites newer values")
    func staleRegistry() throws {
        let cli = try CLI.freshRoot()
        let newer = try Fixtures.text("dpp-registry.json").replacingOccurrences(of: "2025-11-01T02:00:00Z", with: "2025-11-20T02:00:00Z")
            .replacingOccurrences(of: "\"position\": \"AFT-TANK\"", with: "\"position\": \"AFT-TANK-2\"")
        try cli.drop(newer, as: "newer.json", source: "registry")
        _ = try Self.run(cli)
        try cli.dropFixture("dpp-registry.json", source: "registry")
        #expect(try Self.run(cli).status == 0)
        #expect(try outcome(cli, key: "DPP-H2-002", batch: 2) == "superseded STALE_UPDATE")
        #expect(try cli.scalar("SELECT position FROM asset WHERE dpp_id = 'DPP-H2-002'") == "AFT-TANK-2")
    }

    @Test("same work order, other facts, no newer source time: held DIVERGENT_DUPLICATE with the differences; a newer one wins")
    func divergentAndNewer() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.dropFixture("work-order-complete.json", source: "workorders")
        _ = try Self.run(cli)
        try cli.drop(try Fixtures.text("work-order-complete.json").replacingOccurrences(of: "No issues", with: "Seal weeping"), as: "wo2.json", source: "workorders")
        #expect(try Self.run(cli).status == 1)
        #expect(try outcome(cli, key: "WO-54321", batch: 2) == "held DIVERGENT_DUPLICATE")
        let message = try cli.scalar("SELECT message FROM review_item WHERE status = 'open'")
        #expect(message?.contains("findings: stored \"No issues\", incoming \"Seal weeping\"") == true)
        #expect(try cli.scalar("SELECT findings FROM work_order") == "No issues")
    }

    @Test("a stale Maximo status (older STATUSDATE) is superseded; COMP → CLOSE with the same facts changes no fact")
    func workOrderStatusOrder() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.dropFixture("technician-certifications.json", source: "certifications")
        let xml = try Fixtures.text("maximo-workorders.xml")
        try cli.drop(xml.replacingOccurrences(of: "<STATUS>COMP</STATUS>", with: "<STATUS>CLOSE</STATUS>")
            .replacingOccurrences(of: "<STATUSDATE>2025-11-05T16:10:00+01:00</STATUSDATE>", with: "<STATUSDATE>2025-11-07T09:00:00+01:00</STATUSDATE>"), as: "close.xml", source: "workorders")
        _ = try Self.run(cli)
        try cli.drop(xml, as: "comp.xml", source: "workorders")
        #expect(try Self.run(cli).status == 0)
        #expect(try outcome(cli, key: "WO-54321", batch: 2) == "superseded STALE_UPDATE")
        #expect(try cli.scalar("SELECT status FROM work_order") == "CLOSE")
    }

    @Test("return to service by an expired or insufficient licence is held; the asset is not returned to service")
    func compliance() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.dropFixture("maintenance-programme.yaml", source: "programme")
        try cli.drop("""
            [{"laborCode": "AGARCIA", "category": "B2", "authorisations": ["AVIONICS"], "validFrom": "2023-05-15", "validUntil": "2025-05-14"},
             {"laborCode": "BLEE", "category": "B2", "authorisations": ["FUEL-CELL"], "validFrom": "2024-01-01", "validUntil": "2027-01-01"}]
            """, as: "techs.json", source: "certifications")
        try cli.drop("""
            {"dppId": "DPP-H2-001", "workOrderId": "WO-1", "completionDate": "2025-11-05", "returnToService": true, "labor": [{"laborCode": "AGARCIA", "hours": 2}]}
            """, as: "expired.json", source: "workorders")
        try cli.drop("""
            {"dppId": "DPP-H2-002", "workOrderId": "WO-2", "completionDate": "2025-11-05", "returnToService": true, "labor": [{"laborCode": "BLEE", "hours": 2}]}
            """, as: "insufficient.json", source: "workorders")
        let result = try Self.run(cli)
        #expect(result.status == 1)
        #expect(try outcome(cli, key: "WO-1") == "held CERT_EXPIRED")
        #expect(try outcome(cli, key: "WO-2") == "held CERT_INSUFFICIENT")
        #expect(try cli.scalar("SELECT message FROM review_item WHERE record_key = 'WO-1'")?.contains("expired on 2025-05-14") == true)
        #expect(try cli.scalar("SELECT message FROM review_item WHERE record_key = 'WO-2'")?.contains("requires B1") == true)
        #expect(try cli.scalar("SELECT COUNT(*) FROM work_order") == "0")
    }

    @Test("a failed test records the work but blocks return to service (TEST_FAILED)")
    func failedTest() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.dropFixture("technician-certifications.json", source: "certifications")
        try cli.drop("""
            {"dppId": "DPP-H2-001", "workOrderId": "WO-3", "completionDate": "2025-11-05", "returnToService": true,
             "labor": [{"laborCode": "JSMITH", "hours": 3}], "tests": [{"name": "Leak", "value": 2.1, "unit": "mbar/min", "upperLimit": 1.5}]}
            """, as: "fail.json", source: "workorders")
        #expect(try Self.run(cli).status == 0)
        #expect(try outcome(cli, key: "WO-3") == "applied TEST_FAILED")
        #expect(try cli.scalar("SELECT release_status FROM work_order") == "blocked")
        #expect(try cli.scalar("SELECT status FROM asset WHERE dpp_id = 'DPP-H2-001'") == "UNSERVICEABLE")
        #expect(try cli.scalar("SELECT result FROM work_order_test") == "FAIL")
    }

    @Test("a part installed elsewhere, and a part without a release certificate, are held")
    func partChecks() throws {
        let cli = try CLI.freshRoot()
        let registry = try Fixtures.text("dpp-registry.json").replacingOccurrences(of: "\"reference\": \"EF1-2025-000902\"", with: "\"reference\": null")
        try cli.drop(registry, as: "reg.json", source: "registry")
        try cli.drop(#"{"dppId": "DPP-H2-001", "workOrderId": "WO-4", "completionDate": "2025-11-05", "partsUsed": ["DPP-PART-123"]}"#, as: "a.json", source: "workorders")
        #expect(try Self.run(cli).status == 1)
        #expect(try outcome(cli, key: "WO-4") == "held PART_NOT_CERTIFIED")

        let other = try CLI.freshRoot("partChecks-elsewhere")
        try other.dropFixture("dpp-registry.json", source: "registry")
        try other.dropFixture("work-order-complete.json", source: "workorders")
        _ = try Self.run(other)
        try other.drop(#"{"dppId": "DPP-H2-002", "workOrderId": "WO-5", "completionDate": "2025-11-06", "partsUsed": ["DPP-PART-123"]}"#, as: "b.json", source: "workorders")
        #expect(try Self.run(other).status == 1)
        #expect(try outcome(other, key: "WO-5") == "held PART_INSTALLED_ELSEWHERE")
        #expect(try other.scalar("SELECT parent_dpp_id FROM asset WHERE dpp_id = 'DPP-PART-123'") == "DPP-H2-001")
    }

    @Test("a part fitted elsewhere whatever its status, a scrapped part, a removal of a part the component does not hold, and an unknown action are not applied")
    func partMoveChecks() throws {
        // DPP-PART-123 listed by the registry inside DPP-H2-001, IN_SERVICE (not INSTALLED); a scrapped seal kit beside it.
        let registry = try Fixtures.text("dpp-registry.json")
            .replacingOccurrences(of: "\"installedOn\": null,\n      \"parentDppId\": null", with: "\"installedOn\": \"EC-AMP\",\n      \"parentDppId\": \"DPP-H2-001\"")
            .replacingOccurrences(of: "\"status\": \"IN_STOCK\"", with: "\"status\": \"IN_SERVICE\"")
            .replacingOccurrences(of: "  ]\n}", with: """
                  ,{ "dppId": "DPP-PART-900", "partNumber": "AMP-SEAL-KIT-7", "serialNumber": "SK7-00900", "status": "SCRAPPED",
                     "certification": { "type": "EASA Form 1", "reference": "EF1-2024-000001", "validUntil": null } }
                  ]
                }
                """)
        let cli = try CLI.freshRoot()
        try cli.drop(registry, as: "reg.json", source: "registry")
        #expect(try Self.run(cli).status == 0)
        try cli.drop("""
            {"dppId": "DPP-H2-002", "workOrderId": "WO-31", "completionDate": "2025-11-06", "partsUsed": ["DPP-PART-123"]}
            {"dppId": "DPP-H2-002", "workOrderId": "WO-32", "completionDate": "2025-11-06", "partsUsed": ["DPP-PART-900"]}
            {"dppId": "DPP-H2-002", "workOrderId": "WO-33", "completionDate": "2025-11-06", "partsUsed": [{"dppId": "DPP-PART-123", "action": "removed"}]}
            {"dppId": "DPP-H2-002", "workOrderId": "WO-34", "completionDate": "2025-11-06", "partsUsed": [{"dppId": "DPP-PART-123", "action": "swapped"}]}
            {"dppId": "DPP-H2-001", "workOrderId": "WO-35", "completionDate": "2025-11-07", "partsUsed": [{"dppId": "DPP-PART-123", "action": "remove"}]}
            """, as: "moves.jsonl", source: "workorders")
        #expect(try Self.run(cli).status == 1)
        #expect(try outcome(cli, key: "WO-31") == "held PART_INSTALLED_ELSEWHERE")
        #expect(try outcome(cli, key: "WO-32") == "held PART_NOT_CERTIFIED")
        #expect(try cli.scalar("SELECT message FROM record_outcome WHERE record_key = 'WO-32'") == "part DPP-PART-900: it is scrapped")
        #expect(try outcome(cli, key: "WO-33") == "held PART_INSTALLED_ELSEWHERE")
        #expect(try cli.scalar("SELECT message FROM record_outcome WHERE record_key = 'WO-33'") == "part DPP-PART-123 is installed in DPP-H2-001; DPP-H2-002 cannot remove it")
        #expect(try outcome(cli, key: "WO-34") == "rejected INVALID_FIELD")
        #expect(try outcome(cli, key: "WO-35") == "applied -", "its own component removes it ('remove' reads as removed)")
        #expect(try cli.scalar("SELECT status FROM asset WHERE dpp_id = 'DPP-PART-123'") == "REMOVED")
        #expect(try cli.scalar("SELECT status FROM asset WHERE dpp_id = 'DPP-PART-900'") == "SCRAPPED")
    }

    @Test("a registry re-export older than the completions keeps where they put parts and what they made of status; a newer one wins, and taking a component off its aircraft ends its period")
    func registryAfterCompletions() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        _ = try Self.run(cli)
        try cli.drop(#"{"dppId": "DPP-H2-001", "workOrderId": "WO-41", "completionDate": "2025-11-05", "partsUsed": ["DPP-PART-123"], "returnToService": false}"#,
                     as: "wo.json", source: "workorders")
        _ = try Self.run(cli)
        let place = "SELECT status || ' ' || COALESCE(parent_dpp_id, '-') FROM asset WHERE dpp_id = ?"
        #expect(try cli.scalar(place.replacingOccurrences(of: "?", with: "'DPP-PART-123'")) == "INSTALLED DPP-H2-001")
        #expect(try cli.scalar(place.replacingOccurrences(of: "?", with: "'DPP-H2-001'")) == "UNSERVICEABLE -")
        // A next day's export (2 November), still from before the work (5 November), one unrelated edit:
        // the edit applies, the completion's decisions stay.
        let registry = try Fixtures.text("dpp-registry.json")
        try cli.drop(registry.replacingOccurrences(of: "Stack manifold seal kit", with: "Stack manifold seal kit, rev B")
                        .replacingOccurrences(of: "2025-11-01T02:00:00Z", with: "2025-11-02T02:00:00Z"), as: "again.json", source: "registry")
        _ = try Self.run(cli)
        #expect(try cli.scalar(place.replacingOccurrences(of: "?", with: "'DPP-PART-123'")) == "INSTALLED DPP-H2-001")
        #expect(try cli.scalar(place.replacingOccurrences(of: "?", with: "'DPP-H2-001'")) == "UNSERVICEABLE -")
        #expect(try cli.scalar("SELECT description FROM asset WHERE dpp_id = 'DPP-PART-123'") == "Stack manifold seal kit, rev B")
        // An export from a day after the work (1 December) is the registry's newer word, though processed
        // after the completion was decided; DPP-H2-002 comes off EC-AMP.
        try cli.drop(registry.replacingOccurrences(of: "2025-11-01T02:00:00Z", with: "2025-12-01T02:00:00Z")
                        .replacingOccurrences(of: "\"installedOn\": \"EC-AMP\",\n      \"parentDppId\": null,\n      \"position\": \"AFT-TANK\"",
                                              with: "\"installedOn\": null,\n      \"parentDppId\": null,\n      \"position\": null"),
                     as: "newer.json", source: "registry")
        _ = try Self.run(cli)
        #expect(try cli.scalar(place.replacingOccurrences(of: "?", with: "'DPP-PART-123'")) == "IN_STOCK -")
        #expect(try cli.query("SELECT start_day, COALESCE(aircraft, '∅') FROM installation WHERE dpp_id = 'DPP-H2-002' ORDER BY start_day")
                == [["2025-06-02", "EC-AMP"], ["2025-12-01", "∅"]])
    }

    /// A fresh root whose registry and technician certifications are loaded.
    static func withReferences(_ name: String = #function) throws -> CLI {
        let cli = try CLI.freshRoot(name)
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.dropFixture("technician-certifications.json", source: "certifications")
        _ = try run(cli)
        return cli
    }

    /// A fresh root whose registry is loaded, with `completions` dropped as one JSON Lines work-order file.
    static func registryThen(_ completions: String) throws -> CLI {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        _ = try run(cli)
        try cli.drop(completions, as: "completions.jsonl", source: "workorders")
        return cli
    }

    @Test("within one file, each completion sees where the earlier ones moved a part, though the moves are written later")
    func movesWithinAFile() throws {
        let cli = try Self.registryThen("""
            {"dppId": "DPP-H2-001", "workOrderId": "WO-11", "completionDate": "2025-11-05", "partsUsed": ["DPP-PART-123"]}
            {"dppId": "DPP-H2-002", "workOrderId": "WO-12", "completionDate": "2025-11-06", "partsUsed": [{"partNumber": "AMP-SEAL-KIT-7", "serialNumber": "SK7-88812"}]}
            {"dppId": "DPP-H2-001", "workOrderId": "WO-13", "completionDate": "2025-11-07", "partsUsed": [{"dppId": "DPP-PART-123", "action": "removed"}]}
            {"dppId": "DPP-H2-002", "workOrderId": "WO-14", "completionDate": "2025-11-08", "partsUsed": ["DPP-PART-123"]}
            """)
        #expect(try Self.run(cli).status == 1)
        #expect(try outcome(cli, key: "WO-11") == "applied -")
        #expect(try outcome(cli, key: "WO-12") == "held PART_INSTALLED_ELSEWHERE")
        #expect(try outcome(cli, key: "WO-13") == "applied -")
        #expect(try outcome(cli, key: "WO-14") == "applied -")
        #expect(try cli.scalar("SELECT parent_dpp_id || ' ' || status || ' ' || installed_at FROM asset WHERE dpp_id = 'DPP-PART-123'")
                == "DPP-H2-002 INSTALLED 2025-11-08")
        let aircraft = try cli.query("SELECT installed_on FROM asset WHERE dpp_id IN ('DPP-H2-001', 'DPP-H2-002') ORDER BY dpp_id").map { $0[0] ?? "∅" }
        #expect(try cli.query("SELECT start_day, aircraft FROM installation WHERE dpp_id = 'DPP-PART-123' ORDER BY start_day").map { $0.map { $0 ?? "∅" } }
                == [["2025-11-05", aircraft[0]], ["2025-11-07", "∅"], ["2025-11-08", aircraft[1]]], "the removal ends the first period")
        #expect(try cli.run("ledger", "verify").status == 0)
    }

    @Test("parts the decoding thread read ahead decide as the reconciler's own reads: found, absent, or moved since")
    func partsReadAhead() throws {
        let cli = try Self.registryThen("""
            {"dppId": "DPP-H2-001", "workOrderId": "WO-21", "completionDate": "2025-11-05", "partsUsed": [{"partNumber": "AMP-SEAL-KIT-7", "serialNumber": "SK7-88812"}]}
            {"dppId": "DPP-H2-002", "workOrderId": "WO-22", "completionDate": "2025-11-06", "partsUsed": [{"partNumber": "AMP-SEAL-KIT-7", "serialNumber": "SK7-00000"}]}
            {"dppId": "DPP-H2-002", "workOrderId": "WO-23", "completionDate": "2025-11-07", "partsUsed": ["DPP-PART-123"]}
            """)
        let result = try cli.run("run", "--once", "--stability-window", "0", "--timings")
        #expect(result.status == 1)
        #expect(try outcome(cli, key: "WO-21") == "applied -")
        #expect(try outcome(cli, key: "WO-22") == "held UNKNOWN_PART")
        #expect(try outcome(cli, key: "WO-23") == "held PART_INSTALLED_ELSEWHERE", "moved by WO-21 since it was read ahead")
        // WO-21's part and WO-22's absent one were taken from the read-ahead; WO-23's was read again.
        #expect(result.stderr.contains(#""partsReadAhead":2"#), "\(result.stderr)")
    }

    @Test("a part and serial number that two live assets carry waits until the registry tells them apart; beside a scrapped one the live one is the part, unless the work order's stored version names another, or a removal's component holds one")
    func reusedSerial() throws {
        // DPP-PART-111 (scrapped) and DPP-PART-123 share SK7-88812; DPP-PART-124 and DPP-PART-125, both in stores, share SK7-88813.
        func kit(_ id: String, _ serial: String, _ status: String, at time: String = "2025-11-01T02:00:00Z") -> String {
            #"{"exportedAt": "\#(time)", "assets": [{"dppId": "\#(id)", "partNumber": "AMP-SEAL-KIT-7", "serialNumber": "\#(serial)", "status": "\#(status)", "certification": {"type": "EASA Form 1", "reference": "EF1-\#(id)", "validUntil": null}}]}"#
        }
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.drop(kit("DPP-PART-111", "SK7-88812", "SCRAPPED"), as: "k111.json", source: "registry")
        try cli.drop(kit("DPP-PART-124", "SK7-88813", "IN_STOCK"), as: "k124.json", source: "registry")
        try cli.drop(kit("DPP-PART-125", "SK7-88813", "IN_STOCK"), as: "k125.json", source: "registry")
        #expect(try Self.run(cli).status == 0)
        // The registry is told at once: the second live kit on SK7-88813 is applied but flagged; a scrapped one is not.
        #expect(try outcome(cli, key: "DPP-PART-111") == "applied -")
        #expect(try outcome(cli, key: "DPP-PART-124") == "applied -")
        #expect(try outcome(cli, key: "DPP-PART-125") == "applied SHARED_SERIAL")
        #expect(try cli.scalar("SELECT message FROM record_outcome WHERE record_key = 'DPP-PART-125'")?
            .hasPrefix("new component registered; it carries part AMP-SEAL-KIT-7 s/n SK7-88813, as DPP-PART-124 (not scrapped) already does") == true)
        try cli.drop("""
            {"dppId": "DPP-H2-001", "workOrderId": "WO-41", "completionDate": "2025-11-05", "partsUsed": [{"partNumber": "AMP-SEAL-KIT-7", "serialNumber": "SK7-88812"}]}
            {"dppId": "DPP-H2-002", "workOrderId": "WO-42", "completionDate": "2025-11-06", "partsUsed": [{"partNumber": "AMP-SEAL-KIT-7", "serialNumber": "SK7-88813"}]}
            """, as: "completions.jsonl", source: "workorders")
        #expect(try Self.run(cli).status == 1)
        #expect(try outcome(cli, key: "WO-41") == "applied -")
        #expect(try cli.scalar("SELECT parent_dpp_id || ' ' || status FROM asset WHERE dpp_id = 'DPP-PART-123'") == "DPP-H2-001 INSTALLED")
        #expect(try cli.scalar("SELECT status FROM asset WHERE dpp_id = 'DPP-PART-111'") == "SCRAPPED")
        #expect(try outcome(cli, key: "WO-42") == "held UNKNOWN_PART")
        #expect(try cli.scalar("SELECT message FROM record_outcome WHERE record_key = 'WO-42'")?
            .hasPrefix("part AMP-SEAL-KIT-7 s/n SK7-88813 is carried by 2 assets in the DPP registry (DPP-PART-124, DPP-PART-125)") == true)
        #expect(try cli.scalar("SELECT COUNT(*) FROM asset WHERE parent_dpp_id = 'DPP-H2-002'") == "0")
        // The registry corrects DPP-PART-124's serial: the held completion is decided again and fits DPP-PART-125.
        try cli.drop(kit("DPP-PART-124", "SK7-88814", "IN_STOCK", at: "2025-11-07T02:00:00Z"), as: "fix.json", source: "registry")
        #expect(try Self.run(cli).status == 0)
        #expect(try outcome(cli, key: "WO-42") == "applied -")
        #expect(try cli.scalar("SELECT parent_dpp_id || ' ' || status FROM asset WHERE dpp_id = 'DPP-PART-125'") == "DPP-H2-002 INSTALLED")
        #expect(try cli.scalar("SELECT status FROM asset WHERE dpp_id = 'DPP-PART-124'") == "IN_STOCK")

        // DPP-PART-123 is scrapped and its serial registered again as DPP-PART-130: WO-41 sent again still names the part it
        // installed (a duplicate, not another part); a removal of SK7-88813 by DPP-H2-002 takes out the one it holds.
        try cli.drop(kit("DPP-PART-123", "SK7-88812", "SCRAPPED", at: "2025-11-08T02:00:00Z"), as: "k123-scrap.json", source: "registry")
        try cli.drop(kit("DPP-PART-130", "SK7-88812", "IN_STOCK"), as: "k130.json", source: "registry")
        try cli.drop(kit("DPP-PART-126", "SK7-88813", "IN_STOCK"), as: "k126.json", source: "registry")
        #expect(try Self.run(cli).status == 0)
        #expect(try outcome(cli, key: "DPP-PART-124") == "applied -")  // its serial corrected: no longer shared
        #expect(try outcome(cli, key: "DPP-PART-130") == "applied -")  // the serial of a scrapped part, registered again
        #expect(try outcome(cli, key: "DPP-PART-126") == "applied SHARED_SERIAL")
        #expect(try cli.scalar("SELECT message FROM record_outcome WHERE record_key = 'DPP-PART-126'")?.contains("as DPP-PART-125 (not scrapped)") == true)
        try cli.drop("""
            {"dppId": "DPP-H2-001", "workOrderId": "WO-41", "completionDate": "2025-11-05", "partsUsed": [{"partNumber": "AMP-SEAL-KIT-7", "serialNumber": "SK7-88812"}]}
            {"dppId": "DPP-H2-002", "workOrderId": "WO-43", "completionDate": "2025-11-09", "partsUsed": [{"partNumber": "AMP-SEAL-KIT-7", "serialNumber": "SK7-88813", "action": "removed"}]}
            """, as: "again.jsonl", source: "workorders")
        #expect(try Self.run(cli).status == 0)
        #expect(try outcome(cli, key: "WO-41") == "duplicate DUPLICATE")
        #expect(try outcome(cli, key: "WO-43") == "applied -")
        #expect(try cli.scalar("SELECT status FROM asset WHERE dpp_id = 'DPP-PART-125'") == "REMOVED")
        #expect(try cli.scalar("SELECT status FROM asset WHERE dpp_id = 'DPP-PART-126'") == "IN_STOCK")
        #expect(try cli.run("ledger", "verify").status == 0)
    }

    @Test("policies: SHARED_SERIAL: held keeps a registry asset with another's live serial in review; accepted, it is registered")
    func sharedSerialHeld() throws {
        let cli = try CLI.freshRoot()
        let configuration = try String(contentsOfFile: cli.layout.configFile, encoding: .utf8)
        #expect(configuration.contains("\n  SHARED_SERIAL: applied\n"))
        try configuration.replacingOccurrences(of: "\n  SHARED_SERIAL: applied\n", with: "\n  SHARED_SERIAL: held\n")
            .write(toFile: cli.layout.configFile, atomically: true, encoding: .utf8)
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.drop(#"{"exportedAt": "2025-11-02T02:00:00Z", "assets": [{"dppId": "DPP-PART-140", "partNumber": "AMP-SEAL-KIT-7", "serialNumber": "SK7-88812", "status": "IN_STOCK", "certification": {"type": "EASA Form 1", "reference": "EF1-140", "validUntil": null}}]}"#,
                     as: "twin.json", source: "registry")
        // A work order fits the held kit by its dppId: it waits for it (UNKNOWN_PART).
        try cli.drop(#"{"dppId": "DPP-H2-001", "workOrderId": "WO-77", "completionDate": "2025-11-05", "partsUsed": [{"dppId": "DPP-PART-140"}]}"#,
                     as: "fit.json", source: "workorders")
        #expect(try Self.run(cli).status == 1)
        #expect(try outcome(cli, key: "DPP-PART-140") == "held SHARED_SERIAL")
        #expect(try outcome(cli, key: "WO-77") == "held UNKNOWN_PART")
        #expect(try cli.scalar("SELECT COUNT(*) FROM asset WHERE dpp_id = 'DPP-PART-140'") == "0")
        let item = try #require(try cli.scalar("SELECT id FROM review_item WHERE reason = 'SHARED_SERIAL' AND status = 'open'"))
        let accepted = try cli.run("review", "resolve", item, "--accept", "--by", "stores.lead")
        #expect(accepted.status == 0)
        #expect(accepted.stdout.contains("records that waited for it, decided again: 1 applied"), "\(accepted.stdout)")
        #expect(try outcome(cli, key: "DPP-PART-140") == "applied SHARED_SERIAL")
        // Registered on review, the kit is what WO-77 waited for: decided again at once, as a file's asset would make it.
        #expect(try outcome(cli, key: "WO-77") == "applied -")
        #expect(try cli.scalar("SELECT parent_dpp_id || ' ' || status FROM asset WHERE dpp_id = 'DPP-PART-140'") == "DPP-H2-001 INSTALLED")
        // A later change of the other kit's status is no new sharing: applied, not held again.
        try cli.drop(#"{"exportedAt": "2025-11-09T02:00:00Z", "assets": [{"dppId": "DPP-PART-123", "partNumber": "AMP-SEAL-KIT-7", "serialNumber": "SK7-88812", "status": "UNSERVICEABLE"}]}"#,
                     as: "unserviceable.json", source: "registry")
        #expect(try Self.run(cli).status == 0)
        #expect(try outcome(cli, key: "DPP-PART-123") == "applied -")
        // A third kit without a release certificate: the work order waiting for it is decided again into another hold,
        // and the resolution says so and exits 1, as a run would.
        try cli.drop(#"{"exportedAt": "2025-11-10T02:00:00Z", "assets": [{"dppId": "DPP-PART-141", "partNumber": "AMP-SEAL-KIT-7", "serialNumber": "SK7-88812", "status": "IN_STOCK"}]}"#,
                     as: "third.json", source: "registry")
        try cli.drop(#"{"dppId": "DPP-H2-002", "workOrderId": "WO-78", "completionDate": "2025-11-11", "partsUsed": [{"dppId": "DPP-PART-141"}]}"#,
                     as: "fit2.json", source: "workorders")
        #expect(try Self.run(cli).status == 1)
        let third = try #require(try cli.scalar("SELECT id FROM review_item WHERE record_key = 'DPP-PART-141' AND status = 'open'"))
        let uncertified = try cli.run("review", "resolve", third, "--accept", "--by", "stores.lead")
        #expect(uncertified.status == 1)
        #expect(uncertified.stdout.contains("records that waited for it, decided again: 1 held"), "\(uncertified.stdout)")
        #expect(try outcome(cli, key: "WO-78") == "held PART_NOT_CERTIFIED")
        let verify = try cli.run("ledger", "verify")
        #expect(verify.status == 0, "\(verify.stdout)")
    }

    @Test("a stores return is not a removal; the part stays where it is")
    func storesReturn() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.drop(#"{"dppId": "DPP-H2-001", "workOrderId": "WO-6", "completionDate": "2025-11-05", "partsUsed": [{"dppId": "DPP-PART-123", "issueType": "RETURN"}]}"#, as: "r.json", source: "workorders")
        #expect(try Self.run(cli).status == 0)
        #expect(try cli.scalar("SELECT status FROM asset WHERE dpp_id = 'DPP-PART-123'") == "IN_STOCK")
    }

    @Test("a CMMS value for a DPP-owned field is not applied (FIELD_OWNED_BY_DPP), and is reported")
    func ownership() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        _ = try Self.run(cli)
        let mapping = try String(contentsOfFile: cli.layout.mappings + "/registry.mapping.yaml", encoding: .utf8)
            .replacingOccurrences(of: "source: registry", with: "source: cmms-assets")
        try mapping.write(toFile: cli.layout.mappings + "/cmms-assets.mapping.yaml", atomically: true, encoding: .utf8)
        try "sources:\n  cmms-assets: {}\n".write(toFile: cli.layout.configFile, atomically: true, encoding: .utf8)
        let cmms = try Fixtures.text("dpp-registry.json").replacingOccurrences(of: "\"ratedPowerKW\": 250", with: "\"ratedPowerKW\": 300")
            .replacingOccurrences(of: "2025-11-01T02:00:00Z", with: "2025-11-02T02:00:00Z")
        try cli.drop(cmms, as: "assets.json", source: "cmms-assets")
        #expect(try Self.run(cli).status == 0)
        #expect(try cli.scalar("SELECT specifications FROM asset WHERE dpp_id = 'DPP-H2-001'")?.contains("\"ratedPowerKW\":250") == true)
        #expect(try outcome(cli, key: "DPP-H2-001", batch: 2)?.hasSuffix("FIELD_OWNED_BY_DPP") == true)
        #expect(try cli.scalar("SELECT message FROM record_outcome WHERE batch_id = 2 AND record_key = 'DPP-H2-001'")?.contains("owned by the DPP): specifications") == true)
    }

    @Test("a completion naming an unknown technician waits, and is re-decided when the certifications arrive")
    func unknownTechnician() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.dropFixture("maximo-workorders.xml", source: "workorders")
        #expect(try Self.run(cli).status == 1)
        #expect(try outcome(cli, key: "WO-54321") == "held UNKNOWN_TECHNICIAN")
        try cli.dropFixture("technician-certifications.json", source: "certifications")
        #expect(try Self.run(cli).status == 0)
        #expect(try outcome(cli, key: "WO-54321", batch: 2) == "applied -")
        #expect(try cli.scalar("SELECT certifying_staff FROM work_order") == "JSMITH")
        // Personal data is beside the ledger, never in it.
        #expect(try cli.scalar("SELECT licence FROM technician_personal WHERE labor_code = 'JSMITH'") == "ES.66.B1.1234")
        #expect(try cli.scalar("SELECT COUNT(*) FROM ledger_entry WHERE CAST(sqlar_uncompress(body, body_size) AS TEXT) LIKE '%ES.66.B1%' OR CAST(sqlar_uncompress(body, body_size) AS TEXT) LIKE '%J. Smith%'") == "0")
    }

    @Test("a newer version that no longer names a part the stored one installed waits for review (the move cannot be undone safely); accepted, it applies, leaving the part where it is, unlinked")
    func newerVersionDropsPart() throws {
        let cli = try OutboxTests.rootWithReferences()
        // A second seal kit in stores.
        try cli.drop(#"{"exportedAt": "2025-11-01T02:00:00Z", "assets": [{"dppId": "DPP-PART-124", "partNumber": "AMP-SEAL-KIT-7", "serialNumber": "SK7-88813", "status": "IN_STOCK", "certification": {"type": "EASA Form 1", "reference": "EF1-2025-000903", "validUntil": null}}]}"#,
                     as: "more.json", source: "registry")
        #expect(try Self.run(cli).status == 0)
        let maximo = try Fixtures.text("maximo-workorders.xml")
        try cli.drop(maximo, as: "v1.xml", source: "workorders")
        #expect(try Self.run(cli).status == 0)
        #expect(try cli.scalar("SELECT parent_dpp_id FROM asset WHERE dpp_id = 'DPP-PART-123'") == "DPP-H2-001")
        // The CMMS corrects the serial it had typed: a newer version (later STATUSDATE) naming the other kit.
        let corrected = maximo.replacingOccurrences(of: "SK7-88812", with: "SK7-88813")
            .replacingOccurrences(of: "<STATUSDATE>2025-11-05T16:10:00+01:00</STATUSDATE>", with: "<STATUSDATE>2025-11-06T09:00:00+01:00</STATUSDATE>")
        #expect(corrected != maximo)
        try cli.drop(corrected, as: "v2.xml", source: "workorders")
        #expect(try Self.run(cli).status == 1)
        let held = try #require(try cli.query("SELECT reason, message FROM review_item WHERE record_key = 'WO-54321' AND status = 'open'").first)
        #expect(held[0] == "DIVERGENT_DUPLICATE" && held[1]?.contains("no longer names part(s) DPP-PART-123") == true, "\(held)")
        #expect(try cli.scalar("SELECT parent_dpp_id FROM asset WHERE dpp_id = 'DPP-PART-124'") == nil, "nothing applied while it waits")
        // Accepted: the new kit is fitted and linked; the old one stays where the first version put it, no longer linked.
        let item = try #require(try cli.scalar("SELECT id FROM review_item WHERE record_key = 'WO-54321' AND status = 'open'"))
        #expect(try cli.run("review", "resolve", item, "--accept", "--by", "planner").status == 0)
        #expect(try cli.scalar("SELECT parent_dpp_id FROM asset WHERE dpp_id = 'DPP-PART-124'") == "DPP-H2-001")
        #expect(try cli.query("SELECT part_dpp_id FROM work_order_part WHERE work_order_id = 'WO-54321' ORDER BY 1").map { $0[0] } == ["DPP-PART-124"])
        #expect(try cli.scalar("SELECT parent_dpp_id FROM asset WHERE dpp_id = 'DPP-PART-123'") == "DPP-H2-001")
        #expect(try cli.run("ledger", "verify").status == 0)
    }
}
