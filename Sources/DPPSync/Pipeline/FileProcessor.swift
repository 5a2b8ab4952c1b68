import GRDB

/// Decodes, maps, decides and commits one claimed file in one transaction
/// (DESIGN.md invariant 2), then archives or quarantines it.
struct FileProcessor {
    let layout: RootLayout
    let configuration: Configuration
    let store: Store
    let crash: CrashPoints
    let observer: any SyncObserver
    let clock: () -> Timestamp
    var timings: StageTimings?

    /// What the transaction decided for the file as a whole.
    private struct Verdict {
        var disposition: FileResult.Disposition
        var reason: ReasonCode?
        var message: String
        var counts: [Outcome: Int] = [:]
        /// The file was committed by an earlier, interrupted run: only the move is left.
        var alreadyCommitted = false
        /// The file's `input_file` row.
        var fileId: Int64?
        /// Where in a quarantined file its decoder stopped, when it said.
        var line: Int?
        /// The mapping the file was read under, for its reason file (a `records:` path that finds nothing is its fault).
        var mapping: Mapping?
    }

    /// - Parameter reprocessOf: the `input_file` id of the earlier run of these bytes, when
    ///   `dppsync reprocess` runs them again on purpose (the fingerprint check is skipped).
    func process(_ file: InboxFile, mapping: Mapping, batchId: Int64, recovered: Bool, reprocessOf: Int64? = nil) throws -> FileResult {
        observer.fileStarted(file)
        let stagesBefore = timings.map { $0.seconds(.waiting) + $0.seconds(.reconcile) + $0.seconds(.read) } ?? 0
        var recordsSeen = 0
        var fingerprint = ""
        var size: Int64 = 0
        let transactionStart = StageTimings.now()
        var verdict: Verdict
        // The file's size and modification time before anything reads it: compared once it is decided (`decide`).
        var readFrom: FileSystem.Signature?
        do {
            var bodyEnd = 0.0
            defer { if bodyEnd > 0 { timings?.add(.durable, StageTimings.now() - bodyEnd) } }
            verdict = try store.write { db in
                defer { bodyEnd = StageTimings.now() }
                // A streamed format is decoded from before the file is fingerprinted: that core had waited
                // the ~0.13 s the fingerprint of a 100k work-order file takes, and the decoding thread now
                // fills its buffer meanwhile; a file decided without its records (a duplicate, or one an
                // interrupted run committed) stops it at its next hand-over. (A document format is parsed
                // whole before its first record, which a duplicate would wait for: it starts in `decide`.)
                // Replaced since the scan by a link or a named pipe (whose open would block): not opened either.
                if let kind = FileSystem.specialKind(of: file.path) { throw FileLevelFailure(reason: .notParseable, message: Self.notAFile(kind)) }
                readFrom = FileSystem.signature(of: file.path)
                let early = Self.decodesWhileFingerprinting(mapping) ? startFeed(for: file, mapping: mapping) : nil
                defer { if let early { close(early) } }
                let readStart = StageTimings.now()
                do {
                    (fingerprint, size) = try Fingerprint.sha256Hex(file: file.path)
                } catch {
                    // A file that cannot be read (its permissions, an I/O error) is quarantined with why:
                    // thrown on, it had stopped the run, and every later run at the same file.
                    throw FileLevelFailure(reason: .notParseable, message: "cannot be read: \(error)")
                }
                timings?.add(.read, StageTimings.now() - readStart)
                return try decide(file, earlyFeed: early, readFrom: readFrom, fingerprint: fingerprint, mapping: mapping, batchId: batchId,
                                  recovered: recovered, reprocessOf: reprocessOf, recordsSeen: &recordsSeen, db: db)
            }
        } catch var failure as FileLevelFailure {
            // Cut short or rewritten while read, a file fails to decode: that it changed is what to say.
            if failure.reason != .fileChanged, readFrom != nil, FileSystem.signature(of: file.path) != readFrom { failure = .changedWhileRead }
            // The file's transaction rolled back whole; record why in a transaction of its own.
            verdict = Verdict(disposition: .quarantined, reason: failure.reason, message: failure.message, line: failure.line, mapping: mapping)
            verdict.fileId = try store.write { db in
                // The same bytes quarantined as changed while read, dropped again, are decided again as that file's reprocess.
                let decidedAgain = try reprocessOf ?? Self.changedWhileRead(fingerprint, db: db)
                let id = try insertFile(file, fingerprint: fingerprint, batchId: batchId, disposition: .quarantined, reason: failure.reason,
                                        message: failure.message, line: failure.line, mapping: mapping, duplicateOf: nil, reprocessOf: decidedAgain,
                                        now: clock().description, db: db)
                crash.reached(.inTransaction)
                return id
            }
        }
        if let timings {
            // Whatever the transaction spent neither fingerprinting, deciding nor waiting for the decoder is commit
            // (writes, ledger, fsync).
            let inside = StageTimings.now() - transactionStart
            let elsewhere = timings.seconds(.waiting) + timings.seconds(.reconcile) + timings.seconds(.read) - stagesBefore
            timings.add(.commit, max(0, inside - elsewhere))
            timings.count(records: recordsSeen, bytes: size)
        }
        crash.reached(.afterCommit)
        // What a reprocess wrote over belonged to the decision it replaced, now committed over.
        if reprocessOf != nil {
            let files = RejectedRecordWriter(file: file, fingerprint: fingerprint, layout: layout)
            files.dropBackups()
            // The extracts of records it no longer rejects (applied, held, skipped now) leave the quarantine: they
            // asked for a correction the fix has made (they had stayed, as if the records still waited for one).
            if verdict.disposition == .archived, let fileId = verdict.fileId {
                files.removeSettled(try store.read { db in
                    try Set(Int.fetchAll(db, sql: "SELECT record_index FROM record_outcome WHERE file_id = ? AND outcome IN ('applied', 'held', 'duplicate', 'superseded')",
                                         arguments: [fileId]))
                })
            }
        }
        let destination = try finish(file, verdict: verdict, fingerprint: fingerprint)
        // The copy has moved on: its note (`Inbox.reprocessNote`) has nothing left to say.
        if reprocessOf != nil { unlink(Inbox.reprocessNote(for: file.path)) }
        if let fileId = verdict.fileId {
            // '' for a file taken away: `NULL` says its move is still to do (a restart looks for those).
            try store.write { db in try db.execute(sql: "UPDATE input_file SET stored_path = ? WHERE id = ?", arguments: [destination ?? "", fileId]) }
        }
        let result = FileResult(source: file.source, name: file.name, fingerprint: fingerprint, disposition: verdict.disposition,
                                reason: verdict.reason, message: verdict.message + (destination == nil ? " (the file was taken away from .processing/ before it could be moved)" : ""),
                                counts: verdict.counts, destination: destination ?? file.path)
        observer.fileFinished(file, result: result)
        return result
    }

