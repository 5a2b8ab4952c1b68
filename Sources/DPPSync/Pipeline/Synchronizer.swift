import Foundation
import GRDB

/// Runs passes over a root's inbox: scan, claim, process, archive, report.
/// Holds the run lock for its lifetime (one `run` per root).
public final class Synchronizer {
    public let layout: RootLayout
    public let configuration: Configuration
    public let store: Store
    public var observer: any SyncObserver = SilentObserver()
    public var crashPoints: CrashPoints = .none
    public var stop = StopSignal()
    /// Overrides every source's stability window (`--stability-window`).
    public var stabilityWindow: Double?
    /// Per-stage timings, when asked for (`run --timings`, the benchmark).
    public var timings: StageTimings?
    /// The day due dates are computed for (`run --as-of`); default: today in the operator's time zone.
    public var asOf: CivilDate?
    /// The clock; tests and reruns may pin it.
    public var clock: @Sendable () -> Timestamp = Timestamp.now
    private let lock: RunLock

    /// Opens the root for a run: takes the lock, opens the store, closes
    /// batches a crash left open.
    public init(layout: RootLayout, configuration: Configuration) throws {
        try FileSystem.createDirectory(layout.state)
        self.lock = try RunLock(path: layout.lockFile)
        self.layout = layout
        self.configuration = configuration
        self.store = try Store(path: layout.storeFile)
        // Fail before taking any file if batches could not be checkpointed.
        _ = try Ledger.loadKey(at: Ledger(store: store, layout: layout, origin: configuration.ledgerOrigin).keyFile)
        // Temporary files a killed run left behind never became visible; clear them.
        for source in configuration.sources { FileSystem.removeStaleTemporaries(in: layout.quarantine(source.name)) }
        FileSystem.removeStaleTemporaries(in: layout.reconciliationReports)
        FileSystem.removeStaleTemporaries(in: layout.state)
        try store.write { db in
            try db.execute(sql: "UPDATE batch SET status = 'interrupted', finished_at = ? WHERE status = 'running'",
                           arguments: [Timestamp.now().description])
        }
        // Every ended batch has its report: one a killed run did not write (or not whole) is written
        // now, an interrupted batch's too (what it committed is in no other report).
        // (Best effort here: a full disk had stopped every command that opens the root; a pass tries again.)
        try? writeUnreportedReports()
    }

    /// Writes the report of every ended batch that has none.
    private func writeUnreportedReports() throws {
        let unreported = try store.read { db in try Int64.fetchAll(db, sql: "SELECT id FROM batch WHERE reported = 0 AND status != 'running' ORDER BY id") }
        for batchId in unreported { _ = try ReconciliationReport(store: store, layout: layout).write(batchId: batchId) }
    }

    /// One pass over every source, in order. Opens a batch only if it takes a file.
    ///
    /// A pass that fails (a full disk, an I/O error) ends its batch as `interrupted`, with its report
    /// when it can be written: what it committed stays, and what it had not finished is taken again
    /// by the next pass (a watcher's, after a pause).
    public func pass() throws -> PassSummary {
        var summary = PassSummary()
        do {
            try writeUnreportedReports()
            try pass(&summary)
            return summary
        } catch {
            if let batchId = summary.batchId, (try? closeBatch(batchId, status: "interrupted")) != nil {
                _ = try? ReconciliationReport(store: store, layout: layout).write(batchId: batchId)
            }
            throw error
        }
    }

