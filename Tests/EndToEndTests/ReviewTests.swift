import DPPSync
import Foundation
import GRDB
import Testing

@Suite("review queue")
struct ReviewTests {
    func heldDivergence() throws -> CLI {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.dropFixture("work-order-complete.json", source: "workorders")
        _ = try ReconciliationTests.run(cli)
        try cli.drop(try Fixtures.text("work-order-complete.json").replacingOccurrences(of: "No issues", with: "Seal weeping"), as: "wo2.json", source: "workorders")
        #expect(try ReconciliationTests.run(cli).status == 1)
        return cli
    }

    @Test("a record held again replaces its open item: one open item per record, the newest version, and it can be accepted")
    func heldAgainReplaces() throws {
        let cli = try heldDivergence()
        try cli.drop(try Fixtures.text("work-order-complete.json").replacingOccurrences(of: "No issues", with: "Seal weeping, replaced"),
                     as: "wo3.json", source: "workorders")
        #expect(try ReconciliationTests.run(cli).status == 1)
        let items = try cli.query("SELECT id, status, note FROM review_item WHERE record_key = 'WO-54321' ORDER BY id")
        #expect(items.count == 2)
        #expect(items.first?[1] == "redecided" && items.first?[2] == "held again: review item #\(items.last?[0] ?? "")", "\(items)")
        #expect(items.last?[1] == "open")
        let newest = try #require(items.last?[0] ?? nil)
        #expect(try cli.run("review", "resolve", newest, "--accept").status == 0)
        #expect(try cli.scalar("SELECT findings FROM work_order") == "Seal weeping, replaced")
        #expect(try cli.scalar("SELECT COUNT(*) FROM review_item WHERE status = 'open'") == "0")
    }

