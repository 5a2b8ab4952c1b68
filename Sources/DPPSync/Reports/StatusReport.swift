import GRDB

/// What `dppsync status` shows: per source, files waiting and whether the
/// source is late; the review queue; outbox messages not sent yet; how far the ledger is signed; the last
/// batch and its counts.
public struct StatusReport: Sendable {
    public struct SourceStatus: Sendable {
        public var name: String
        public var waiting: Int
        public var inProcessing: Int
        /// When the newest file of this source arrived (first seen), if ever.
        public var lastArrival: Timestamp?
        public var expectEvery: Double?
        public var late: Bool
        /// `expectEvery` in the largest unit that writes it whole: 36 h, 90 min, 2 d (hours had
        /// shown 30 minutes as "0 h").
        public var expectEveryText: String? {
            guard let seconds = expectEvery.map({ Int64($0.rounded()) }) else { return nil }
            for (unit, size) in [("d", Int64(86_400)), ("h", 3_600), ("min", 60)] where seconds % size == 0 { return "\(seconds / size) \(unit)" }
            return "\(seconds) s"
        }
        /// Why files of this source are held (broken mapping), if they are.
        public var heldBecause: String?
        /// Why this source's part of the last pass failed, and when, if it did.
        public var failedBecause: String?
    }

    /// An outbox channel with messages not sent yet, or whose outbound mapping is broken.
    public struct ChannelStatus: Sendable {
        public var channel: String
        public var waiting: Int
        /// Why its messages wait (a broken outbound mapping), if they do.
        public var heldBecause: String?
    }

    public var sources: [SourceStatus]
    /// Sources that valid mappings name but dppsync.yaml does not configure: no run reads their inbox.
    public var unconfiguredSources: [(source: String, mappings: [String], waiting: Int)] = []
    public var openReviewItems: Int
    public var outbox: [ChannelStatus] = []
    /// The ledger's size, how far it is signed and why signing is refused, if it is (`nil` before the first run).
    public var ledger: Ledger.SigningState?
    public var lastBatch: (id: Int64, status: String, startedAt: String, finishedAt: String?)?
    public var lastBatchCounts: [(outcome: String, reason: String?, count: Int)]

