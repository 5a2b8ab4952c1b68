import DPPSync
import Foundation
import Testing

@Suite("review queue")
struct ReviewTests {
    func heldDivergence() throws -> CLI {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.dropFixture("work-order-complete.json", source: "workorders")
        _ = try cli.run("run", "--once", "--stability-window", "0")
        try cli.drop(try Fixtures.text("work-order-complete.json").replacingOccurrences(of: "No issues", with: "Seal weeping"), as: "wo2.json", source: "workorders")
        #expect(try cli.run("run", "--once", "--stability-window", "0").status == 1)
        return cli
    }

    @Test("list, show side by side, accept: the incoming version applies through the ledger, and old files change nothing after")
    func acceptDivergence() throws {
        let cli = try heldDivergence()
        let list = try cli.run("review", "list", "--json")
        let items = try JSONParser.parseDocument(Array(list.stdout.utf8))
        guard case .array(let all) = items, let first = all.first, let id = first["id"]?.scalarText else { Issue.record("no items"); return }
        #expect(first["reason"] == .string("DIVERGENT_DUPLICATE"))
        let show = try cli.run("review", "show", id)
        #expect(show.stdout.contains("findings"))
        #expect(show.stdout.contains("No issues") && show.stdout.contains("Seal weeping"))
        #expect(show.stdout.contains("wo2.json"))

        let resolve = try cli.run("review", "resolve", id, "--accept", "--note", "CMMS corrected the finding", "--by", "qa.lead")
        #expect(resolve.status == 0, "\(resolve.stderr)")
        #expect(try cli.scalar("SELECT findings FROM work_order") == "Seal weeping")
        #expect(try cli.scalar("SELECT status || ' ' || resolved_by FROM review_item") == "accepted qa.lead")
        #expect(try cli.scalar("SELECT decision || ' ' || note FROM review_resolution") == "accept CMMS corrected the finding")
        #expect(try cli.scalar("SELECT COUNT(*) FROM ledger_entry WHERE kind = 'review.resolved'") == "1")
        #expect(try cli.run("ledger", "verify").status == 0)
        #expect(try cli.run("review", "list").stdout.contains("no open review items"))
        #expect(try cli.run("review", "list", "--all").stdout.contains("accepted"))
        // The resolved item cannot be resolved twice; old files dropped again change nothing.
        #expect(try cli.run("review", "resolve", id, "--reject").status == 2)
        try cli.dropFixture("work-order-complete.json", source: "workorders", as: "old-again.json")
        _ = try cli.run("run", "--once", "--stability-window", "0")
        #expect(try cli.scalar("SELECT findings FROM work_order") == "Seal weeping")
    }

    @Test("reject keeps the state, records who and why; a record waiting for a reference cannot be accepted")
    func rejectAndRefuse() throws {
        let cli = try heldDivergence()
        let id = try #require(try cli.scalar("SELECT id FROM review_item"))
        #expect(try cli.run("review", "resolve", id, "--reject", "--note", "duplicate send", "--by", "ops").status == 0)
        #expect(try cli.scalar("SELECT findings FROM work_order") == "No issues")
        #expect(try cli.scalar("SELECT outcome FROM record_outcome ORDER BY id DESC LIMIT 1") == "rejected")

        try cli.dropFixture("unknown-asset-wo.json", source: "workorders")
        _ = try cli.run("run", "--once", "--stability-window", "0")
        let waiting = try #require(try cli.scalar("SELECT id FROM review_item WHERE reason = 'UNKNOWN_ASSET'"))
        let refused = try cli.run("review", "resolve", waiting, "--accept")
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("cannot be accepted"))
    }

    @Test("resolved beside a running pass: the resolution applies, the pass signs and emits it when it ends")
    func resolveBesideRun() throws {
        let cli = try heldDivergence()
        let id = try #require(try cli.scalar("SELECT id FROM review_item"))
        let signedBefore = try cli.scalar("SELECT MAX(tree_size) FROM checkpoint")
        do {
            // Held as a running pass holds it (another process sees it taken).
            let runLock = try RunLock(path: cli.root + "/State/run.lock")
            let resolve = try cli.run("review", "resolve", id, "--accept", "--by", "qa.lead", "--wait", "5")
            #expect(resolve.status == 0, "\(resolve.stderr)")
            #expect(resolve.stdout.contains("is active: it signs a checkpoint over this resolution"), "\(resolve.stdout)")
            #expect(try cli.scalar("SELECT findings FROM work_order") == "Seal weeping")
            #expect(try cli.scalar("SELECT MAX(tree_size) FROM checkpoint") == signedBefore)
            withExtendedLifetime(runLock) {}
        }
        #expect(try cli.run("run", "--once", "--stability-window", "0").status == 0)
        #expect(try cli.scalar("SELECT MAX(tree_size) FROM checkpoint") == cli.scalar("SELECT MAX(seq) FROM ledger_entry"))
        #expect(try cli.scalar("SELECT COUNT(*) FROM outbox_queue WHERE emitted_at IS NULL") == "0")
        #expect(try cli.run("ledger", "verify").status == 0)
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
}