    private func pass(_ summary: inout PassSummary) throws {
        // The WAL of the last file is copied into the database while the next one is
        // fingerprinted, or the outbox is decided and the report written.
        var walCopy: BackgroundWork<Void>?
        store.setAutomaticCheckpoints(false)
        defer {
            waitForWALCopy(&walCopy)
            store.setAutomaticCheckpoints(true)
        }
        let catalog = MappingCatalog.load(directory: layout.mappings)
        let inbox = Inbox(layout: layout, store: store)
        var failed: String?
        var tried = Set<String>()
        for source in configuration.sources {
            if stop.isRequested { break }
            // Sources come in dependency order: after a failed one, the sources that read what it brings (a
            // registry's assets) would decide their records without it. They wait, and the pass still ends
            // whole (its batch closed and reported, the outbox decided), so a watcher goes on.
            if let failed {
                // (Said only of a source with files to wait: the others have nothing held.)
                if !(Inbox.waitingNames(in: layout.inbox(source.name)) + Inbox.waitingNames(in: layout.processing(source.name))).isEmpty {
                    hold(source.name, "waits for source '\(failed)', which failed before it in this pass", in: &summary)
                }
                continue
            }
            tried.insert(source.name)
            do {
                try pass(source, catalog: catalog, inbox: inbox, summary: &summary, walCopy: &walCopy)
            } catch {
                let reason = "its pass failed: \(error); what it had not finished is taken again by the next pass"
                summary.failedSources[source.name] = reason
                observer.sourceHeld(source.name, reason: reason)
                failed = source.name
            }
        }
        recordFailures(summary.failedSources, tried: tried)
        // The report only reads the committed batch: it is written on a thread of its own
        // while the outbox is decided, signed and emitted.
        var report: BackgroundWork<Double>?
        if let batchId = summary.batchId {
            try closeBatch(batchId)
            let (store, layout) = (store, layout)
            report = BackgroundWork(.whenIdle) {
                let start = StageTimings.now()
                try ReconciliationReport(store: store, layout: layout).write(batchId: batchId)
                return StageTimings.now() - start
            }
        }
        let emitStart = StageTimings.now()
        let checkpoint = Result { try planOutboxAndCheckpoint(batchId: summary.batchId) }
        timings?.add(.emit, StageTimings.now() - emitStart)
        if let report {
            let seconds = try report.wait()
            timings?.add(.report, seconds)
        }
        if walCopy != nil {
            waitForWALCopy(&walCopy)
            let walStart = StageTimings.now()
            store.checkpoint()
            timings?.add(.commit, StageTimings.now() - walStart)
        }
        summary.checkpoint = try checkpoint.get()
        summary.heldChannels = try OutboxEmitter.heldChannelsWaiting(layout: layout, store: store)
        for (channel, reason) in summary.heldChannels.sorted(by: { $0.key < $1.key }) { observer.channelHeld(channel, reason: reason) }
    }

    /// Keeps the sources whose part of a pass failed for `status` (a watcher's failures had been in its log
    /// only): this pass's failures, and the earlier ones of sources it did not try (after a failed source, or
    /// a stop). If it cannot be written (a full disk may be why they failed), the file goes rather than tell
    /// of other failures than the last.
    private func recordFailures(_ failed: [String: String], tried: Set<String>) {
        let earlier = (try? FileSystem.readBytes(layout.sourceFailures)).flatMap { try? JSONParser.parseDocument($0) }
        let at = clock().description
        var entries: [(String, JSONValue)] = failed.map { ($0.key, .object([("reason", .string($0.value)), ("at", .string(at))])) }
        if case .object(let members)? = earlier {
            entries += members.filter { !tried.contains($0.0) && failed[$0.0] == nil }
        }
        guard !entries.isEmpty else { unlink(layout.sourceFailures); return }
        do {
            try FileSystem.writeAtomically(JSONValue.object(entries.sorted { $0.0 < $1.0 }).jsonText(pretty: true) + "\n", to: layout.sourceFailures)
        } catch {
            unlink(layout.sourceFailures)
        }
    }

