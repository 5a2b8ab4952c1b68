import Foundation
import GRDB

/// One problem `ledger verify` found, naming the entry, checkpoint or row it concerns.
public struct LedgerFinding: Sendable, Hashable, CustomStringConvertible {
    /// Stable code: `ENTRY_EDITED`, `SEQUENCE_BROKEN`, `ENTRY_MISPLACED`, `CHECKPOINT_ROOT_MISMATCH`,
    /// `CHECKPOINT_SIGNATURE_INVALID`, `LOG_TRUNCATED`, `STATE_DIVERGES`, `SUBJECT_INDEX_DIVERGES`, `SUBTREE_DIVERGES`,
    /// `ENTRY_NOT_REPLAYABLE`, `NO_PINNED_KEY`.
    public var code: String
    public var entry: Int64?
    public var message: String

    public var description: String { "\(code): \(message)" }

    public var jsonValue: JSONValue {
        .object([("code", .string(code)), ("entry", entry.map { .number(String($0)) } ?? .null), ("message", .string(message))])
    }
}

/// Recomputes the log from the stored rows and checks it against its signed
/// checkpoints, checkpoints kept outside the store, and the state tables.
public struct LedgerVerifier {
    public let ledger: Ledger
    /// The verifier key pinned in `dppsync.yaml`.
    public let pinnedKey: LedgerVerifierKey?
    /// Folders of checkpoints kept elsewhere (the outbox copy, a witness's folder).
    public let witnessFolders: [String]

    public init(ledger: Ledger, pinnedKey: LedgerVerifierKey?, witnessFolders: [String]) {
        self.ledger = ledger; self.pinnedKey = pinnedKey; self.witnessFolders = witnessFolders
    }

    public struct Report: Sendable {
        public var entries = 0
        public var checkpointsChecked = 0
        public var witnessCheckpointsChecked = 0
        public var rowsCompared = 0
        public var findings: [LedgerFinding] = []
        public var ok: Bool { findings.isEmpty }
    }

