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
            let due = BackgroundWork { try store.read { try DueCalculator(policy: policy).compute(asOf: asOf, in: $0) } }
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
