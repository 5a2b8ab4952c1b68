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
        try store.write { db in
            try db.execute(sql: "UPDATE batch SET status = 'interrupted', finished_at = ? WHERE status = 'running'",
                           arguments: [Timestamp.now().description])
        }
    }

    /// One pass over every source, in order. Opens a batch only if it takes a file.
    public func pass() throws -> PassSummary {
        var summary = PassSummary()
        let catalog = MappingCatalog.load(directory: layout.mappings)
        let inbox = Inbox(layout: layout, store: store)
        let now = Double(clock().millisecondsSinceEpoch) / 1000
        for source in configuration.sources {
            if stop.isRequested { break }
            let broken = catalog.brokenMappings(for: source.name)
            if !broken.isEmpty {
                let reason = "mapping \(broken.joined(separator: ", ")) fails its check; files wait in Inbox/\(source.name)/ (run `dppsync mapping check`)"
                let waiting = FileSystem.entries(of: layout.inbox(source.name)).filter { !Inbox.isIgnored($0) }
                if !waiting.isEmpty { summary.heldSources[source.name] = reason; observer.sourceHeld(source.name, reason: reason) }
                continue
            }
            // First what an interrupted run left in .processing/, then what is ready.
            var work = inbox.unfinished(source.name).map { ($0, true) }
            let scan = try inbox.scan(source, now: now, stabilityWindow: stabilityWindow)
            summary.settling += scan.settling.count + scan.awaitingMarker.count
            work += scan.ready.map { ($0, false) }
            for (file, recovered) in work {
                if stop.isRequested { break }
                guard let mapping = catalog.mapping(source: source.name, fileName: file.name) else {
                    let reason = "no mapping in Mappings/ takes \(file.name) from source '\(source.name)' (NO_MAPPING); it waits in the inbox"
                    if recovered { try FileSystem.move(file.path, into: layout.inbox(source.name)) }
                    summary.heldSources[source.name] = reason
                    observer.sourceHeld(source.name, reason: reason)
                    continue
                }
                let batchId = try summary.batchId ?? openBatch()
                summary.batchId = batchId
                let claimed = recovered ? file : try inbox.claim(file)
                crashPoints.reached(.afterClaim)
                let processor = FileProcessor(layout: layout, configuration: configuration, store: store, crash: crashPoints,
                                              observer: observer, clock: clock)
                summary.files.append(try processor.process(claimed, mapping: mapping, batchId: batchId, recovered: recovered))
                store.checkpoint()
            }
        }
        if let batchId = summary.batchId {
            try closeBatch(batchId)
            try ReconciliationReport(store: store, layout: layout).write(batchId: batchId)
        }
        // Whatever left entries uncovered signs a checkpoint before the command exits (DESIGN.md §3).
        summary.checkpoint = try Ledger(store: store, layout: layout, origin: configuration.ledgerOrigin).checkpoint(now: clock())
        return summary
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

    private func openBatch() throws -> Int64 {
        try store.write { db in
            try db.execute(sql: "INSERT INTO batch (started_at, status, pid) VALUES (?, 'running', ?)",
                           arguments: [clock().description, Int(getpid())])
            return db.lastInsertedRowID
        }
    }

    private func closeBatch(_ id: Int64) throws {
        try store.write { db in
            try db.execute(sql: "UPDATE batch SET status = 'completed', finished_at = ? WHERE id = ?", arguments: [clock().description, id])
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
