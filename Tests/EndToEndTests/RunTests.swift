import DPPSync
import Foundation
import Testing

@Suite("run: intake, records, exactly once")
struct RunTests {
    @Test("the reference files apply; dropped again under other names they are duplicates that change nothing")
    func samplesThenDuplicates() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.dropFixture("work-order-complete.json", source: "workorders")
        let first = try cli.run("run", "--once", "--stability-window", "0")
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(first.stdout.contains("4 applied"))
        // Each file's WAL was copied into the database (on the second core); the pass kept
        // the WAL file for the next run to write over: it does not grow from night to night.
        func walSize() -> Int { (try? FileManager.default.attributesOfItem(atPath: cli.root + "/State/dppsync.sqlite-wal")[.size] as? Int) ?? 0 }
        let wal = walSize()
        #expect(try cli.scalar("SELECT COUNT(*) FROM asset") == "3")
        #expect(try cli.scalar("SELECT status FROM asset WHERE dpp_id = 'DPP-PART-123'") == "INSTALLED")
        #expect(try cli.scalar("SELECT parent_dpp_id FROM asset WHERE dpp_id = 'DPP-PART-123'") == "DPP-H2-001")
        #expect(try cli.scalar("SELECT reason FROM record_outcome WHERE record_key = 'WO-54321'") == "NO_CERTIFYING_STAFF")
        let entries = try cli.scalar("SELECT COUNT(*) FROM ledger_entry")
        #expect(try cli.scalar("SELECT COUNT(*) FROM ledger_entry WHERE kind NOT LIKE 'outbox.%'") == "4")

