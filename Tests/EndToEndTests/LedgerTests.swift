import DPPSync
import Foundation
import Testing

@Suite("ledger: verify catches every tampering, proofs check outside dppsync")
struct LedgerTests {
    /// A root with the reference files applied: 5 entries, 1 checkpoint.
    func populatedRoot(_ name: String = #function) throws -> CLI {
        let cli = try CLI.freshRoot(name)
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.dropFixture("work-order-complete.json", source: "workorders")
        let run = try cli.run("run", "--once", "--stability-window", "0")
        #expect(run.status == 0)
        let verify = try cli.run("ledger", "verify")
        #expect(verify.status == 0, "\(verify.stdout)")
        #expect(verify.stdout.contains("checkpoints: 1 stored + 1 kept outside"))
        return cli
    }

    func tamper(_ cli: CLI, _ sql: String) throws {
        // Writes behind dppsync's back, as an attacker with the database file would.
        let store = try Store(path: cli.layout.storeFile)
        try store.write { db in try db.execute(sql: sql) }
    }

    func findings(_ cli: CLI, witness: String? = nil) throws -> (Int32, [String]) {
        let result = try cli.run(arguments: ["ledger", "verify", "--json"] + (witness.map { ["--witness", $0] } ?? []))
        let report = try JSONParser.parseDocument(Array(result.stdout.utf8))
        guard case .array(let list)? = report["findings"] else { return (result.status, []) }
        return (result.status, list.compactMap { f in f["code"]?.scalarText.map { "\($0) \(f["entry"]?.scalarText ?? "-"): \(f["message"]?.scalarText ?? "")" } })
    }

    @Test("an edited entry is caught and named")
    func editedEntry() throws {
        let cli = try populatedRoot()
        try tamper(cli, "UPDATE ledger_entry SET body = CAST(replace(CAST(sqlar_uncompress(body, body_size) AS TEXT), 'IN_SERVICE', 'SCRAPPED') AS BLOB), body_size = NULL WHERE seq = 1")
        let (status, found) = try findings(cli)
        #expect(status == 1)
        #expect(found.contains { $0.hasPrefix("ENTRY_EDITED 1") })
        #expect(found.contains { $0.hasPrefix("CHECKPOINT_ROOT_MISMATCH") })
    }

