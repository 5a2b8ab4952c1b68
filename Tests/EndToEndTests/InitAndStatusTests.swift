import DPPSync
import Foundation
import Testing

@Suite("init and status")
struct InitAndStatusTests {
    /// A mistyped --root had exited 3 (a failed run) or 1 with SQLite's "unable to open database file".
    @Test("a folder that is not a dppsync root is a usage error for every command that needs one")
    func notARoot() throws {
        let folder = CLI.rootsFolder + "not-a-root-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let cli = CLI(root: folder)
        for arguments in [["run", "--once"], ["review", "list"], ["review", "resolve", "1", "--accept"], ["report", "reconciliation"], ["ledger", "verify"],
                          ["ledger", "key"], ["reprocess", folder + "/x.json"], ["status"], ["mapping", "check"], ["mapping", "test"]] {
            let result = try cli.run(arguments: arguments)
            #expect(result.status == 2 && result.stderr.contains("is not a dppsync root"), "\(arguments): \(result.status) \(result.stderr)")
        }
        #expect(!FileSystem.exists(folder + "/State"), "nothing made in it")
        // A file where init needs a folder is the folder's problem too.
        try "x".write(toFile: folder + "/Inbox", atomically: true, encoding: .utf8)
        let blocked = try cli.run("init")
        #expect(blocked.status == 2 && blocked.stderr.contains("/Inbox is in the way"), "\(blocked.status) \(blocked.stderr)")
    }

    @Test("init creates the root and never overwrites an edited file")
    func initIsIdempotent() throws {
        let cli = try CLI.freshRoot()
        for folder in ["Inbox/registry", "Inbox/workorders", "Inbox/ground-windows", "Outbox", "Archive", "Quarantine", "Reports", "State"] {
            #expect(FileSystem.isDirectory(cli.root + "/" + folder), "\(folder) missing")
        }
        let config = cli.layout.configFile
        #expect(try String(contentsOfFile: config, encoding: .utf8).contains("expectEvery"))
        try "timeZone: Europe/Berlin\n".write(toFile: config, atomically: true, encoding: .utf8)
        let mapping = cli.layout.mappings + "/registry.mapping.yaml"
        let edited = try String(contentsOfFile: mapping, encoding: .utf8) + "# edited by the admin\n"
        try edited.write(toFile: mapping, atomically: true, encoding: .utf8)

        let again = try cli.run("init")
        #expect(again.status == 0)
        #expect(again.stdout.contains("kept"))
        #expect(try String(contentsOfFile: config, encoding: .utf8) == "timeZone: Europe/Berlin\n")
        #expect(try String(contentsOfFile: mapping, encoding: .utf8) == edited)
    }

