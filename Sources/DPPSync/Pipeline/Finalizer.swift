import GRDB

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
        let plannedFor = planKey(asOf: asOf)
        var skipped = false
        try store.write { db in
            // Nothing committed since the last plan, which was for this day and these settings: it would decide
            // nothing (a watcher's idle pass had re-planned every stream each time: 0.2 s on a 20,000-component
            // fleet, 1.7 s with 20,000 stored predictions, every 30 s). That state counts as planned.
            let size = try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM ledger_entry") ?? 0
            if let last = try Row.fetchOne(db, sql: "SELECT planned_size, planned_for FROM outbox_plan"),
               last[0] as Int? == size, last[1] as String? == plannedFor {
                try db.execute(sql: "UPDATE outbox_plan SET planned_through = ?", arguments: [size])
                skipped = true
                return
            }
            try db.execute(sql: """
                INSERT INTO outbox_plan (id, planned_through) VALUES (1, ?)
                ON CONFLICT (id) DO UPDATE SET planned_through = excluded.planned_through
                """, arguments: [size])
            // The due dates are computed on the second core while the components' streams are planned
            // here, from a snapshot taken once this transaction holds the write lock: the state it starts from.
            let (store, policy) = (store, configuration.scheduling)
            let due = BackgroundWork { try store.read { try DueCalculator(policy: policy).compute(asOf: asOf, in: $0) } }
            defer { _ = try? due.wait() }  // never left reading behind a failure
            // Pipelined: a fleet's worth of messages is serialised and hashed on the second core.
            var writer = try StateWriter(db: db, batchId: batchId, pipelined: true, clock: { now })
            try OutboxPlanner(policy: policy, timeZone: configuration.timeZone).plan(asOf: asOf, writer: &writer, in: db, dueItems: due.wait)
            try writer.finish()
            try db.execute(sql: "UPDATE outbox_plan SET planned_size = (SELECT COALESCE(MAX(seq), 0) FROM ledger_entry), planned_for = ?",
                           arguments: [plannedFor])
        }
        timings?.add(.plan, StageTimings.now() - start)
        if skipped { timings?.countSkippedPlan() }
        start = StageTimings.now()
        let checkpoint = try Ledger(store: store, layout: layout, origin: configuration.ledgerOrigin).checkpoint(now: now)
        timings?.add(.sign, StageTimings.now() - start)
        try OutboxEmitter(store: store, layout: layout, crash: crash).emitPending(now: now)
        return checkpoint
    }

    /// What a plan is decided from besides the state: the day, the settings the planner reads, and
    /// the planner's own revision (`OutboxPlanner.revision`).
    func planKey(asOf: CivilDate) -> String {
        "\(asOf) \(configuration.scheduling) \(configuration.timeZone) planner \(OutboxPlanner.revision)"
    }

    /// The ledger's size when the last plan began, or when a pass found nothing new since the last plan
    /// (which then stands for it): every entry up to it had been committed, so the outbox was decided
    /// from a state that includes them (0 before the first plan).
    public static func plannedThrough(in store: Store) throws -> Int {
        try store.read { db in try Int.fetchOne(db, sql: "SELECT planned_through FROM outbox_plan") ?? 0 }
    }

    /// The latest checkpoint, when a pass has finished with the ledger's first `size` entries: it
    /// planned the outbox from a state that includes them, and signed a checkpoint over them (it
    /// emits their files next); `nil` otherwise. A signature alone is not enough: a pass that
    /// planned before those entries were committed signs them without having decided what they
    /// make due (`review resolve` beside a running watcher).
    public static func finished(through size: Int, in ledger: Ledger) throws -> StoredCheckpoint? {
        guard try plannedThrough(in: ledger.store) >= size, let signed = try ledger.latestCheckpoint(),
              signed.checkpoint.treeSize >= size else { return nil }
        return signed
    }
}