    /// Gathers the status of `layout` as of `now`.
    public static func gather(layout: RootLayout, configuration: Configuration, store: Store?, now: Timestamp) throws -> StatusReport {
        let catalog = MappingCatalog.load(directory: layout.mappings)
        let failures = (try? FileSystem.readBytes(layout.sourceFailures)).flatMap { try? JSONParser.parseDocument($0) }
        var sources: [SourceStatus] = []
        for source in configuration.sources {
            let waiting = Inbox.waitingNames(in: layout.inbox(source.name))
            let processing = Inbox.waitingNames(in: layout.processing(source.name))
            var lastArrival: Timestamp?
            if let store {
                let recorded = try store.read { db in
                    try String.fetchOne(db, sql: "SELECT MAX(COALESCE(first_seen_at, decided_at)) FROM input_file WHERE source = ?", arguments: [source.name])
                }
                lastArrival = recorded.flatMap { Timestamp(iso: $0) }
                let observed = try store.read { db in
                    try Double.fetchOne(db, sql: "SELECT MAX(first_seen_at) FROM intake_observation WHERE source = ?", arguments: [source.name])
                }
                if let observed {
                    let t = Timestamp(millisecondsSinceEpoch: Int64(observed * 1000))
                    if lastArrival.map({ $0 < t }) ?? true { lastArrival = t }
                }
            }
            var late = false
            if let every = source.expectEvery {
                late = lastArrival.map { Double(now.millisecondsSinceEpoch - $0.millisecondsSinceEpoch) / 1000 > every } ?? true
            }
            // What holds the source's files, as the run would say it: `status` had counted them as waiting only.
            var held: [String] = []
            if let broken = catalog.heldReason(for: source.name) {
                held.append(broken)
            } else {
                // Files no one mapping takes wait, as the run says (`status` had shown them as waiting only).
                let untaken = try waiting.compactMap { name -> String? in
                    guard let store else { return catalog.noMappingReason(source: source.name, fileName: name) }
                    if case .waits(let why) = try catalog.choose(source: source.name, fileName: name, store: store, layout: layout) { return why }
                    return nil
                }
                if let first = untaken.first { held.append(untaken.count == 1 ? first : "\(untaken.count) files wait for a mapping, the first: \(first)") }
            }
            let folder = layout.inbox(source.name)
            if FileSystem.exists(folder), !FileSystem.isDirectory(folder) {  // (a link to nothing is a failure: FAILED below, after a run)
                held.append(Inbox.notAFolderReason(source: source.name))
            }
            let undecodable = waiting.filter { Inbox.isUndecodable($0, in: folder) }.count
            if undecodable > 0 { held.append(Inbox.undecodableNamesReason(undecodable, source: source.name)) }
            sources.append(SourceStatus(name: source.name, waiting: waiting.count, inProcessing: processing.count,
                                        lastArrival: lastArrival, expectEvery: source.expectEvery, late: late,
                                        heldBecause: held.isEmpty ? nil : held.joined(separator: "; "),
                                        failedBecause: failures?[source.name].flatMap { failure in
                                            failure["reason"]?.scalarText.map { "\($0) (at \(failure["at"]?.scalarText ?? "?"))" } }))
        }
        var report = StatusReport(sources: sources, openReviewItems: 0, lastBatch: nil, lastBatchCounts: [])
        let unconfigured = Dictionary(grouping: catalog.mappings.filter { configuration.source(named: $0.source) == nil }, by: \.source)
        report.unconfiguredSources = unconfigured.keys.sorted().map { source in
            (source, (unconfigured[source] ?? []).map(\.name).sorted(), Inbox.waitingNames(in: layout.inbox(source)).count)
        }
        let held = OutboxEmitter.heldChannels(OutboxEmitter.mappings(in: layout.mappings).broken)
        if let store {
            report.ledger = try Ledger(store: store, layout: layout, origin: configuration.ledgerOrigin).signingState()
            try store.read { db in
                report.openReviewItems = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM review_item WHERE status = 'open'") ?? 0
                let waiting = try OutboxEmitter.waitingMessages(in: db)
                report.outbox = Set(waiting.keys).union(held.keys).sorted().map { ChannelStatus(channel: $0, waiting: waiting[$0] ?? 0, heldBecause: held[$0]) }
                if let batch = try Row.fetchOne(db, sql: "SELECT id, status, started_at, finished_at FROM batch ORDER BY id DESC LIMIT 1") {
                    let id: Int64 = batch["id"]
                    report.lastBatch = (id, batch["status"], batch["started_at"], batch["finished_at"])
                    report.lastBatchCounts = try Row.fetchAll(db, sql: """
                        SELECT outcome, reason, COUNT(*) AS n FROM record_outcome WHERE batch_id = ? GROUP BY outcome, reason
                        UNION ALL SELECT 'file ' || disposition, reason, COUNT(*) FROM input_file WHERE batch_id = ? AND reason IS NOT NULL GROUP BY disposition, reason
                        ORDER BY 1, 2
                        """, arguments: [id, id]).map { ($0["outcome"], $0["reason"], $0["n"]) }
                }
            }
        }
        return report
    }

    private static func unconfiguredJSON(_ u: (source: String, mappings: [String], waiting: Int)) -> JSONValue {
        .object([("source", .string(u.source)), ("mappings", .array(u.mappings.map(JSONValue.string))), ("waiting", .number(String(u.waiting)))])
    }

    /// The report as JSON, for scripts.
    public var jsonValue: JSONValue {
        let text = JSONValue.text
        return .object([
            ("sources", .array(sources.map { s in .object([
                ("name", .string(s.name)), ("waiting", .number(String(s.waiting))), ("inProcessing", .number(String(s.inProcessing))),
                ("lastArrival", text(s.lastArrival?.description)), ("expectEvery", s.expectEvery.map { .number(String(Int($0))) } ?? .null),
                ("late", .bool(s.late)), ("heldBecause", text(s.heldBecause)), ("failedBecause", text(s.failedBecause)),
            ]) })),
            ("unconfiguredSources", .array(unconfiguredSources.map(Self.unconfiguredJSON))),
            ("openReviewItems", .number(String(openReviewItems))),
            ("outbox", .array(outbox.map { c in .object([
                ("channel", .string(c.channel)), ("waiting", .number(String(c.waiting))), ("heldBecause", text(c.heldBecause)),
            ]) })),
            ("ledger", ledger.map { l in .object([
                ("entries", .number(String(l.entries))), ("signed", .number(String(l.latest?.checkpoint.treeSize ?? 0))),
                ("signedAt", text(l.latest?.signedAt)), ("signingRefusedBecause", text(l.refusal)),
            ]) } ?? .null),
            ("lastBatch", lastBatch.map { b in .object([
                ("id", .number(String(b.id))), ("status", .string(b.status)), ("startedAt", .string(b.startedAt)),
                ("finishedAt", text(b.finishedAt)),
                ("counts", .array(lastBatchCounts.map { .object([("outcome", .string($0.outcome)), ("reason", text($0.reason)), ("count", .number(String($0.count)))]) })),
            ]) } ?? .null),
        ])
    }
}