    @Test("the binary carries the default mappings: they match Mappings/ and pass mapping check")
    func defaultsAreCompiledIn() throws {
        let repositoryMappings = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Mappings").path
        for (name, text) in DefaultMappings.files {
            let shipped = try String(contentsOfFile: repositoryMappings + "/" + name, encoding: .utf8)
            #expect(shipped == text, "Mappings/\(name) differs from the compiled-in copy: run Scripts/generate-defaults.py")
        }
        let cli = try CLI.freshRoot()
        let check = try cli.run("mapping", "check")
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("registry.mapping.yaml: ok"))
    }

    @Test("status flags a late source and lists waiting files, as text and JSON")
    func statusFlagsLateSources() throws {
        let cli = try CLI.freshRoot()
        try "sources:\n  registry: { expectEvery: 36h }\n  caos: { expectEvery: 30m }\n  workorders: { expectEvery: 1h }\n".write(toFile: cli.layout.configFile, atomically: true, encoding: .utf8)
        try cli.dropFixture("work-order-complete.json", source: "workorders")
        let text = try cli.run("status")
        #expect(text.status == 0)
        #expect(text.stdout.contains("LATE (expected every 36 h)") && text.stdout.contains("LATE (expected every 30 min)"), "\(text.stdout)")
        let json = try cli.run("status", "--json")
        let parsed = try JSONParser.parseDocument(Array(json.stdout.utf8))
        guard case .array(let sources)? = parsed["sources"] else { Issue.record("no sources"); return }
        let registry = sources.first { $0["name"] == .string("registry") }
        let workorders = sources.first { $0["name"] == .string("workorders") }
        #expect(registry?["late"] == .bool(true))
        #expect(workorders?["waiting"] == .number("1"))
        let programme = sources.first { $0["name"] == .string("programme") }
        #expect(programme?["late"] == .bool(false), "a source without expectEvery is never late")
    }

    @Test("a mapping no run would use fails its check: a source dppsync.yaml does not configure, two mappings taking the same files; status and the run say so")
    func unusableMappings() throws {
        let cli = try CLI.freshRoot()
        let mappings = cli.layout.mappings + "/"
        // A mapping for a new source, without the source in dppsync.yaml: its files had waited, unseen.
        let json = try String(contentsOfFile: mappings + "workorders-json.mapping.yaml", encoding: .utf8)
        try json.replacingOccurrences(of: "source: workorders", with: "source: workorders-b").write(toFile: mappings + "workorders-b.mapping.yaml", atomically: true, encoding: .utf8)
        try cli.dropFixture("work-order-complete.json", source: "workorders-b")
        let check = try cli.run("mapping", "check")
        #expect(check.status == 2 && check.stdout.contains("workorders-b.mapping.yaml:7:1: error: source 'workorders-b' is not under sources: in dppsync.yaml"), "\(check.stdout)")
        let status = try cli.run("status")
        #expect(status.stdout.contains("workorders-b    waiting 1  NOT READ: workorders-b.mapping.yaml names source 'workorders-b', which is not under sources: in dppsync.yaml"),
                "\(status.stdout)")
        try FileManager.default.removeItem(atPath: mappings + "workorders-b.mapping.yaml")

        // A backup copy beside the mapping being edited: the first by name (the backup) had taken the files.
        try FileManager.default.copyItem(atPath: mappings + "caos.mapping.yaml", toPath: mappings + "caos-old.mapping.yaml")
        let clash = try cli.run("mapping", "check")
        #expect(clash.status == 2 && clash.stdout.contains("caos.mapping.yaml:5:1: error: takes the same files from source 'caos' as caos-old.mapping.yaml"), "\(clash.stdout)")
        #expect(clash.stdout.contains("caos-old.mapping.yaml:5:1: error: takes the same files from source 'caos' as caos.mapping.yaml"), "\(clash.stdout)")
        try cli.dropFixture("caos-predictions.json", source: "caos")
        let held = try cli.run("run", "--once", "--stability-window", "0")
        #expect(held.status == 1 && (held.stdout + held.stderr).contains("caos-old.mapping.yaml and caos.mapping.yaml take caos-predictions.json from source 'caos' with patterns as specific"),
                "\(held.stdout)\(held.stderr)")
        #expect(cli.files(in: "Inbox/caos") == ["caos-predictions.json"], "it waits")
        #expect(try cli.run("status").stdout.contains("HELD: caos-old.mapping.yaml and caos.mapping.yaml take caos-predictions.json"), "status says so as the run does")
        // A dppsync.yaml that does not load leaves the mappings checked all the same.
        let configuration = try String(contentsOfFile: cli.layout.configFile, encoding: .utf8)
        try (configuration + "bogusKey: 1\n").write(toFile: cli.layout.configFile, atomically: true, encoding: .utf8)
        #expect(try cli.run("mapping", "check").stdout.contains("caos.mapping.yaml:5:1: error: takes the same files"))
        try configuration.write(toFile: cli.layout.configFile, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: mappings + "caos-old.mapping.yaml")
        #expect(try cli.run("run", "--once", "--stability-window", "0").status != 3)
        #expect(cli.files(in: "Inbox/caos").isEmpty, "taken once one mapping takes it")

        // A second CMMS's files by a more specific pattern: its mapping takes them, named after the general one.
        let maximo = try String(contentsOfFile: mappings + "workorders-maximo.mapping.yaml", encoding: .utf8)
        try maximo.replacingOccurrences(of: #"files: ["*.xml"]"#, with: #"files: ["legacy-*.xml"]"#).write(toFile: mappings + "zz-legacy.mapping.yaml", atomically: true, encoding: .utf8)
        #expect(try cli.run("mapping", "check").status == 0)
        try cli.dropFixture("maximo-workorders.xml", source: "workorders", as: "legacy-1.xml")
        try cli.dropFixture("maximo-workorders.xml", source: "workorders", as: "maximo-1.xml")
        _ = try cli.run("run", "--once", "--stability-window", "0")
        #expect(try cli.query("SELECT name, mapping_name FROM input_file WHERE source = 'workorders' ORDER BY name") == [["legacy-1.xml", "zz-legacy.mapping.yaml"], ["maximo-1.xml", "workorders-maximo.mapping.yaml"]])
        // A '?' fixes a character that a '*' leaves open.
        try maximo.replacingOccurrences(of: #"files: ["*.xml"]"#, with: #"files: ["WO-????.xml"]"#).write(toFile: mappings + "zz-wo.mapping.yaml", atomically: true, encoding: .utf8)
        try maximo.replacingOccurrences(of: #"files: ["*.xml"]"#, with: #"files: ["WO-*.xml"]"#).write(toFile: mappings + "aa-wo.mapping.yaml", atomically: true, encoding: .utf8)
        try cli.drop(try Fixtures.text("maximo-workorders.xml").replacingOccurrences(of: "WO-", with: "WX-"), as: "WO-0001.xml", source: "workorders")
        _ = try cli.run("run", "--once", "--stability-window", "0")
        #expect(try cli.scalar("SELECT mapping_name FROM input_file WHERE name = 'WO-0001.xml'") == "zz-wo.mapping.yaml")
        // Characters a pattern names come first: a date-stamp pattern's '?'s do not take a named export's files.
        try maximo.replacingOccurrences(of: #"files: ["*.xml"]"#, with: #"files: ["*_????????.xml"]"#).write(toFile: mappings + "aa-stamped.mapping.yaml", atomically: true, encoding: .utf8)
        try maximo.replacingOccurrences(of: #"files: ["*.xml"]"#, with: #"files: ["legacy_*.xml"]"#).write(toFile: mappings + "zz-named.mapping.yaml", atomically: true, encoding: .utf8)
        try cli.drop(try Fixtures.text("maximo-workorders.xml").replacingOccurrences(of: "WO-", with: "WY-"), as: "legacy_20251105.xml", source: "workorders")
        _ = try cli.run("run", "--once", "--stability-window", "0")
        #expect(try cli.scalar("SELECT mapping_name FROM input_file WHERE name = 'legacy_20251105.xml'") == "zz-named.mapping.yaml")
        // A dppsync.yaml that does not load is said, and the mappings are checked without their sources.
        try (configuration + "timeZone: [\n").write(toFile: cli.layout.configFile, atomically: true, encoding: .utf8)
        #expect(try cli.run("mapping", "check").stdout.contains("dppsync.yaml: warning: it does not load, so the mappings' sources were not compared with it"))
    }

    @Test("a broken dppsync.yaml is a usage error (exit 2) naming line and column")
    func brokenConfigIsUsageError() throws {
        let cli = try CLI.freshRoot()
        try "timeZone: UTC\nsourcez: {}\n".write(toFile: cli.layout.configFile, atomically: true, encoding: .utf8)
        let result = try cli.run("run", "--once")
        #expect(result.status == 2)
        #expect(result.stderr.contains("dppsync.yaml:2:1"))
        #expect(result.stderr.contains("did you mean 'sources'"))
    }

    @Test("every command explains itself with an example under --help")
    func helpHasExamples() throws {
        let cli = try CLI.freshRoot()
        for command in [["init"], ["run"], ["status"], ["mapping", "check"], ["report", "reconciliation"]] {
            let result = try cli.run(arguments: command + ["--help"])
            #expect(result.status == 0)
            #expect(result.stdout.contains("Example"), "\(command) --help has no example")
        }
    }
}

@Suite("mapping tools")
struct MappingToolTests {
    @Test("the shipped test cases pass; a wrong expectation fails with the field and exit 1")
    func mappingTest() throws {
        let cli = try CLI.freshRoot()
        let passing = try cli.run("mapping", "test")
        #expect(passing.status == 0, "\(passing.stdout)")
        #expect(passing.stdout.contains(" passed, 0 failed"))
        let path = cli.layout.mappings + "/tests/registry.test.yaml"
        try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "cmmsAssetNum: H2FC-0001", with: "cmmsAssetNum: H2FC-9999")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let failing = try cli.run("mapping", "test", path)
        #expect(failing.status == 1)
        #expect(failing.stdout.contains("field cmmsAssetNum: got \"H2FC-0001\", expected \"H2FC-9999\""), "\(failing.stdout)")
        #expect(failing.stdout.contains("2 passed, 1 failed"))
        // A mapping the run would hold (a byte that is not UTF-8 in a value) fails its tests too: they had passed.
        let mapping = cli.layout.mappings + "/registry.mapping.yaml"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: mapping)))
        let description = try #require(bytes.firstRange(of: Array("description: ".utf8)))
        bytes.insert(0xFC, at: description.upperBound)
        try Data(bytes).write(to: URL(fileURLWithPath: mapping))
        let broken = try cli.run("mapping", "test", path)
        #expect(broken.status == 1 && broken.stdout.contains("not UTF-8"), "\(broken.stdout)")
    }

    @Test("a test's mapping and input files stay in their folders: ../ is refused, not read")
    func mappingTestPathsStayInside() throws {
        let cli = try CLI.freshRoot()
        try "{\"exportedAt\": \"2025-11-01T02:00:00Z\", \"assets\": [{\"dppId\": \"DPP-SECRET\"}]}".write(toFile: cli.root + "/secret.json", atomically: true, encoding: .utf8)
        let path = cli.layout.mappings + "/tests/escape.test.yaml"
        try """
            mapping: registry.mapping.yaml
            cases:
              - name: reads outside
                inputFile: ../../secret.json
                expect:
                  - key: DPP-SECRET
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try cli.run("mapping", "test", path)
        #expect(result.status == 1)
        #expect(result.stdout.contains("input file ../../secret.json must be a path below the test's folder"), "\(result.stdout)")
        try "mapping: ../registry.mapping.yaml\ncases: []\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try cli.run("mapping", "test", path).stdout.contains("must be a file name in"))
    }

    @Test("preview maps without touching the store; --resolve tells the outcome each record would get")
    func preview() throws {
        let cli = try CLI.freshRoot()
        let sample = Fixtures.directory + "/maximo-workorders.xml"
        let plain = try cli.run("mapping", "preview", "--mapping", cli.layout.mappings + "/workorders-maximo.mapping.yaml", sample)
        #expect(plain.status == 0)
        let json = try JSONParser.parseDocument(Array(plain.stdout.utf8))
        guard case .array(let records)? = json["records"] else { Issue.record("no records"); return }
        #expect(records.count == 2)
        #expect(records[0]["key"] == .string("WO-54321"))
        #expect(records[1]["skipped"] != nil)
        #expect(json["context"]?["exportedAt"] == .string("2025-11-05T22:00:04.000Z"))
        let resolved = try cli.run("mapping", "preview", "--resolve", "--mapping", cli.layout.mappings + "/workorders-maximo.mapping.yaml", sample)
        #expect(resolved.stdout.contains("UNKNOWN_ASSET"), "the registry is empty, so the asset is unknown")
        #expect(try cli.scalar("SELECT COUNT(*) FROM batch") == "0")
    }

    @Test("reprocess runs a quarantined file again after a mapping fix; applied records are reported and ledgered")
    func reprocessAfterFix() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        // A CMMS that writes dates as dd.MM.yyyy: the shipped mapping rejects them.
        let json = try Fixtures.text("work-order-complete.json").replacingOccurrences(of: "2025-11-05", with: "05.11.2025")
        try cli.drop(json, as: "wo.json", source: "workorders")
        #expect(try cli.run("run", "--once", "--stability-window", "0").status == 1)
        #expect(try cli.scalar("SELECT COUNT(*) FROM work_order") == "0")
        #expect(cli.files(in: "Quarantine/workorders").count == 2, "the rejected record's extract and reason")
        // The admin fixes the mapping, then reprocesses the archived file.
        let mappingPath = cli.layout.mappings + "/workorders-json.mapping.yaml"
        try String(contentsOfFile: mappingPath, encoding: .utf8)
            .replacingOccurrences(of: "completionDate: { path: completionDate, required: true }", with: "completionDate: { path: completionDate, required: true, formats: [iso, dd.MM.yyyy] }")
            .write(toFile: mappingPath, atomically: true, encoding: .utf8)
        let archived = try #require(cli.files(in: "Archive/workorders").first)
        // A command that names a good file and a bad one refuses both, and leaves no copy behind.
        let refused = try cli.run("reprocess", "Archive/workorders/" + archived, "Archive/workorders/no-such-day/x.json")
        #expect(refused.status == 2)
        #expect(cli.files(in: "Inbox/workorders").isEmpty, "no copy left in .processing/ for the next run")
        // Killed inside its transaction, the reprocess is finished by the next run (not taken for a duplicate).
        let killed = try cli.run("reprocess", "Archive/workorders/" + archived, environment: ["DPPSYNC_CRASH_AT": "in-transaction"])
        #expect(killed.killed || killed.status != 0)
        #expect(try cli.scalar("SELECT COUNT(*) FROM work_order") == "0")
        // While no mapping takes it, the copy waits in .processing/ beside its note (in the inbox it would be a duplicate).
        try FileManager.default.moveItem(atPath: mappingPath, toPath: mappingPath + ".off")
        let held = try cli.run("run", "--once", "--stability-window", "0")
        #expect(held.stdout.contains("(a reprocess copy)") || held.stderr.contains("(a reprocess copy)"), "\(held.stdout)\(held.stderr)")
        #expect(cli.files(in: "Inbox/workorders").count == 2 && cli.files(in: "Inbox/workorders").allSatisfy { $0.hasPrefix(".processing/") },
                "\(cli.files(in: "Inbox/workorders"))")
        try FileManager.default.moveItem(atPath: mappingPath + ".off", toPath: mappingPath)
        let recovered = try cli.run("run", "--once", "--stability-window", "0")
        #expect(recovered.status == 0, "\(recovered.stdout)\(recovered.stderr)")
        #expect(try cli.scalar("SELECT completion_date FROM work_order") == "2025-11-05")
        #expect(cli.files(in: "Inbox/workorders").isEmpty, "the copy and its note moved on")
        #expect(cli.files(in: "Quarantine/workorders").isEmpty, "the record applied: its extract no longer asks for a correction")
        #expect(try cli.scalar("SELECT status FROM batch WHERE id = 2") == "interrupted")
        #expect(try cli.scalar("SELECT COUNT(*) FROM input_file WHERE reprocess_of IS NOT NULL") == "1")
        #expect(try cli.run("ledger", "verify").status == 0)
        // A second reprocess changes nothing more: its records are duplicates.
        let again = try cli.run("reprocess", "--batch", "3")
        #expect(again.stdout.contains("1 duplicate"), "\(again.stdout)")
        // The root named as an operator in it names it (the runs above named it by its absolute path): the
        // stored paths had not been under "." and every file was refused.
        let relative = try cli.run(from: cli.root, rootAs: ".", "reprocess", "--batch", "3")
        #expect(relative.status == 0 && relative.stdout.contains("1 duplicate"), "\(relative.stdout)\(relative.stderr)")
        let fromAbove = try cli.run(from: (cli.root as NSString).deletingLastPathComponent, rootAs: (cli.root as NSString).lastPathComponent + "/",
                                    "reprocess", "Archive/workorders/" + archived)
        #expect(fromAbove.status == 0, "\(fromAbove.stdout)\(fromAbove.stderr)")
        // A root reached through a link: its files are under it, whichever way they are named.
        let link = cli.root + "-link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: cli.root)
        let throughLink = try cli.run(from: "/", rootAs: link, "reprocess", "--batch", "3")
        #expect(throughLink.status == 0, "\(throughLink.stdout)\(throughLink.stderr)")
        #expect(try cli.run(from: "/", rootAs: link, "reprocess", link + "/Archive/workorders/" + archived).status == 0)
    }
}

@Suite("the README's worked mapping example")
struct WorkedExampleTests {
    @Test("prefixed namespace, ISO-8859-1, dd.MM.yyyy, CSV value table, XPath predicate, each + extract, when")
    func legacyExport() throws {
        let cli = try CLI.freshRoot()
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: repository.appendingPathComponent("README.md"), encoding: .utf8)
        // The mapping exactly as the README shows it.
        let start = try #require(readme.range(of: "```yaml\n# yaml-language-server: $schema=mapping.schema.json\nsource: workorders\nfiles: [\"legacy-*.xml\"]"))
        let body = readme[start.lowerBound...].dropFirst("```yaml\n".count)
        let mapping = String(body[..<(body.range(of: "```")?.lowerBound ?? body.endIndex)])
        try mapping.write(toFile: cli.layout.mappings + "/legacy.mapping.yaml", atomically: true, encoding: .utf8)
        try "from,to\nDONE,COMP\nCLOSED,CLOSE\nOPEN,INPRG\n".write(toFile: cli.layout.mappings + "/legacy-status.csv", atomically: true, encoding: .utf8)
        let xml = """
            <?xml version="1.0" encoding="ISO-8859-1"?>
            <w:EXPORT xmlns:w="urn:legacy:wo" exported="2025-11-06T01:00:00+01:00">
              <w:JOB><w:NO>0004711</w:NO><w:EQUIP>h2fc-0001</w:EQUIP><w:STATE>DONE</w:STATE><w:FINISHED>05.11.2025</w:FINISHED>
                <w:NOTE kind="remark">Kaffee verschüttet</w:NOTE><w:NOTE kind="finding">Dichtung geprüft, Ölspur entfernt</w:NOTE><w:RTS>Y</w:RTS>
                <w:PARTS><w:PART>AMP-SEAL-KIT-7:SK7-88812</w:PART></w:PARTS></w:JOB>
              <w:JOB><w:NO>4712</w:NO><w:EQUIP>H2TK-0002</w:EQUIP><w:STATE>OPEN</w:STATE></w:JOB>
            </w:EXPORT>
            """
        let input = cli.root + "/legacy-1.xml"
        try #require(xml.data(using: .isoLatin1)).write(to: URL(fileURLWithPath: input))
        let check = try cli.run("mapping", "check", cli.layout.mappings + "/legacy.mapping.yaml")
        #expect(check.status == 0, "\(check.stdout)")
        // Named bare from inside Mappings/, its value table is found beside it (it had been looked for at /legacy-status.csv).
        let bare = try cli.run(from: cli.layout.mappings, rootAs: "..", "mapping", "check", "legacy.mapping.yaml")
        #expect(bare.status == 0, "\(bare.stdout)\(bare.stderr)")
        let preview = try cli.run("mapping", "preview", "--mapping", cli.layout.mappings + "/legacy.mapping.yaml", input)
        #expect(preview.status == 0, "\(preview.stdout)\(preview.stderr)")
        let json = try JSONParser.parseDocument(Array(preview.stdout.utf8))
        guard case .array(let records)? = json["records"] else { Issue.record("no records"); return }
        let fields = records[0]["fields"]
        #expect(records[0]["key"] == .string("4711"))
        #expect(fields?["assetNum"] == .string("H2FC-0001"))
        #expect(fields?["completionDate"] == .string("2025-11-05"))
        #expect(fields?["status"] == .string("COMP"))
        #expect(fields?["findings"] == .string("Dichtung geprüft, Ölspur entfernt"))
        #expect(fields?["returnToService"] == .bool(true))
        #expect(fields?["partsUsed"]?.jsonText(sortedKeys: true) == #"[{"partNumber":"AMP-SEAL-KIT-7","serialNumber":"SK7-88812"}]"#)
        #expect(records[1]["skipped"] == .string("w:STATE is 'OPEN', not one of DONE, CLOSED"))

        // A record rejected (no FINISHED) is quarantined as an extract to correct and drop again: read under the
        // same mapping, it keeps its letters (its UTF-8 had been read as the mapping's ISO-8859-1).
        let unfinished = xml.replacingOccurrences(of: "<w:FINISHED>05.11.2025</w:FINISHED>", with: "")
        try #require(unfinished.data(using: .isoLatin1)).write(to: URL(fileURLWithPath: cli.layout.inbox("workorders") + "/legacy-2.xml"))
        _ = try cli.run("run", "--once", "--stability-window", "0")
        let extractName = try #require(cli.files(in: "Quarantine/workorders").first { $0.hasSuffix("-0.xml") }, "\(cli.files(in: "Quarantine"))")
        // (Edited as a text editor does, keeping its byte-order mark: Foundation's String(contentsOfFile:) drops it.)
        let extract = String(decoding: try Data(contentsOf: URL(fileURLWithPath: cli.root + "/Quarantine/workorders/" + extractName)), as: UTF8.self)
        #expect(extract.hasPrefix("\u{FEFF}<?xml version=\"1.0\" encoding=\"UTF-8\"?>"))
        let corrected = cli.root + "/legacy-2-corrected.xml"
        try Data(extract.replacingOccurrences(of: "<w:STATE>DONE</w:STATE>", with: "<w:STATE>DONE</w:STATE><w:FINISHED>05.11.2025</w:FINISHED>").utf8)
            .write(to: URL(fileURLWithPath: corrected))
        // Dropped back, an extract is read under the mapping that takes its file's name now, not the Maximo mapping's
        // *.xml, which its own name matches (it had been archived with no records, the correction lost). Renamed
        // after its index too; with no mapping for its file's name, it waits, saying why.
        let renamed = extractName.replacingOccurrences(of: ".xml", with: "-fixed.xml")
        let maximo = cli.layout.mappings + "/workorders-maximo.mapping.yaml"
        try FileManager.default.moveItem(atPath: cli.layout.mappings + "/legacy.mapping.yaml", toPath: cli.root + "/legacy.mapping.yaml")
        try FileManager.default.moveItem(atPath: maximo, toPath: cli.root + "/maximo.yaml")
        try FileManager.default.copyItem(atPath: corrected, toPath: cli.layout.inbox("workorders") + "/" + renamed)
        let waits = try cli.run("run", "--once", "--stability-window", "0")
        #expect((waits.stdout + waits.stderr).contains("\(renamed) is an extract of legacy-2.xml, and no mapping in Mappings/ takes legacy-2.xml from source 'workorders'"),
                "\(waits.stdout)\(waits.stderr)")
        #expect(cli.files(in: "Inbox/workorders") == [renamed])
        try FileManager.default.moveItem(atPath: cli.root + "/legacy.mapping.yaml", toPath: cli.layout.mappings + "/legacy-v2.mapping.yaml")
        try FileManager.default.moveItem(atPath: cli.root + "/maximo.yaml", toPath: maximo)
        _ = try cli.run("run", "--once", "--stability-window", "0")
        #expect(try cli.query("SELECT mapping_name, record_count FROM input_file WHERE name = '\(renamed)'") == [["legacy-v2.mapping.yaml", "1"]])
        try FileManager.default.moveItem(atPath: cli.layout.mappings + "/legacy-v2.mapping.yaml", toPath: cli.layout.mappings + "/legacy.mapping.yaml")
        // The same bytes first under a name the Maximo mapping takes (no records), then under the legacy name (a
        // duplicate), reprocessed under the latter: the extract that reprocess writes goes by the latter (the oldest
        // name of the bytes had been taken, and the correction archived with no records).
        let ninth = unfinished.replacingOccurrences(of: "0004711", with: "0009711").replacingOccurrences(of: "4712", with: "9712")
        for name in ["export-9.xml", "legacy-9.xml"] {
            try #require(ninth.data(using: .isoLatin1)).write(to: URL(fileURLWithPath: cli.layout.inbox("workorders") + "/" + name))
            _ = try cli.run("run", "--once", "--stability-window", "0")
        }
        let duplicate = try #require(cli.files(in: "Archive/workorders").first { $0.hasSuffix("/legacy-9.xml") })
        _ = try cli.run("reprocess", "Archive/workorders/" + duplicate)
        let before = Set(cli.files(in: "Quarantine/workorders"))
        let ninthExtract = try #require(before.first { $0.hasSuffix("-0.xml") && !$0.hasPrefix(extractName.prefix(12)) }, "\(before)")
        let ninthText = String(decoding: try Data(contentsOf: URL(fileURLWithPath: cli.root + "/Quarantine/workorders/" + ninthExtract)), as: UTF8.self)
        try Data(ninthText.replacingOccurrences(of: "<w:STATE>DONE</w:STATE>", with: "<w:STATE>DONE</w:STATE><w:FINISHED>05.11.2025</w:FINISHED>").utf8)
            .write(to: URL(fileURLWithPath: cli.layout.inbox("workorders") + "/" + ninthExtract))
        _ = try cli.run("run", "--once", "--stability-window", "0")
        #expect(try cli.query("SELECT mapping_name, record_count FROM input_file WHERE name = '\(ninthExtract)'") == [["legacy.mapping.yaml", "1"]])

        let again = try cli.run("mapping", "preview", "--mapping", cli.layout.mappings + "/legacy.mapping.yaml", corrected)
        let fixed = try JSONParser.parseDocument(Array(again.stdout.utf8))
        guard case .array(let correctedRecords)? = fixed["records"] else { Issue.record("no records: \(again.stdout)\(again.stderr)"); return }
        #expect(correctedRecords[0]["fields"]?["findings"] == .string("Dichtung geprüft, Ölspur entfernt"), "\(again.stdout)")
    }
}