    /// One source's part of a pass: its inbox folder, what an interrupted run left, what is ready.
    private func pass(_ source: SourceConfiguration, catalog: MappingCatalog, inbox: Inbox, summary: inout PassSummary,
                      walCopy: inout BackgroundWork<Void>?) throws {
        // Read for each source: the sources before it may have taken minutes, and a file's
        // stability is measured from when it was observed.
        let now = Double(clock().millisecondsSinceEpoch) / 1000
        // Its folder removed (or never made for a source added to dppsync.yaml), the CMMS could drop nothing
        // and every pass said only "nothing to do"; a file in its place is someone's to move.
        let folder = layout.inbox(source.name)
        if !FileSystem.isDirectory(folder) {
            // A link to a share that is gone is a failure, not a folder to make in its place.
            if FileSystem.specialKind(of: folder) == .symbolicLink, !FileSystem.exists(folder) {
                throw FileSystemError(operation: "read", path: folder, reason: "it links to a folder that is not there (a share not mounted?)")
            }
            if FileSystem.entryExists(folder) {
                hold(source.name, Inbox.notAFolderReason(source: source.name), in: &summary)
                return
            }
            try FileSystem.createDirectory(folder)
        }
        if let broken = catalog.heldReason(for: source.name) {
            if !Inbox.waitingNames(in: layout.inbox(source.name)).isEmpty {
                hold(source.name, "\(broken); files wait in Inbox/\(source.name)/ (run `dppsync mapping check`)", in: &summary)
            }
            return
        }
        // First what an interrupted run left in .processing/, then what is ready.
        var work = inbox.unfinished(source.name).map { ($0, true) }
        let scan = try inbox.scan(source, now: now, stabilityWindow: stabilityWindow)
        summary.settling += scan.settling.count + scan.awaitingMarker.count
        if scan.undecodableNames > 0 {
            hold(source.name, Inbox.undecodableNamesReason(scan.undecodableNames, source: source.name), in: &summary)
        }
        for (entry, kind) in scan.notFiles where !stop.isRequested {
            let batchId = try summary.batchId ?? openBatch()
            summary.batchId = batchId
            do {
                summary.files.append(try FileProcessor(layout: layout, configuration: configuration, store: store, crash: crashPoints,
                                                       observer: observer, clock: clock).refuse(entry, kind: kind, batchId: batchId))
            } catch {
                // An entry that cannot even be moved aside holds nothing else: the source's files go on.
                hold(source.name, "\(entry.name), \(kind), cannot be moved to the quarantine (\(error)); move it away", in: &summary)
            }
        }
        work += scan.ready.map { ($0, false) }
        for (file, recovered) in work {
            if stop.isRequested { break }
            let choice = try catalog.choose(source: source.name, fileName: file.name, store: store, layout: layout)
            guard case .mapping(let mapping) = choice else {
                // A `reprocess` copy waits in .processing/ beside its note: back in the inbox, without the note,
                // it would be taken for a new drop of archived bytes (a duplicate), and never reprocessed.
                let waitsWhere = file.reprocessOf == nil ? "the inbox" : "Inbox/\(source.name)/.processing/ (a reprocess copy)"
                if recovered, file.reprocessOf == nil {
                    try removeLeftovers(of: file)
                    try FileSystem.move(file.path, into: layout.inbox(source.name))
                }
                if case .waits(let why) = choice { hold(source.name, "\(why); it waits in \(waitsWhere)", in: &summary) }
                continue
            }
            // The WAL starts again from its beginning only when everything in it was copied.
            waitForWALCopy(&walCopy)
            // A file gone since the scan (taken away by hand) is no error: the others go on.
            let claimed: InboxFile
            if recovered {
                claimed = file
            } else if let taken = try inbox.claim(file) {
                claimed = taken
            } else {
                continue
            }
            let batchId = try summary.batchId ?? openBatch()
            summary.batchId = batchId
            crashPoints.reached(.afterClaim)
            var processor = FileProcessor(layout: layout, configuration: configuration, store: store, crash: crashPoints,
                                          observer: observer, clock: clock)
            processor.timings = timings
            summary.files.append(try processor.process(claimed, mapping: mapping, batchId: batchId, recovered: recovered,
                                                       reprocessOf: claimed.reprocessOf))
            walCopy = store.copyWALInBackground()
        }
    }

