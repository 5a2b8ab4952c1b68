import DPPSync
import Foundation
import Testing

@Suite("crash safety: kill -9 at named points, restart, nothing lost or doubled")
struct CrashSafetyTests {
    @Test("the process dies at the point, and a restart finishes the job exactly once",
          arguments: CrashPoints.Point.allCases, [1, 2])
    func killAndRestart(point: CrashPoints.Point, occurrence: Int) throws {
        let cli = try CLI.freshRoot("crash-\(point.rawValue)-\(occurrence)")
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.dropFixture("work-order-complete.json", source: "workorders")

        // A fixed decision day: the outbox this asserts on (no certificate renewal due yet) must not
        // depend on the day the tests run (the registry has a certificate valid until 2026-12-31).
        let crashed = try cli.run("run", "--once", "--stability-window", "0", "--as-of", "2026-01-10",
                                  environment: ["DPPSYNC_CRASH_AT": point.rawValue, "DPPSYNC_CRASH_AFTER": String(occurrence)])
        #expect(crashed.killed, "expected SIGKILL at \(point.rawValue) #\(occurrence): \(crashed.stderr)")

        let restarted = try cli.run("run", "--once", "--stability-window", "0", "--as-of", "2026-01-10")
        #expect(restarted.status == 0, "\(restarted.stdout)\(restarted.stderr)")

        // No record lost, none applied twice.
        #expect(try cli.scalar("SELECT COUNT(*) FROM asset") == "3")
        #expect(try cli.scalar("SELECT COUNT(*) FROM work_order") == "1")
        #expect(try cli.scalar("SELECT COUNT(*) FROM ledger_entry WHERE kind NOT LIKE 'outbox.%'") == "4")
        #expect(try cli.scalar("SELECT COUNT(*) FROM record_outcome WHERE outcome = 'applied'") == "4")
        #expect(try cli.scalar("SELECT COUNT(*) FROM input_file WHERE duplicate_of IS NULL") == "2")
        #expect(try cli.scalar("SELECT COUNT(*) FROM input_file WHERE duplicate_of IS NOT NULL") == "0")
        let entries = try cli.scalar("SELECT COUNT(*) FROM ledger_entry") ?? ""
        #expect(try cli.scalar("SELECT MAX(seq) FROM ledger_entry") == entries, "sequence without gaps")
        // Every outbox message decided once, emitted under its own name once.
        #expect(try cli.scalar("SELECT COUNT(*) FROM outbox_queue WHERE emitted_at IS NULL") == "0")
        #expect(try cli.scalar("SELECT COUNT(*) FROM outbox_message") == "4", "status and specifications of the two CMMS assets")
        let outboxFiles = cli.files(in: "Outbox").filter { !$0.hasPrefix("ledger-checkpoints/") && !$0.hasSuffix(".gitkeep") }
        #expect(outboxFiles.count == 4, "\(outboxFiles)")
        #expect(!outboxFiles.contains { $0.contains(".tmp") })
        #expect(try cli.run("ledger", "verify").status == 0)
        // Each file ends in Archive exactly once; nothing left in flight.
        let archived = cli.files(in: "Archive").map { ($0 as NSString).lastPathComponent }.sorted()
        #expect(archived == ["dpp-registry.json", "work-order-complete.json"])
        #expect(cli.files(in: "Inbox").filter { !$0.hasSuffix(".gitkeep") }.isEmpty)
        // The crashed batch is closed as interrupted, never left running.
        #expect(try cli.scalar("SELECT COUNT(*) FROM batch WHERE status = 'running'") == "0")
        #expect(try cli.scalar("SELECT status FROM batch WHERE id = 1") == (point == .afterEmit ? "completed" : "interrupted"))
        // Every batch has its reconciliation report, the interrupted one's too (what it committed is in no other).
        for id in try cli.query("SELECT id FROM batch ORDER BY id").compactMap({ $0[0] }) {
            for format in ReconciliationReport.Format.allCases {
                #expect(FileSystem.exists(cli.root + "/Reports/reconciliation/batch-\(id).\(format.rawValue)"), "batch \(id) \(format)")
            }
        }
    }