    @Test("an older version held after a newer one leaves the newer one's item open")
    func olderVersionHeldLate() throws {
        let cli = try ReconciliationTests.withReferences()
        // AGARCIA's licence had expired before the work: each version of WO-54321 is held.
        let maximo = try Fixtures.text("maximo-workorders.xml").replacingOccurrences(of: "<LABORCODE>JSMITH", with: "<LABORCODE>AGARCIA")
        try cli.drop(maximo.replacingOccurrences(of: "<STATUSDATE>2025-11-05T16:10", with: "<STATUSDATE>2025-11-06T16:10"), as: "newer.xml", source: "workorders")
        #expect(try ReconciliationTests.run(cli).status == 1)
        try cli.drop(maximo.replacingOccurrences(of: "No issues", with: "Seal weeping"), as: "older.xml", source: "workorders")
        #expect(try ReconciliationTests.run(cli).status == 1)
        #expect(try cli.query("SELECT status, reason FROM review_item WHERE record_key = 'WO-54321' ORDER BY id")
                == [["open", "CERT_EXPIRED"], ["open", "CERT_EXPIRED"]])
    }

    @Test("a held JSON message and a held Maximo export of one work order both stay open: they carry different facts")
    func heldThroughAnotherMapping() throws {
        let cli = try heldDivergence()
        try cli.dropFixture("technician-certifications.json", source: "certifications")
        try cli.drop(try Fixtures.text("maximo-workorders.xml").replacingOccurrences(of: "No issues", with: "Seal weeping, replaced"), as: "divergent.xml", source: "workorders")
        #expect(try ReconciliationTests.run(cli).status == 1)
        #expect(try cli.query("SELECT status, reason FROM review_item WHERE record_key = 'WO-54321' ORDER BY id")
                == [["open", "DIVERGENT_DUPLICATE"], ["open", "DIVERGENT_DUPLICATE"]])
    }

    @Test("review show sets the stored work order's site, labour and tests beside a held Maximo version's")
    func showStoredBesideIncoming() throws {
        let cli = try ReconciliationTests.withReferences()
        try cli.dropFixture("maximo-workorders.xml", source: "workorders")
        _ = try ReconciliationTests.run(cli)
        // The measures written otherwise (4.250 hours, a limit of 1.50) are the same facts to the reconciler, and to the eye.
        try cli.drop(try Fixtures.text("maximo-workorders.xml").replacingOccurrences(of: "No issues", with: "Seal weeping, replaced")
                        .replacingOccurrences(of: "<REGULARHRS>4.25<", with: "<REGULARHRS>4.250<").replacingOccurrences(of: "<UPPERLIMIT>1.5<", with: "<UPPERLIMIT>1.50<"),
                     as: "divergent.xml", source: "workorders")
        #expect(try ReconciliationTests.run(cli).status == 1)
        let id = try #require(try cli.scalar("SELECT id FROM review_item WHERE status = 'open'"))
        let lines = try cli.run("review", "show", id).stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("siteId") && $0.components(separatedBy: "LEJ").count == 3 }, "\(lines)")
        for list in ["labor", "tests"] {
            let at = try #require(lines.firstIndex(of: list), "\(lines)")
            #expect(lines[at + 1].hasPrefix("  stored ") && lines[at + 1].contains(list == "labor" ? "JSMITH" : "Manifold leak test"), "\(lines)")
            // The same facts look the same: keys in order, 4.25 read as a number or stored as text alike.
            #expect(lines[at + 1].dropFirst("  stored    ".count) == lines[at + 2].dropFirst("  incoming  ".count), "\(lines)")
        }
    }

    @Test("two versions waiting for their asset are decided in turn when it arrives, as if it had come first")
    func waitingVersionsDecidedInTurn() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("work-order-complete.json", source: "workorders")
        #expect(try ReconciliationTests.run(cli).status == 1)
        try cli.drop(try Fixtures.text("work-order-complete.json").replacingOccurrences(of: "No issues", with: "Seal weeping"), as: "wo2.json", source: "workorders")
        #expect(try ReconciliationTests.run(cli).status == 1)
        try cli.dropFixture("dpp-registry.json", source: "registry")
        _ = try ReconciliationTests.run(cli)
        let registryFirst = try heldDivergence()
        let open = "SELECT reason, json_extract(record, '$.fields.findings') FROM review_item WHERE status = 'open'"
        #expect(try cli.query(open) == registryFirst.query(open))
        #expect(try cli.scalar("SELECT findings FROM work_order") == registryFirst.scalar("SELECT findings FROM work_order"))
    }

    @Test("data printed for a person (review list and show, the run's summary and text log) cannot forge lines or drive the terminal")
    func controlCharactersShownNotSent() throws {
        let cli = try CLI.freshRoot()
        let key = "WO-1\r\nresolved: all clear\u{1B}[2J\u{202E}"
        let message = try Fixtures.text("work-order-complete.json").replacingOccurrences(of: "WO-54321", with: "WO-1\\r\\nresolved: all clear\\u001b[2J\\u202e")
        try cli.drop(message, as: "odd\u{1B}]0;title\u{07}.json", source: "workorders")
        let run = try ReconciliationTests.run(cli)
        #expect(run.status == 1)
        for text in [run.stdout, run.stderr, try cli.run("review", "list").stdout, try cli.run("review", "show", "1").stdout] {
            #expect(!text.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 || $0.value == 0x0D || $0.value == 0x202E }, "\(text)")
            #expect(!text.contains("\nresolved: all clear"))
        }
        #expect(try cli.run("review", "list").stdout.contains("WO-1\\u{D}\\u{A}resolved: all clear\\u{1B}[2J\\u{202E}"))
        #expect(try cli.scalar("SELECT record_key FROM review_item") == key, "the data itself is kept as it came")
    }

    @Test("list, show side by side, accept: the incoming version applies through the ledger, and old files change nothing after")
    func acceptDivergence() throws {
        let cli = try heldDivergence()
        let list = try cli.run("review", "list", "--json")
        let items = try JSONParser.parseDocument(Array(list.stdout.utf8))
        guard case .array(let all) = items, let first = all.first, let id = first["id"]?.scalarText else { Issue.record("no items"); return }
        #expect(first["reason"] == .string("DIVERGENT_DUPLICATE"))
        // The record names its asset by dppId: its CMMS number finds it too, and a near miss does not.
        #expect(try cli.run("review", "list", "--asset", "H2FC-0001").stdout.contains("#\(id) "))
        #expect(try cli.run("review", "list", "--asset", "DPP-H2-001").stdout.contains("#\(id) "))
        #expect(!(try cli.run("review", "list", "--asset", "DPP_H2-001").stdout.contains("#\(id) ")), "`_` is no wildcard")
        #expect(try cli.run("ledger", "show", "--asset", "H2FC-0001").stdout.contains("workorder.completed"), "the ledger by CMMS number too")
        let show = try cli.run("review", "show", id)
        #expect(show.stdout.contains("findings"))
        #expect(show.stdout.contains("No issues") && show.stdout.contains("Seal weeping"))
        #expect(show.stdout.contains("wo2.json"))
        // The stored side in the record's fields: its parts too (shown empty, they had looked like a difference).
        let lines = show.stdout.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("partsUsed") && $0.components(separatedBy: #"["DPP-PART-123"]"#).count == 3 }, "\(show.stdout)")
        #expect(lines.contains { $0.hasPrefix("assetNum") && $0.contains("H2FC-0001") }, "what is stored and the record does not say")
        let shownJSON = try JSONParser.parseDocument(Array(try cli.run("review", "show", id, "--json").stdout.utf8))
        #expect(shownJSON["stored"]?["findings"] == .string("No issues") && shownJSON["record"]?["fields"]?["findings"] == .string("Seal weeping"))

        let resolve = try cli.run("review", "resolve", id, "--accept", "--note", "CMMS corrected the finding", "--by", "qa.lead")
        #expect(resolve.status == 0, "\(resolve.stderr)")
        #expect(try cli.scalar("SELECT findings FROM work_order") == "Seal weeping")
        #expect(try cli.scalar("SELECT status || ' ' || resolved_by FROM review_item") == "accepted qa.lead")
        #expect(try cli.scalar("SELECT decision || ' ' || note FROM review_resolution") == "accept CMMS corrected the finding")
        #expect(try cli.scalar("SELECT COUNT(*) FROM ledger_entry WHERE kind = 'review.resolved'") == "1")
        // The accepted version's entry names its mapping, as a run's does (it had been null).
        let history = try cli.run("ledger", "show", "--asset", "DPP-H2-001").stdout
        #expect(history.components(separatedBy: "mapping workorders-json.mapping.yaml").count == 4, "the first version, the accepted one and the resolution: \(history)")
        // The resolution's batch has its reconciliation report, as every batch has.
        let batch = try #require(try cli.scalar("SELECT id FROM batch WHERE trigger = 'review'"))
        for suffix in ["html", "json", "csv"] {
            #expect(FileSystem.exists(cli.root + "/Reports/reconciliation/batch-\(batch).\(suffix)"), "batch-\(batch).\(suffix)")
        }
        #expect(try cli.run("ledger", "verify").status == 0)
        #expect(try cli.run("review", "list").stdout.contains("no open review items"))
        #expect(try cli.run("review", "list", "--all").stdout.contains("accepted"))
        // The resolved item cannot be resolved twice; old files dropped again change nothing.
        #expect(try cli.run("review", "resolve", id, "--reject").status == 2)
        try cli.dropFixture("work-order-complete.json", source: "workorders", as: "old-again.json")
        _ = try ReconciliationTests.run(cli)
        #expect(try cli.scalar("SELECT findings FROM work_order") == "Seal weeping")
    }

    @Test("reject keeps the state, records who and why; a record waiting for a reference cannot be accepted")
    func rejectAndRefuse() throws {
        let cli = try heldDivergence()
        let id = try #require(try cli.scalar("SELECT id FROM review_item"))
        let quarantine = cli.root + "/Quarantine/workorders/"
        let fingerprint = try #require(try cli.scalar("SELECT substr(fingerprint, 1, 12) FROM input_file WHERE name = 'wo2.json'"))
        // Killed before its commit, a rejection leaves no file behind: they are written once it has committed.
        let killed = try cli.run(arguments: ["review", "resolve", id, "--reject", "--by", "ops"], environment: ["DPPSYNC_CRASH_AT": "in-transaction"])
        #expect(killed.killed && cli.files(in: "Quarantine/workorders").isEmpty, "\(cli.files(in: "Quarantine/workorders"))")
        #expect(try cli.scalar("SELECT status FROM review_item") == "open")

        let rejected = try cli.run("review", "resolve", id, "--reject", "--note", "duplicate send", "--by", "ops")
        #expect(rejected.status == 0)
        #expect(try cli.scalar("SELECT findings FROM work_order") == "No issues")
        #expect(try cli.scalar("SELECT outcome FROM record_outcome ORDER BY id DESC LIMIT 1") == "rejected")
        // Where a run puts the records it rejects: the extract to correct and drop again, and why.
        #expect(rejected.stdout.contains("quarantined: \(quarantine)\(fingerprint)-0.json"), "\(rejected.stdout)")
        let extract = try String(contentsOfFile: quarantine + fingerprint + "-0.json", encoding: .utf8)
        #expect(extract.contains("\"Seal weeping\""), "the held version: \(extract)")
        let reason = try JSONParser.parseDocument(Array(try String(contentsOfFile: quarantine + fingerprint + "-0.json.reason.json", encoding: .utf8).utf8))
        #expect(reason["code"]?.scalarText == "DIVERGENT_DUPLICATE" && reason["recordIndex"]?.scalarText == "0")
        #expect(reason["message"]?.scalarText == "rejected on review by ops: duplicate send")
        #expect(reason["mapping"]?.scalarText == "workorders-json.mapping.yaml")

        try cli.dropFixture("unknown-asset-wo.json", source: "workorders")
        _ = try ReconciliationTests.run(cli)
        let waiting = try #require(try cli.scalar("SELECT id FROM review_item WHERE reason = 'UNKNOWN_ASSET'"))
        let refused = try cli.run("review", "resolve", waiting, "--accept")
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("cannot be accepted"))
        // Archived under a root since moved (its stored path names the old one): found under this root's Archive/.
        let archived = try #require(try cli.scalar("SELECT stored_path FROM input_file WHERE name = 'unknown-asset-wo.json'"))
        try DatabaseQueue(path: cli.layout.storeFile).write { db in
            try db.execute(sql: "UPDATE input_file SET stored_path = '/old/root' || substr(stored_path, instr(stored_path, '/Archive/')) WHERE name = 'unknown-asset-wo.json'")
        }
        let moved = try cli.run("review", "resolve", waiting, "--reject")
        let second = try #require(try cli.scalar("SELECT substr(fingerprint, 1, 12) FROM input_file WHERE name = 'unknown-asset-wo.json'"))
        #expect(moved.status == 0 && moved.stdout.contains("quarantined: \(quarantine)\(second)-0.json, to correct"), "\(moved.stdout)")
        #expect(try String(contentsOfFile: quarantine + second + "-0.json", encoding: .utf8).contains("\"WO-60001\""))

        // Its file gone from the archive, a record rejected on review has its reason, saying there is no extract.
        try cli.drop(try Fixtures.text("unknown-asset-wo.json").replacingOccurrences(of: "WO-60001", with: "WO-60002"), as: "gone.json", source: "workorders")
        _ = try ReconciliationTests.run(cli)
        let third = try #require(try cli.scalar("SELECT id FROM review_item WHERE record_key = 'WO-60002'"))
        try FileManager.default.removeItem(atPath: try #require(try cli.scalar("SELECT stored_path FROM input_file WHERE name = 'gone.json'")))
        let withoutFile = try cli.run("review", "resolve", third, "--reject")
        #expect(withoutFile.status == 0 && withoutFile.stdout.contains("(no extract: its message says why)"), "\(withoutFile.stdout)")
        let gone = try #require(try cli.scalar("SELECT substr(fingerprint, 1, 12) FROM input_file WHERE name = 'gone.json'"))
        #expect(!FileSystem.exists(quarantine + gone + "-0.json"))
        let goneReason = try String(contentsOfFile: quarantine + gone + "-0.json.reason.json", encoding: .utf8)
        #expect(goneReason.contains("no extract: its file is no longer in the archive"), "\(goneReason)")
        #expect(FileSystem.exists(archived), "the moved-root case read the file where this root keeps it")

        // The quarantine cannot take the extract (a folder in its way): the rejection stands, and the command says
        // its files could not be written (they are written after the commit: a kill never leaves them for a rejection
        // that did not happen).
        try cli.drop(try Fixtures.text("unknown-asset-wo.json").replacingOccurrences(of: "WO-60001", with: "WO-60003"), as: "blocked.json", source: "workorders")
        _ = try ReconciliationTests.run(cli)
        let fourth = try #require(try cli.scalar("SELECT id FROM review_item WHERE record_key = 'WO-60003'"))
        let blockedPrefix = try #require(try cli.scalar("SELECT substr(fingerprint, 1, 12) FROM input_file WHERE name = 'blocked.json'"))
        try FileManager.default.createDirectory(atPath: quarantine + blockedPrefix + "-0.json", withIntermediateDirectories: true)
        let blocked = try cli.run("review", "resolve", fourth, "--reject", "--by", "ops")
        #expect(blocked.status == 3 && blocked.stdout.contains("the rejection stands, but its files could not be written"), "\(blocked.stdout)\(blocked.stderr)")
        #expect(try cli.scalar("SELECT status FROM review_item WHERE id = \(fourth)") == "rejected")
        // Run again while the folder is still in the way, it says so again (not "already rejected").
        let stillBlocked = try cli.run("review", "resolve", fourth, "--reject", "--by", "ops")
        #expect(stillBlocked.status == 3 && stillBlocked.stderr.contains("is rejected, but its quarantine files could not be written"), "\(stillBlocked.stderr)")
        // Run again once the folder is out of the way, the command writes them (and only while they are missing).
        try FileManager.default.removeItem(atPath: quarantine + blockedPrefix + "-0.json")
        let again = try cli.run("review", "resolve", fourth, "--reject", "--by", "ops")
        #expect(again.status == 0 && again.stdout.contains("its quarantine files were missing and are written now"), "\(again.stdout)\(again.stderr)")
        #expect(try String(contentsOfFile: quarantine + blockedPrefix + "-0.json", encoding: .utf8).contains("\"WO-60003\""))
        #expect(try String(contentsOfFile: quarantine + blockedPrefix + "-0.json.reason.json", encoding: .utf8).contains("rejected on review by ops"))
        #expect(try cli.run("review", "resolve", fourth, "--reject").status == 2, "rejected already, its files there")
        // Its record decided again since (the asset registered, the corrected extract dropped back): nothing to write.
        try cli.dropFixture("registry-late.json", source: "registry")
        let corrected = try String(contentsOfFile: quarantine + blockedPrefix + "-0.json", encoding: .utf8).replacingOccurrences(of: "Seal replaced", with: "Seal replaced, checked")
        try cli.drop(corrected, as: "corrected.json", source: "workorders")
        _ = try ReconciliationTests.run(cli)
        #expect(try cli.scalar("SELECT outcome FROM record_outcome WHERE record_key = 'WO-60003' ORDER BY id DESC LIMIT 1") != "rejected")
        try FileManager.default.removeItem(atPath: quarantine + blockedPrefix + "-0.json")
        #expect(try cli.run("review", "resolve", fourth, "--reject").status == 2)
        #expect(!FileSystem.exists(quarantine + blockedPrefix + "-0.json"), "no extract asking for a correction already made")
    }

    /// A resolution started while `runLock` is held (as a running pass holds it), returned once it
    /// has committed: the command then waits for the lock.
    func resolveWhileLocked(_ cli: CLI, wait: Int) throws -> CLI.RunningProcess {
        let id = try #require(try cli.scalar("SELECT id FROM review_item"))
        let resolving = try cli.start(arguments: ["review", "resolve", id, "--accept", "--by", "qa.lead", "--wait", String(wait)])
        for _ in 0..<600 {
            if try cli.scalar("SELECT status FROM review_item") == "accepted" { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(try cli.scalar("SELECT status FROM review_item") == "accepted")
        return resolving
    }

    @Test("resolved beside a running pass: it applies at once, then signs and emits once the pass lets go of the run lock")
    func resolveWaitsForTheRunLock() throws {
        let cli = try heldDivergence()
        var runLock: RunLock? = try RunLock(path: cli.layout.lockFile)
        let resolving = try resolveWhileLocked(cli, wait: 60)
        #expect(try cli.scalar("SELECT findings FROM work_order") == "Seal weeping")
        // The pass had planned its outbox before the resolution committed, and signs after it: the
        // resolution's entries are covered, but what they make due is not decided, so the command waits on.
        let store = try Store(path: cli.layout.storeFile)
        let configuration = try cli.configuration()
        let signed = try #require(try Ledger(store: store, layout: cli.layout, origin: configuration.ledgerOrigin).checkpoint())
        #expect(try String(signed.checkpoint.treeSize) == cli.scalar("SELECT MAX(seq) FROM ledger_entry"))
        Thread.sleep(forTimeInterval: 0.5)  // a few of the command's looks at the lock and the checkpoint
        withExtendedLifetime(runLock) {}
        runLock = nil
        let result = cli.wait(resolving)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("waiting for the run (process"), "\(result.stdout)")
        #expect(!result.stdout.contains("has decided the outbox from this resolution"), "\(result.stdout)")
        #expect(try Finalizer.plannedThrough(in: store) >= signed.checkpoint.treeSize)
        #expect(try cli.scalar("SELECT MAX(tree_size) FROM checkpoint") == cli.scalar("SELECT MAX(seq) FROM ledger_entry"))
        #expect(try cli.scalar("SELECT COUNT(*) FROM outbox_queue WHERE emitted_at IS NULL") == "0")
        #expect(try cli.run("ledger", "verify").status == 0)
    }

    @Test("resolved beside a running pass that signs it (a watcher's next pass): the command leaves signing and emitting to it")
    func resolveSignedByTheRun() throws {
        let cli = try heldDivergence()
        let runLock = try RunLock(path: cli.layout.lockFile)
        let resolving = try resolveWhileLocked(cli, wait: 60)
        // What the holder's next pass does when it ends.
        let store = try Store(path: cli.layout.storeFile)
        let configuration = try cli.configuration()
        let signed = try #require(try Finalizer(store: store, layout: cli.layout, configuration: configuration).run(batchId: nil, asOf: CivilDate(year: 2026, month: 1, day: 10)))
        let result = cli.wait(resolving)
        withExtendedLifetime(runLock) {}
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("has decided the outbox from this resolution and signed it"), "\(result.stdout)")
        #expect(try cli.scalar("SELECT MAX(tree_size) FROM checkpoint") == String(signed.checkpoint.treeSize))
        #expect(try cli.scalar("SELECT MAX(seq) FROM ledger_entry") == String(signed.checkpoint.treeSize))
    }

    @Test("a run that keeps the run lock past --wait: the resolution stays applied, and that run's next pass signs it")
    func resolveLeavesSigningToTheRun() throws {
        let cli = try heldDivergence()
        let id = try #require(try cli.scalar("SELECT id FROM review_item"))
        let signedBefore = try cli.scalar("SELECT MAX(tree_size) FROM checkpoint")
        do {
            let runLock = try RunLock(path: cli.layout.lockFile)
            let resolve = try cli.run("review", "resolve", id, "--accept", "--by", "qa.lead", "--wait", "1")
            withExtendedLifetime(runLock) {}
            #expect(resolve.status == 0, "\(resolve.stderr)")
            #expect(resolve.stdout.contains("still holds the run lock: that run's next pass (or the next run) signs this resolution"), "\(resolve.stdout)")
            #expect(try cli.scalar("SELECT findings FROM work_order") == "Seal weeping")
            #expect(try cli.scalar("SELECT MAX(tree_size) FROM checkpoint") == signedBefore)
        }
        #expect(try ReconciliationTests.run(cli).status == 0)
        #expect(try cli.scalar("SELECT MAX(tree_size) FROM checkpoint") == cli.scalar("SELECT MAX(seq) FROM ledger_entry"))
        #expect(try cli.scalar("SELECT COUNT(*) FROM outbox_queue WHERE emitted_at IS NULL") == "0")
    }

    @Test("a resolution that waits longer than --wait for a running pass's transaction changes nothing and says why")
    func resolveGivesUpWaiting() throws {
        let cli = try heldDivergence()
        let id = try #require(try cli.scalar("SELECT id FROM review_item"))
        let store = try Store(path: cli.layout.storeFile)
        let refused = try store.pool.writeWithoutTransaction { db in
            var result: CLI.Result?
            // The write lock held as a running pass holds it for a file's transaction.
            try db.inTransaction(.immediate) {
                result = try cli.run("review", "resolve", id, "--accept", "--wait", "1")
                return .rollback
            }
            return result
        }
        let result = try #require(refused)
        #expect(result.status == 2)
        #expect(result.stderr.contains("kept the store busy for more than 1 s; nothing was resolved"), "\(result.stderr)")
        #expect(try cli.scalar("SELECT status FROM review_item") == "open")
        #expect(try cli.scalar("SELECT findings FROM work_order") == "No issues")
    }

    @Test("an item shows its record's line, kept with the item; a store from before that gets it from the held outcomes")
    func itemLine() throws {
        let cli = try ReconciliationTests.withReferences()
        // AGARCIA's licence had expired before the work: WO-54321 is held, at the line its WORKORDER starts on.
        try cli.drop(try Fixtures.text("maximo-workorders.xml").replacingOccurrences(of: "<LABORCODE>JSMITH", with: "<LABORCODE>AGARCIA"),
                     as: "wo.xml", source: "workorders")
        #expect(try ReconciliationTests.run(cli).status == 1)
        let id = try #require(try cli.scalar("SELECT id FROM review_item WHERE status = 'open'"))
        let line = try #require(try cli.scalar("SELECT line FROM record_outcome WHERE outcome = 'held'"))
        #expect(try cli.scalar("SELECT line FROM review_item") == line)
        #expect(try cli.run("review", "show", id).stdout.contains("record 0, line \(line) of workorders/wo.xml"))
        // What a store before migration v22 held: no line on the item. Opened again, the item gets it back.
        let queue = try DatabaseQueue(path: cli.layout.storeFile)
        try queue.write { db in
            try db.execute(sql: "ALTER TABLE review_item DROP COLUMN line; DELETE FROM grdb_migrations WHERE identifier = 'v22-review-item-line'")
        }
        try queue.close()
        #expect(try cli.run("review", "show", id).stdout.contains("record 0, line \(line) of workorders/wo.xml"))
        #expect(try cli.scalar("SELECT line FROM review_item") == line)
    }
}