    public func verify() throws -> Report {
        var report = Report()
        if pinnedKey == nil {
            report.findings.append(LedgerFinding(code: "NO_PINNED_KEY", entry: nil,
                message: "dppsync.yaml pins no ledger.verifierKey, so checkpoint signatures cannot be checked (print it with `dppsync ledger key`)"))
        }
        let checkpoints = try ledger.allCheckpoints()
        let witnesses = loadWitnesses(&report)
        var sizesToCheck = Set(checkpoints.map(\.checkpoint.treeSize))
        for (_, checkpoint) in witnesses { sizesToCheck.insert(checkpoint.treeSize) }
        var rootsBySize: [Int: Hash] = [:]

        // 1. Entries: contiguous sequence, bodies in place, leaves recomputed.
        // The replay goes to a scratch database file (not memory), so verifying a large ledger stays small.
        let scratch = NSTemporaryDirectory() + "dppsync-replay-\(getpid())-\(UUID().uuidString).sqlite"
        defer { for suffix in ["", "-wal", "-shm", "-journal"] { unlink(scratch + suffix) } }
        var scratchConfiguration = GRDB.Configuration()
        scratchConfiguration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF")
        }
        let replay = try DatabaseQueue(path: scratch, configuration: scratchConfiguration)
        try replay.write { db in
            for table in StateSchema.tables { try db.execute(sql: table.createSQL) }
            try db.execute(sql: "CREATE TABLE ledger_subject (subject TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (subject, seq)) WITHOUT ROWID")
        }
        var frontier = MerkleTree.Frontier()
        // The perfect subtrees' hashes kept for proofs, each checked as the recomputed tree completes it.
        var keptSubtrees: [SubtreeKey: Hash] = [:]
        try ledger.store.read { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT height, idx, hash FROM ledger_subtree")
            while let row = try rows.next() { keptSubtrees[SubtreeKey(height: row[0], index: row[1])] = [UInt8](row[2] as Data) }
        }
        if sizesToCheck.contains(0) { rootsBySize[0] = frontier.root }
        // Replayed a batch of entries to a scratch transaction: one transaction per entry (its locks, its
        // commit, GRDB's hand-over) had been most of a large verify (448,588 entries: 36.9 s). The batch
        // replays on the second core while this thread checks the next one; one batch is in flight at a
        // time, so memory stays at two batches and the replay keeps the ledger's order. The replayed batch
        // is emptied here, where its entries were made, and its storage filled again: freed on the replaying
        // thread, they had the two threads contend for malloc's lock (perf: ~8 % of the samples in futex
        // waits and wakes; 448,588 entries 15.5 → 13.9 s).
        var replaying: [(change: StateChange, seq: Int64)] = [], replayingBytes = 0
        let inReplay = HandedOver(replaying)
        // A row the state tables refuse (a key set to null, say) makes its entry a finding, and the replay
        // goes on without that row: it had stopped the verify with SQLite's error, naming no entry.
        var inFlight: BackgroundWork<[LedgerFinding]>?
        defer { _ = try? inFlight?.wait() }
        func collectReplayed() throws {
            report.findings += try inFlight?.wait() ?? []
            inFlight = nil
        }
        func replayPending() throws {
            guard !replaying.isEmpty else { return }
            try collectReplayed()
            inReplay.value.removeAll(keepingCapacity: true)
            swap(&inReplay.value, &replaying)
            inFlight = BackgroundWork {
                try replay.write { rdb in
                    let subject = try rdb.cachedStatement(sql: "INSERT OR IGNORE INTO ledger_subject (subject, seq) VALUES (?, ?)")
                    var refused: [LedgerFinding] = []
                    for (change, seq) in inReplay.value {
                        // Row by row: the entry's other rows still replay, so that only the refused one diverges.
                        var reasons: [String] = []
                        for row in change.rows {
                            do {
                                try StateWriter.write(row, in: rdb)
                            } catch let error as DatabaseError where [.SQLITE_CONSTRAINT, .SQLITE_MISMATCH, .SQLITE_TOOBIG].contains(error.resultCode) {
                                reasons.append(error.message ?? "\(error.resultCode)")
                            } catch let error as StoreError {
                                reasons.append(error.message)
                            }
                        }
                        if !reasons.isEmpty { refused.append(Self.notReplayable(seq, reasons.joined(separator: "; "))) }
                        for other in StateWriter.otherSubjects(of: change) { try subject.execute(arguments: [other, seq]) }
                    }
                    return refused
                }
            }
            replayingBytes = 0
        }
        try ledger.store.read { db in
            let cursor = try Row.fetchCursor(db, sql: "SELECT seq, time, batch_id, kind, subject, body, body_size, leaf_hash FROM ledger_entry ORDER BY seq")
            var expected: Int64 = 1
            let canonical = JSONByteBuffer()  // each entry written again, to compare with what is stored
            while let row = try cursor.next() {
                let seq: Int64 = row["seq"]
                let body: [UInt8]
                do {
                    body = try StoredBody.decode([UInt8](row["body"] as Data), size: row["body_size"])
                } catch {
                    report.findings.append(LedgerFinding(code: "ENTRY_EDITED", entry: seq, message: "entry \(seq)'s body cannot be read: \(error)"))
                    body = []
                }
                if seq != expected {
                    report.findings.append(LedgerFinding(code: "SEQUENCE_BROKEN", entry: seq,
                        message: "entry \(seq) follows entry \(expected - 1): entries \(expected)…\(seq - 1) are missing (deleted) or the sequence was rewritten"))
                    expected = seq
                }
                let leaf = LedgerEntry.leafHash(body)
                if leaf != [UInt8](row["leaf_hash"] as Data) {
                    report.findings.append(LedgerFinding(code: "ENTRY_EDITED", entry: seq,
                        message: "entry \(seq)'s body does not hash to its stored leaf hash: the entry was edited"))
                }
                if let entry = LedgerEntry(canonicalBytes: body) {
                    if entry.sequence != seq {
                        report.findings.append(LedgerFinding(code: "ENTRY_MISPLACED", entry: seq,
                            message: "the entry stored at \(seq) says it is entry \(entry.sequence): entries were reordered or inserted"))
                    }
                    entry.writeCanonicalBytes(to: canonical)
                    if !canonical.hasBytes(body) {
                        report.findings.append(LedgerFinding(code: "ENTRY_EDITED", entry: seq,
                            message: "entry \(seq) is not in canonical form: it was edited, or written by a program other than this dppsync"))
                    }
                    // The columns beside the body repeat what it says: `ledger show` finds an entry's
                    // own subject through its column, and lists, filters and reports read the others.
                    if (row["subject"] as String?) != entry.change.subject {
                        report.findings.append(LedgerFinding(code: "SUBJECT_INDEX_DIVERGES", entry: seq,
                            message: "entry \(seq) is about \(entry.change.subject), but its subject column says \((row["subject"] as String?) ?? "null") (its history would miss it)"))
                    }
                    let columns: [(String, String?, String?)] = [("time", row["time"], entry.time.description), ("kind", row["kind"], entry.change.kind),
                                                                 ("batch_id", (row["batch_id"] as Int64?).map(String.init), entry.batchId.map(String.init))]
                    for (column, stored, said) in columns where stored != said {
                        report.findings.append(LedgerFinding(code: "ENTRY_EDITED", entry: seq,
                            message: "entry \(seq)'s \(column) column says \(stored ?? "null"), its body \(said ?? "null")"))
                    }
                    replaying.append((entry.change, seq))
                    replayingBytes += body.count
                    // A batch is bounded by its entries' size too: a few entries can be large (a fleet's plan).
                    if replaying.count == 4_096 || replayingBytes > 16 << 20 { try replayPending() }
                } else {
                    report.findings.append(LedgerFinding(code: "ENTRY_EDITED", entry: seq, message: "entry \(seq)'s body cannot be read as a ledger entry"))
                }
                frontier.append(leaf) { range, hash in
                    let height = range.count.trailingZeroBitCount
                    guard height >= MerkleTree.storedSubtreeHeight, let kept = keptSubtrees.removeValue(forKey: SubtreeKey(height: height, index: range.lowerBound >> height)),
                          kept != hash else { return }
                    report.findings.append(LedgerFinding(code: "SUBTREE_DIVERGES", entry: Int64(range.upperBound),
                        message: "the kept hash of entries \(range.lowerBound + 1)…\(range.upperBound) is not theirs: proofs that use it fail to check (the store was edited)"))
                }
                if sizesToCheck.contains(frontier.size) { rootsBySize[frontier.size] = frontier.root }
                report.entries += 1
                expected += 1
            }
            try replayPending()
            try collectReplayed()
        }

