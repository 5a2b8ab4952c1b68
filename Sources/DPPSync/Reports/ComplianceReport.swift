import GRDB
import Mustache

/// The compliance report for auditors (DESIGN.md: `report compliance [--from D --to D]`): over a
/// period, every release to service and whether it was certified, every record decided with a
/// compliance reason and what review made of it, the maintenance overdue and the component
/// certificates expired at its end. `Reports/compliance/compliance-<from>-to-<to>.json`, `.csv`
/// and `.html`, tied to the latest signed checkpoint so that each figure can be proven from the ledger.
///
/// Releases and findings are streamed from the store to the JSON and the CSV (a month of a large
/// operator's work orders is millions of rows); the HTML shows the first `htmlRowLimit` of each.
public struct ComplianceReport {
    public let store: Store
    public let layout: RootLayout
    public let policy: SchedulingPolicy
    /// Rows of each list shown in the HTML page (the CSV and JSON always hold all of them).
    public var htmlRowLimit = 1000

    public init(store: Store, layout: RootLayout, policy: SchedulingPolicy) {
        self.store = store; self.layout = layout; self.policy = policy
    }

    /// The reasons a record is held or rejected for against airworthiness rules: who may certify,
    /// what a part must be, what the tests said.
    public static let complianceReasons: [ReasonCode] = [.certExpired, .certInsufficient, .unknownTechnician, .testFailed, .noCertifyingStaff,
                                                         .partNotCertified, .partInstalledElsewhere]

    /// Why a report cannot be made for a period.
    public struct PeriodError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The three files' common path, without extension.
    public func basePath(from: CivilDate, to: CivilDate) -> String {
        layout.complianceReports + "/compliance-\(from)-to-\(to)"
    }

    /// Writes the JSON, the CSV and the HTML for the days `from` to `to` (both included); returns their base path.
    /// - Parameter now: when the report is made (its `generatedAt`).
    @discardableResult
    public func write(from: CivilDate, to: CivilDate, now: Timestamp = .now()) throws -> String {
        guard from <= to else { throw PeriodError(description: "the period's start \(from) is after its end \(to)") }
        try FileSystem.createDirectory(layout.complianceReports)
        let base = basePath(from: from, to: to)
        let checkpoint = try Ledger(store: store, layout: layout, origin: "").latestCheckpoint()
        let json = try AtomicFileWriter(path: base + ".json")
        let csv = try AtomicFileWriter(path: base + ".csv")
        let html = try AtomicFileWriter(path: base + ".html")
        var page = Page(limit: htmlRowLimit)
        try store.read { db in
            try stream(from: from, to: to, now: now, checkpoint: checkpoint, db: db, page: &page,
                       json: { try json.write($0) }, csv: { try csv.write($0) })
        }
        try html.write(try MustacheTemplate(string: ReportTemplates.complianceHTML).render(page.context))
        try json.commit()
        try csv.commit()
        try html.commit()
        return base
    }

    /// What the HTML page shows, gathered while the JSON and the CSV are streamed.
    private struct Page {
        var limit: Int
        var context: [String: Any] = [:]
        var uncertified: [[String: Any]] = [], certified: [[String: Any]] = [], findings: [[String: Any]] = []
        var releasesTotal = 0, findingsTotal = 0
    }

    static let csvHeader = "section,date,dpp_id,key,task,status,reason,technician,certificate,ledger_entry,detail\r\n"

    private func stream(from: CivilDate, to: CivilDate, now: Timestamp, checkpoint: StoredCheckpoint?, db: Database, page: inout Page,
                        json: (String) throws -> Void, csv: (String) throws -> Void) throws {
        let (first, last, dayAfter) = (from.description, to.description, to.adding(days: 1).description)
        func q(_ value: JSONValue) -> String { value.jsonText() }
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }

        // Releases to service: work orders completed in the period that asked for one (or were released).
        let releaseCounts = try Row.fetchAll(db, sql: """
            SELECT release_status, COUNT(*) FROM work_order
            WHERE completion_date >= ? AND completion_date < ? AND release_status IS NOT NULL
            GROUP BY release_status ORDER BY release_status
            """, arguments: [first, dayAfter])
        var head = "{\n  \"schema\": \"dppsync.compliance/1\",\n  \"from\": \(q(.string(first))),\n  \"to\": \(q(.string(last))),\n"
        head += "  \"generatedAt\": \(q(.string(now.description))),\n"
        head += "  \"ledger\": " + (checkpoint.map { q(.object([("treeSize", .number(String($0.checkpoint.treeSize))), ("checkpoint", .string($0.note))])) } ?? "null") + ",\n"
        head += "  \"releases\": {\n    \"counts\": [" + releaseCounts.map {
            q(.object([("releaseStatus", text($0[0])), ("workOrders", .number(String($0[1] as Int64)))]))
        }.joined(separator: ", ") + "],\n    \"items\": ["
        try json(head)
        try csv(Self.csvHeader)
        let certificate = try db.cachedStatement(sql: """
            SELECT q.ledger_seq, json_extract(m.body, '$.technician.category') FROM outbox_message m JOIN outbox_queue q USING (message_id)
            WHERE m.message_id = ?
            """)
        let releases = try Row.fetchCursor(db, sql: """
            SELECT work_order_id, dpp_id, task_id, completion_date, release_status, certifying_staff FROM work_order
            WHERE completion_date >= ? AND completion_date < ? AND release_status IS NOT NULL
            ORDER BY completion_date, work_order_id
            """, arguments: [first, dayAfter])
        var separator = ""
        while let row = try releases.next() {
            let workOrderId: String = row[0], status: String = row[4]
            let staff = row[5] as String?
            // The certificate in force and the ledger entry that decided it; for a work order that no longer releases
            // its component, the withdrawal of the certificate it had.
            var certificateId: String?, entry: Int64?, category: String?, withdrawn: String?
            let history = try ReleaseCertificate.history(of: workOrderId, in: db)
            if let latest = history.latest {
                if status == "released", !history.withdrawn, let found = try Row.fetchOne(certificate, arguments: [latest]) {
                    (certificateId, entry, category) = (latest, found[0], found[1])
                } else if history.withdrawn {
                    withdrawn = ReleaseCertificate.withdrawalId(of: latest)
                }
            }
            let item: JSONValue = .object([
                ("workOrderId", .string(workOrderId)), ("dppId", text(row[1])), ("taskId", text(row[2])), ("completionDate", text(row[3])),
                ("releaseStatus", .string(status)), ("certifyingStaff", text(staff)), ("licenceCategory", text(category)),
                ("certificateId", text(certificateId)), ("ledgerEntry", entry.map { .number(String($0)) } ?? .null),
                ("withdrawal", text(withdrawn)),
            ])
            try json(separator + "\n      " + q(item))
            separator = ","
            try csv(ReconciliationReport.csvLine(["release", row[3], row[1], workOrderId, row[2], status, nil, staff, certificateId ?? withdrawn,
                                                  entry.map(String.init), withdrawn.map { "certificate withdrawn: " + $0 }]))
            page.releasesTotal += 1
            // Those not certified come first on the page: they are what an auditor asks about.
            if status == "released" ? page.certified.count < page.limit : page.uncertified.count < page.limit {
                let shown: [String: Any] = ["workOrderId": workOrderId, "dppId": (row[1] as String?) ?? "", "taskId": (row[2] as String?) ?? "",
                                            "date": (row[3] as String?) ?? "", "status": status, "staff": staff ?? "", "category": category ?? "",
                                            "certificate": certificateId ?? withdrawn.map { $0 + " (withdrawal)" } ?? "", "entry": entry.map(String.init) ?? ""]
                if status == "released" { page.certified.append(shown) } else { page.uncertified.append(shown) }
            }
        }
        let shownReleases = page.uncertified + page.certified.prefix(max(0, page.limit - page.uncertified.count))