        try cli.dropFixture("dpp-registry.json", source: "registry", as: "registry-copy.json")
        try cli.dropFixture("work-order-complete.json", source: "workorders")
        let second = try cli.run("run", "--once", "--stability-window", "0")
        #expect(second.status == 0)
        #expect(second.stdout.contains("DUPLICATE_FILE"))
        #expect(second.stdout.contains("2 duplicate"))
        #expect(walSize() <= wal)
        #expect(try cli.scalar("SELECT COUNT(*) FROM ledger_entry") == entries)
        // Both copies are archived, none overwritten: the second wo file got a suffix.
        let archived = cli.files(in: "Archive")
        #expect(archived.filter { $0.hasSuffix("work-order-complete.json") }.count == 1)
        #expect(archived.filter { $0.hasSuffix("work-order-complete-1.json") }.count == 1)
        #expect(archived.filter { $0.hasSuffix("registry-copy.json") }.count == 1)
        #expect(cli.files(in: "Inbox").filter { !$0.hasSuffix(".gitkeep") }.isEmpty)
        // Each batch has its report.
        #expect(cli.files(in: "Reports/reconciliation") == ["batch-1.csv", "batch-1.html", "batch-1.json", "batch-2.csv", "batch-2.html", "batch-2.json"])
    }

    @Test("a malformed file is quarantined whole with an actionable reason; the good file next to it applies")
    func malformedNextToGood() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.dropFixture("malformed.json", source: "workorders")
        try cli.dropFixture("work-order-complete.json", source: "workorders")
        let result = try cli.run("run", "--once", "--stability-window", "0")
        #expect(result.status == 1, "a quarantined file needs attention")
        #expect(cli.files(in: "Quarantine/workorders") == ["malformed.json", "malformed.json.reason.json"])
        let reason = try JSONParser.parseDocument(Array(try String(contentsOfFile: cli.root + "/Quarantine/workorders/malformed.json.reason.json", encoding: .utf8).utf8))
        #expect(reason["code"] == .string("NOT_PARSEABLE"))
        guard case .string(let message)? = reason["message"] else { Issue.record("no message"); return }
        #expect(message.contains("line 2"), "\(message)")
        #expect(try cli.scalar("SELECT COUNT(*) FROM work_order") == "1")
        #expect(cli.files(in: "Archive/workorders").count == 1)
    }

    /// Names made from a file's name (its reason, its archived copy beside one of the same name, a temporary)
    /// had been too long for the file system: the run stopped at that file, and every later run at it again.
    @Test("files whose names are as long as the file system allows are quarantined or archived like any other, under names it takes")
    func longFileNames() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        #expect(try ReconciliationTests.run(cli).status == 0)
        let broken = String(repeating: "b", count: 250) + ".json", long = String(repeating: "w", count: 250) + ".json"
        try cli.drop("{\"broken\": ", as: broken, source: "workorders")
        try cli.dropFixture("work-order-complete.json", source: "workorders", as: long)
        #expect(try ReconciliationTests.run(cli).status == 1, "the broken one needs attention")
        // The same name again, other bytes, the same day: its archived copy needs another name, as long.
        try cli.drop(try Fixtures.text("work-order-complete.json").replacingOccurrences(of: "WO-54321", with: "WO-54322"), as: long, source: "workorders")
        try cli.dropFixture("work-order-complete.json", source: "workorders", as: "next.json")
        #expect(try ReconciliationTests.run(cli).status == 0)
        #expect(cli.files(in: "Inbox/workorders").isEmpty, "nothing stuck in .processing/")
        let quarantined = cli.files(in: "Quarantine/workorders")
        #expect(quarantined.count == 2 && quarantined.allSatisfy { $0.utf8.count <= 255 && $0.hasPrefix("bbbb") }, "\(quarantined)")
        #expect(quarantined.contains { $0.hasSuffix(".json.reason.json") })
        let archived = cli.files(in: "Archive/workorders").map { ($0 as NSString).lastPathComponent }
        #expect(archived.count == 3 && archived.contains(long) && archived.contains { $0 != long && $0.hasPrefix("wwww") && $0.utf8.count <= 255 }, "\(archived)")
        #expect(try cli.scalar("SELECT COUNT(*) FROM work_order WHERE work_order_id IN ('WO-54321', 'WO-54322')") == "2")
        #expect(try cli.scalar("SELECT COUNT(*) FROM input_file WHERE stored_path IS NULL") == "0")
    }

    /// A link had been followed (another account's file copied into the quarantine and the reports), and a
    /// named pipe renamed over a claimed file had blocked the run at its open.
    @Test("a symbolic link or a named pipe in an inbox is quarantined as it is, never opened; a folder is left alone")
    func entriesThatAreNotFiles() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        #expect(try ReconciliationTests.run(cli).status == 0)
        let secret = cli.root + "/../secret-" + UUID().uuidString + ".json"
        try Fixtures.text("work-order-complete.json").replacingOccurrences(of: "No issues", with: "SECRET-CONTENT").write(toFile: secret, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: secret) }
        let inbox = cli.layout.inbox("workorders")
        try FileManager.default.createSymbolicLink(atPath: inbox + "/linked.json", withDestinationPath: secret)
        #expect(mkfifo(inbox + "/pipe.json", 0o644) == 0)
        try FileManager.default.createDirectory(atPath: inbox + "/folder.json", withIntermediateDirectories: false)
        try cli.dropFixture("work-order-complete.json", source: "workorders")
        let result = try ReconciliationTests.run(cli)
        #expect(result.status == 1, "two entries need someone")
        #expect(result.stdout.contains("a symbolic link, not a file") && result.stdout.contains("a named pipe, not a file"), "\(result.stdout)")
        let quarantine = cli.root + "/Quarantine/workorders/"
        #expect(FileSystem.specialKind(of: quarantine + "linked.json") == .symbolicLink && FileSystem.specialKind(of: quarantine + "pipe.json") == .namedPipe)
        #expect(FileSystem.exists(quarantine + "linked.json.reason.json") && FileSystem.exists(quarantine + "pipe.json.reason.json"))
        for folder in ["Quarantine", "Reports", "Archive"] {
            let found = try FileManager.default.subpathsOfDirectory(atPath: cli.root + "/" + folder).filter { path in
                FileSystem.specialKind(of: cli.root + "/" + folder + "/" + path) == nil
                    && ((try? String(contentsOfFile: cli.root + "/" + folder + "/" + path, encoding: .utf8)) ?? "").contains("SECRET-CONTENT")
            }
            #expect(found.isEmpty, "the linked file was read: \(found)")
        }
        #expect(try cli.scalar("SELECT findings FROM work_order") == "No issues")
        #expect(FileSystem.isDirectory(inbox + "/folder.json"), "a folder is nobody's file: left where it is")
        // Nor is a quarantined link read by a reprocess, even one that points at an archived file in the root
        // (its path had been resolved through the link); a reprocess of the batch takes its files only.
        let archived = try #require(cli.files(in: "Archive/workorders").first)
        try FileManager.default.createSymbolicLink(atPath: quarantine + "inside.json", withDestinationPath: cli.root + "/Archive/workorders/" + archived)
        let throughLink = try cli.run(from: cli.root, rootAs: ".", "reprocess", "Quarantine/workorders/inside.json")
        #expect(throughLink.status == 2 && throughLink.stderr.contains("is a symbolic link, which dppsync never reads"), "\(throughLink.stderr)")
        let batch = try #require(try cli.scalar("SELECT batch_id FROM input_file WHERE name = 'linked.json'"))
        let again = try cli.run("reprocess", "--batch", batch)
        #expect(again.status == 0 && again.stdout.contains("1 duplicate"), "\(again.stdout)\(again.stderr)")
        #expect(try ReconciliationTests.run(cli).status == 0, "nothing left to take")
    }

    @Test("a file whose name is not UTF-8 cannot be taken: the run says so, rather than leaving it to wait unseen")
    func namesThatAreNotUTF8() throws {
        let cli = try CLI.freshRoot()
        let path = Array(cli.layout.inbox("workorders").utf8) + Array("/export-".utf8) + [0xFF] + Array(".json".utf8)
        let fd = path.map { CChar(bitPattern: $0) }.withUnsafeBufferPointer { open(Array($0) + [0], O_CREAT | O_WRONLY, 0o644) }
        #expect(fd >= 0)
        close(fd)
        let result = try ReconciliationTests.run(cli)
        #expect(result.status == 1 && result.stdout.contains("1 file(s) in Inbox/workorders/ have names that are not UTF-8"), "\(result.stdout)")
        // `status` says why it waits, as the run does (it had been counted as waiting, with no why).
        let status = try cli.run("status")
        #expect(status.stdout.contains("HELD: 1 file(s) in Inbox/workorders/ have names that are not UTF-8"), "\(status.stdout)")
    }

    /// An inbox folder linked to another file system (a CMMS share): the move to Archive/ had failed with
    /// EXDEV on every pass, and the file stayed in .processing/, committed but never archived.
    @Test("an inbox on another file system: files are archived and quarantined by a copy, and leave the inbox",
          .enabled(if: FileSystem.isDirectory("/dev/shm"), "needs a second file system: /dev/shm"))
    func inboxOnAnotherFileSystem() throws {
        let cli = try CLI.freshRoot()
        let share = "/dev/shm/dppsync-share-" + UUID().uuidString
        var here = stat(), there = stat()
        try FileManager.default.createDirectory(atPath: share, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: share) }
        // (/dev/shm is a tmpfs of its own on Linux; where it is not, there is nothing to test.)
        guard stat(cli.root, &here) == 0, stat(share, &there) == 0, here.st_dev != there.st_dev else { return }
        try FileManager.default.removeItem(atPath: cli.layout.inbox("workorders"))
        try FileManager.default.createSymbolicLink(atPath: cli.layout.inbox("workorders"), withDestinationPath: share)
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.dropFixture("work-order-complete.json", source: "workorders")
        try cli.dropFixture("malformed.json", source: "workorders")
        #expect(mkfifo(share + "/a-pipe.json", 0o644) == 0, "a pipe, which only moves by being made again")
        #expect(try ReconciliationTests.run(cli).status == 1, "the malformed one and the pipe need someone")
        #expect(try cli.scalar("SELECT COUNT(*) FROM work_order") == "1")
        #expect(cli.files(in: "Archive/workorders").count == 1 && cli.files(in: "Quarantine/workorders").count == 4)
        #expect(FileSystem.specialKind(of: cli.root + "/Quarantine/workorders/a-pipe.json") == .namedPipe)
        #expect(((try? FileManager.default.subpathsOfDirectory(atPath: share)) ?? ["?"]).filter { !$0.hasPrefix(".processing") }.isEmpty,
                "nothing left on the share: \((try? FileManager.default.subpathsOfDirectory(atPath: share)) ?? [])")
        #expect(try cli.scalar("SELECT COUNT(*) FROM input_file WHERE stored_path IS NULL") == "0")
        // The share gone: the source failed (no local folder made in the link's place, which the CMMS would never see).
        try FileManager.default.removeItem(atPath: share)
        let gone = try ReconciliationTests.run(cli)
        #expect(gone.status == 3 && gone.stdout.contains("failed: workorders") && gone.stdout.contains("links to a folder that is not there"), "\(gone.stdout)")
        #expect(FileSystem.specialKind(of: cli.layout.inbox("workorders")) == .symbolicLink)
    }

    @Test("a source's inbox folder removed is made again; a file in its place holds the source with why")
    func inboxFolderGone() throws {
        let cli = try CLI.freshRoot()
        let folder = cli.layout.inbox("workorders")
        try FileManager.default.removeItem(atPath: folder)
        #expect(try ReconciliationTests.run(cli).status == 0)
        #expect(FileSystem.isDirectory(folder), "made again for the CMMS to drop into")
        try FileManager.default.removeItem(atPath: folder)
        try "x".write(toFile: folder, atomically: true, encoding: .utf8)
        let held = try ReconciliationTests.run(cli)
        #expect(held.status == 1 && held.stdout.contains("Inbox/workorders is not a folder"), "\(held.stdout)")
        let status = try cli.run("status")
        #expect(status.stdout.contains("HELD: Inbox/workorders is not a folder"), "\(status.stdout)")
        // A link to that file is no folder either, and no share that is gone ("links to a folder that is not there").
        try FileManager.default.moveItem(atPath: folder, toPath: folder + "-file")
        try FileManager.default.createSymbolicLink(atPath: folder, withDestinationPath: folder + "-file")
        let linked = try ReconciliationTests.run(cli)
        #expect(linked.status == 1 && linked.stdout.contains("Inbox/workorders is not a folder"), "\(linked.stdout)")
        #expect(try cli.run("status").stdout.contains("HELD: Inbox/workorders is not a folder"))
    }

    @Test("a YAML file whose aliases would expand to a billion values is quarantined, and one that uses an alias plainly applies")
    func yamlAliasExpansion() throws {
        let cli = try CLI.freshRoot()
        // Nine levels of ten aliases each: 10^9 values once expanded, from ~700 bytes.
        var laughs = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for level in 1...9 {
            laughs += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        try cli.drop(laughs + "tasks: *a9\n", as: "a-laughs.yaml", source: "programme")
        try cli.drop("""
            common: &leak { days: 180 }
            tasks:
              - { taskId: LH2-LEAK-01, partNumber: AMP-LH2-TANK-A, maintenanceType: Leak Test, interval: *leak, estimatedDuration: 6 hours }
            """, as: "b-programme.yaml", source: "programme")
        #expect(try cli.run("run", "--once", "--stability-window", "0").status == 1)
        let reason = try String(contentsOfFile: cli.root + "/Quarantine/programme/a-laughs.yaml.reason.json", encoding: .utf8)
        #expect(reason.contains("aliases expand to more than"), "\(reason)")
        #expect(try cli.scalar("SELECT interval_days FROM maintenance_task WHERE task_id = 'LH2-LEAK-01'") == "180")
    }

    @Test("YAML scalars keep their text unless they are null, true/false or a JSON number: ON, NO and 007 are not a boolean or 7")
    func yamlScalarsKeepTheirText() throws {
        let cli = try CLI.freshRoot()
        try cli.drop("""
            tasks:
              - { taskId: T-1, partNumber: PN-1, maintenanceType: ON, estimatedDuration: 007, interval: { days: 90, flightHours: 600.5 },
                  requires: { licenceCategory: NO, authorisation: .inf } }
            """, as: "programme.yaml", source: "programme")
        #expect(try cli.run("run", "--once", "--stability-window", "0").status == 0)
        #expect(try cli.query("SELECT maintenance_type, estimated_duration, required_category, required_authorisation, interval_days, interval_flight_hours FROM maintenance_task")
                == [["ON", "007", "NO", ".inf", "90", "600.5"]])
    }

    @Test("YAML merge keys give a mapping the keys it does not set itself, the first base winning")
    func yamlMergeKeys() throws {
        let cli = try CLI.freshRoot()
        try cli.drop("""
            leak: &leak { licenceCategory: B1, authorisation: H2-PROPULSION }
            wide: &wide { licenceCategory: B2, releaseCertificate: EASA Form 1 }
            tasks:
              - { taskId: T-1, partNumber: PN-1, interval: { days: 90 }, requires: { <<: [*leak, *wide] } }
              - { taskId: T-2, partNumber: PN-1, interval: { days: 90 }, requires: { <<: *leak, authorisation: FUEL-CELL } }
            """, as: "programme.yaml", source: "programme")
        #expect(try cli.run("run", "--once", "--stability-window", "0").status == 0)
        #expect(try cli.query("SELECT task_id, required_category, required_authorisation, release_certificate FROM maintenance_task ORDER BY task_id")
                == [["T-1", "B1", "H2-PROPULSION", "EASA Form 1"], ["T-2", "B1", "FUEL-CELL", nil]])
    }

    @Test("a YAML file that repeats a key is quarantined naming the key and its line, not with the whole file as the message")
    func yamlDuplicateKey() throws {
        let cli = try CLI.freshRoot()
        let filler = String(repeating: "x", count: 5_000)
        try cli.drop("note: \(filler)\ntasks:\n  - taskId: T-1\n    partNumber: PN-1\n    taskId: T-2\n", as: "programme.yaml", source: "programme")
        #expect(try cli.run("run", "--once", "--stability-window", "0").status == 1)
        let reason = try String(contentsOfFile: cli.root + "/Quarantine/programme/programme.yaml.reason.json", encoding: .utf8)
        #expect(reason.contains("repeats the key 'taskId'") && reason.contains("\"line\": 3"), "\(reason)")
        #expect(!reason.contains(filler), "the file's text is not the message")
        try "source: programme\nsource: registry\n".write(toFile: cli.layout.mappings + "/twice.mapping.yaml", atomically: true, encoding: .utf8)
        let check = try cli.run("mapping", "check", cli.layout.mappings + "/twice.mapping.yaml")
        #expect(check.stdout.contains("twice.mapping.yaml:2:1: error: YAML syntax: a mapping repeats the key 'source' (first at line 1)"), "the repeat, to remove: \(check.stdout)")
    }

    @Test("UTF-16 JSON with a byte-order mark applies; one cut short by a byte is quarantined, not read without its last byte")
    func utf16() throws {
        let cli = try CLI.freshRoot()
        let text = #"{"exportedAt": "2025-11-01T02:00:00Z", "assets": [{"dppId": "DPP-U16", "description": "Dichtungssatz für Ü", "status": "IN_SERVICE"}]}"#
        let littleEndian: [UInt8] = [0xFF, 0xFE] + text.utf16.flatMap { unit -> [UInt8] in [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
        let folder = cli.layout.inbox("registry")
        try Data(littleEndian).write(to: URL(fileURLWithPath: folder + "/a-whole.json"))
        try Data(littleEndian.dropLast()).write(to: URL(fileURLWithPath: folder + "/b-cut.json"))
        #expect(try cli.run("run", "--once", "--stability-window", "0").status == 1)
        #expect(try cli.scalar("SELECT description FROM asset WHERE dpp_id = 'DPP-U16'") == "Dichtungssatz für Ü")
        let reason = try String(contentsOfFile: cli.root + "/Quarantine/registry/b-cut.json.reason.json", encoding: .utf8)
        #expect(reason.contains("odd number of bytes"), "\(reason)")
    }

    @Test("a file the run cannot read is quarantined with why, and the next files and runs go on")
    func unreadableFile() throws {
        let cli = try CLI.freshRoot()
        try cli.drop(try Fixtures.text("dpp-registry.json"), as: "a-locked.json", source: "registry")
        chmod(cli.layout.inbox("registry") + "/a-locked.json", 0)
        try cli.dropFixture("work-order-complete.json", source: "workorders")
        // Root reads any file: the run goes without the capabilities that let it (setpriv, util-linux).
        func run() throws -> CLI.Result {
            guard getuid() == 0 else { return try cli.run("run", "--once", "--stability-window", "0") }
            let drop = ["--bounding-set", "-dac_override,-dac_read_search", "--inh-caps", "-dac_override,-dac_read_search"]
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = drop + [CLI.binary, "run", "--once", "--stability-window", "0", "--root", cli.root]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            return CLI.Result(status: process.terminationStatus, killed: false, stdout: "", stderr: "")
        }
        #expect(try run().status == 1)
        let reason = try String(contentsOfFile: cli.root + "/Quarantine/registry/a-locked.json.reason.json", encoding: .utf8)
        #expect(reason.contains("NOT_PARSEABLE") && reason.contains("cannot be read"), "\(reason)")
        #expect(try cli.scalar("SELECT COUNT(*) FROM record_outcome WHERE record_key = 'WO-54321'") == "1", "the next source ran")
        #expect(try cli.scalar("SELECT COUNT(*) FROM batch WHERE status = 'running'") == "0")
        #expect(try run().status == 0, "nothing left to stop the next run")
    }

    @Test("JSON Lines: a broken line and an invalid field are rejected with re-droppable extracts; the other lines apply")
    func jsonLinesRecordsAreIndependent() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.dropFixture("completions.jsonl", source: "workorders")
        let result = try cli.run("run", "--once", "--stability-window", "0")
        #expect(result.status == 1)
        #expect(try cli.scalar("SELECT group_concat(work_order_id) FROM (SELECT work_order_id FROM work_order ORDER BY 1)") == "WO-70001,WO-70002,WO-70005")
        let rejected = try cli.query("SELECT record_index, line, reason, message FROM record_outcome WHERE outcome = 'rejected' ORDER BY record_index")
        #expect(rejected.map { $0[2] } == ["INVALID_FIELD", "NOT_PARSEABLE"])
        #expect(rejected[0][3]?.contains("completionDate") == true)
        #expect(rejected[0][3]?.contains("not a date") == true)
        #expect(rejected[1][1] == "4")
        let quarantine = cli.files(in: "Quarantine/workorders")
        #expect(quarantine.count == 4, "\(quarantine)")
        // An extract corrected and dropped back applies.
        let extract = try #require(quarantine.first { $0.hasSuffix("-2.jsonl") })
        let text = try String(contentsOfFile: cli.root + "/Quarantine/workorders/" + extract, encoding: .utf8)
        try cli.drop(text.replacingOccurrences(of: "not a date", with: "2025-11-11"), as: "fixed.jsonl", source: "workorders")
        let rerun = try cli.run("run", "--once", "--stability-window", "0")
        #expect(rerun.status == 0, "\(rerun.stdout)")
        #expect(try cli.scalar("SELECT completion_date FROM work_order WHERE work_order_id = 'WO-70003'") == "2025-11-11")
        // The correction is linked to the rejected record by source and key, not by file name.
        let link = try cli.query("SELECT o.message, r.record_index, f.name FROM record_outcome o JOIN record_outcome r ON r.id = o.corrects JOIN input_file f ON f.id = r.file_id WHERE o.record_key = 'WO-70003' AND o.outcome = 'applied'")
        #expect(link.first?[1] == "2" && link.first?[2] == "completions.jsonl")
        #expect(link.first?[0]?.hasPrefix("corrects record 2 of completions.jsonl (batch 1, rejected INVALID_FIELD)") == true)
    }

    /// The feed holds thousands of records: an extract over 8 KB is made again after the file instead.
    @Test("an invalid record too large to hold until the file's end is extracted after it, whole")
    func largeRejectedRecord() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        let findings = String(repeating: "seal worn ", count: 2_000)
        let line = #"{"dppId": "DPP-H2-002", "workOrderId": "WO-70003", "completionDate": "not a date", "findings": "\#(findings)"}"#
        try cli.drop(line + "\n", as: "large.jsonl", source: "workorders")
        #expect(try cli.run("run", "--once", "--stability-window", "0").status == 1)
        let extract = try #require(cli.files(in: "Quarantine/workorders").first { $0.hasSuffix("-0.jsonl") })
        let text = try String(contentsOfFile: cli.root + "/Quarantine/workorders/" + extract, encoding: .utf8)
        #expect(text.utf8.count > 8 << 10, "more than the feed holds")
        #expect(try JSONParser.parseDocument(Array(text.utf8))["findings"] == .string(findings), "\(text.prefix(200))")
    }

    /// A root that ran the reference completions (two of them rejected), and its workorders quarantine folder.
    static func rejectedCompletions(_ name: String = #function) throws -> (CLI, folder: String) {
        let cli = try CLI.freshRoot(name)
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.dropFixture("completions.jsonl", source: "workorders")
        _ = try cli.run("run", "--once", "--stability-window", "0")
        return (cli, cli.root + "/Quarantine/workorders/")
    }

    /// A reprocess of the same bytes writes its rejected records under the names the first run's have;
    /// failing, it removes only what it made: the first run's files belong to its committed outcomes.
    @Test("a reprocess that fails keeps the quarantine files of the run it reprocesses")
    func failedReprocessKeepsTheFirstRunsFiles() throws {
        let (cli, folder) = try Self.rejectedCompletions()
        let first = cli.files(in: "Quarantine/workorders").sorted()
        #expect(first.count == 4)
        // Record 3's reason cannot be written again (a folder in its way): the reprocess fails after record 2's.
        let blocked = try #require(first.first { $0.hasSuffix("-3.jsonl.reason.json") })
        try FileManager.default.removeItem(atPath: folder + blocked)
        try FileManager.default.createDirectory(atPath: folder + blocked, withIntermediateDirectories: false)
        let archived = try #require(cli.files(in: "Archive/workorders").first)
        let reprocess = try cli.run("reprocess", cli.root + "/Archive/workorders/" + archived)
        #expect(reprocess.status != 0)
        #expect(first.filter { !$0.contains("-3.") }.allSatisfy { FileSystem.exists(folder + $0) }, "\(cli.files(in: "Quarantine/workorders"))")
    }

    /// Written over by a reprocess that then fails, or is killed before its commit, the files of the
    /// committed decision had shown the failed attempt's mapping and time.
    @Test("a reprocess that fails, or is killed and then fails, leaves the committed run's quarantine files as they were; one that commits replaces them")
    func reprocessWritesOverOnlyOnCommit() throws {
        let (cli, folder) = try Self.rejectedCompletions()
        func contents() throws -> [String: String] {
            try Dictionary(uniqueKeysWithValues: cli.files(in: "Quarantine/workorders").map { ($0, try String(contentsOfFile: folder + $0, encoding: .utf8)) })
        }
        let committed = try contents()
        #expect(committed.count == 4)
        let blocked = try #require(committed.keys.first { $0.hasSuffix("-3.jsonl.reason.json") })
        let kept = try #require(committed.keys.first { $0.hasSuffix(".reason.json") && $0 != blocked })
        let archived = cli.root + "/Archive/workorders/" + (try #require(cli.files(in: "Archive/workorders").first))
        func backups() -> [String] { FileSystem.hiddenEntries(of: folder).filter { $0.hasPrefix(".kept-") } }

        // Killed inside its transaction, with every file written over; then, taken again, it fails.
        let killed = try cli.run("reprocess", archived, environment: ["DPPSYNC_CRASH_AT": "in-transaction"])
        #expect(killed.killed)
        try FileManager.default.removeItem(atPath: folder + blocked)
        try FileManager.default.createDirectory(atPath: folder + blocked, withIntermediateDirectories: false)
        #expect(try cli.run("run", "--once", "--stability-window", "0").status == 3, "the run failed: a folder where a file must go")
        #expect(try String(contentsOfFile: folder + kept, encoding: .utf8) == committed[kept], "the committed decision's reason")
        // Only what could not go back (the folder in its way) waits aside.
        #expect(backups().count == 1 && FileSystem.entries(of: folder + (backups().first ?? "-")) == [blocked], "\(backups())")

        // Once it can commit, its files replace them.
        try FileManager.default.removeItem(atPath: folder + blocked)
        #expect(try cli.run("reprocess", archived).status == 1, "rejected records need attention")
        let replaced = try contents()
        #expect(replaced.keys.sorted() == committed.keys.sorted())
        #expect(replaced[kept] != committed[kept], "decided again, at another time")
        #expect(backups().isEmpty)
    }

    @Test("a completion for an unknown asset is held, then applied when the registry names it")
    func heldUntilReferenceArrives() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("unknown-asset-wo.json", source: "workorders")
        let first = try cli.run("run", "--once", "--stability-window", "0")
        #expect(first.status == 1, "a held record needs attention")
        #expect(try cli.scalar("SELECT reason FROM review_item WHERE status = 'open'") == "UNKNOWN_ASSET")
        #expect(try cli.scalar("SELECT COUNT(*) FROM work_order") == "0")

        try cli.dropFixture("registry-late.json", source: "registry")
        let second = try cli.run("run", "--once", "--stability-window", "0")
        #expect(second.status == 0, "\(second.stdout)")
        #expect(try cli.scalar("SELECT status FROM review_item") == "redecided")
        #expect(try cli.scalar("SELECT dpp_id FROM work_order WHERE work_order_id = 'WO-60001'") == "DPP-H2-900")
        #expect(try cli.scalar("SELECT status FROM asset WHERE dpp_id = 'DPP-H2-900'") == "IN_SERVICE")
        #expect(try cli.scalar("SELECT message FROM record_outcome WHERE batch_id = 2 AND record_key = 'WO-60001'")?.hasPrefix("re-decided") == true)
    }

    @Test("policy can reject unknown assets instead of holding them")
    func policyRejectsUnknownAssets() throws {
        let cli = try CLI.freshRoot()
        try "policies:\n  UNKNOWN_ASSET: rejected\n".write(toFile: cli.layout.configFile, atomically: true, encoding: .utf8)
        try cli.dropFixture("unknown-asset-wo.json", source: "workorders")
        let result = try cli.run("run", "--once", "--stability-window", "0")
        #expect(result.status == 1)
        #expect(try cli.scalar("SELECT outcome || ' ' || reason FROM record_outcome") == "rejected UNKNOWN_ASSET")
        #expect(try cli.scalar("SELECT COUNT(*) FROM review_item") == "0")
        #expect(cli.files(in: "Quarantine/workorders").count == 2)
    }

    @Test("a second run on the same root exits 2 and names the process holding the lock")
    func oneRunPerRoot() throws {
        let cli = try CLI.freshRoot()
        let lock = try RunLock(path: cli.layout.lockFile)
        let result = try cli.run("run", "--once", "--stability-window", "0")
        #expect(result.status == 2)
        #expect(result.stderr.contains("process \(getpid())"))
        withExtendedLifetime(lock) {}
    }

    @Test("--once observes a file met for the first time again after the window, then takes it")
    func stabilityWindowUnderOnce() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        // An old mtime (a copied file) does not make a file stable: dppsync's own observations do.
        _ = utimes(cli.layout.inbox("registry") + "/dpp-registry.json", [timeval(tv_sec: 1_000_000_000, tv_usec: 0), timeval(tv_sec: 1_000_000_000, tv_usec: 0)])
        let result = try cli.run("run", "--once", "--stability-window", "1")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try cli.scalar("SELECT COUNT(*) FROM asset") == "3")
        #expect(try cli.scalar("SELECT COUNT(*) FROM batch") == "1", "the first pass took nothing, so it is not a batch")
    }

    @Test("a source with markers takes a file only with its .done marker, and archives the marker with it")
    func markers() throws {
        let cli = try CLI.freshRoot()
        try "sources:\n  registry:\n    markers: true\n".write(toFile: cli.layout.configFile, atomically: true, encoding: .utf8)
        try cli.dropFixture("dpp-registry.json", source: "registry")
        let waiting = try cli.run("run", "--once", "--stability-window", "0")
        #expect(waiting.status == 0)
        #expect(waiting.stdout.contains("awaiting a .done marker"))
        #expect(try cli.scalar("SELECT COUNT(*) FROM asset") == "0")
        try cli.drop("", as: "dpp-registry.json.done", source: "registry")
        let taken = try cli.run("run", "--once", "--stability-window", "0")
        #expect(taken.status == 0)
        #expect(try cli.scalar("SELECT COUNT(*) FROM asset") == "3")
        #expect(cli.files(in: "Archive/registry").map { ($0 as NSString).lastPathComponent } == ["dpp-registry.json", "dpp-registry.json.done"])
    }

    @Test("a marker claimed without its file (a run stopped between the two renames) goes back, and the file is taken with it")
    func markerClaimedAlone() throws {
        let cli = try CLI.freshRoot()
        try "sources:\n  registry:\n    markers: true\n".write(toFile: cli.layout.configFile, atomically: true, encoding: .utf8)
        try cli.dropFixture("dpp-registry.json", source: "registry")
        // What a run stopped after `claim` moved the marker, and before it moved the file, leaves.
        let processing = cli.layout.processing("registry")
        try FileManager.default.createDirectory(atPath: processing, withIntermediateDirectories: true)
        try Data().write(to: URL(fileURLWithPath: processing + "/dpp-registry.json.done"))
        #expect(try cli.run("run", "--once", "--stability-window", "0").status == 0)
        #expect(try cli.scalar("SELECT COUNT(*) FROM asset") == "3")
        #expect(cli.files(in: "Archive/registry").map { ($0 as NSString).lastPathComponent } == ["dpp-registry.json", "dpp-registry.json.done"])
        #expect(cli.files(in: "Inbox/registry").filter { !$0.hasPrefix(".") }.isEmpty, "no marker left to make the next file of that name ready early")
    }

    @Test("temporary and hidden names are never taken")
    func temporaryNamesIgnored() throws {
        let cli = try CLI.freshRoot()
        let text = try Fixtures.text("dpp-registry.json")
        for name in ["export.json.tmp", "export.json.part", ".export.json"] { try cli.drop(text, as: name, source: "registry") }
        let result = try cli.run("run", "--once", "--stability-window", "0")
        #expect(result.status == 0)
        #expect(try cli.scalar("SELECT COUNT(*) FROM asset") == "0")
        #expect(cli.files(in: "Inbox/registry").count == 3)
    }

    @Test("--log-format json writes one JSON object per line on standard error")
    func jsonLogs() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        let result = try cli.run("run", "--once", "--stability-window", "0", "--log-format", "json")
        let lines = result.stderr.split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            let value = try JSONParser.parseDocument(Array(line.utf8))
            #expect(value["level"] != nil && value["message"] != nil)
        }
        #expect(!result.stderr.contains("\u{1B}"), "no control characters in a pipe")
    }

    @Test("a file with no mapping waits in the inbox, and a broken mapping holds only its own source")
    func mappingProblemsHoldFiles() throws {
        let cli = try CLI.freshRoot()
        try cli.drop("a,b", as: "export.csv", source: "workorders")
        try "source: registry\nfiles: ['*.json']\nformat: json\nkind: asset\nkey: [dppId]\nfields:\n  dppId: dppId\n  colour: colour\n"
            .write(toFile: cli.layout.mappings + "/broken.mapping.yaml", atomically: true, encoding: .utf8)
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.dropFixture("unknown-asset-wo.json", source: "workorders")
        let result = try cli.run("run", "--once", "--stability-window", "0")
        #expect(result.status == 1, "files that wait for a mapping need attention")
        #expect(result.stdout.contains("held: registry: mapping broken.mapping.yaml fails its check (line 8, column 3: record kind 'asset' has no field 'colour'"),
                "says why, as mapping check does: \(result.stdout)")
        #expect(try cli.run("status").stdout.contains("HELD: mapping broken.mapping.yaml fails its check (line 8, column 3: record kind 'asset' has no field 'colour'"))
        #expect(cli.files(in: "Inbox/registry") == ["dpp-registry.json"])
        #expect(cli.files(in: "Inbox/workorders") == ["export.csv"])
        #expect(try cli.scalar("SELECT COUNT(*) FROM review_item") == "1", "the other source carried on")
        let check = try cli.run("mapping", "check")
        #expect(check.status == 2)
        #expect(check.stdout.contains("broken.mapping.yaml:8:3: error: record kind 'asset' has no field 'colour'"), "\(check.stdout)")
    }

    @Test("a records: path that finds nothing is put to the mapping: the reason names it and the members the document has")
    func recordsPathFindsNothing() throws {
        let cli = try CLI.freshRoot()
        let mapping = cli.layout.mappings + "/registry.mapping.yaml"
        try String(contentsOfFile: mapping, encoding: .utf8).replacingOccurrences(of: "\nrecords: assets", with: "\nrecords: asset").write(toFile: mapping, atomically: true, encoding: .utf8)
        try cli.dropFixture("dpp-registry.json", source: "registry")
        _ = try cli.run("run", "--once", "--stability-window", "0")
        let reasonFile = try #require(cli.files(in: "Quarantine/registry").first { $0.hasSuffix(".reason.json") })
        let reason = try JSONParser.parseDocument(Array(try Data(contentsOf: URL(fileURLWithPath: cli.root + "/Quarantine/registry/" + reasonFile))))
        #expect(reason["mapping"] == .string("registry.mapping.yaml"), "the file was read under it")
        #expect(reason["message"]?.scalarText?.contains("no records at 'asset', the mapping's records: path; the document's members are 'exportedAt', 'assets'") == true,
                "\(reason["message"]?.scalarText ?? "")")
        // A list where a member is looked for had read as broken JSON ("expected '{'").
        try cli.drop(#"[{"dppId": "DPP-X-1"}]"#, as: "list.json", source: "registry")
        _ = try cli.run("run", "--once", "--stability-window", "0")
        #expect(try cli.scalar("SELECT message FROM input_file WHERE name = 'list.json'")?.contains("no records at 'asset', the mapping's records: path; the document is a list (records: $ reads its elements)") == true)
    }

    @Test("a mapping that is not even YAML holds the source its source: line names, or every source when it has none")
    func unparseableMappingHoldsItsSource() throws {
        let cli = try CLI.freshRoot()
        // A YAML syntax error (an unclosed flow mapping) leaves no tree to read `source:` from.
        let broken = "source: 'workorders'  # the legacy export\nfiles: ['legacy-*.xml']\nformat: xml\nkind: workOrderCompletion\nkey: [workOrderId]\nfields:\n  workOrderId: { path: NO\n"
        try broken.write(toFile: cli.layout.mappings + "/legacy.mapping.yaml", atomically: true, encoding: .utf8)
        try cli.dropFixture("maximo-workorders.xml", source: "workorders", as: "legacy-1.xml")
        try cli.dropFixture("dpp-registry.json", source: "registry")
        let result = try cli.run("run", "--once", "--stability-window", "0")
        #expect(result.stdout.contains("held: workorders: mapping legacy.mapping.yaml fails its check"), "\(result.stdout)")
        #expect(cli.files(in: "Inbox/workorders") == ["legacy-1.xml"], "not taken by the Maximo mapping's *.xml")
        #expect(cli.files(in: "Inbox/registry").isEmpty, "the other sources carry on")
        // Without a source: line, no source is safe from it.
        try broken.replacingOccurrences(of: "source: 'workorders'  # the legacy export\n", with: "")
            .write(toFile: cli.layout.mappings + "/legacy.mapping.yaml", atomically: true, encoding: .utf8)
        try cli.dropFixture("registry-late.json", source: "registry")
        _ = try cli.run("run", "--once", "--stability-window", "0")
        #expect(cli.files(in: "Inbox/registry") == ["registry-late.json"])
    }
}
