import GRDB
import Mustache

/// The compliance report for auditors (DESIGN.md: `report compliance [--from D --to D]`): over a
/// period, every release to service and whether it was certified, every record decided with a
/// compliance reason and what review made of it, the maintenance overdue and the certificates of
/// fitted components expired at its end. `Reports/compliance/compliance-<from>-to-<to>.json`, `.csv`
/// and `.html`, tied to the latest signed checkpoint so that each figure can be proven from the ledger.
///
/// Every list is streamed from the store to the JSON and the CSV (a month of a large operator's work
/// orders is millions of rows); the HTML shows the first `htmlRowLimit` of each, what needs a person first.
public struct ComplianceReport {
    public let store: Store
    public let layout: RootLayout
    public let policy: SchedulingPolicy
    /// The operator's days: completion days are in it, and so are the period's and decisions' days.
    public let timeZone: OperatorTimeZone
    /// Rows of each list shown in the HTML page (the CSV and JSON always hold all of them).
    public var htmlRowLimit = 1000

    public init(store: Store, layout: RootLayout, policy: SchedulingPolicy, timeZone: OperatorTimeZone = .utc) {
        self.store = store; self.layout = layout; self.policy = policy; self.timeZone = timeZone
    }

    /// The reasons a record is held, rejected or has its release withheld for against airworthiness rules:
    /// who may certify, what a part must be, what the tests said.
    public static let complianceReasons: [ReasonCode] = [.certExpired, .certInsufficient, .unknownTechnician, .testFailed, .noCertifyingStaff,
                                                         .partNotCertified, .partInstalledElsewhere]
    /// Those a completion is applied with only when a reviewer accepted it despite them (their policy is held or rejected).
    static let waivableReasons: [ReasonCode] = [.certExpired, .certInsufficient, .unknownTechnician, .partNotCertified, .partInstalledElsewhere]
    /// Release statuses of work orders that asked for a return to service.
    static let releaseStatuses = ["released", "blocked", "awaiting-certifying-staff"]

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
        let json = try AtomicFileWriter(path: base + ".json")
        let csv = try AtomicFileWriter(path: base + ".csv")
        let html = try AtomicFileWriter(path: base + ".html")
        var page = Page(limit: htmlRowLimit)
        try store.read { db in
            try stream(from: from, to: to, now: now, db: db, page: &page, json: { try json.write($0) }, csv: { try csv.write($0) })
        }
        try html.write(try MustacheTemplate(string: ReportTemplates.complianceHTML).render(page.context))
        try json.commit()
        try csv.commit()
        try html.commit()
        return base
    }

    /// What the HTML page shows, gathered while the JSON and the CSV are streamed: each list's first
    /// rows, those that need a person first.
    private struct Page {
        var limit: Int
        var context: [String: Any] = [:]
        var uncertified: [[String: Any]] = [], certified: [[String: Any]] = []
        var heldFindings: [[String: Any]] = [], otherFindings: [[String: Any]] = []
        var overdue: [[String: Any]] = [], expired: [[String: Any]] = []
        var releases = 0, releasedOnReview = 0, findings = 0, overdueCount = 0, expiredCount = 0

        func shown(_ first: [[String: Any]], _ then: [[String: Any]]) -> [[String: Any]] { first + then.prefix(max(0, limit - first.count)) }
    }

    static let csvHeader = "section,date,dpp_id,key,task,status,reason,technician,licence_category,certificate,ledger_entry,file,review,detail\r\n"

    private func stream(from: CivilDate, to: CivilDate, now: Timestamp, db: Database, page: inout Page,
                        json: (String) throws -> Void, csv: (String) throws -> Void) throws {
        // Days compare as text; the last day the calendar writes has no day after it.
        let (first, last) = (from.description, to.description)
        let dayAfter: String? = to.daysSinceEpoch < DueCalculator.lastDay ? to.adding(days: 1).description : nil
        func q(_ value: JSONValue) -> String { value.jsonText() }
        let text = JSONValue.text
        // Inside the read: the checkpoint of the state the figures come from.
        let checkpoint = try Ledger.checkpoints(db, latestOnly: true).first

        // Releases to service: work orders completed in the period that asked for one.
        let statuses = Self.releaseStatuses.map { "'\($0)'" }.joined(separator: ", ")
        let period = "completion_date >= ? AND (? IS NULL OR completion_date < ?)"
        let inPeriod = "\(period) AND release_status IN (\(statuses))"
        var releaseCounts: [(status: String, workOrders: Int)] = try Row.fetchAll(
            db, sql: "SELECT release_status, COUNT(*) FROM work_order WHERE \(inPeriod) GROUP BY release_status ORDER BY release_status",
            arguments: [first, dayAfter, dayAfter]).map { ($0[0], $0[1]) }
        // A work order whose newer version no longer returns its component to service asks for no release, but
        // its certificate was issued and withdrawn: the auditor follows that trail too. Each of the period's
        // not-returned work orders costs a key lookup (the first certificate's id); only those withdrawn are kept.
        var withdrawnNotReturned = Set<String>()
        for workOrderId in try String.fetchAll(db, sql: """
            SELECT work_order_id FROM work_order WHERE \(period) AND release_status = 'not-returned'
            """, arguments: [first, dayAfter, dayAfter]) where try ReleaseCertificate.history(of: workOrderId, in: db).withdrawn {
            withdrawnNotReturned.insert(workOrderId)
        }
        if !withdrawnNotReturned.isEmpty {
            releaseCounts.append(("not-returned", withdrawnNotReturned.count))
            releaseCounts.sort { $0.status < $1.status }
        }
        // Work orders released on review despite a compliance reason (the outcome of an accepted review item).
        var waived: [String: String] = [:]
        let waivable = Self.waivableReasons.map(\.rawValue)
        for row in try Row.fetchAll(db, sql: """
            SELECT record_key, group_concat(DISTINCT reason) FROM record_outcome
            WHERE kind = 'workOrderCompletion' AND outcome = 'applied' AND reason IN (\(waivable.map { _ in "?" }.joined(separator: ", ")))
            GROUP BY record_key
            """, arguments: StatementArguments(waivable)) {
            waived[row[0]] = row[1]
        }
        var head = "{\n  \"schema\": \"dppsync.compliance/1\",\n  \"from\": \(q(.string(first))),\n  \"to\": \(q(.string(last))),\n"
        head += "  \"generatedAt\": \(q(.string(now.description))),\n"
        head += "  \"ledger\": " + (checkpoint.map { q(.object([("treeSize", .number(String($0.checkpoint.treeSize))), ("checkpoint", .string($0.note))])) } ?? "null") + ",\n"
        head += "  \"releases\": {\n    \"counts\": [" + releaseCounts.map {
            q(.object([("releaseStatus", .string($0.status)), ("workOrders", .number(String($0.workOrders)))]))
        }.joined(separator: ", ") + "],\n    \"items\": ["
        try json(head)
        try csv(Self.csvHeader)
        // The certificate in force: who it names (a work order sent again may name another technician than the one
        // certified), and the ledger entry that decided it.
        let certificate = try DirectStatement(db, sql: """
            SELECT q.ledger_seq, json_extract(m.body, '$.technician.laborCode'), json_extract(m.body, '$.technician.category')
            FROM outbox_message m JOIN outbox_queue q USING (message_id) WHERE m.message_id = ?
            """)
        let releases = try Row.fetchCursor(db, sql: """
            SELECT work_order_id, dpp_id, task_id, completion_date, release_status, certifying_staff FROM work_order
            WHERE \(period) AND release_status IN (\(statuses), 'not-returned')
            ORDER BY completion_date, work_order_id
            """, arguments: [first, dayAfter, dayAfter])
        var separator = "\n      "
        while let row = try releases.next() {
            let workOrderId: String = row[0], status: String = row[4]
            if status == "not-returned", !withdrawnNotReturned.contains(workOrderId) { continue }
            var staff = row[5] as String?
            // The certificate in force, or for a work order that no longer releases its component the withdrawal of the one it had.
            var certificateId: String?, entry: Int64?, category: String?, withdrawn: String?
            let history = try ReleaseCertificate.history(of: workOrderId, in: db)
            if let latest = history.latest {
                if status == "released", !history.withdrawn, let found = try certificate.firstRow([latest], columns: 3, in: db) {
                    (certificateId, entry, staff, category) = (latest, found[0].flatMap { Int64($0) }, found[1] ?? staff, found[2])
                } else if history.withdrawn {
                    withdrawn = history.withdrawal
                }
            }
            let onReview = status == "released" ? waived[workOrderId] : nil
            try json(separator + q(.object([
                ("workOrderId", .string(workOrderId)), ("dppId", text(row[1])), ("taskId", text(row[2])), ("completionDate", text(row[3])),
                ("releaseStatus", .string(status)), ("certifyingStaff", text(staff)), ("licenceCategory", text(category)),
                ("certificateId", text(certificateId)), ("ledgerEntry", entry.map { .number(String($0)) } ?? .null),
                ("withdrawal", text(withdrawn)), ("releasedOnReviewDespite", text(onReview)),
            ])))
            separator = ",\n      "
            try csv(ReconciliationReport.csvLine(["release", row[3], row[1], workOrderId, row[2], status, onReview, staff, category, certificateId ?? withdrawn,
                                                  entry.map(String.init), nil, onReview.map { "released on review despite \($0)" },
                                                  withdrawn.map { "certificate withdrawn: " + $0 }]))
            page.releases += 1
            if onReview != nil { page.releasedOnReview += 1 }
            // Those not certified, or certified only on review, come first on the page: they are what an auditor asks about.
            let plain = status == "released" && onReview == nil
            if plain ? page.certified.count < page.limit : page.uncertified.count < page.limit {
                let shown: [String: Any] = ["workOrderId": workOrderId, "dppId": (row[1] as String?) ?? "", "taskId": (row[2] as String?) ?? "",
                                            "date": (row[3] as String?) ?? "", "status": status + (onReview.map { " on review despite \($0)" } ?? ""),
                                            "staff": staff ?? "", "category": category ?? "",
                                            "certificate": certificateId ?? withdrawn.map { $0 + " (withdrawal)" } ?? "", "entry": entry.map(String.init) ?? ""]
                if plain { page.certified.append(shown) } else { page.uncertified.append(shown) }
            }
        }

        // Records decided with a compliance reason (held, rejected, applied with the release withheld, or applied on
        // review), by the operator's day their batch started, with the review item that held them.
        let reasons = Self.complianceReasons.map(\.rawValue)
        let marks = reasons.map { _ in "?" }.joined(separator: ", ")
        let batches = "SELECT id FROM batch WHERE started_at >= ? AND (? IS NULL OR started_at < ?)"
        let end = dayAfter.map { _ in timeZone.start(of: to.adding(days: 1)).description }
        let bounds: [DatabaseValueConvertible?] = [timeZone.start(of: from).description, end, end]
        let findingCounts = try Row.fetchAll(db, sql: """
            SELECT reason, outcome, COUNT(*) FROM record_outcome WHERE batch_id IN (\(batches)) AND reason IN (\(marks))
            GROUP BY reason, outcome ORDER BY reason, outcome
            """, arguments: StatementArguments(bounds + reasons))
        try json((page.releases > 0 ? "\n    ]" : "]") + "\n  },\n  \"findings\": {\n    \"counts\": [" + findingCounts.map {
            q(.object([("reason", text($0[0])), ("outcome", text($0[1])), ("records", .number(String($0[2] as Int64)))]))
        }.joined(separator: ", ") + "],\n    \"items\": [")
        let findings = try Row.fetchCursor(db, sql: """
            SELECT b.started_at, f.source, f.name, o.record_index, o.kind, o.record_key, o.reason, o.outcome, o.message,
                   r.id, r.status, r.resolved_by, r.resolved_at, r.note
            FROM record_outcome o JOIN batch b ON b.id = o.batch_id JOIN input_file f ON f.id = o.file_id
            LEFT JOIN review_item r ON r.id = (SELECT MAX(id) FROM review_item WHERE file_id = o.file_id AND record_index = o.record_index)
            WHERE o.batch_id IN (\(batches)) AND o.reason IN (\(marks))
            ORDER BY o.id
            """, arguments: StatementArguments(bounds + reasons))
        separator = "\n      "
        while let row = try findings.next() {
            let decidedOn = (row[0] as String?).flatMap { Timestamp(iso: $0) }.map { timeZone.civilDate(of: $0).description }
            let file = "\((row[1] as String?) ?? "")/\((row[2] as String?) ?? "")"
            let review: JSONValue = (row[9] as Int64?).map { id in
                .object([("id", .number(String(id))), ("status", text(row[10])), ("resolvedBy", text(row[11])), ("resolvedAt", text(row[12])), ("note", text(row[13]))])
            } ?? .null
            try json(separator + q(.object([
                ("decidedOn", text(decidedOn)), ("source", text(row[1])), ("file", text(row[2])), ("recordIndex", .number(String(row[3] as Int64))),
                ("kind", text(row[4])), ("recordKey", text(row[5])), ("reason", text(row[6])), ("outcome", text(row[7])), ("message", text(row[8])),
                ("review", review),
            ])))
            separator = ",\n      "
            let reviewText = (row[9] as Int64?).map { id in
                ["review #\(id): \((row[10] as String?) ?? "")", row[11] as String?, row[12] as String?, row[13] as String?].compactMap { $0 }.joined(separator: "; ")
            }
            try csv(ReconciliationReport.csvLine(["finding", decidedOn, nil, row[5], nil, row[7], row[6], nil, nil, nil, nil, file, reviewText, row[8]]))
            page.findings += 1
            // Held and rejected records first on the page: an applied one's release was only withheld.
            let held = (row[7] as String?) != Outcome.applied.rawValue
            if held ? page.heldFindings.count < page.limit : page.otherFindings.count < page.limit {
                let shown: [String: Any] = ["date": decidedOn ?? "", "file": file, "key": (row[5] as String?) ?? "", "reason": (row[6] as String?) ?? "",
                                            "outcome": (row[7] as String?) ?? "", "review": reviewText ?? "", "message": (row[8] as String?) ?? ""]
                if held { page.heldFindings.append(shown) } else { page.otherFindings.append(shown) }
            }
        }

        // Maintenance overdue on the period's last day, as of that day (later work does not answer it).
        try json((page.findings > 0 ? "\n    ]" : "]") + "\n  },\n  \"overdueMaintenance\": [")
        separator = "\n    "
        for item in try DueCalculator(policy: policy).compute(asOf: to, in: db, recordsThrough: to) where item.overdue {
            try json(separator + q(.object([
                ("dppId", .string(item.dppId)), ("taskId", .string(item.taskId)), ("dueDate", .string(item.dueDate.description)),
                ("toleranceDays", .number(String(item.toleranceDays))), ("lastAccomplished", .string(item.accomplished.description)),
                ("basis", .string(item.basis.detail)),
            ])))
            separator = ",\n    "
            try csv(ReconciliationReport.csvLine(["overdue", item.dueDate.description, item.dppId, nil, item.taskId, "overdue", nil, nil, nil, nil, nil, nil, nil,
                                                  "last accomplished \(item.accomplished); \(item.basis.detail); tolerance \(item.toleranceDays) days"]))
            page.overdueCount += 1
            if page.overdue.count < page.limit {
                page.overdue.append(["dppId": item.dppId, "taskId": item.taskId, "dueDate": item.dueDate.description, "tolerance": String(item.toleranceDays),
                                     "accomplished": item.accomplished.description, "basis": item.basis.detail])
            }
        }
        // Certificates of fitted components (stocked parts are checked when they are fitted) valid only before the last day.
        try json((page.overdueCount > 0 ? "\n  ]" : "]") + ",\n  \"expiredCertificates\": [")
        separator = "\n    "
        let expired = try Row.fetchCursor(db, sql: """
            SELECT dpp_id, cmms_asset_num, status, json_extract(certification, '$.type'), json_extract(certification, '$.reference'),
                   \(StateSchema.certificateExpirySQL) AS valid_until
            FROM asset WHERE \(StateSchema.certificateExpirySQL) < ? AND COALESCE(status, '') NOT IN ('IN_STOCK', 'REMOVED', 'SCRAPPED')
            ORDER BY valid_until, dpp_id
            """, arguments: [last])
        while let row = try expired.next() {
            try json(separator + q(.object([("dppId", text(row[0])), ("cmmsAssetNum", text(row[1])), ("status", text(row[2])),
                                            ("certificateType", text(row[3])), ("reference", text(row[4])), ("validUntil", text(row[5]))])))
            separator = ",\n    "
            try csv(ReconciliationReport.csvLine(["expired-certificate", row[5], row[0], row[4], nil, row[2], nil, nil, nil, nil, nil, nil, nil, row[3]]))
            page.expiredCount += 1
            if page.expired.count < page.limit {
                page.expired.append(["dppId": (row[0] as String?) ?? "", "status": (row[2] as String?) ?? "", "type": (row[3] as String?) ?? "",
                                     "reference": (row[4] as String?) ?? "", "validUntil": (row[5] as String?) ?? ""])
            }
        }
        try json((page.expiredCount > 0 ? "\n  ]" : "]") + "\n}\n")

        let released = releaseCounts.first { $0.status == "released" }?.workOrders ?? 0
        let shownReleases = page.shown(page.uncertified, page.certified), shownFindings = page.shown(page.heldFindings, page.otherFindings)
        func card(_ label: String, _ count: Int, bad: String) -> [String: String] { ["label": label, "count": String(count), "class": count > 0 ? bad : "applied"] }
        page.context = [
            "from": first, "to": last, "generatedAt": now.description,
            "hasLedger": checkpoint != nil, "treeSize": checkpoint.map { String($0.checkpoint.treeSize) } ?? "", "checkpoint": checkpoint?.note ?? "",
            "cards": [
                ["label": "releases certified", "count": String(released - page.releasedOnReview), "class": "applied"],
                card("released on review", page.releasedOnReview, bad: "held"),
                card("releases not certified", page.releases - released - withdrawnNotReturned.count, bad: "held"),
                card("withdrawn, not returned", withdrawnNotReturned.count, bad: "held"),
                card("compliance findings", page.findings, bad: "held"),
                card("tasks overdue", page.overdueCount, bad: "rejected"),
                card("certificates expired", page.expiredCount, bad: "rejected"),
            ],
            "releaseCounts": releaseCounts.map { ["status": $0.status, "count": String($0.workOrders)] },
            "releases": shownReleases, "releasesTruncated": page.releases > shownReleases.count,
            "releasesShown": String(shownReleases.count), "releasesTotal": String(page.releases),
            "findingCounts": findingCounts.map { ["reason": ($0[0] as String?) ?? "", "outcome": ($0[1] as String?) ?? "", "count": String($0[2] as Int)] },
            "findings": shownFindings, "findingsTruncated": page.findings > shownFindings.count,
            "findingsShown": String(shownFindings.count), "findingsTotal": String(page.findings),
            "overdue": page.overdue, "overdueTruncated": page.overdueCount > page.overdue.count, "overdueTotal": String(page.overdueCount),
            "expired": page.expired, "expiredTruncated": page.expiredCount > page.expired.count, "expiredTotal": String(page.expiredCount),
            "csvName": "compliance-\(first)-to-\(last).csv", "jsonName": "compliance-\(first)-to-\(last).json",
        ]
    }
}