        // A kept subtree hash left over: for entries that are not there, or of a size dppsync does not keep.
        for key in keptSubtrees.keys.sorted(by: { ($0.height, $0.index) < ($1.height, $1.index) }) {
            let first = (key.index << key.height) &+ 1, last = (key.index &+ 1) << key.height  // &+: the table may hold anything
            let why = last > report.entries ? "which the log (\(report.entries) entries) does not have (the log was truncated, or the store edited)"
                                            : "a subtree smaller than dppsync keeps (the store was edited)"
            report.findings.append(LedgerFinding(code: "SUBTREE_DIVERGES", entry: nil, message: "a hash is kept for entries \(first)…\(last), \(why)"))
        }

        // 2. Stored checkpoints: signature by the pinned key, root over the recomputed entries.
        for stored in checkpoints {
            report.checkpointsChecked += 1
            check(note: stored.note, size: stored.checkpoint.treeSize, root: stored.checkpoint.rootHash,
                  what: "stored checkpoint of size \(stored.checkpoint.treeSize)", roots: rootsBySize, total: report.entries, into: &report)
        }
        // 3. Checkpoints kept outside the store: a truncated, re-signed log is caught here.
        for (file, checkpoint) in witnesses {
            report.witnessCheckpointsChecked += 1
            guard let note = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            check(note: note, size: checkpoint.treeSize, root: checkpoint.rootHash, what: "checkpoint \(file)",
                  roots: rootsBySize, total: report.entries, into: &report)
        }
        // 4. Replay: the ledger must rebuild exactly the state tables, and the subject index
        //    that `ledger show` reads.
        try compareState(with: replay, into: &report)
        try compareSubjectIndex(with: replay, into: &report)
        return report
    }

    /// A kept perfect subtree: its height and its index among the subtrees of that height.
    private struct SubtreeKey: Hashable {
        var height: Int
        var index: Int
    }

    private func loadWitnesses(_ report: inout Report) -> [(String, Checkpoint)] {
        var result: [(String, Checkpoint)] = []
        for folder in witnessFolders {
            for name in FileSystem.entries(of: folder) where name.hasSuffix(".checkpoint") {
                let path = folder + "/" + name
                guard let text = try? String(contentsOfFile: path, encoding: .utf8), let note = SignedNote(text),
                      let checkpoint = Checkpoint(body: note.body) else {
                    report.findings.append(LedgerFinding(code: "CHECKPOINT_SIGNATURE_INVALID", entry: nil, message: "\(path) is not a signed checkpoint"))
                    continue
                }
                result.append((path, checkpoint))
            }
        }
        return result
    }

    private func check(note text: String, size: Int, root: Hash, what: String, roots: [Int: Hash], total: Int, into report: inout Report) {
        // A bad signature is reported, and the checkpoint's claims are still checked: a
        // witness's old checkpoint then also shows how far the log was truncated.
        if let pinnedKey {
            let note = SignedNote(text)
            let body = note.flatMap { Checkpoint(body: $0.body) }
            if note.map(pinnedKey.verifies) != true || body?.treeSize != size || body?.rootHash != root {
                report.findings.append(LedgerFinding(code: "CHECKPOINT_SIGNATURE_INVALID", entry: nil,
                    message: "\(what) is not validly signed by the pinned key \(pinnedKey.name)+\(pinnedKey.keyIdHex) (forged, or signed with another key)"))
            }
        }
        if size > total {
            report.findings.append(LedgerFinding(code: "LOG_TRUNCATED", entry: Int64(total + 1),
                message: "\(what) covers \(size) entries but the log holds \(total): entries \(total + 1)…\(size) were removed"))
        } else if roots[size] != root {
            report.findings.append(LedgerFinding(code: "CHECKPOINT_ROOT_MISMATCH", entry: nil,
                message: "\(what): its root does not match entries 1…\(size) as stored (an entry was edited, deleted, inserted or reordered)"))
        }
    }

    /// The subject index against the one the entries imply, merged in key order.
    private func compareSubjectIndex(with replay: DatabaseQueue, into report: inout Report) throws {
        typealias Listing = (subject: String, seq: Int64)
        func read(_ row: Row) -> Listing { (row["subject"], row["seq"]) }
        func order(_ a: Listing, _ b: Listing) -> Int {
            if a == b { return 0 }
            let first = a.subject == b.subject ? a.seq < b.seq : Self.precedes(a.subject, b.subject)
            return first ? -1 : 1
        }
        try merge("SELECT subject, seq FROM ledger_subject ORDER BY subject, seq", in: replay, read: read, order: order,
                  onlyStored: { x in
                      report.findings.append(LedgerFinding(code: "SUBJECT_INDEX_DIVERGES", entry: x.seq,
                          message: "ledger_subject lists entry \(x.seq) under \(x.subject), but the entry does not touch it"))
                  },
                  onlyImplied: { x in
                      report.findings.append(LedgerFinding(code: "SUBJECT_INDEX_DIVERGES", entry: x.seq,
                          message: "entry \(x.seq) touches \(x.subject), but ledger_subject does not list it there (its history would miss it)"))
                  },
                  both: { _, _ in })
    }

    private static func notReplayable(_ seq: Int64, _ reason: String) -> LedgerFinding {
        LedgerFinding(code: "ENTRY_NOT_REPLAYABLE", entry: seq,
                      message: "entry \(seq)'s change cannot be applied to the state tables (\(reason)): it was edited, or written to tables other than this dppsync's")
    }

    /// Every state table against the one the replay rebuilt, row by row.
    private func compareState(with replay: DatabaseQueue, into report: inout Report) throws {
        for table in StateSchema.tables {
            let select = "SELECT " + table.columns.joined(separator: ", ") + " FROM \(table.name) ORDER BY " + table.keyColumns.joined(separator: ", ")
            func values(_ row: Row) -> (key: [String], values: RowValues) {
                let values = RowValues(columns: table.columns, values: (0..<table.columns.count).map { row[$0] as String? })
                return (table.keyColumns.map { (values[$0] ?? nil) ?? "" }, values)
            }
            try merge(select, in: replay, read: values,
                      order: { a, b in a.key == b.key ? 0 : (a.key.lexicographicallyPrecedes(b.key, by: Self.precedes) ? -1 : 1) },
                      onlyStored: { x in
                          report.rowsCompared += 1
                          report.findings.append(LedgerFinding(code: "STATE_DIVERGES", entry: nil,
                              message: "\(table.name) \(x.key.joined(separator: "|")): the state table has a row no ledger entry wrote"))
                      },
                      onlyImplied: { x in
                          report.rowsCompared += 1
                          report.findings.append(LedgerFinding(code: "STATE_DIVERGES", entry: nil,
                              message: "\(table.name) \(x.key.joined(separator: "|")): the ledger has this row, the state table lacks it (deleted behind the ledger's back)"))
                      },
                      both: { x, y in
                          report.rowsCompared += 1
                          guard x.values != y.values else { return }
                          let columns = table.columns.filter { (x.values[$0] ?? nil) != (y.values[$0] ?? nil) }
                          let detail = columns.map { "\($0) is \((x.values[$0] ?? nil).map { "'\($0)'" } ?? "null") in the state, \((y.values[$0] ?? nil).map { "'\($0)'" } ?? "null") by the ledger" }
                          report.findings.append(LedgerFinding(code: "STATE_DIVERGES", entry: nil,
                              message: "\(table.name) \(x.key.joined(separator: "|")): " + detail.joined(separator: "; ")))
                      })
        }
    }

    /// SQLite orders text by bytes (BINARY collation): keys are compared the same way.
    private static func precedes(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    /// Walks `select` on the store and on the replay in step (both sorted by the key
    /// `order` compares: negative when the first comes first), handing on rows found
    /// on one side only and pairs with the same key. Memory does not grow with the tables.
    private func merge<Value>(_ select: String, in replay: DatabaseQueue, read: (Row) -> Value, order: (Value, Value) -> Int,
                              onlyStored: (Value) -> Void, onlyImplied: (Value) -> Void, both: (Value, Value) -> Void) throws {
        try ledger.store.read { stateDB in
            try replay.read { replayDB in
                let stored = try Row.fetchCursor(stateDB, sql: select), implied = try Row.fetchCursor(replayDB, sql: select)
                var a = try stored.next().map(read), b = try implied.next().map(read)
                while true {
                    switch (a, b) {
                    case (nil, nil):
                        return
                    case (let x?, nil):
                        onlyStored(x); a = try stored.next().map(read)
                    case (nil, let y?):
                        onlyImplied(y); b = try implied.next().map(read)
                    case (let x?, let y?):
                        let o = order(x, y)
                        if o < 0 {
                            onlyStored(x); a = try stored.next().map(read)
                        } else if o > 0 {
                            onlyImplied(y); b = try implied.next().map(read)
                        } else {
                            both(x, y); a = try stored.next().map(read); b = try implied.next().map(read)
                        }
                    }
                }
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
