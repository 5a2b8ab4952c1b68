/// What every command that changed state does before it exits (DESIGN.md §3):
/// decide the outbox messages the state now calls for (ledgered), sign a
/// checkpoint over uncovered entries, and emit pending outbox files.
public struct Finalizer {
    public let store: Store
    public let layout: RootLayout
    public let configuration: Configuration
    public let crash: CrashPoints
    /// Books planning and signing (benchmark).
    public var timings: StageTimings?

    public init(store: Store, layout: RootLayout, configuration: Configuration, crash: CrashPoints = .none) {
        self.store = store; self.layout = layout; self.configuration = configuration; self.crash = crash
    }

    @discardableResult
    public func run(batchId: Int64?, asOf: CivilDate, now: Timestamp = .now()) throws -> StoredCheckpoint? {
        var start = StageTimings.now()
        try store.write { db in
            // The due dates are computed on the second core while the components' streams are planned
            // here, from a snapshot taken once this transaction holds the write lock: the state it starts from.
            let (store, policy) = (store, configuration.scheduling)
            let due = BackgroundWork {
                try store.read { db in
                    // A reader's page cache is SQLite's 2 MB (31 pages of 64 KB): too few for the seeks of a
                    // large store's due dates, which the writer's cache had served (plan 0.57–0.62 s at 100k
                    // work orders with it, 0.49–0.52 s with the writer's 32 MB, 0.56–0.60 s with 16 MB;
                    // +13 MB peak RSS). Given back after.
                    try db.execute(sql: "PRAGMA cache_size = -\(Store.writerCacheKiB)")
                    defer { try? db.execute(sql: "PRAGMA cache_size = -2000") }
                    return try DueCalculator(policy: policy).compute(asOf: asOf, in: db)
                }
            }
            defer { _ = try? due.wait() }  // never left reading behind a failure
            // Pipelined: a fleet's worth of messages is serialised and hashed on the second core.
            var writer = try StateWriter(db: db, batchId: batchId, pipelined: true, clock: { now })
            try OutboxPlanner(policy: policy).plan(asOf: asOf, writer: &writer, in: db, dueItems: due.wait)
            try writer.finish()
        }
        timings?.add(.plan, StageTimings.now() - start)
        start = StageTimings.now()
        let checkpoint = try Ledger(store: store, layout: layout, origin: configuration.ledgerOrigin).checkpoint(now: now)
        timings?.add(.sign, StageTimings.now() - start)
        try OutboxEmitter(store: store, layout: layout, crash: crash).emitPending(now: now)
        return checkpoint
    }
}