        // Records decided with a compliance reason (held, rejected, or applied with the release withheld), by the
        // UTC day of their batch, with what review made of those held.
        let reasons = Self.complianceReasons.map(\.rawValue)
        let marks = reasons.map { _ in "?" }.joined(separator: ", ")
        let batches = "SELECT id FROM batch WHERE started_at >= ? AND started_at < ?"
        let findingCounts = try Row.fetchAll(db, sql: """
            SELECT reason, outcome, COUNT(*) FROM record_outcome WHERE batch_id IN (\(batches)) AND reason IN (\(marks))
            GROUP BY reason, outcome ORDER BY reason, outcome
            """, arguments: StatementArguments([first, dayAfter] + reasons))
        try json((page.releasesTotal > 0 ? "\n    ]" : "]") + "\n  },\n  \"findings\": {\n    \"counts\": [" + findingCounts.map {
            q(.object([("reason", text($0[0])), ("outcome", text($0[1])), ("records", .number(String($0[2] as Int64)))]))
        }.joined(separator: ", ") + "],\n    \"items\": [")
        let findings = try Row.fetchCursor(db, sql: """
            SELECT substr(b.started_at, 1, 10), f.source, f.name, o.record_index, o.kind, o.record_key, o.reason, o.outcome, o.message,
                   r.id, r.status, r.resolved_by, r.resolved_at, r.note
            FROM record_outcome o JOIN batch b ON b.id = o.batch_id JOIN input_file f ON f.id = o.file_id
            LEFT JOIN review_item r ON r.batch_id = o.batch_id AND r.file_id = o.file_id AND r.record_index = o.record_index
            WHERE o.batch_id IN (\(batches)) AND o.reason IN (\(marks))
            ORDER BY o.id
            """, arguments: StatementArguments([first, dayAfter] + reasons))
        separator = ""
        while let row = try findings.next() {
            let review: JSONValue = (row[9] as Int64?).map { id in
                .object([("id", .number(String(id))), ("status", text(row[10])), ("resolvedBy", text(row[11])), ("resolvedAt", text(row[12])), ("note", text(row[13]))])
            } ?? .null
            let item: JSONValue = .object([
                ("decidedOn", text(row[0])), ("source", text(row[1])), ("file", text(row[2])), ("recordIndex", .number(String(row[3] as Int64))),
                ("kind", text(row[4])), ("recordKey", text(row[5])), ("reason", text(row[6])), ("outcome", text(row[7])), ("message", text(row[8])),
                ("review", review),
            ])
            try json(separator + "\n      " + q(item))
            separator = ","
            let reviewText = (row[9] as Int64?).map { "review #\($0): " + ((row[10] as String?) ?? "") }
            try csv(ReconciliationReport.csvLine(["finding", row[0], nil, row[5], nil, reviewText ?? row[7], row[6], nil, nil, nil, row[8]]))
            page.findingsTotal += 1
            if page.findings.count < page.limit {
                page.findings.append(["date": (row[0] as String?) ?? "", "file": "\((row[1] as String?) ?? "")/\((row[2] as String?) ?? "")",
                                      "key": (row[5] as String?) ?? "", "reason": (row[6] as String?) ?? "", "outcome": (row[7] as String?) ?? "",
                                      "review": reviewText ?? "", "message": (row[8] as String?) ?? ""])
            }
        }