    /// Notes that `source`'s files wait, and why, in the pass's summary and to the observer.
    private func hold(_ source: String, _ reason: String, in summary: inout PassSummary) {
        summary.heldSources[source] = reason
        observer.sourceHeld(source, reason: reason)
    }

    /// Removes the rejected-record files a killed attempt at `file` wrote, when it goes back to the inbox
    /// undecided: taken again later, it is a new drop, decided afresh.
    private func removeLeftovers(of file: InboxFile) throws {
        let (fingerprint, _) = try Fingerprint.sha256Hex(file: file.path)
        try store.read { db in try RejectedRecordWriter.removeLeftovers(of: file, fingerprint: fingerprint, layout: layout, in: db) }
    }

    /// Waits for the background WAL copy, if any (booked as commit: it is the file's
    /// durability work). A failed copy leaves the pages in the WAL for the next checkpoint.
    private func waitForWALCopy(_ copy: inout BackgroundWork<Void>?) {
        guard let running = copy else { return }
        let start = StageTimings.now()
        try? running.wait()
        copy = nil
        timings?.add(.commit, StageTimings.now() - start)
    }

    /// Why a file cannot be reprocessed.
    public struct ReprocessError: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// `dppsync reprocess`: runs archived or quarantined files again on purpose
    /// (after a mapping fix), in one batch; the archived copy stays for audit.
    public func reprocess(paths: [String]) throws -> PassSummary {
        var summary = PassSummary()
        let catalog = MappingCatalog.load(directory: layout.mappings)
        // Every path is checked before any is copied: a copy left in .processing/ by a command that
        // then refused another path would be taken by the next run (as a duplicate of itself).
        var planned: [(source: String, name: String, absolute: String, mapping: Mapping, earlier: Int64)] = []
        for path in paths {
            // Both made absolute: a file stored by a run under `--root /srv/dppsync` is reprocessed under `--root .`.
            let absolute = FileSystem.canonicalPath(path)
            let root = FileSystem.canonicalFolder(layout.root)
            let name = (absolute as NSString).lastPathComponent
            // Archive/<source>/<day>/<name> or Quarantine/<source>/<name>, nothing else.
            let relative = absolute.hasPrefix(root + "/") ? String(absolute.dropFirst(root.count + 1)) : absolute
            let parts = relative.split(separator: "/").map(String.init)
            let source: String
            if parts.count == 4, parts[0] == "Archive" { source = parts[1] } else if parts.count == 3, parts[0] == "Quarantine" { source = parts[1] } else {
                throw ReprocessError(message: "\(path) is not an archived (Archive/<source>/<day>/) or quarantined (Quarantine/<source>/) file")
            }
            guard configuration.source(named: source) != nil else { throw ReprocessError(message: "unknown source '\(source)'") }
            // A link, a pipe … quarantined as it was is never read (`FileSystem.SpecialEntry`).
            if let kind = FileSystem.specialKind(of: absolute) { throw ReprocessError(message: "\(path) is \(kind), which dppsync never reads") }
            guard FileSystem.signature(of: absolute) != nil else { throw ReprocessError(message: "\(path) does not exist") }
            let (fingerprint, _) = try Fingerprint.sha256Hex(file: absolute)
            guard let earlier = try store.read({ db in
                try Int64.fetchOne(db, sql: "SELECT id FROM input_file WHERE fingerprint = ? AND duplicate_of IS NULL ORDER BY id DESC LIMIT 1", arguments: [fingerprint])
            }) else { throw ReprocessError(message: "\(path) was never processed by dppsync (its fingerprint is unknown): drop it into Inbox/\(source)/ instead") }
            let mapping: Mapping
            switch try catalog.choose(source: source, fileName: name, store: store, layout: layout) {
            case .mapping(let chosen): mapping = chosen
            case .waits(let why): throw ReprocessError(message: why)
            }
            planned.append((source, name, absolute, mapping, earlier))
        }
        var work: [(InboxFile, Mapping, Int64)] = []
        for file in planned {
            // A copy goes through .processing/ like any claimed file.
            let processing = layout.processing(file.source)
            try FileSystem.createDirectory(processing)
            let target = FileSystem.freeName(for: file.name, in: processing, reserving: 1 + Inbox.reprocessSuffix.utf8.count)
            try FileSystem.writeAtomically(String(file.earlier), to: Inbox.reprocessNote(for: target))
            // Streamed: read whole, a 1 GB export had taken 1 GB of memory before its records were read.
            try FileSystem.copy(file.absolute, to: target)
            try FileSystem.syncDirectory(processing)
            let size = FileSystem.signature(of: target)?.size ?? 0
            work.append((InboxFile(source: file.source, name: (target as NSString).lastPathComponent, path: target, size: size, firstSeen: 0),
                         file.mapping, file.earlier))
        }
        guard !work.isEmpty else { return summary }
        let batchId = try openBatch(trigger: "reprocess")
        summary.batchId = batchId
        for (file, mapping, earlier) in work {
            let processor = FileProcessor(layout: layout, configuration: configuration, store: store, crash: crashPoints,
                                          observer: observer, clock: clock)
            summary.files.append(try processor.process(file, mapping: mapping, batchId: batchId, recovered: false, reprocessOf: earlier))
        }
        try closeBatch(batchId)
        try ReconciliationReport(store: store, layout: layout).write(batchId: batchId)
        summary.checkpoint = try planOutboxAndCheckpoint(batchId: batchId)
        return summary
    }

