import GRDB

/// A CAOS prediction the CMMS must act on (the seed's predictive-maintenance workflow): its risk
/// as a priority, the work it recommends, and the first ground window of the component's aircraft
/// in which that work fits before the predicted failure.
public struct PredictiveAlert: Sendable, Hashable {
    public var predictionId: String
    public var dppId: String
    public var cmmsAssetNum: String?
    /// The aircraft the component is installed on, whose ground windows the work is planned in.
    public var aircraft: String?
    public var detectedAt: Timestamp
    /// Detection plus `predictedFailureWithinHours`; `nil` when CAOS gave no horizon.
    public var predictedFailureBy: Timestamp?
    public var priority: String
    /// The predicted failure time has passed with no recommended work done since the detection.
    public var overdue: Bool
    public var confidence: Double?
    /// The prediction's facts as CAOS sent them, for the message.
    public var anomaly: String?, indicator: String?, value: String?, threshold: String?
    public var recommendedAction: String?, recommendedTaskId: String?
    /// The recommended task's programme entry, where the programme has it.
    public var task: Task?
    /// Hours of work planned: the task's estimated duration, else the configured default.
    public var workHours: Double
    public var window: GroundWindow?

    /// What the programme says of the recommended work.
    public struct Task: Sendable, Hashable {
        public var maintenanceType: String?
        public var estimatedDuration: String?
        public var requiredCategory: String?
        public var requiredAuthorisation: String?
        public var releaseCertificate: String?
    }

    /// A planned period when an aircraft is on the ground, as stored.
    public struct GroundWindow: Sendable, Hashable {
        public var station: String?
        public var start: Timestamp
        public var end: Timestamp
    }
}

/// Finds the open CAOS predictions as of a day and assesses each (`PredictiveAlert`).
public struct PredictiveAlertCalculator {
    public let policy: SchedulingPolicy
    public init(policy: SchedulingPolicy) { self.policy = policy }

    /// What CAOS may say of a prediction (reconciliation refuses other values; a value stored
    /// before that check reads as none): a probability, and a failure horizon inside the calendar.
    public static let confidenceRange: ClosedRange<Double> = 0...1
    public static let failureHoursRange: ClosedRange<Double> = 0...1_000_000

    /// Every prediction no completed work answers, as of the start of `asOf` (UTC), in prediction order.
    ///
    /// A prediction is answered by a completion on its component that finished after the detection
    /// and names its recommended task or none (corrective work rarely names a programme task; any
    /// completion when the prediction recommends no task): completed on a later
    /// day, or on the same day with a status date at or after the detection (without one, the
    /// alert stays: a missed alert costs more than one sent twice).
    public func compute(asOf: CivilDate, in db: Database) throws -> [PredictiveAlert] {
        let now = Timestamp(millisecondsSinceEpoch: Int64(asOf.daysSinceEpoch) * 86_400_000)
        let predictions = try Row.fetchAll(db, sql: """
            SELECT p.prediction_id, p.dpp_id, p.detected_at, p.anomaly, p.indicator, p.value, p.threshold, p.confidence,
                   p.predicted_failure_within_hours, p.recommended_action, p.recommended_task_id, a.cmms_asset_num, a.installed_on
            FROM caos_prediction p LEFT JOIN asset a ON a.dpp_id = p.dpp_id
            ORDER BY p.prediction_id
            """)
        var alerts: [PredictiveAlert] = []
        for prediction in predictions {
            guard let predictionId = prediction["prediction_id"] as String?, let dppId = prediction["dpp_id"] as String?,
                  let detectedAt = (prediction["detected_at"] as String?).flatMap({ Timestamp(iso: $0) }) else { continue }
            let taskId = prediction["recommended_task_id"] as String?
            if try answered(dppId: dppId, taskId: taskId, detectedAt: detectedAt, in: db) { continue }
            let hours = DueCalculator.decimal(prediction["predicted_failure_within_hours"], in: Self.failureHoursRange)
            let failureBy = hours.map { Timestamp(millisecondsSinceEpoch: detectedAt.millisecondsSinceEpoch + Int64(($0 * 3_600_000).rounded())) }
            let confidence = DueCalculator.decimal(prediction["confidence"], in: Self.confidenceRange)
            let task = try taskId.flatMap { try Row.fetchOne(db, sql: "SELECT * FROM maintenance_task WHERE task_id = ?", arguments: [$0]) }.map {
                PredictiveAlert.Task(maintenanceType: $0["maintenance_type"], estimatedDuration: $0["estimated_duration"], requiredCategory: $0["required_category"],
                                     requiredAuthorisation: $0["required_authorisation"], releaseCertificate: $0["release_certificate"])
            }
            let workHours = Self.hours(ofDuration: task?.estimatedDuration) ?? policy.defaultWorkHours
            let aircraft = prediction["installed_on"] as String?
            let window = try aircraft.flatMap { try firstWindow(of: $0, from: max(now, detectedAt), before: failureBy, lasting: workHours, in: db) }
            let overdue = failureBy.map { $0 <= now } ?? false
            alerts.append(PredictiveAlert(
                predictionId: predictionId, dppId: dppId, cmmsAssetNum: prediction["cmms_asset_num"], aircraft: aircraft,
                detectedAt: detectedAt, predictedFailureBy: failureBy,
                priority: policy.alertPriority(hoursLeft: failureBy.map { Double($0.millisecondsSinceEpoch - now.millisecondsSinceEpoch) / 3_600_000 },
                                               confidence: confidence),
                overdue: overdue, confidence: confidence, anomaly: prediction["anomaly"], indicator: prediction["indicator"],
                value: prediction["value"], threshold: prediction["threshold"], recommendedAction: prediction["recommended_action"],
                recommendedTaskId: taskId, task: task, workHours: workHours, window: window))
        }
        return alerts
    }