    /// Quarantines an inbox entry that is not a file (`InboxScan.notFiles`: a symbolic link, a named
    /// pipe …) with why, without opening it: the entry itself is moved.
    func refuse(_ file: InboxFile, kind: FileSystem.SpecialEntry, batchId: Int64) throws -> FileResult {
        observer.fileStarted(file)
        let message = Self.notAFile(kind) + "; put the file itself into Inbox/\(file.source)/"
        // Moved first, then recorded: an entry is never opened again, so nothing would recover a row whose
        // move a kill cut short (the entry, still in the inbox, had been recorded once more by each pass).
        let destination = try finish(file, verdict: Verdict(disposition: .quarantined, reason: .notParseable, message: message), fingerprint: "")
        try store.write { db in
            try insertFile(file, fingerprint: "", batchId: batchId, disposition: .quarantined, reason: .notParseable, message: message,
                           mapping: nil, duplicateOf: nil, reprocessOf: nil, now: clock().description, db: db)
            try db.execute(sql: "UPDATE input_file SET stored_path = ? WHERE id = ?", arguments: [destination ?? "", db.lastInsertedRowID])
        }
        let result = FileResult(source: file.source, name: file.name, fingerprint: "", disposition: .quarantined, reason: .notParseable,
                                message: message, counts: [:], destination: destination ?? file.path)
        observer.fileFinished(file, result: result)
        return result
    }

    /// Why an entry that is not a file is refused.
    static func notAFile(_ kind: FileSystem.SpecialEntry) -> String {
        "\(kind), not a file: dppsync takes regular files only and never follows a link"
    }