    /// Decides the outbox messages the state now calls for, signs a checkpoint
    /// over whatever is uncovered, and emits pending outbox files, so nothing waits
    /// for the next night (DESIGN.md §3).
    @discardableResult
    public func planOutboxAndCheckpoint(batchId: Int64?) throws -> StoredCheckpoint? {
        var finalizer = Finalizer(store: store, layout: layout, configuration: configuration, crash: crashPoints)
        finalizer.timings = timings
        return try finalizer.run(batchId: batchId, asOf: asOf ?? configuration.timeZone.civilDate(of: clock()), now: clock())
    }

    /// The stored paths of a batch's files (not its duplicates), for `reprocess --batch`.
    public func storedFiles(ofBatch id: Int64) throws -> [String] {
        try store.read { db in
            try String.fetchAll(db, sql: "SELECT stored_path FROM input_file WHERE batch_id = ? AND duplicate_of IS NULL AND stored_path IS NOT NULL AND stored_path <> '' ORDER BY id", arguments: [id])
        }.map(layout.storedFile).filter { FileSystem.specialKind(of: $0) == nil }  // (a link or pipe quarantined as it was is never read)
    }

    /// `run --once`: a pass; if files were seen for the first time or still
    /// changing, observe again once the window has passed, then exit.
    public func runOnce() throws -> [PassSummary] {
        var passes = [try pass()]
        if passes[0].settling > 0, !stop.isRequested {
            let window = stabilityWindow ?? configuration.sources.map(\.stabilityWindow).max() ?? 5
            stop.sleep(seconds: window + 0.05)
            if !stop.isRequested { passes.append(try pass()) }
        }
        return passes
    }

    private func openBatch(trigger: String = "run") throws -> Int64 {
        try store.write { db in
            try db.execute(sql: "INSERT INTO batch (started_at, status, trigger, pid) VALUES (?, 'running', ?, ?)",
                           arguments: [clock().description, trigger, Int(getpid())])
            return db.lastInsertedRowID
        }
    }

    private func closeBatch(_ id: Int64, status: String = "completed") throws {
        try store.write { db in
            try db.execute(sql: "UPDATE batch SET status = ?, finished_at = ? WHERE id = ? AND status = 'running'", arguments: [status, clock().description, id])
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