    private func answered(dppId: String, taskId: String?, detectedAt: Timestamp, in db: Database) throws -> Bool {
        let day = detectedAt.civilDate().description
        // `work_order_latest` (dpp_id, COALESCE(task_id, ''), completion_date, …) answers both forms.
        let completions = taskId == nil
            ? try Row.fetchAll(db, sql: "SELECT completion_date, status_date FROM work_order WHERE dpp_id = ? AND completion_date >= ?",
                               arguments: [dppId, day])
            : try Row.fetchAll(db, sql: "SELECT completion_date, status_date FROM work_order WHERE dpp_id = ? AND COALESCE(task_id, '') IN (?, '') AND completion_date >= ?",
                               arguments: [dppId, taskId, day])
        return completions.contains { row in
            guard let completed = (row["completion_date"] as String?).flatMap({ CivilDate(iso: String($0.prefix(10))) }) else { return false }
            if completed.description > day { return true }
            return (row["status_date"] as String?).flatMap { Timestamp(iso: $0) }.map { $0 >= detectedAt } ?? false
        }
    }

    /// The first ground window of `aircraft` that starts at or after `from`, lasts `hours`, and
    /// ends by `deadline` (when there is one).
    private func firstWindow(of aircraft: String, from: Timestamp, before deadline: Timestamp?, lasting hours: Double,
                             in db: Database) throws -> PredictiveAlert.GroundWindow? {
        let needed = Int64((hours * 3_600_000).rounded())
        // Stored instants are UTC text of one width (`Timestamp.description`): text order is time order.
        let windows = try Row.fetchCursor(db, sql: "SELECT station, start, \"end\" FROM ground_window WHERE aircraft = ? ORDER BY start", arguments: [aircraft])
        while let row = try windows.next() {
            guard let start = (row["start"] as String?).flatMap({ Timestamp(iso: $0) }), let end = (row["end"] as String?).flatMap({ Timestamp(iso: $0) }),
                  start >= from, end.millisecondsSinceEpoch - start.millisecondsSinceEpoch >= needed else { continue }
            if let deadline, end > deadline { continue }  // a later, shorter one may still end in time
            return PredictiveAlert.GroundWindow(station: row["station"], start: start, end: end)
        }
        return nil
    }

    /// Hours of a programme's `estimatedDuration`: `4 hours`, `90 minutes`, `1.5 h`, `2 days`,
    /// `45 min`; `nil` for anything else (or nothing, or more than a year).
    public static func hours(ofDuration text: String?) -> Double? {
        guard let text else { return nil }
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let number = trimmed.prefix { $0.isNumber || $0 == "." }
        let unit = trimmed.dropFirst(number.count).trimmingCharacters(in: .whitespaces)
        guard let value = Double(number), value > 0 else { return nil }
        let scale: Double
        switch unit {
        case "h", "hr", "hrs", "hour", "hours": scale = 1
        case "m", "min", "mins", "minute", "minutes": scale = 1.0 / 60
        case "d", "day", "days": scale = 24
        default: return nil
        }
        let hours = value * scale
        return hours <= 8_784 ? hours : nil
    }
}

import Foundation