    /// Starts decoding and mapping `file` on a thread of its own. Only inside the file's write
    /// transaction: its reader then sees the store as that transaction found it, since no other
    /// writer commits until it has (`review resolve` writes without the run lock).
    ///
    /// Once a large file is decoded, the WAL's dirty pages start going to disk while the deciding
    /// thread finishes (`Store.startWritingOutWAL`): the commit's `fsync` then finds less to write,
    /// with the cores idle. 100k XML (~400 MB of WAL frames), 8 alternating rounds: the durable
    /// commit 0.33–0.36 → 0.25–0.29 s in every round, 7 of 8 rounds faster.
    private func startFeed(for file: InboxFile, mapping: Mapping) -> RecordFeed {
        let store = store
        var whenDecoded: (@Sendable () -> Void)?
        if file.size >= Self.writeOutSize { whenDecoded = { store.startWritingOutWAL() } }
        return RecordFeed(input: .file(file.path), fileName: file.name, mapping: mapping, timeZone: configuration.timeZone, partsFrom: store,
                          whenDecoded: whenDecoded)
    }

    /// Files from this size on have the WAL's write-out started (`startFeed`): a small file's
    /// frames are few, and a thread per file would cost more than they.
    static let writeOutSize: Int64 = 16 << 20

    /// XML and JSON Lines, which are read a record at a time.
    static func decodesWhileFingerprinting(_ mapping: Mapping) -> Bool { mapping.format == .xml || mapping.format == .jsonl }

    /// Stops the decoding thread and books what it did; closed before the commit, as the file's last reader.
    private func close(_ feed: RecordFeed) {
        let totals = feed.close()
        timings?.add(.decode, totals.decodeSeconds)
        timings?.add(.map, totals.mapSeconds)
        timings?.add(.prefetch, totals.prefetchSeconds)
    }

    /// The file as a whole cannot be used: nothing of it is applied.
    struct FileLevelFailure: Error, Sendable {
        var reason: ReasonCode
        var message: String
        /// The line the decoder stopped at, for the reason file's `line` (it had been in the message only).
        var line: Int? = nil

        /// The file's bytes are no longer those its fingerprint was taken from.
        static let changedWhileRead = FileLevelFailure(reason: .fileChanged, message: "the file changed while dppsync read it (is the CMMS "
            + "still writing it? a longer stabilityWindow, or markers, for its source): nothing of it was applied; drop it again once it is whole")
    }

    // MARK: The transaction

