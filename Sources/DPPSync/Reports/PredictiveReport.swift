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

    /// Writes the three files as of `asOf`; returns their common path without extension.
    @discardableResult
    public func write(asOf: CivilDate, now: Timestamp = .now()) throws -> String {
        try FileSystem.createDirectory(layout.predictiveReports)
        let base = layout.predictiveReports + "/predictive-\(asOf)"
        let (assessments, alertsInForce) = try store.read { db in
            let assessments = try PredictiveAlertCalculator(policy: policy, timeZone: timeZone).assess(asOf: asOf, in: db)
            let head = try db.cachedStatement(sql: "SELECT message_id FROM outbox_stream WHERE stream = ?")
            // The alert the CMMS holds now, for the predictions open on the day (an answered one's last alert was closed by the work).
            let heads = try assessments.map { assessment in
                assessment.state == .open ? try String.fetchOne(head, arguments: [OutboxChannel.predictiveAlerts.rawValue + "/" + assessment.predictionId]) : nil
            }
            return (assessments, heads)
        }
        let text = JSONValue.text
        let counts = PredictionAssessment.State.allCases.map { state in (state, assessments.filter { $0.state == state }.count) }
        var items: [JSONValue] = []
        var csv = "prediction_id,dpp_id,detected_at,anomaly,state,answered_by,alert_in_force,priority,overdue,predicted_failure_by,planned_hours,window_start,window_end,station\r\n"
        var rows: [[String: Any]] = []
        for (assessment, inForce) in zip(assessments, alertsInForce) {
            let alert = assessment.alert
            let window = alert?.window
            items.append(.object([
                ("predictionId", .string(assessment.predictionId)), ("dppId", .string(assessment.dppId)), ("detectedAt", text(assessment.detectedAt)),
                ("anomaly", text(assessment.anomaly)), ("state", .string(assessment.state.rawValue)), ("answeredBy", text(assessment.answeredBy)),
                ("alertInForce", text(inForce)), ("priority", text(alert?.priority)), ("overdue", alert.map { .bool($0.overdue) } ?? .null),
                ("predictedFailureBy", text(alert?.predictedFailureBy?.description)), ("plannedHours", alert.map { .number(DueCalculator.format($0.workHours)) } ?? .null),
                ("groundWindow", window.map { .object([("station", text($0.station)), ("start", .string($0.start.description)), ("end", .string($0.end.description))]) } ?? .null),
            ]))
            csv += ReconciliationReport.csvLine([
                assessment.predictionId, assessment.dppId, assessment.detectedAt, assessment.anomaly, assessment.state.rawValue, assessment.answeredBy, inForce,
                alert?.priority, alert.map { $0.overdue ? "true" : "false" }, alert?.predictedFailureBy?.description, alert.map { DueCalculator.format($0.workHours) },
                window?.start.description,
                window?.end.description, window?.station,
            ])
            rows.append([
                "predictionId": assessment.predictionId, "dppId": assessment.dppId, "detectedAt": assessment.detectedAt ?? "", "anomaly": assessment.anomaly ?? "",
                "state": assessment.state.rawValue, "answeredBy": assessment.answeredBy ?? "", "alert": inForce ?? "", "priority": alert?.priority ?? "",
                "failureBy": alert?.predictedFailureBy?.description ?? "", "overdue": alert?.overdue ?? false,
                "plannedHours": alert.map { DueCalculator.format($0.workHours) } ?? "",
                "window": window.map { "\($0.station ?? "") \($0.start) – \($0.end)" } ?? (alert == nil ? "" : "none fits"),
            ])
        }
        let json: JSONValue = .object([
            ("schema", .string("dppsync.predictive/1")), ("asOf", .string(asOf.description)), ("generatedAt", .string(now.description)),
            ("counts", .array(counts.map { .object([("state", .string($0.0.rawValue)), ("predictions", .number(String($0.1)))]) })),
            ("predictions", .array(items)),
        ])
        try FileSystem.writeAtomically(json.jsonText(pretty: true) + "\n", to: base + ".json")
        try FileSystem.writeAtomically(csv, to: base + ".csv")
        let context: [String: Any] = [
            "asOf": asOf.description, "generatedAt": now.description,
            "cards": counts.map { ["state": $0.0.rawValue, "count": String($0.1), "class": $0.0 == .open && $0.1 > 0 ? "held" : "applied"] },
            "predictions": rows, "csvName": "predictive-\(asOf).csv", "jsonName": "predictive-\(asOf).json",
        ]
        try FileSystem.writeAtomically(try MustacheTemplate(string: ReportTemplates.predictiveHTML).render(context), to: base + ".html")
        return base
    }
}
