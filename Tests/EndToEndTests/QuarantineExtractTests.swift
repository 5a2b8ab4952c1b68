import DPPSync
import Foundation
import Testing

@Suite("quarantine extracts")
struct QuarantineExtractTests {
    /// A root whose work order `wo.json` was rejected (a dd.MM.yyyy date the shipped mapping refuses), and its extract's name.
    static func rejectedWorkOrder(_ name: String) throws -> (CLI, String) {
        let cli = try CLI.freshRoot(name)
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.drop(try Fixtures.text("work-order-complete.json").replacingOccurrences(of: "2025-11-05", with: "05.11.2025"), as: "wo.json", source: "workorders")
        #expect(try cli.run("run", "--once", "--stability-window", "0").status == 1)
        return (cli, try #require(cli.files(in: "Quarantine/workorders").first { $0.hasSuffix("-0.json") }))
    }

    @Test("an extract edited where it lies is kept beside when a reprocess writes it again or no longer needs it; one dropped into another source's inbox waits, naming the source")
    func editedInPlace() throws {
        let (cli, extract) = try Self.rejectedWorkOrder(#function)
        let path = cli.root + "/Quarantine/workorders/" + extract
        func edit(_ text: String) throws {
            try (try String(contentsOfFile: path, encoding: .utf8) + text).write(toFile: path, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: 60)], ofItemAtPath: path)
        }
        // Dropped into another source's inbox, it waits, saying where it belongs.
        try FileManager.default.copyItem(atPath: path, toPath: cli.layout.inbox("registry") + "/" + extract)
        let elsewhere = try cli.run("run", "--once", "--stability-window", "0")
        #expect((elsewhere.stdout + elsewhere.stderr).contains("\(extract) is the extract of a record of source 'workorders': drop it into Inbox/workorders/"),
                "\(elsewhere.stdout)\(elsewhere.stderr)")
        try FileManager.default.removeItem(atPath: cli.layout.inbox("registry") + "/" + extract)

        // Edited where it lies, then the file reprocessed with the record still rejected: written again, the edit kept beside.
        try edit("\n")
        let archived = try #require(cli.files(in: "Archive/workorders").first)
        #expect(try cli.run("reprocess", "Archive/workorders/" + archived).status == 1)
        let edited = extract.replacingOccurrences(of: ".json", with: ".edited.json")
        #expect(cli.files(in: "Quarantine/workorders").sorted() == [edited, extract, extract + ".reason.json"].sorted(), "\(cli.files(in: "Quarantine/workorders"))")
        #expect(try String(contentsOfFile: cli.root + "/Quarantine/workorders/" + edited, encoding: .utf8).hasSuffix("}\n\n"))

        // Edited again, and the mapping fixed: the record applies, its reason goes, the edited extract stays beside.
        try edit(" ")
        let mappingPath = cli.layout.mappings + "/workorders-json.mapping.yaml"
        try String(contentsOfFile: mappingPath, encoding: .utf8)
            .replacingOccurrences(of: "completionDate: { path: completionDate, required: true }", with: "completionDate: { path: completionDate, required: true, formats: [iso, dd.MM.yyyy] }")
            .write(toFile: mappingPath, atomically: true, encoding: .utf8)
        #expect(try cli.run("reprocess", "Archive/workorders/" + archived).status == 0)
        let left = cli.files(in: "Quarantine/workorders")
        #expect(!left.contains(extract) && !left.contains(extract + ".reason.json") && left.contains(edited) && left.count == 2, "\(left)")
    }
}

extension QuarantineExtractTests {
    @Test("an extract goes by the reason the quarantine keeps for it: a reprocess of its bytes under another name that skips the record neither takes it nor removes it; dropped into a source its bytes only came to as a duplicate, it waits")
    func extractKeepsItsFile() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        let general = cli.layout.mappings + "/workorders-json.mapping.yaml"
        let text = try String(contentsOfFile: general, encoding: .utf8)
        try text.replacingOccurrences(of: #"files: ["*.json", "*.jsonl"]"#, with: #"files: ["legacy-*.json"]"#).write(toFile: cli.layout.mappings + "/legacy.mapping.yaml", atomically: true, encoding: .utf8)
        try (text + "when: { path: status, in: [NONE] }\n").write(toFile: general, atomically: true, encoding: .utf8)
        try (text.replacingOccurrences(of: "source: workorders", with: "source: wob") + "when: { path: status, in: [NONE] }\n")
            .write(toFile: cli.layout.mappings + "/wob.mapping.yaml", atomically: true, encoding: .utf8)
        try (try String(contentsOfFile: cli.layout.configFile, encoding: .utf8)).replacingOccurrences(of: "sources:\n", with: "sources:\n  wob: {}\n")
            .write(toFile: cli.layout.configFile, atomically: true, encoding: .utf8)
        let bad = try Fixtures.text("work-order-complete.json").replacingOccurrences(of: "2025-11-05", with: "05.11.2025")
        try cli.drop(bad, as: "legacy-1.json", source: "workorders")
        _ = try cli.run("run", "--once", "--stability-window", "0")
        let extract = try #require(cli.files(in: "Quarantine/workorders").first { $0.hasSuffix("-0.json") })
        // The same bytes as plain.json (a duplicate), reprocessed under that name: the general mapping skips the record.
        try cli.drop(bad, as: "plain.json", source: "workorders")
        try cli.drop(bad, as: "plain.json", source: "wob")
        _ = try cli.run("run", "--once", "--stability-window", "0")
        let plain = try #require(cli.files(in: "Archive/workorders").first { $0.hasSuffix("/plain.json") })
        _ = try cli.run("reprocess", "Archive/workorders/" + plain)
        #expect(cli.files(in: "Quarantine/workorders").contains(extract), "a skipped record's extract stays: \(cli.files(in: "Quarantine/workorders"))")
        let corrected = String(decoding: try Data(contentsOf: URL(fileURLWithPath: cli.root + "/Quarantine/workorders/" + extract)), as: UTF8.self)
            .replacingOccurrences(of: "05.11.2025", with: "2025-11-05")
        // Into wob, where its bytes only came as a duplicate: it waits, naming the source.
        try cli.drop(corrected, as: extract, source: "wob")
        let waits = try cli.run("run", "--once", "--stability-window", "0")
        #expect((waits.stdout + waits.stderr).contains("\(extract) is the extract of a record of source 'workorders': drop it into Inbox/workorders/"), "\(waits.stdout)\(waits.stderr)")
        try FileManager.default.moveItem(atPath: cli.layout.inbox("wob") + "/" + extract, toPath: cli.layout.inbox("workorders") + "/" + extract)
        _ = try cli.run("run", "--once", "--stability-window", "0")
        #expect(try cli.query("SELECT mapping_name, record_count FROM input_file WHERE name = '\(extract)'") == [["legacy.mapping.yaml", "1"]])
        #expect(try cli.scalar("SELECT completion_date FROM work_order") == "2025-11-05")
    }
}