    /// - Parameters:
    ///   - earlyFeed: the feed started before the fingerprint, or `nil` to start one here
    ///     once the file is known to be decided record by record.
    ///   - readFrom: the file's size and modification time before it was first read.
    private func decide(_ file: InboxFile, earlyFeed: RecordFeed?, readFrom: FileSystem.Signature?, fingerprint: String, mapping: Mapping, batchId: Int64,
                        recovered: Bool, reprocessOf: Int64?, recordsSeen: inout Int, db: Database) throws -> Verdict {
        let now = clock().description
        // A file an interrupted run committed has its row, still without the place it was moved to
        // (a duplicate's too): only the move is left, with the verdict the row keeps. A row whose file
        // was moved is another drop of the same bytes and name, decided again below.
        let committed = recovered ? try Row.fetchOne(db, sql: """
            SELECT id, disposition, reason, message, line FROM input_file
            WHERE fingerprint = ? AND source = ? AND name = ? AND stored_path IS NULL ORDER BY id DESC LIMIT 1
            """, arguments: [fingerprint, file.source, file.name]) : nil
        if recovered {
            // Rejected records are written as they are decided: a killed attempt at this file left its own,
            // whatever is decided now (the file may turn out to be committed already, or a duplicate). A killed
            // reprocess also kept aside the files it wrote over: they stand again unless it committed.
            let files = RejectedRecordWriter(file: file, fingerprint: fingerprint, layout: layout)
            if committed != nil { files.dropBackups() } else { files.restoreBackups() }
            try RejectedRecordWriter.removeLeftovers(of: file, fingerprint: fingerprint, layout: layout, in: db)
        }
        if let committed {
            return Verdict(disposition: FileResult.Disposition(rawValue: committed["disposition"]) ?? .archived,
                           reason: (committed["reason"] as String?).flatMap(ReasonCode.init(rawValue:)),
                           message: committed["message"] ?? "committed by an interrupted run; moved now", alreadyCommitted: true, fileId: committed["id"],
                           line: committed["line"])
        }
        // Bytes quarantined because they changed while read were never decided: dropped again, they are,
        // as that file's reprocess (its record stays, and the store keeps one first decision per fingerprint).
        let asked = reprocessOf != nil
        let reprocessOf = try reprocessOf ?? Self.changedWhileRead(fingerprint, db: db)
        if reprocessOf == nil, let earlier = try Row.fetchOne(db, sql: "SELECT id, source, name, disposition, batch_id FROM input_file WHERE fingerprint = ? AND duplicate_of IS NULL ORDER BY id DESC LIMIT 1", arguments: [fingerprint]) {
            let disposition = FileResult.Disposition(rawValue: earlier["disposition"]) ?? .archived
            let message = "byte-identical to \(earlier["source"] as String)/\(earlier["name"] as String) (batch \(earlier["batch_id"] as Int64), \(disposition.rawValue)); nothing changed"
            let id = try insertFile(file, fingerprint: fingerprint, batchId: batchId, disposition: .archived, reason: .duplicateFile, message: message,
                                    mapping: mapping, duplicateOf: earlier["id"], reprocessOf: nil, now: now, db: db)
            return Verdict(disposition: .archived, reason: .duplicateFile, message: message, fileId: id)
        }
        try db.execute(sql: "INSERT OR IGNORE INTO mapping_text (hash, name, text, first_used_at) VALUES (?, ?, ?, ?)",
                       arguments: [mapping.contentHash, mapping.name, mapping.text, now])

        let fileId = try insertFile(file, fingerprint: fingerprint, batchId: batchId, disposition: .archived, reason: nil,
                                    message: nil, mapping: mapping, duplicateOf: nil, reprocessOf: reprocessOf, now: now, db: db)
        var reconciler = Reconciler(configuration: configuration)
        reconciler.decisionDate = clock().civilDate().description
        var writer = try StateWriter(db: db, batchId: batchId, pipelined: true, clock: clock)
        writer.timings = timings
        // Lookups read through what the writer keeps unwritten, from the first record on.
        reconciler.references.unwrittenAssets = writer.unwrittenAssets
        let recorder = OutcomeRecorder(db: db, batchId: batchId, fileId: fileId, mappingHash: mapping.contentHash, now: now)
        var counts: [Outcome: Int] = [:]
        var referencesApplied = false
        var recordCount = 0
        var rejected = RejectedRecordWriter(file: file, fingerprint: fingerprint, layout: layout, keepsExisting: reprocessOf != nil)
        var decided = false
        defer { if !decided { rejected.discard() } }

        // The feed decodes and maps on a thread of its own; this one decides and writes.
        let feed = earlyFeed ?? startFeed(for: file, mapping: mapping)
        defer { if earlyFeed == nil { close(feed) } }
        var waiting = 0.0
        defer { timings?.add(.waiting, waiting) }
        do {
            while true {
                let waitStart = StageTimings.now()
                guard let chunk = try feed.next() else { break }
                waiting += StageTimings.now() - waitStart
                for item in chunk {
                    recordCount += 1
                    if recordCount % 2000 == 0 { observer.fileProgress(file, recordsDone: recordCount) }
                    let position = item.position
                    var key: String?
                    var decision: Decision
                    switch item.result {
                    case nil:
                        decision = Decision(outcome: .rejected, reason: .notParseable, message: item.failure ?? "the record cannot be read")
                    case .skipped(let k, let reason)?:
                        key = k
                        decision = Decision(outcome: .skipped, reason: .filtered, message: reason)
                    case .invalid(let k, let failure)?:
                        key = k
                        decision = Decision(outcome: configuration.outcome(for: .invalidField), reason: .invalidField,
                                            message: "record \(position.index)\(position.line.map { " (line \($0))" } ?? ""): \(failure)")
                    case .record(let mapped)?:
                        key = mapped.key
                        let provenance = Provenance(fileFingerprint: fingerprint, fileName: file.name, recordIndex: position.index,
                                                    mappingName: mapping.name, mappingHash: mapping.contentHash)
                        let reconcileStart = StageTimings.now()
                        reconciler.references.prefetched = item.parts
                        decision = try reconciler.decide(mapped, provenance: provenance, source: file.source, in: db)
                        reconciler.references.prefetched = []  // this record's only
                        timings?.add(.reconcile, StageTimings.now() - reconcileStart)
                        if decision.outcome == .applied {
                            try reconciler.write(decision, with: &writer)
                            referencesApplied = referencesApplied || Redecider.referenceKinds.contains(mapped.kind)
                        }
                        let outcomesStart = StageTimings.now()
                        defer { timings?.add(.outcomes, StageTimings.now() - outcomesStart) }
                        if decision.outcome == .applied || decision.outcome == .duplicate {
                            try recorder.storePersonal(decision.personal)
                        } else if decision.outcome == .held {
                            try recorder.hold(mapped, decision: decision)
                        }
                    }
                    if decision.outcome == .rejected {
                        try rejected.add(index: position.index, extract: item.extract, reason: reasonDocument(file: file, fingerprint: fingerprint,
                            reason: decision.reason, message: decision.message, position: position, key: key, mapping: mapping))
                    }
                    let recordStart = StageTimings.now()
                    try recorder.record(index: position.index, line: position.line, kind: mapping.kind.rawValue, key: key, decision: decision,
                                        source: file.source)
                    timings?.add(.outcomes, StageTimings.now() - recordStart)
                    counts[decision.outcome, default: 0] += 1
                }
                feed.recycle(chunk)
            }
        } catch let error as DecodeError {
            throw FileLevelFailure(reason: .notParseable, message: "the file cannot be decoded as \(mapping.format.rawValue): \(error)", line: error.line)
        }
        if referencesApplied {
            for (outcome, n) in try Redecider(reconciler: reconciler, db: db, batchId: batchId, now: now).redecideWaiting(writer: &writer) {
                counts[outcome, default: 0] += n
            }
        }
        // The fingerprint and the decoder each read the file once: written to since (an exporter still
        // writing through a descriptor it opened before the claim), the records decided may not be the
        // bytes fingerprinted, and the archive would keep other bytes than the fingerprint names.
        guard FileSystem.signature(of: file.path) == readFrom else { throw FileLevelFailure.changedWhileRead }
        try writer.finish()
        timings?.count(partsReadAhead: reconciler.references.readAheadUsed)
        recordsSeen = recordCount
        try db.execute(sql: "UPDATE input_file SET record_count = ? WHERE id = ?", arguments: [recordCount, fileId])
        try rejected.finish(input: .file(file.path), fileName: file.name, mapping: mapping, fingerprint: fingerprint)
        decided = true
        crash.reached(.inTransaction)
        let summary = Outcome.summary(of: counts)
        return Verdict(disposition: .archived, reason: nil, message: (asked ? "reprocessed: " : reprocessOf != nil ? "decided again (the first drop changed while it was read): " : "") + (summary.isEmpty ? "no records" : summary),
                       counts: counts, fileId: fileId)
    }