    /// Rejected records are written to the quarantine as they are decided, before the file's commit:
    /// a kill after them, and the restart writes the same names again, whole, once each.
    @Test("killed after a file's rejected records were written, the restart writes each extract and reason once, whole, no temporary left",
          arguments: [2, 3])
    func rejectedRecordsAcrossAKill(occurrence: Int) throws {
        let cli = try CLI.freshRoot("rejected-\(occurrence)")
        try "policies:\n  UNKNOWN_ASSET: rejected\n".write(toFile: cli.layout.configFile, atomically: true, encoding: .utf8)
        try cli.dropFixture("dpp-registry.json", source: "registry")
        // Two records rejected as they are mapped (extracts made then), one by the reconciler (made in a pass after).
        try cli.dropFixture("completions.jsonl", source: "workorders")
        try cli.dropFixture("unknown-asset-wo.json", source: "workorders")
        let crashed = try cli.run("run", "--once", "--stability-window", "0",
                                  environment: ["DPPSYNC_CRASH_AT": "in-transaction", "DPPSYNC_CRASH_AFTER": String(occurrence)])
        #expect(crashed.killed)
        #expect(!cli.files(in: "Quarantine/workorders").isEmpty, "written before the kill")
        let restarted = try cli.run("run", "--once", "--stability-window", "0")
        #expect(restarted.status == 1, "rejected records need attention")
        #expect(try cli.scalar("SELECT COUNT(*) FROM record_outcome WHERE outcome = 'rejected'") == "3")
        let folder = cli.root + "/Quarantine/workorders"
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(names.count == 6 && !names.contains { $0.hasPrefix(".") }, "\(names)")
        for name in names {
            let text = try String(contentsOfFile: folder + "/" + name, encoding: .utf8)
            if name.hasSuffix(".reason.json") {
                #expect(try JSONParser.parseDocument(Array(text.utf8))["recordIndex"] != nil, "\(name)")
            } else if !text.contains("broken line") {
                let document = name.hasSuffix(".jsonl") ? String(text.split(separator: "\n")[0]) : text
                #expect((try? JSONParser.parseDocument(Array(document.utf8))) != nil, "\(name): \(text)")
            }
        }
    }

    /// Completions: an invalid record (2), a broken line (3), and one for an unknown asset (5), which
    /// the default policy holds and `UNKNOWN_ASSET: rejected` rejects.
    static func mixedCompletions(_ prefix: String = "WO-7") throws -> String {
        try Fixtures.text("completions.jsonl").replacingOccurrences(of: "WO-7", with: prefix)
            + #"{"dppId": "DPP-H2-900", "workOrderId": "\#(prefix)0009", "completionDate": "2025-11-14", "findings": "x"}"# + "\n"
    }

    static let rejectingUnknownAssets = "policies:\n  UNKNOWN_ASSET: rejected\n"

    /// A root whose run was killed in the transaction of `mixedCompletions`, rejecting unknown assets:
    /// records 2, 3 and 5 are in the quarantine, each with its reason, and nothing is committed.
    static func killedWithRejectedRecords(_ name: String) throws -> CLI {
        let cli = try CLI.freshRoot(name)
        try rejectingUnknownAssets.write(toFile: cli.layout.configFile, atomically: true, encoding: .utf8)
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.drop(try mixedCompletions(), as: "mixed.jsonl", source: "workorders")
        let crashed = try cli.run("run", "--once", "--stability-window", "0", environment: ["DPPSYNC_CRASH_AT": "in-transaction", "DPPSYNC_CRASH_AFTER": "2"])
        #expect(crashed.killed && cli.files(in: "Quarantine/workorders").count == 6, "records 2, 3 and 5, each with its reason")
        return cli
    }

    /// What a killed attempt wrote for records it rejected was never committed: the restart, deciding
    /// again under a policy changed meanwhile, must not leave extracts of records it does not reject.
    @Test("a killed attempt's rejected-record files go when the restart decides otherwise")
    func leftoversOfAKilledAttempt() throws {
        let cli = try Self.killedWithRejectedRecords(#function)
        try "".write(toFile: cli.layout.configFile, atomically: true, encoding: .utf8)
        _ = try cli.run("run", "--once", "--stability-window", "0")
        #expect(try cli.query("SELECT record_index, outcome FROM record_outcome WHERE outcome IN ('held', 'rejected') ORDER BY record_index")
                == [["2", "rejected"], ["3", "rejected"], ["5", "held"]])
        let left = cli.files(in: "Quarantine/workorders")
        #expect(left.count == 4 && !left.contains { $0.contains("-5.jsonl") }, "record 5, held now, has none: \(left)")
    }

