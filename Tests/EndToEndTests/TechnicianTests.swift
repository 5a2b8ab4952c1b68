import DPPSync
import Foundation
import Testing

@Suite("technician: personal data")
struct TechnicianTests {
    /// A certification of JSMITH as the fixture has it, with `members` added (a JSON object's members).
    static func certification(_ members: String) -> String {
        #"{ "laborCode": "JSMITH", "name": "J. Smith", "licence": "ES.66.B1.1234", "authorisations": ["H2-PROPULSION", "FUEL-CELL"], "#
            + #""validFrom": "2024-02-01", "# + members + " }"
    }

    /// DESIGN.md: names and licence numbers live beside the ledger, "in a table that can be erased without
    /// breaking the ledger". There had been no way to erase them, nor to say where they were.
    @Test("technician show says where a technician's name and licence number are; erase removes them from the store and held records, records why, and the ledger still verifies")
    func showAndErase() throws {
        let cli = try ReconciliationTests.withReferences()
        let mapping = cli.layout.mappings + "/certifications.mapping.yaml"
        // A licence number is checked against a pattern: one that fails is quoted in its refusal's message.
        let checked = try String(contentsOfFile: mapping, encoding: .utf8).replacingOccurrences(of: "  licence: licence", with: #"  licence: { path: licence, pattern: "ES\\.66\\..*" }"#)
        #expect(checked.contains("pattern"))
        try (checked + "timestamp: validFrom\n").write(toFile: mapping, atomically: true, encoding: .utf8)
        try cli.drop("[" + Self.certification(#""category": "B1", "validUntil": "2027-01-31""#) + "]", as: "renewed.json", source: "certifications")
        #expect(try ReconciliationTests.run(cli).status == 0)
        // The same source time with other facts is held; a record with a broken date is rejected to the quarantine.
        try cli.drop("[" + Self.certification(#""validUntil": "2027-01-31", "category": "B2""#) + ", "
                     + Self.certification(#""category": "B1", "validUntil": "someday""#) + ", "
                     + Self.certification(#""category": "B1", "validUntil": "2027-01-31""#).replacingOccurrences(of: "ES.66.B1.1234", with: "XS-66-B1-1234")
                     + "]", as: "divergent.json", source: "certifications")
        try cli.dropFixture("maximo-workorders.xml", source: "workorders")
        // A file quarantined whole was never read record by record: it is searched. A pipe beside it is never opened.
        try cli.drop(#"[{ "laborCode": "jsmith", "name": "J. Smith""#, as: "cut-short.json", source: "certifications")
        try cli.drop(#"[{ "laborCode": "JSMITHSON", "name": "J. Smithson""#, as: "another-cut.json", source: "certifications")
        #expect(mkfifo(cli.layout.inbox("certifications") + "/a-pipe.json", 0o644) == 0)
        #expect(try ReconciliationTests.run(cli).status == 1)
        let held = try #require(try cli.scalar("SELECT id FROM review_item WHERE kind = 'technicianCertification' AND status = 'open'"))
        let certificates = try #require(cli.files(in: "Outbox/release-certificates").first)
        #expect(try String(contentsOfFile: cli.root + "/Outbox/release-certificates/" + certificates, encoding: .utf8).contains(#""licenceNumber":"ES.66.B1.1234""#))

        let shown = try cli.run("technician", "show", "JSMITH")
        #expect(shown.status == 0)
        #expect(shown.stdout.contains("stored: name J. Smith, licence number ES.66.B1.1234") && shown.stdout.contains("review item(s) #\(held)"), "\(shown.stdout)")
        let files = shown.stdout.split(separator: "\n").filter { $0.hasPrefix("    ") }.map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(files.filter { $0.hasPrefix("Archive/certifications/") }.map { ($0 as NSString).lastPathComponent }.sorted()
                == ["divergent.json", "renewed.json", "technician-certifications.json"], "\(files)")
        let extract = try #require(files.first { $0.hasPrefix("Quarantine/certifications/") && $0.hasSuffix("-1.json") }, "\(files)")
        #expect(try String(contentsOfFile: cli.root + "/" + extract, encoding: .utf8).contains("ES.66.B1.1234"))
        #expect(files.contains("Outbox/release-certificates/" + certificates), "\(files)")
        #expect(files.contains("Quarantine/certifications/cut-short.json") && !files.contains { $0.contains("a-pipe") }, "\(files)")
        #expect(!files.contains("Quarantine/certifications/another-cut.json"), "JSMITHSON is not JSMITH: \(files)")
        // The shipped mapping test cases carry JSMITH, as an administrator's made from a real export would: listed too.
        #expect(files.contains("Mappings/tests/certifications.test.yaml") && files.contains("Mappings/tests/technician-certifications.json"), "\(files)")
        #expect(shown.stdout.contains("refusal messages quoting them: 1"), "\(shown.stdout)")
        let refusedIn = try #require(try cli.scalar("SELECT batch_id FROM record_outcome WHERE message LIKE '%XS-66-B1-1234%'"))
        #expect(try String(contentsOfFile: cli.root + "/Reports/reconciliation/batch-\(refusedIn).json", encoding: .utf8).contains("XS-66-B1-1234"))
        #expect(try cli.run("technician", "show", "jsmith").stdout.contains("technician JSMITH"), "the code as the mapping writes it")
        // A copy of the root names its own files, not those of the root the paths were stored under.
        let copy = CLI(root: cli.root + "-copy")
        // (`cp -a` makes the quarantined pipe again; a copy that reads it would wait for a writer for ever.)
        let cp = try Process.run(URL(fileURLWithPath: "/bin/cp"), arguments: ["-a", cli.root, copy.root])
        cp.waitUntilExit()
        #expect(cp.terminationStatus == 0)
        let copied = try copy.run("technician", "show", "JSMITH").stdout.split(separator: "\n").filter { $0.hasPrefix("    ") }
        #expect(copied.count == files.count && !copied.contains { $0.contains("/tmp/") || $0.trimmingCharacters(in: .whitespaces).hasPrefix("/") }, "\(copied)")
        // Another technician's holdings name only the files that carry that technician.
        let other = try cli.run("technician", "show", "AGARCIA")
        #expect(other.status == 0 && other.stdout.contains("technician-certifications.json") && !other.stdout.contains("renewed.json"), "\(other.stdout)")

        // A copy of an extract kept as edited where it lay (`<name>.edited.<ext>`) carries the details too.
        let editedCopy = extract.replacingOccurrences(of: ".json", with: ".edited.json")
        try FileManager.default.copyItem(atPath: cli.root + "/" + extract, toPath: cli.root + "/" + editedCopy)
        #expect(try cli.run("technician", "show", "JSMITH").stdout.contains("    " + editedCopy))
        let unknown = try cli.run("technician", "erase", "NOBODY", "--by", "dpo")
        #expect(unknown.status == 2 && unknown.stderr.contains("no technician with labour code NOBODY"), "\(unknown.stderr)")
        // An emission in progress (which read the licence numbers) is waited for: here, past the wait.
        do {
            let emitting = try #require(try FileLock(path: cli.layout.emissionLock, mode: .shared, timeout: 0))
            let busy = try cli.run("technician", "erase", "JSMITH", "--by", "dpo", "--wait", "1")
            #expect(busy.status == 2 && busy.stderr.contains("kept writing outbox files"), "\(busy.stderr)")
            #expect(try cli.scalar("SELECT COUNT(*) FROM technician_personal WHERE labor_code = 'JSMITH'") == "1", "nothing erased")
            withExtendedLifetime(emitting) {}
        }
        let erased = try cli.run("technician", "erase", "JSMITH", "--by", "dpo", "--note", "erasure request 2026-114")
        #expect(erased.status == 0, "\(erased.stderr)")
        #expect(erased.stdout.contains("erased the name and licence number of JSMITH; removed them from 1 held record(s)"), "\(erased.stdout)")
        #expect(erased.stdout.contains("valid until 2027-01-31") && erased.stdout.contains("  " + extract), "\(erased.stdout)")
        #expect(try cli.scalar("SELECT COUNT(*) FROM technician_personal WHERE labor_code = 'JSMITH'") == "0")
        #expect(try cli.scalar("SELECT name FROM technician_personal WHERE labor_code = 'AGARCIA'") == "A. Garcia", "only the one asked for")
        #expect(try cli.query("SELECT json_extract(record, '$.fields.name'), json_extract(record, '$.fields.licence'), json_extract(record, '$.fields.category') FROM review_item WHERE id = \(held)")
                == [[nil, nil, "B2"]], "the held record keeps its other facts")
        #expect(try cli.query("SELECT erased_by, note, details_erased, review_items_redacted FROM personal_data_erasure WHERE labor_code = 'JSMITH'")
                == [["dpo", "erasure request 2026-114", "1", "1"]])
        // The refused value is gone from the store and from the report written again; the reason file beside the extract is listed.
        #expect(try cli.scalar("SELECT COUNT(*) FROM record_outcome WHERE message LIKE '%XS-66-B1-1234%'") == "0")
        #expect(try cli.scalar("SELECT COUNT(*) FROM record_outcome WHERE message LIKE '%fails rule ''pattern'' (value \"[erased]\")%'") == "1")
        #expect(!(try String(contentsOfFile: cli.root + "/Reports/reconciliation/batch-\(refusedIn).json", encoding: .utf8).contains("XS-66-B1-1234")))
        #expect(erased.stdout.contains("  " + extract + ".reason.json"), "\(erased.stdout)")
        #expect(try cli.run("ledger", "verify").status == 0, "the ledger never held them")
        let after = try cli.run("technician", "show", "JSMITH", "--json").stdout
        #expect(after.contains(#""stored": null"#) && after.contains(#""by": "dpo""#) && after.contains(#""reviewItems": []"#), "\(after)")
        // After it, the licence cannot be searched for: the files it was in are those the erasure recorded.
        #expect(after.contains(#""Outbox/release-certificates/\#(certificates)""#), "\(after)")

        // Rejected now, the held record's extract is not read back from the archive (it would bring the details back).
        let rejected = try cli.run("review", "resolve", held, "--reject", "--by", "qa")
        #expect(rejected.status == 0, "\(rejected.stderr)")
        let reasonFile = try #require(cli.files(in: "Quarantine/certifications").first { $0.hasSuffix("-0.json.reason.json") })
        #expect(try String(contentsOfFile: cli.root + "/Quarantine/certifications/" + reasonFile, encoding: .utf8).contains("personal data was erased"))
        #expect(!cli.files(in: "Quarantine/certifications").contains { $0.hasSuffix("-0.json") }, "\(cli.files(in: "Quarantine/certifications"))")
        // A certificate signed since carries no licence number.
        try cli.drop(try Fixtures.text("maximo-workorders.xml").replacingOccurrences(of: "WO-54321", with: "WO-54399"), as: "later.xml", source: "workorders")
        _ = try ReconciliationTests.run(cli)
        let later = try cli.files(in: "Outbox/release-certificates").map { try String(contentsOfFile: cli.root + "/Outbox/release-certificates/" + $0, encoding: .utf8) }
            .joined().split(separator: "\n").filter { $0.contains("WO-54399") }
        #expect(later.count == 1 && later.allSatisfy { $0.contains(#""licenceNumber":null"#) }, "\(later)")
    }

    /// An accepted divergent version of a reference record had been "applied" with no change, and an accepted
    /// certification's name and licence number were not stored.
    @Test("a held certification accepted on review is applied: its category, and its licence number beside the ledger")
    func acceptedCertificationApplies() throws {
        let cli = try ReconciliationTests.withReferences()
        let mapping = cli.layout.mappings + "/certifications.mapping.yaml"
        try (String(contentsOfFile: mapping, encoding: .utf8) + "timestamp: validFrom\n").write(toFile: mapping, atomically: true, encoding: .utf8)
        try cli.drop("[" + Self.certification(#""category": "B1", "validUntil": "2027-01-31""#) + "]", as: "renewed.json", source: "certifications")
        try cli.dropFixture("maximo-workorders.xml", source: "workorders")
        _ = try ReconciliationTests.run(cli)
        try cli.drop("[" + Self.certification(#""category": "B2", "validUntil": "2027-01-31""#).replacingOccurrences(of: "ES.66.B1.1234", with: "ES.66.B2.7777") + "]",
                     as: "divergent.json", source: "certifications")
        #expect(try ReconciliationTests.run(cli).status == 1)
        let held = try #require(try cli.scalar("SELECT id FROM review_item WHERE status = 'open'"))
        #expect(try cli.run("review", "resolve", held, "--accept", "--by", "qa").status == 0)
        #expect(try cli.scalar("SELECT category FROM technician WHERE labor_code = 'JSMITH'") == "B2")
        #expect(try cli.scalar("SELECT licence FROM technician_personal WHERE labor_code = 'JSMITH'") == "ES.66.B2.7777")
        // The certificate written before carries the earlier licence number: it is found by the technician's code.
        let certificate = try #require(cli.files(in: "Outbox/release-certificates").first)
        #expect(try String(contentsOfFile: cli.root + "/Outbox/release-certificates/" + certificate, encoding: .utf8).contains("ES.66.B1.1234"))
        // And a killed emission's temporary, until the next emission clears it.
        try #"{"technician":{"laborCode":"JSMITH"},"licenceNumber":"ES.66.B2.7777"}"#.write(toFile: cli.root + "/Outbox/release-certificates/.batch-000009-001.jsonl.99999.tmp", atomically: true, encoding: .utf8)
        let shown = try cli.run("technician", "show", "JSMITH").stdout
        #expect(shown.contains("Outbox/release-certificates/" + certificate) && shown.contains(".batch-000009-001.jsonl.99999.tmp"), "\(shown)")
        #expect(try cli.run("ledger", "verify").status == 0)
    }
}