    /// The first decision on `fingerprint`, when the latest one quarantined the file for changing while it was read.
    private static func changedWhileRead(_ fingerprint: String, db: Database) throws -> Int64? {
        let latest = try String?.fetchOne(db, sql: "SELECT reason FROM input_file WHERE fingerprint = ? AND duplicate_of IS NULL ORDER BY id DESC LIMIT 1",
                                          arguments: [fingerprint]) ?? nil
        guard latest == ReasonCode.fileChanged.rawValue else { return nil }
        return try Int64.fetchOne(db, sql: "SELECT id FROM input_file WHERE fingerprint = ? AND duplicate_of IS NULL AND reprocess_of IS NULL", arguments: [fingerprint])
    }

    @discardableResult
    private func insertFile(_ file: InboxFile, fingerprint: String, batchId: Int64, disposition: FileResult.Disposition,
                            reason: ReasonCode?, message: String?, line: Int? = nil, mapping: Mapping?, duplicateOf: Int64?, reprocessOf: Int64?, now: String,
                            db: Database) throws -> Int64 {
        try db.execute(sql: """
            INSERT INTO input_file (fingerprint, source, name, size, batch_id, disposition, reason, message, line, mapping_name, mapping_hash,
                                    first_seen_at, decided_at, duplicate_of, reprocess_of)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [fingerprint, file.source, file.name, file.size, batchId, disposition.rawValue, reason?.rawValue, message, line,
                             mapping?.name, mapping?.contentHash,
                             file.firstSeen > 0 ? Timestamp(millisecondsSinceEpoch: Int64(file.firstSeen * 1000)).description : nil,
                             now, duplicateOf, reprocessOf])
        return db.lastInsertedRowID
    }

    private func reasonDocument(file: InboxFile, fingerprint: String, reason: ReasonCode?, message: String,
                                position: RecordPosition?, key: String?, mapping: Mapping?, fileLine: Int? = nil) -> JSONValue {
        RejectedRecordWriter.reason(code: reason, message: message, source: file.source, fileName: file.name, fingerprint: fingerprint,
                                    recordIndex: position?.index, line: position?.line ?? fileLine, key: key, mappingName: mapping?.name,
                                    mappingHash: mapping?.contentHash, decidedAt: clock())
    }

    // MARK: After commit

    /// Moves the file (and its marker) to `Archive/<source>/<day>/` or `Quarantine/<source>/`; `nil` when
    /// the file is no longer in `.processing/` (taken away by hand once decided: the decision stands, and
    /// a missing file had stopped the run, and a watcher with it).
    private func finish(_ file: InboxFile, verdict: Verdict, fingerprint: String) throws -> String? {
        let folder: String
        switch verdict.disposition {
        case .archived: folder = layout.archive(file.source, day: clock().civilDate())
        case .quarantined: folder = layout.quarantine(file.source)
        }
        try FileSystem.createDirectory(folder)
        let reserving = verdict.disposition == .quarantined ? ".reason.json".utf8.count : 0
        // A name whose reason is another file's is taken: a record's extract moved out of the quarantine leaves its
        // reason, which a file quarantined whole under the extract's name had replaced. (Its own reason, written by a
        // killed attempt before the move, is not another's.)
        // (A reason over 1 MB is none of dppsync's: taken, and never read whole; an entry refused unread has no
        // fingerprint, so any reason there is another's.)
        let reasonOfAnother: (String) -> Bool = { path in
            guard verdict.disposition == .quarantined, FileSystem.entryExists(path + ".reason.json") else { return false }
            guard !fingerprint.isEmpty, let reason = RejectedRecordWriter.storedReason(at: path + ".reason.json") else { return true }
            return reason.fingerprint != fingerprint
        }
        var target = FileSystem.freeName(for: file.name, in: folder, reserving: reserving, alsoTaken: reasonOfAnother)
        // Taken away from .processing/ once decided: nothing to move, and no reason beside nothing.
        guard FileSystem.entryExists(file.path) else { return nil }
        // A move to another file system killed between its copy and the original's removal left the copy:
        // it is this file (the restart had archived the original again beside it, as `name-1`). A copy is one
        // of the names taken before the free one, with this file's bytes, that no row names (another drop of
        // the same bytes is a duplicate with a file of its own).
        var copied = false
        if verdict.alreadyCommitted {
            let size = FileSystem.signature(of: file.path)?.size
            for candidate in FileSystem.takenNames(for: file.name, in: folder, reserving: reserving, alsoTaken: reasonOfAnother)
                where FileSystem.signature(of: candidate)?.size == size && (try? Fingerprint.sha256Hex(file: candidate).0) == fingerprint {
                let named = try store.read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM input_file WHERE stored_path = ?)", arguments: [candidate]) }
                if named != true { target = candidate; copied = true; break }
            }
        }
        // The reason first: a kill before the move leaves the file in .processing/, and the restart writes it again.
        let reasonWritten = verdict.disposition == .quarantined && !copied && !FileSystem.exists(target + ".reason.json")
        if verdict.disposition == .quarantined {
            let reason = reasonDocument(file: file, fingerprint: fingerprint, reason: verdict.reason, message: verdict.message,
                                        position: nil, key: nil, mapping: verdict.mapping, fileLine: verdict.line)
            try FileSystem.writeAtomically(reason.jsonText(pretty: true) + "\n", to: target + ".reason.json")
        }
        var moved: String? = target
        do {
            if copied {
                guard unlink(file.path) == 0 else { throw FileSystemError.errno("remove", file.path) }
                try FileSystem.syncDirectory((file.path as NSString).deletingLastPathComponent)
            } else {
                try FileSystem.move(file.path, to: target)
            }
        } catch {
            guard !FileSystem.entryExists(file.path), !FileSystem.entryExists(target) else {
                // Not moved: no reason beside nothing (the file is decided again where it is).
                if reasonWritten, !FileSystem.entryExists(target) { unlink(target + ".reason.json") }
                throw error
            }
            moved = nil
        }
        if let marker = file.markerPath, FileSystem.exists(marker) {
            try FileSystem.move(marker, into: folder)
        }
        return moved
    }
}

import Foundation