    /// A killed attempt's file that no mapping takes any more goes back to the inbox, to be decided
    /// afresh as a new drop: its leftovers go with its claim.
    @Test("a killed attempt's rejected-record files go when its file goes back to the inbox for want of a mapping")
    func leftoversOfAFileNoMappingTakes() throws {
        let cli = try Self.killedWithRejectedRecords(#function)
        let mapping = cli.layout.mappings + "/workorders-json.mapping.yaml"
        let text = try String(contentsOfFile: mapping, encoding: .utf8)
        try text.replacingOccurrences(of: #"files: ["*.json", "*.jsonl"]"#, with: #"files: ["*.json"]"#).write(toFile: mapping, atomically: true, encoding: .utf8)
        let waiting = try cli.run("run", "--once", "--stability-window", "0")
        #expect(waiting.stdout.contains("NO_MAPPING") && cli.files(in: "Inbox/workorders") == ["mixed.jsonl"], "\(waiting.stdout)")
        #expect(cli.files(in: "Quarantine/workorders").isEmpty)
    }

    /// Leftovers go whatever the restart finds: a reprocess killed mid-file, or a file that is by then
    /// a duplicate of the same bytes committed from another source. A committed run's files stay.
    @Test("a killed reprocess's and a killed duplicate's rejected-record files go; the committed run's stay")
    func leftoversOfKilledReprocessAndDuplicate() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.drop(try Self.mixedCompletions(), as: "mixed.jsonl", source: "workorders")
        _ = try cli.run("run", "--once", "--stability-window", "0")
        let committed = cli.files(in: "Quarantine/workorders").sorted()
        #expect(committed.count == 4 && !committed.contains { $0.contains("-5.jsonl") }, "records 2 and 3: \(committed)")
        // Reprocessed rejecting unknown assets (record 5 too), killed before its commit.
        try Self.rejectingUnknownAssets.write(toFile: cli.layout.configFile, atomically: true, encoding: .utf8)
        let archived = try #require(cli.files(in: "Archive/workorders").first)
        let killed = try cli.run(arguments: ["reprocess", cli.root + "/Archive/workorders/" + archived],
                                 environment: ["DPPSYNC_CRASH_AT": "in-transaction", "DPPSYNC_CRASH_AFTER": "1"])
        // (The reprocess kept aside the committed run's files it wrote over, in a hidden folder.)
        #expect(killed.killed && cli.files(in: "Quarantine/workorders").filter { !$0.hasPrefix(".") }.count == 6)
        try "".write(toFile: cli.layout.configFile, atomically: true, encoding: .utf8)
        _ = try cli.run("run", "--once", "--stability-window", "0")
        #expect(cli.files(in: "Quarantine/workorders").sorted() == committed, "the killed reprocess's record 5 is gone")

        // Other bytes, killed in one source, then committed first from another: a duplicate, and its leftovers go.
        try cli.drop(try Self.mixedCompletions("WO-8"), as: "again.jsonl", source: "workorders")
        let second = try cli.run("run", "--once", "--stability-window", "0", environment: ["DPPSYNC_CRASH_AT": "in-transaction", "DPPSYNC_CRASH_AFTER": "1"])
        #expect(second.killed && cli.files(in: "Quarantine/workorders").count == 8)
        try cli.drop(try Self.mixedCompletions("WO-8"), as: "again.json", source: "registry")
        _ = try cli.run("run", "--once", "--stability-window", "0")
        #expect(try cli.scalar("SELECT reason FROM input_file WHERE name = 'again.jsonl' ORDER BY id DESC LIMIT 1") == "DUPLICATE_FILE")
        #expect(cli.files(in: "Quarantine/workorders").sorted() == committed, "\(cli.files(in: "Quarantine/workorders"))")
    }

    @Test("a restart after a stop between commit and move keeps the verdict its row has: one duplicate row, a quarantine's own reason")
    func recoveredKeepsItsVerdict() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        _ = try cli.run("run", "--once", "--stability-window", "0")
        func stopAfterCommitThenRestart() throws {
            let crashed = try cli.run("run", "--once", "--stability-window", "0", environment: ["DPPSYNC_CRASH_AT": "after-commit"])
            #expect(crashed.killed)
            _ = try cli.run("run", "--once", "--stability-window", "0")
        }
        // A duplicate under another name: its row is the committed verdict, not a reason to insert another.
        try cli.drop(try Fixtures.text("dpp-registry.json"), as: "again.json", source: "registry")
        try stopAfterCommitThenRestart()
        #expect(try cli.scalar("SELECT COUNT(*) FROM input_file WHERE duplicate_of IS NOT NULL") == "1")
        #expect(try cli.scalar("SELECT COUNT(*) FROM input_file WHERE stored_path IS NULL") == "0")
        // A file quarantined whole: its sidecar keeps the reason it was quarantined for.
        try cli.dropFixture("malformed.json", source: "workorders")
        try stopAfterCommitThenRestart()
        let reason = try String(contentsOfFile: cli.root + "/Quarantine/workorders/malformed.json.reason.json", encoding: .utf8)
        #expect(reason.contains("NOT_PARSEABLE") && !reason.contains("interrupted run"), "\(reason)")
        // … and the line its decoder stopped at, kept with the row.
        let document = try JSONParser.parseDocument(Array(reason.utf8))
        let storedLine = try #require(try cli.scalar("SELECT line FROM input_file WHERE name = 'malformed.json'"))
        #expect(document["line"] == .number(storedLine))
        // The same bytes under the same name again, stopped before their commit: a drop of its own,
        // a duplicate, and the first drop's row keeps the place its file went to.
        let firstPlace = try cli.scalar("SELECT stored_path FROM input_file WHERE id = 1")
        try cli.dropFixture("dpp-registry.json", source: "registry")
        let crashed = try cli.run("run", "--once", "--stability-window", "0", environment: ["DPPSYNC_CRASH_AT": "after-claim"])
        #expect(crashed.killed)
        _ = try cli.run("run", "--once", "--stability-window", "0")
        #expect(try cli.scalar("SELECT COUNT(*) FROM input_file WHERE duplicate_of = 1") == "2")
        #expect(try cli.scalar("SELECT stored_path FROM input_file WHERE id = 1") == firstPlace)
        #expect(cli.files(in: "Inbox").filter { !$0.hasSuffix(".gitkeep") }.isEmpty)
    }