        // Maintenance overdue at the period's end (from the state now), and component certificates expired by then.
        let overdue = try DueCalculator(policy: policy).compute(asOf: to, in: db).filter(\.overdue)
        try json((page.findingsTotal > 0 ? "\n    ]" : "]") + "\n  },\n  \"overdueMaintenance\": [" + overdue.map { item in
            "\n    " + q(.object([
                ("dppId", .string(item.dppId)), ("taskId", .string(item.taskId)), ("dueDate", .string(item.dueDate.description)),
                ("toleranceDays", .number(String(item.toleranceDays))), ("lastAccomplished", .string(item.accomplished.description)),
                ("basis", .string(item.basis.detail)),
            ]))
        }.joined(separator: ",") + (overdue.isEmpty ? "],\n" : "\n  ],\n"))
        for item in overdue {
            try csv(ReconciliationReport.csvLine(["overdue", item.dueDate.description, item.dppId, nil, item.taskId, "overdue", nil, nil, nil, nil,
                                                  "last accomplished \(item.accomplished); \(item.basis.detail); tolerance \(item.toleranceDays) days"]))
        }
        let expired = try Row.fetchAll(db, sql: """
            SELECT dpp_id, cmms_asset_num, status, json_extract(certification, '$.type'), json_extract(certification, '$.reference'),
                   \(StateSchema.certificateExpirySQL) AS valid_until
            FROM asset WHERE \(StateSchema.certificateExpirySQL) < ? ORDER BY valid_until, dpp_id
            """, arguments: [dayAfter])
        try json("  \"expiredCertificates\": [" + expired.map { row in
            "\n    " + q(.object([("dppId", text(row[0])), ("cmmsAssetNum", text(row[1])), ("status", text(row[2])),
                                ("certificateType", text(row[3])), ("reference", text(row[4])), ("validUntil", text(row[5]))]))
        }.joined(separator: ",") + (expired.isEmpty ? "]\n}\n" : "\n  ]\n}\n"))
        for row in expired {
            try csv(ReconciliationReport.csvLine(["expired-certificate", row[5], row[0], row[4], nil, row[2], nil, nil, nil, nil, row[3]]))
        }

        let released = releaseCounts.first { ($0[0] as String?) == "released" }.map { $0[1] as Int } ?? 0
        page.context = [
            "from": first, "to": last, "generatedAt": now.description,
            "hasLedger": checkpoint != nil, "treeSize": checkpoint.map { String($0.checkpoint.treeSize) } ?? "", "checkpoint": checkpoint?.note ?? "",
            "cards": [
                ["label": "releases certified", "count": String(released), "class": "applied"],
                ["label": "releases not certified", "count": String(page.releasesTotal - released), "class": page.releasesTotal > released ? "held" : "applied"],
                ["label": "compliance findings", "count": String(page.findingsTotal), "class": page.findingsTotal > 0 ? "held" : "applied"],
                ["label": "tasks overdue", "count": String(overdue.count), "class": overdue.isEmpty ? "applied" : "rejected"],
                ["label": "certificates expired", "count": String(expired.count), "class": expired.isEmpty ? "applied" : "rejected"],
            ],
            "releaseCounts": releaseCounts.map { ["status": ($0[0] as String?) ?? "", "count": String($0[1] as Int)] },
            "releases": shownReleases, "releasesTruncated": page.releasesTotal > shownReleases.count,
            "releasesShown": String(shownReleases.count), "releasesTotal": String(page.releasesTotal),
            "findingCounts": findingCounts.map { ["reason": ($0[0] as String?) ?? "", "outcome": ($0[1] as String?) ?? "", "count": String($0[2] as Int)] },
            "findings": page.findings, "findingsTruncated": page.findingsTotal > page.findings.count,
            "findingsShown": String(page.findings.count), "findingsTotal": String(page.findingsTotal),
            "overdue": overdue.map { ["dppId": $0.dppId, "taskId": $0.taskId, "dueDate": $0.dueDate.description, "tolerance": String($0.toleranceDays),
                                      "accomplished": $0.accomplished.description, "basis": $0.basis.detail] },
            "expired": expired.map { ["dppId": ($0[0] as String?) ?? "", "status": ($0[2] as String?) ?? "", "type": ($0[3] as String?) ?? "",
                                      "reference": ($0[4] as String?) ?? "", "validUntil": ($0[5] as String?) ?? ""] },
            "csvName": "compliance-\(first)-to-\(last).csv", "jsonName": "compliance-\(first)-to-\(last).json",
        ]
    }
}
