import GRDB
import Mustache

/// What became of CAOS's predictions (DESIGN.md: `report predictive`), for the planners who act on them
/// and the auditors who check that each was acted on: every stored prediction as of a day, open with its
/// priority, failure time and ground window and the alert the CMMS holds, answered by the work order
/// named, or why it has no alert. `Reports/predictive/predictive-<day>.json`, `.csv` and `.html`.
public struct PredictiveReport {
    public let store: Store
    public let layout: RootLayout
    public let policy: SchedulingPolicy
    public let timeZone: OperatorTimeZone

    public init(store: Store, layout: RootLayout, policy: SchedulingPolicy, timeZone: OperatorTimeZone) {
        self.store = store; self.layout = layout; self.policy = policy; self.timeZone = timeZone
    }

    /// Rows shown in the HTML page, open predictions first (the CSV and JSON always hold all of them).
    public var htmlRowLimit = 1000

    /// Writes the three files as of `asOf`; returns their common path without extension.
    ///
    /// The JSON and the CSV are streamed, a prediction at a time, and the page shows the first `htmlRowLimit`:
    /// a store keeps every prediction CAOS ever sent, and the whole report built in memory had taken 1.8 s
    /// and 108 MB for 20,000 (most of it fresh pages for the JSON tree and the page's rows).
    @discardableResult
    public func write(asOf: CivilDate, now: Timestamp = .now()) throws -> String {
        try FileSystem.createDirectory(layout.predictiveReports)
        let base = layout.predictiveReports + "/predictive-\(asOf)"
        let json = try AtomicFileWriter(path: base + ".json")
        let csv = try AtomicFileWriter(path: base + ".csv")
        let html = try AtomicFileWriter(path: base + ".html")
        var open: [[String: Any]] = [], others: [[String: Any]] = []
        var counts: [PredictionAssessment.State: Int] = [:]
        try store.read { db in
            let assessments = try PredictiveAlertCalculator(policy: policy, timeZone: timeZone).assess(asOf: asOf, in: db)
            for assessment in assessments { counts[assessment.state, default: 0] += 1 }
            let countsJSON = JSONValue.array(PredictionAssessment.State.allCases.map {
                .object([("state", .string($0.rawValue)), ("predictions", .number(String(counts[$0, default: 0])))])
            })
            try json.write("{\n  \"schema\": \"dppsync.predictive/1\",\n  \"asOf\": \(JSONValue.string(asOf.description).jsonText()),\n"
                           + "  \"generatedAt\": \(JSONValue.string(now.description).jsonText()),\n  \"counts\": \(countsJSON.jsonText()),\n  \"predictions\": [")
            try csv.write(Self.csvHeader)
            // The alert the CMMS holds now, for the predictions open on the day (an answered one's last alert was closed by the work).
            let head = try db.cachedStatement(sql: "SELECT message_id FROM outbox_stream WHERE stream = ?")
            for (index, assessment) in assessments.enumerated() {
                let inForce = assessment.state == .open
                    ? try String.fetchOne(head, arguments: [OutboxChannel.predictiveAlerts.rawValue + "/" + assessment.predictionId]) : nil
                try json.write((index == 0 ? "\n    " : ",\n    ") + Self.item(assessment, alertInForce: inForce).jsonText())
                try csv.write(Self.csvLine(assessment, alertInForce: inForce))
                if assessment.state == .open ? open.count < htmlRowLimit : open.count + others.count < htmlRowLimit {
                    let row = Self.pageRow(assessment, alertInForce: inForce)
                    if assessment.state == .open { open.append(row) } else { others.append(row) }
                }
            }
            try json.write((assessments.isEmpty ? "" : "\n  ") + "]\n}\n")
        }
        let shown = open + others.prefix(max(0, htmlRowLimit - open.count))
        let total = counts.values.reduce(0, +)
        let context: [String: Any] = [
            "asOf": asOf.description, "generatedAt": now.description,
            "cards": PredictionAssessment.State.allCases.map { state in
                ["state": state.rawValue, "count": String(counts[state, default: 0]), "class": state == .open && counts[state, default: 0] > 0 ? "held" : "applied"]
            },
            "predictions": shown, "truncated": total > shown.count, "shown": String(shown.count), "total": String(total),
            "csvName": "predictive-\(asOf).csv", "jsonName": "predictive-\(asOf).json",
        ]
        try html.write(try MustacheTemplate(string: ReportTemplates.predictiveHTML).render(context))
        try json.commit()
        try csv.commit()
        try html.commit()
        return base
    }

    static let csvHeader = "prediction_id,dpp_id,detected_at,anomaly,state,answered_by,alert_in_force,priority,overdue,predicted_failure_by,planned_hours,window_start,window_end,station\r\n"

    /// A prediction in the JSON (schema `dppsync.predictive/1`).
    private static func item(_ assessment: PredictionAssessment, alertInForce: String?) -> JSONValue {
        let text = JSONValue.text
        let alert = assessment.alert
        return .object([
            ("predictionId", .string(assessment.predictionId)), ("dppId", .string(assessment.dppId)), ("detectedAt", text(assessment.detectedAt)),
            ("anomaly", text(assessment.anomaly)), ("state", .string(assessment.state.rawValue)), ("answeredBy", text(assessment.answeredBy)),
            ("alertInForce", text(alertInForce)), ("priority", text(alert?.priority)), ("overdue", alert.map { .bool($0.overdue) } ?? .null),
            ("predictedFailureBy", text(alert?.predictedFailureBy?.description)), ("plannedHours", alert.map { .number(DueCalculator.format($0.workHours)) } ?? .null),
            ("groundWindow", alert?.window.map { .object([("station", text($0.station)), ("start", .string($0.start.description)), ("end", .string($0.end.description))]) } ?? .null),
        ])
    }

    private static func csvLine(_ assessment: PredictionAssessment, alertInForce: String?) -> String {
        let alert = assessment.alert, window = assessment.alert?.window
        return ReconciliationReport.csvLine([
            assessment.predictionId, assessment.dppId, assessment.detectedAt, assessment.anomaly, assessment.state.rawValue, assessment.answeredBy, alertInForce,
            alert?.priority, alert.map { $0.overdue ? "true" : "false" }, alert?.predictedFailureBy?.description, alert.map { DueCalculator.format($0.workHours) },
            window?.start.description, window?.end.description, window?.station,
        ])
    }

    private static func pageRow(_ assessment: PredictionAssessment, alertInForce: String?) -> [String: Any] {
        let alert = assessment.alert
        return [
            "predictionId": assessment.predictionId, "dppId": assessment.dppId, "detectedAt": assessment.detectedAt ?? "", "anomaly": assessment.anomaly ?? "",
            "state": assessment.state.rawValue, "answeredBy": assessment.answeredBy ?? "", "alert": alertInForce ?? "", "priority": alert?.priority ?? "",
            "failureBy": alert?.predictedFailureBy?.description ?? "", "overdue": alert?.overdue ?? false,
            "plannedHours": alert.map { DueCalculator.format($0.workHours) } ?? "",
            "window": alert?.window.map { "\($0.station ?? "") \($0.start) – \($0.end)" } ?? (alert == nil ? "" : "none fits"),
        ]
    }
}