    /// SQLite refusing an entry's change had stopped the verify with its own error, naming no entry
    /// and reporting none of what it had found.
    @Test("an entry whose change the state tables refuse is a finding naming it, and the rest is still checked")
    func unreplayableEntry() throws {
        let cli = try populatedRoot()
        func edit(_ seq: Int, _ from: String, _ to: String) throws {
            try tamper(cli, "UPDATE ledger_entry SET body = CAST(replace(CAST(sqlar_uncompress(body, body_size) AS TEXT), '\(from)', '\(to)') AS BLOB), "
                       + "body_size = NULL WHERE seq = \(seq)")
        }
        try edit(1, "\"dpp_id\":\"DPP-H2-001\"", "\"dpp_id\":null")
        try edit(2, "\"table\":\"asset\"", "\"table\":\"no_such_table\"")
        let (status, found) = try findings(cli)
        #expect(status == 1)
        #expect(found.contains { $0.hasPrefix("ENTRY_NOT_REPLAYABLE 1") && $0.contains("NOT NULL constraint failed: asset.dpp_id") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("ENTRY_NOT_REPLAYABLE 2") && $0.contains("unknown state table 'no_such_table'") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("ENTRY_EDITED 1") } && found.contains { $0.hasPrefix("ENTRY_EDITED 2") })
        let diverging = found.filter { $0.hasPrefix("STATE_DIVERGES") }
        // Entry 1's two rows both lose their key; entry 2's installation row still replays: only the refused rows diverge.
        #expect(diverging.count == 3 && diverging.contains { $0.contains("asset DPP-H2-002") } && !diverging.contains { $0.contains("installation DPP-H2-002") }
                && diverging.allSatisfy { $0.contains("DPP-H2-001") || $0.contains("DPP-H2-002") }, "the refused rows, and no more: the later entries replayed \(found)")
    }

    @Test("ledger show refuses a history with an entry it cannot read, rather than leave the entry out")
    func showWithAnUnreadableEntry() throws {
        let cli = try populatedRoot()
        let seq = try #require(try cli.scalar("SELECT MAX(seq) FROM ledger_entry WHERE subject = 'DPP-H2-001'"))
        try tamper(cli, "UPDATE ledger_entry SET body = X'00', body_size = 40 WHERE seq = \(seq)")
        let show = try cli.run("ledger", "show", "--asset", "DPP-H2-001")
        #expect(show.status != 0)
        #expect(show.stderr.contains("ledger entry \(seq)") && show.stderr.contains("ledger verify"), "\(show.stderr)")
    }

    @Test("an entry edited together with its leaf hash is still caught by the checkpoint")
    func editedEntryAndLeaf() throws {
        let cli = try populatedRoot()
        try tamper(cli, "UPDATE ledger_entry SET body = CAST(replace(CAST(sqlar_uncompress(body, body_size) AS TEXT), 'No issues', 'Cracked') AS BLOB), body_size = NULL WHERE seq = 4")
        // Recompute the leaf hash the way an informed attacker would (SQLite has no SHA-256: do it in Swift).
        let store = try Store(path: cli.layout.storeFile)
        try store.write { db in
            let body = try Data.fetchOne(db, sql: "SELECT body FROM ledger_entry WHERE seq = 4") ?? Data()
            try db.execute(sql: "UPDATE ledger_entry SET leaf_hash = ? WHERE seq = 4", arguments: [Data(LedgerEntry.leafHash([UInt8](body)))])
        }
        let (status, found) = try findings(cli)
        #expect(status == 1)
        #expect(found.contains { $0.hasPrefix("CHECKPOINT_ROOT_MISMATCH") })
        #expect(!found.contains { $0.hasPrefix("ENTRY_EDITED") })
    }

    @Test("a stored body that is not the zlib stream it claims is caught, not trusted")
    func corruptStoredBody() throws {
        let cli = try populatedRoot()
        #expect(try cli.scalar("SELECT COUNT(*) FROM ledger_entry WHERE length(body) < body_size") != "0", "bodies are stored compressed")
        try tamper(cli, "UPDATE ledger_entry SET body = substr(body, 1, 20) WHERE seq = 4")
        let (status, found) = try findings(cli)
        #expect(status == 1)
        #expect(found.contains { $0.hasPrefix("ENTRY_EDITED 4") && $0.contains("cannot be read") })
    }

    @Test("a deleted entry is caught")
    func deletedEntry() throws {
        let cli = try populatedRoot()
        try tamper(cli, "DELETE FROM ledger_entry WHERE seq = 2")
        let (status, found) = try findings(cli)
        #expect(status == 1)
        #expect(found.contains { $0.hasPrefix("SEQUENCE_BROKEN 3") })
        #expect(found.contains { $0.hasPrefix("STATE_DIVERGES") && $0.contains("asset DPP-H2-002") })
    }

    @Test("two swapped entries are caught")
    func swappedEntries() throws {
        let cli = try populatedRoot()
        try tamper(cli, """
            UPDATE ledger_entry SET seq = -1 WHERE seq = 1;
            UPDATE ledger_entry SET seq = 1 WHERE seq = 2;
            UPDATE ledger_entry SET seq = 2 WHERE seq = -1;
            """)
        let (status, found) = try findings(cli)
        #expect(status == 1)
        #expect(found.contains { $0.hasPrefix("ENTRY_MISPLACED 1") })
        #expect(found.contains { $0.hasPrefix("ENTRY_MISPLACED 2") })
    }

    @Test("an inserted entry is caught")
    func insertedEntry() throws {
        let cli = try populatedRoot()
        try tamper(cli, """
            INSERT INTO ledger_entry (seq, time, batch_id, kind, subject, body, body_size, leaf_hash)
            SELECT (SELECT MAX(seq) + 1 FROM ledger_entry), time, batch_id, kind, subject, body, body_size, leaf_hash FROM ledger_entry WHERE seq = 3
            """)
        let inserted = try cli.scalar("SELECT MAX(seq) FROM ledger_entry") ?? "?"
        let (status, found) = try findings(cli)
        #expect(status == 1)
        #expect(found.contains { $0.hasPrefix("ENTRY_MISPLACED \(inserted)") })
    }

    @Test("a state row changed behind the ledger's back is caught, with table, key and column")
    func stateEditedDirectly() throws {
        let cli = try populatedRoot()
        try tamper(cli, "UPDATE asset SET status = 'SCRAPPED' WHERE dpp_id = 'DPP-H2-002'")
        try tamper(cli, "INSERT INTO work_order (work_order_id, dpp_id) VALUES ('WO-FAKE', 'DPP-H2-001')")
        let (status, found) = try findings(cli)
        #expect(status == 1)
        #expect(found.contains { $0.contains("asset DPP-H2-002: status is 'SCRAPPED' in the state, 'IN_SERVICE' by the ledger") })
        #expect(found.contains { $0.contains("work_order WO-FAKE: the state table has a row no ledger entry wrote") })
    }

    @Test("the subject index that ledger show reads is checked against the entries")
    func subjectIndexEdited() throws {
        let cli = try populatedRoot()
        let seq = try #require(try cli.scalar("SELECT seq FROM ledger_subject WHERE subject = 'DPP-PART-123'"))
        try tamper(cli, "DELETE FROM ledger_subject WHERE subject = 'DPP-PART-123'")
        try tamper(cli, "INSERT INTO ledger_subject (subject, seq) VALUES ('DPP-H2-002', 1)")
        let (status, found) = try findings(cli)
        #expect(status == 1)
        #expect(found.contains { $0.hasPrefix("SUBJECT_INDEX_DIVERGES \(seq):") && $0.contains("DPP-PART-123") })
        #expect(found.contains { $0.hasPrefix("SUBJECT_INDEX_DIVERGES 1:") && $0.contains("DPP-H2-002") })
    }

    @Test("an entry's columns beside its body are checked: a changed subject would hide it from ledger show")
    func entryColumnsEdited() throws {
        let cli = try populatedRoot()
        let seq = try #require(try cli.scalar("SELECT MIN(seq) FROM ledger_entry WHERE subject = 'DPP-H2-001'"))
        try tamper(cli, "UPDATE ledger_entry SET subject = 'DPP-ELSEWHERE' WHERE seq = \(seq)")
        try tamper(cli, "UPDATE ledger_entry SET kind = 'asset.forged' WHERE seq = 1")
        let (status, found) = try findings(cli)
        #expect(status == 1)
        #expect(found.contains { $0.hasPrefix("SUBJECT_INDEX_DIVERGES \(seq):") && $0.contains("DPP-ELSEWHERE") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("ENTRY_EDITED 1:") && $0.contains("kind column says asset.forged") }, "\(found)")
    }

    @Test("a forged checkpoint (not signed by the pinned key) is caught")
    func forgedCheckpoint() throws {
        let cli = try populatedRoot()
        let forger = LedgerSigner(name: "dppsync.local/ampel360")
        let size = Int(try cli.scalar("SELECT MAX(tree_size) FROM checkpoint") ?? "") ?? 0
        let note = try forger.sign(body: Checkpoint(origin: "dppsync.local/ampel360", treeSize: size, rootHash: MerkleTree.emptyRoot).body)
        try tamper(cli, "UPDATE checkpoint SET note = '\(note)', root_hash = X'\(Fingerprint.sha256Hex(""))'")
        let (status, found) = try findings(cli)
        #expect(status == 1)
        #expect(found.contains { $0.hasPrefix("CHECKPOINT_SIGNATURE_INVALID") && $0.contains("stored checkpoint of size") })
    }

    @Test("a log truncated and re-signed with another key is caught by the checkpoints kept outside")
    func truncatedAndResigned() throws {
        let cli = try populatedRoot()
        // A witness kept a copy of the outbox's checkpoints.
        let witness = cli.root + "/witness"
        try FileManager.default.createDirectory(atPath: witness, withIntermediateDirectories: true)
        for name in cli.files(in: "Outbox/ledger-checkpoints") {
            try FileManager.default.copyItem(atPath: cli.root + "/Outbox/ledger-checkpoints/" + name, toPath: witness + "/" + name)
        }
        // The attacker drops the last two entries, replaces the key and the pinned key, re-signs,
        // and cleans the outbox.
        try tamper(cli, "DELETE FROM ledger_entry WHERE seq > 3; DELETE FROM checkpoint; DELETE FROM outbox_queue; DELETE FROM outbox_message")
        try FileManager.default.removeItem(atPath: cli.layout.state + "/ledger.key")
        try FileManager.default.removeItem(atPath: cli.root + "/Outbox/ledger-checkpoints")
        let config = try String(contentsOfFile: cli.layout.configFile, encoding: .utf8)
        let signer = try Ledger.ensureKey(at: cli.layout.state + "/ledger.key", origin: "dppsync.local/ampel360")
        let oldKey = try #require(config.split(separator: "\n").first { $0.contains("verifierKey:") })
        try config.replacingOccurrences(of: String(oldKey), with: "  verifierKey: \"\(signer.verifier)\"")
            .write(toFile: cli.layout.configFile, atomically: true, encoding: .utf8)
        #expect(try cli.run("ledger", "checkpoint").status == 0)

        let (status, found) = try findings(cli, witness: witness)
        #expect(status == 1)
        #expect(found.contains { $0.hasPrefix("CHECKPOINT_SIGNATURE_INVALID") && $0.contains("witness") })
        #expect(found.contains { $0.hasPrefix("LOG_TRUNCATED 4") })
    }

    @Test("a proof of an entry removed from a signed log is evidence (exit 1), not an entry asked for that is not there (2)")
    func proofOfRemovedEntry() throws {
        let cli = try populatedRoot()
        let size = try #require(try cli.scalar("SELECT MAX(seq) FROM ledger_entry"))
        try tamper(cli, "DELETE FROM ledger_entry WHERE seq = \(size)")
        let proof = try cli.run("ledger", "proof", size)
        #expect(proof.status == 1 && proof.stderr.contains("entries were removed"), "\(proof.stderr)")
        #expect(try cli.run("ledger", "proof", "--consistency", "1", size).status == 1)
        #expect(try cli.run("ledger", "proof", String((Int(size) ?? 0) + 5)).status == 1, "the log is shorter than signed, whatever is asked")
        // With the store's checkpoints cut too, the ones published in Outbox/ still stand: nothing is signed over
        // the shorter log (it had been, at the next run), nor another tree of a size published.
        try tamper(cli, "DELETE FROM checkpoint WHERE tree_size >= \(size); DELETE FROM ledger_subtree")
        let signing = try cli.run("ledger", "checkpoint")
        #expect(signing.status == 1 && signing.stderr.contains("entries were removed"), "\(signing.stdout)\(signing.stderr)")
        #expect(try cli.scalar("SELECT COUNT(*) FROM checkpoint WHERE tree_size = \(size) - 1") == "0")
        try tamper(cli, "INSERT INTO ledger_entry (seq, time, batch_id, kind, subject, body, body_size, leaf_hash) SELECT \(size), time, batch_id, kind, subject, body, body_size, zeroblob(32) FROM ledger_entry WHERE seq = 1")
        let rewritten = try cli.run("ledger", "checkpoint")
        #expect(rewritten.status == 1 && rewritten.stderr.contains("no longer have the root Outbox/ledger-checkpoints/\(size).checkpoint signed"),
                "\(rewritten.stdout)\(rewritten.stderr)")
    }

    /// The published checkpoints are read for what they say: a stray file named like one had stopped every run.
    @Test("stray files among the published checkpoints change nothing; a log cut and grown past them is not signed")
    func publishedCheckpointsAsWitnesses() throws {
        let cli = try populatedRoot()
        let folder = cli.root + "/Outbox/ledger-checkpoints/"
        try "junk".write(toFile: folder + "100.checkpoint", atomically: true, encoding: .utf8)
        try "junk".write(toFile: folder + "+200.checkpoint", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: folder + "500.checkpoint", withIntermediateDirectories: false)
        // Another root's checkpoint of a larger tree, signed by its own key.
        let other = try populatedRoot("publishedCheckpointsAsWitnessesOther")
        try other.drop(try Fixtures.text("work-order-complete.json").replacingOccurrences(of: "WO-54321", with: "WO-54322"), as: "wo2.json", source: "workorders")
        _ = try ReconciliationTests.run(other)
        let foreign = try #require(other.files(in: "Outbox/ledger-checkpoints").max { (Int($0.split(separator: ".")[0]) ?? 0) < (Int($1.split(separator: ".")[0]) ?? 0) })
        try FileManager.default.copyItem(atPath: other.root + "/Outbox/ledger-checkpoints/" + foreign, toPath: folder + "9" + foreign)
        try cli.drop(try Fixtures.text("work-order-complete.json").replacingOccurrences(of: "WO-54321", with: "WO-54323"), as: "wo3.json", source: "workorders")
        let run = try ReconciliationTests.run(cli)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let size = try #require(try cli.scalar("SELECT MAX(seq) FROM ledger_entry"))
        #expect(FileSystem.exists(folder + size + ".checkpoint"), "signed as ever")
        let signed = try cli.run("status")
        #expect(signed.stdout.contains("ledger: \(size) entries, signed through \(size) at ") && !signed.stdout.contains("REFUSED"), "\(signed.stdout)")
        // Cut back with the store's checkpoints after the cut, then grown past the published size by a new run.
        let cut = (Int(size) ?? 0) - 2
        try tamper(cli, "DELETE FROM ledger_entry WHERE seq > \(cut); DELETE FROM checkpoint WHERE tree_size > \(cut); DELETE FROM ledger_subject WHERE seq > \(cut); DELETE FROM ledger_subtree")
        try cli.drop(try Fixtures.text("work-order-complete.json").replacingOccurrences(of: "WO-54321", with: "WO-54324"), as: "wo4.json", source: "workorders")
        try cli.drop(try Fixtures.text("work-order-complete.json").replacingOccurrences(of: "WO-54321", with: "WO-54325"), as: "wo5.json", source: "workorders")
        let grown = try ReconciliationTests.run(cli)
        #expect(grown.status == 1 && (grown.stdout + grown.stderr).contains("no longer have the root"), "\(grown.stdout)\(grown.stderr)")
        // `status` says why the outbox waits: it had said only that messages were not sent.
        let refused = try cli.run("status")
        #expect(refused.stdout.contains("  SIGNING REFUSED: the ledger's first \(size) entries no longer have the root"), "\(refused.stdout)")
        let json = try JSONParser.parseDocument(Array(try cli.run("status", "--json").stdout.utf8))
        #expect(json["ledger"]?["signingRefusedBecause"]?.scalarText?.contains("ledger verify") == true)
        #expect((json["ledger"]?["signed"]?.scalarText).flatMap { Int($0) }.map { $0 <= cut } == true, "the store's checkpoints after the cut went with it")
    }

    @Test("a review resolution committed before signing is refused says it stands, and status says why the outbox waits")
    func resolutionBeforeARefusedSigning() throws {
        let cli = try populatedRoot()
        try cli.drop(try Fixtures.text("work-order-complete.json").replacingOccurrences(of: "No issues", with: "Seal weeping"), as: "wo2.json", source: "workorders")
        #expect(try ReconciliationTests.run(cli).status == 1, "held for review")
        let item = try #require(try cli.scalar("SELECT id FROM review_item WHERE status = 'open'"))
        let size = try #require(try cli.scalar("SELECT MAX(seq) FROM ledger_entry").flatMap { Int($0) })
        try tamper(cli, "DELETE FROM ledger_entry WHERE seq > \(size - 1); DELETE FROM checkpoint WHERE tree_size > \(size - 1); DELETE FROM ledger_subtree")
        let resolve = try cli.run("review", "resolve", item, "--accept", "--by", "qa.lead")
        #expect(resolve.status == 1, "a ledger that does not check")
        #expect(resolve.stderr.contains("review item #\(item) is resolved and stays so, but nothing was signed and its outbox files wait: the ledger's first \(size) entries no longer have the root"),
                "\(resolve.stdout)\(resolve.stderr)")
        #expect(try cli.scalar("SELECT status FROM review_item WHERE id = \(item)") == "accepted")
        let status = try cli.run("status")
        #expect(status.stdout.contains("SIGNING REFUSED: the ledger's first \(size) entries no longer have the root"), "\(status.stdout)")
    }

    @Test("a log cut inside a kept subtree and grown again is not signed, even with its kept hash left in place and no checkpoint published")
    func cutInsideAKeptSubtree() throws {
        let cli = try CLI.freshRoot()
        func assets(_ range: Range<Int>) -> String {
            #"{"exportedAt": "2025-11-01T02:00:00Z", "assets": ["# + range.map { #"{"dppId": "DPP-T-\#($0)", "partNumber": "AMP-T", "serialNumber": "T-\#($0)", "status": "IN_STOCK"}"# }
                .joined(separator: ",\n") + "]}"
        }
        try cli.drop(assets(0..<300), as: "many.json", source: "registry")
        #expect(try ReconciliationTests.run(cli).status == 0)
        #expect(try cli.scalar("SELECT COUNT(*) FROM ledger_subtree WHERE height = 8 AND idx = 0") == "1")
        // Cut at 200, inside the first 256 entries, keeping their subtree hash; the consumer took every published
        // checkpoint. 100 new assets complete those 256 entries again, with another hash: the kept one had been replaced.
        try tamper(cli, "DELETE FROM ledger_entry WHERE seq > 200; DELETE FROM checkpoint WHERE tree_size > 200; DELETE FROM ledger_subject WHERE seq > 200")
        try FileManager.default.removeItem(atPath: cli.root + "/Outbox/ledger-checkpoints")
        try cli.drop(assets(1000..<1100), as: "more.json", source: "registry")
        let grown = try ReconciliationTests.run(cli)
        #expect(grown.status == 1 && (grown.stdout + grown.stderr).contains("no longer have the hash kept when they were signed"), "\(grown.stdout)\(grown.stderr)")
        #expect(cli.files(in: "Outbox/ledger-checkpoints").isEmpty, "nothing signed over them")
    }

    @Test("a --witness folder that is not there is a usage error, not a log that passes unwitnessed")
    func missingWitnessFolder() throws {
        let cli = try populatedRoot()
        let result = try cli.run("ledger", "verify", "--witness", cli.root + "/no-such-folder")
        #expect(result.status == 2, "a usage error: \(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("no-such-folder"))
        // An empty folder (the wrong one) had given "ledger OK", with nothing compared.
        let empty = cli.root + "/empty-witness"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let unwitnessed = try cli.run("ledger", "verify", "--witness", empty)
        #expect(unwitnessed.status == 2 && unwitnessed.stderr.contains("holds no checkpoint"), "\(unwitnessed.stdout)\(unwitnessed.stderr)")
    }

    @Test("proofs from the CLI pass the README's Python checker, and altered ones fail it")
    func proofsCheckOutsideDppsync() throws {
        let cli = try populatedRoot()
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Scripts/verify-proof.py").path
        func check(_ json: String, key: String? = nil, arguments: [String] = []) throws -> Int32 {
            let file = cli.root + "/proof-\(UUID().uuidString).json"
            try json.write(toFile: file, atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script, file] + (key.map { ["--key", $0] } ?? []) + arguments
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus
        }
        let size = Int(try cli.scalar("SELECT COUNT(*) FROM ledger_entry") ?? "") ?? 0
        for seq in 1...size {
            let proof = try cli.run("ledger", "proof", String(seq)).stdout
            #expect(try check(proof) == 0, "entry \(seq)")
            #expect(try check(proof.replacingOccurrences(of: "\"leafIndex\": \(seq - 1)", with: "\"leafIndex\": \(seq % size)")) == 1)
        }
        let consistency = try cli.run("ledger", "proof", "--consistency", "2", String(size)).stdout
        #expect(try check(consistency) == 0)
        // With the pinned key, the checkpoint's signature is checked too: a forged one had passed as "valid".
        let key = try cli.run("ledger", "key").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let signed = try cli.run("ledger", "proof", "1").stdout
        #expect(try check(signed, key: key) == 0)
        // (In the JSON, the note's signature line follows an escaped newline: `\n— <name> <base64>`.)
        let signatureLine = try #require(signed.range(of: "\\n— "), "\(signed)")
        let signatureStart = signed.index(signatureLine.upperBound, offsetBy: key.split(separator: "+")[0].count + 10)
        let forged = signed.replacingCharacters(in: signatureStart...signatureStart, with: signed[signatureStart] == "A" ? "B" : "A")
        #expect(forged != signed)
        #expect(try check(forged) == 0, "without the key, only the tree is checked (and the script says so)")
        #expect(try check(forged, key: key) == 1, "a forged signature")
        #expect(try check(forged, arguments: ["--key=" + key]) == 1, "the --key=K spelling is read, not taken for a file")
        #expect(try check(consistency, key: key) == 2, "--key with a consistency proof, which has no checkpoint: a usage error")
        // Entries are numbered from 1: entry 0 is not one "not covered by the latest checkpoint".
        let zero = try cli.run("ledger", "proof", "0")
        #expect(zero.status == 2 && zero.stderr.contains("there is no entry 0: the ledger's entries are numbered 1 to \(size)"), "\(zero.stderr)")
        let altered = consistency.replacingOccurrences(of: "\"oldSize\": 2", with: "\"oldSize\": 3")
        #expect(try check(altered) == 1)
        #expect(try check(consistency.replacingOccurrences(of: "\"oldSize\": 2", with: "\"oldSize\": -2")) == 1, "a negative size")
        let last = try cli.run("ledger", "proof", String(size)).stdout
        #expect(try check(last.replacingOccurrences(of: "\"leafIndex\": \(size - 1)", with: "\"leafIndex\": -1")) == 1, "a negative index")
        // From the empty tree: consistent with any tree, but only under the empty tree's root.
        let fromEmpty = try cli.run("ledger", "proof", "--consistency", "0", String(size))
        #expect(fromEmpty.status == 0, "\(fromEmpty.stderr)")
        #expect(try check(fromEmpty.stdout) == 0)
        let emptyRoot = Fingerprint.sha256Hex("")
        #expect(fromEmpty.stdout.contains(emptyRoot))
        #expect(try check(fromEmpty.stdout.replacingOccurrences(of: emptyRoot, with: String(repeating: "0", count: 64))) == 1, "another root for the empty tree")
    }

    @Test("proofs of a log of 1,300 entries read its kept subtree hashes; a store from before them gets them on open; an edited one is a finding")
    func proofsFromKeptSubtrees() throws {
        let cli = try CLI.freshRoot()
        let assets = (0..<1_300).map { #"{"dppId": "DPP-T-\#($0)", "partNumber": "AMP-T", "serialNumber": "T-\#($0)", "status": "IN_STOCK"}"# }
        try cli.drop(#"{"exportedAt": "2025-11-01T02:00:00Z", "assets": ["# + assets.joined(separator: ",\n") + "]}", as: "many.json", source: "registry")
        #expect(try cli.run("run", "--once", "--stability-window", "0").status == 0)
        let size = try #require(Int(try cli.scalar("SELECT MAX(tree_size) FROM checkpoint") ?? ""))
        #expect(size >= 1_300)
        let expected = (8..<20).reduce(0) { $0 + size >> $1 }
        #expect(try cli.scalar("SELECT COUNT(*) FROM ledger_subtree") == String(expected))
        let leaves = try #require(try cli.scalar("SELECT group_concat(hex(leaf_hash), ' ') FROM (SELECT leaf_hash FROM ledger_entry WHERE seq <= \(size) ORDER BY seq)"))
            .split(separator: " ").map { HexBytes.decode(String($0)) }
        func hashes(_ proof: String) throws -> [String] {
            let document = try JSONParser.parseDocument(Array(proof.utf8))
            guard case .array(let list)? = document["hashes"] else { return [] }
            return list.compactMap(\.scalarText)
        }
        func checkProofs() throws {
            for seq in [1, 256, 257, 700, size] {
                let proof = try cli.run("ledger", "proof", String(seq))
                #expect(proof.status == 0, "\(proof.stderr)")
                #expect(try hashes(proof.stdout) == MerkleTree.inclusionProof(index: seq - 1, leaves: leaves[...]).map(HexBytes.encode), "entry \(seq)")
            }
            let consistency = try cli.run("ledger", "proof", "--consistency", "300", String(size)).stdout
            #expect(try hashes(consistency) == MerkleTree.consistencyProof(oldSize: 300, leaves: leaves[...]).map(HexBytes.encode))
            #expect(consistency.contains(HexBytes.encode(MerkleTree.root(leaves[..<300]))))
        }
        try checkProofs()
        // A store from before the kept hashes (v24) gets them when it is opened, and proves the same.
        try tamper(cli, "DROP TABLE ledger_subtree; DELETE FROM grdb_migrations WHERE identifier = 'v24-ledger-subtrees'")
        try checkProofs()
        #expect(try cli.scalar("SELECT COUNT(*) FROM ledger_subtree") == String(expected))
        #expect(try findings(cli).1.isEmpty)
        // An edited subtree hash (entries 257…512): no proof that would use it is given out, and verify names it.
        try tamper(cli, "UPDATE ledger_subtree SET hash = zeroblob(32) WHERE height = 8 AND idx = 1")
        let refused = try cli.run("ledger", "proof", "1")
        #expect(refused.status == 1 && refused.stdout.isEmpty, "evidence, as verify reports it; not a usage error (2)")
        #expect(refused.stderr.contains("entry 1's proof does not check against the latest checkpoint"), "\(refused.stderr)")
        #expect(try cli.run("ledger", "proof", "1000").status == 0, "a proof that does not use it")
        let broken = try cli.run("ledger", "proof", "--consistency", "100", String(size))
        #expect(broken.status == 1 && broken.stderr.contains("the consistency proof from 100 to \(size) entries does not check"), "\(broken.stderr)")
        let (status, found) = try findings(cli)
        #expect(status == 1)
        #expect(found == ["SUBTREE_DIVERGES 512: the kept hash of entries 257…512 is not theirs: proofs that use it fail to check (the store was edited)"])
        // One under the signed root (entries 1…1024): the roots a consistency proof states are checked against the checkpoints.
        try tamper(cli, "UPDATE ledger_subtree SET hash = zeroblob(32) WHERE height = 10 AND idx = 0")
        let unsigned = try cli.run("ledger", "proof", "--consistency", "1100", String(size))
        #expect(unsigned.status == 1 && unsigned.stderr.contains("does not have the root its checkpoint signed"), "\(unsigned.stderr)")
        // The root is the one the note signs, not the column beside it.
        try tamper(cli, "UPDATE checkpoint SET root_hash = zeroblob(32)")
        let signed = try cli.run("ledger", "proof", "1000")
        #expect(signed.status == 0, "\(signed.stderr)")
        #expect(signed.stdout.contains(#""rootHash": "\#(HexBytes.encode(MerkleTree.root(leaves[...])))""#), "\(signed.stdout)")
    }

    @Test("ledger show lists a component's history with provenance; ledger key prints the pinned key")
    func showAndKey() throws {
        let cli = try populatedRoot()
        let show = try cli.run("ledger", "show", "--asset", "DPP-PART-123")
        #expect(show.status == 0)
        #expect(show.stdout.contains("#3"))
        #expect(show.stdout.contains("workorder.completed"), "the work order that installed the part is in its history")
        #expect(show.stdout.contains("from work-order-complete.json record 0"))
        let key = try cli.run("ledger", "key").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try String(contentsOfFile: cli.layout.configFile, encoding: .utf8).contains("verifierKey: \"\(key)\""))
        let mode = try FileManager.default.attributesOfItem(atPath: cli.layout.state + "/ledger.key")[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }
}

/// Hashes as the CLI's JSON writes them (lower-case hex).
enum HexBytes {
    static func encode(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func decode(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count - 1, by: 2).map { UInt8(String(decoding: digits[$0..<($0 + 2)], as: UTF8.self), radix: 16) ?? 0 }
    }
}