extension QuarantineExtractTests {
    @Test("a corrected extract quarantined whole takes a name beside the record's reason, and stays when the record settles; after its source is renamed, an extract is read by its own name")
    func wholeFileAndRenamedSource() throws {
        let (cli, extract) = try Self.rejectedWorkOrder(#function)
        // Moved to the inbox, "corrected" into something that is not JSON: quarantined whole beside the record's
        // reason, not over it (it had replaced it under the extract's name).
        try FileManager.default.removeItem(atPath: cli.root + "/Quarantine/workorders/" + extract)
        try cli.drop(#"{"workOrderId": "WO-54321", "#, as: extract, source: "workorders")
        _ = try cli.run("run", "--once", "--stability-window", "0")
        let whole = extract.replacingOccurrences(of: ".json", with: "-1.json")
        #expect(Set(cli.files(in: "Quarantine/workorders")) == [extract + ".reason.json", whole, whole + ".reason.json"], "\(cli.files(in: "Quarantine/workorders"))")
        #expect(try String(contentsOfFile: cli.root + "/Quarantine/workorders/" + extract + ".reason.json", encoding: .utf8).contains(#""recordIndex": 0"#))
        // A reason too large to be dppsync's takes its name too, unread.
        try Data(repeating: 0x20, count: 2 << 20).write(to: URL(fileURLWithPath: cli.root + "/Quarantine/workorders/big.json.reason.json"))
        try cli.drop("{", as: "big.json", source: "workorders")
        _ = try cli.run("run", "--once", "--stability-window", "0")
        #expect(cli.files(in: "Quarantine/workorders").contains("big-1.json"))
        for name in ["big.json.reason.json", "big-1.json", "big-1.json.reason.json"] { try FileManager.default.removeItem(atPath: cli.root + "/Quarantine/workorders/" + name) }
        // The mapping fixed and the file reprocessed: the record applies, its reason goes; the whole-file quarantine stays.
        let mapping = cli.layout.mappings + "/workorders-json.mapping.yaml"
        let fixed = try String(contentsOfFile: mapping, encoding: .utf8)
            .replacingOccurrences(of: "completionDate: { path: completionDate, required: true }", with: "completionDate: { path: completionDate, required: true, formats: [iso, dd.MM.yyyy] }")
        try fixed.write(toFile: mapping, atomically: true, encoding: .utf8)
        let archived = try #require(cli.files(in: "Archive/workorders").first { $0.hasSuffix("/wo.json") })
        #expect(try cli.run("reprocess", "Archive/workorders/" + archived).status == 0)
        #expect(Set(cli.files(in: "Quarantine/workorders")) == [whole, whole + ".reason.json"], "\(cli.files(in: "Quarantine/workorders"))")

        // The source renamed in dppsync.yaml and the mapping: an extract of the old source's file is read by its own name.
        try (try String(contentsOfFile: cli.layout.configFile, encoding: .utf8)).replacingOccurrences(of: "  workorders:\n", with: "  wo:\n")
            .write(toFile: cli.layout.configFile, atomically: true, encoding: .utf8)
        try fixed.replacingOccurrences(of: "source: workorders", with: "source: wo").write(toFile: mapping, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: cli.layout.mappings + "/workorders-maximo.mapping.yaml")
        try cli.drop(try Fixtures.text("work-order-complete.json").replacingOccurrences(of: "WO-54321", with: "WO-54329"), as: extract.replacingOccurrences(of: ".json", with: "-9.json"), source: "wo")
        let renamed = try cli.run("run", "--once", "--stability-window", "0")
        #expect(cli.files(in: "Inbox/wo").isEmpty, "\(renamed.stdout)\(renamed.stderr)")
        #expect(try cli.scalar("SELECT COUNT(*) FROM work_order WHERE work_order_id = 'WO-54329'") == "1")
    }
}