    /// A move to another file system copies the file, then removes the original: killed in between, the
    /// restart had archived the original again beside the copy (`name-1`), a copy no row names.
    @Test("a restart after a kill between a move's copy and its original's removal keeps the copy, and archives nothing twice")
    func copyLeftByAKilledMove() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        let crashed = try cli.run("run", "--once", "--stability-window", "0", environment: ["DPPSYNC_CRASH_AT": "after-commit"])
        #expect(crashed.killed)
        // The state a kill after the copy leaves: the copy in place, the original still in .processing/.
        let day = cli.root + "/Archive/registry/" + Timestamp.now().civilDate().description
        try FileManager.default.createDirectory(atPath: day, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: cli.layout.processing("registry") + "/dpp-registry.json", toPath: day + "/dpp-registry.json")
        #expect(try cli.run("run", "--once", "--stability-window", "0").status == 0)
        #expect(cli.files(in: "Archive/registry").count == 1 && cli.files(in: "Inbox/registry").isEmpty, "\(cli.files(in: "Archive/registry"))")
        #expect(try cli.scalar("SELECT stored_path FROM input_file") == day + "/dpp-registry.json")
        // The same bytes dropped again, committed by a run killed before the move: a duplicate, with a file of its own.
        try cli.dropFixture("dpp-registry.json", source: "registry")
        #expect(try cli.run("run", "--once", "--stability-window", "0", environment: ["DPPSYNC_CRASH_AT": "after-commit"]).killed)
        #expect(try cli.run("run", "--once", "--stability-window", "0").status == 0)
        #expect(cli.files(in: "Archive/registry").count == 2, "\(cli.files(in: "Archive/registry"))")
        #expect(try cli.scalar("SELECT COUNT(DISTINCT stored_path) FROM input_file") == "2")
    }

    /// A full disk or an I/O error had ended the watcher: a failed pass, or source, is now tried again after a pause.
    @Test("a watcher outlives failures: after a source that fails, the sources that may need it wait; a pass that fails is tried again after a pause")
    func watcherOutlivesFailures() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        #expect(try cli.run("run", "--once", "--stability-window", "0").status == 0)
        // Record 2's reason cannot be written (a folder where it goes), as on a full disk.
        let text = try Fixtures.text("completions.jsonl")
        let blocked = cli.root + "/Quarantine/workorders/" + Fingerprint.sha256Hex(text).prefix(12) + "-2.jsonl.reason.json"
        try FileManager.default.createDirectory(atPath: blocked, withIntermediateDirectories: true)
        try cli.drop(text, as: "completions.jsonl", source: "workorders")
        try cli.dropFixture("registry-late.json", source: "registry")  // a source before it
        try cli.dropFixture("caos-predictions.json", source: "caos")  // a source after it
        let once = try cli.run("run", "--once", "--stability-window", "0")
        #expect(once.status == 3 && once.stdout.contains("failed: workorders: its pass failed")
                && once.stdout.contains("held: caos: waits for source 'workorders'") && !once.stdout.contains("held: ground-windows")
                && !once.stdout.contains("nothing to do"), "only sources with files wait: \(once.stdout)")
        #expect(cli.files(in: "Inbox/registry").isEmpty && cli.files(in: "Inbox/caos") == ["caos-predictions.json"], "before it went on, after it waits")
        let failedStatus = try cli.run("status").stdout
        #expect(failedStatus.contains("FAILED in the last pass: its pass failed"), "a watcher's failures had been in its log only: \(failedStatus)")
        // The registry's share gone too: workorders is not tried, and its failure is still said.
        let registry = cli.layout.inbox("registry")
        try FileManager.default.moveItem(atPath: registry, toPath: registry + "-aside")
        try FileManager.default.createSymbolicLink(atPath: registry, withDestinationPath: cli.root + "/no-such-share")
        #expect(try cli.run("run", "--once", "--stability-window", "0").status == 3)
        let both = try cli.run("status").stdout.split(separator: "\n").filter { $0.contains("FAILED") }
        #expect(both.count == 2 && both.contains { $0.contains("registry") } && both.contains { $0.contains("workorders") }, "\(both)")
        try FileManager.default.removeItem(atPath: registry)
        try FileManager.default.moveItem(atPath: registry + "-aside", toPath: registry)

        // The next batch's report cannot be written (a folder where it goes): the whole pass fails, and the watcher
        // waits, then tries again.
        #expect(try cli.scalar("SELECT MAX(id) FROM batch") == "2")
        let report = cli.root + "/Reports/reconciliation/batch-3.json"
        try FileManager.default.createDirectory(atPath: report, withIntermediateDirectories: true)
        let running = try cli.start(arguments: ["run", "--interval", "0.2", "--stability-window", "0"])
        func waitFor(_ condition: () throws -> Bool) rethrows -> Bool {
            for _ in 0..<300 { if try condition() { return true }; usleep(50_000) }
            return false
        }
        // What the watcher logs, read as it comes (the pipe made non-blocking until the end).
        let log = running.err.fileHandleForReading.fileDescriptor
        let flags = fcntl(log, F_GETFL)
        _ = fcntl(log, F_SETFL, flags | O_NONBLOCK)
        var logged = ""
        #expect(waitFor {
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = read(log, &chunk, chunk.count)
            if n > 0 { logged += String(decoding: chunk[0..<n], as: UTF8.self) }
            return logged.contains("the pass failed") && logged.contains("taken again in")
        }, "the failed pass, logged: \(logged)")
        _ = fcntl(log, F_SETFL, flags)
        try FileManager.default.removeItem(atPath: report)
        try FileManager.default.removeItem(atPath: blocked)
        #expect(waitFor { !cli.files(in: "Archive/workorders").isEmpty }, "taken again after the pause")
        #expect(try waitFor { try cli.scalar("SELECT COUNT(*) FROM batch WHERE reported = 0") == "0" }, "every batch has its report")
        kill(running.process.processIdentifier, SIGTERM)
        let result = cli.wait(running)
        #expect(result.status == 0, "\(logged)\(result.stderr)")
        #expect(try cli.scalar("SELECT COUNT(*) FROM work_order") == "3")
        #expect(cli.files(in: "Inbox/caos").isEmpty)
        #expect(!(try cli.run("status").stdout.contains("FAILED")), "recovered")
        #expect(try cli.scalar("SELECT COUNT(*) FROM input_file WHERE name = 'completions.jsonl'") == "1", "decided once")
    }

    @Test("SIGTERM while watching finishes, commits and exits 0, also after a pass that needed attention")
    func gracefulStop() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        // A file that needs attention: its pass says so, and the stopped watcher still exits 0.
        try cli.dropFixture("malformed.json", source: "workorders")
        let running = try cli.start(arguments: ["run", "--interval", "0.2", "--stability-window", "0"])
        // Wait (bounded) until the files are archived and quarantined, then ask the watcher to stop.
        var archived = false
        for _ in 0..<300 where !archived {
            usleep(50_000)
            archived = !cli.files(in: "Archive/registry").isEmpty && !cli.files(in: "Quarantine/workorders").isEmpty
        }
        #expect(archived)
        kill(running.process.processIdentifier, SIGTERM)
        let result = cli.wait(running)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.killed)
        #expect(result.stderr.contains("stop requested"))
        #expect(try cli.scalar("SELECT status FROM batch") == "completed")
    }
}
