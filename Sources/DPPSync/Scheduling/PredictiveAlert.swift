import GRDB

/// A CAOS prediction the CMMS must act on (the seed's predictive-maintenance workflow): its risk
/// as a priority, the work it recommends, and the first ground window of the component's aircraft
/// in which that work fits before the predicted failure.
public struct PredictiveAlert: Sendable, Hashable {
    public var predictionId: String
    public var dppId: String
    public var cmmsAssetNum: String?
    /// The component a part is fitted in, and its CMMS number: the CMMS keeps no record of most parts.
    public var parentDppId: String?, parentCmmsAssetNum: String?
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

/// What became of one CAOS prediction as of a day.
public struct PredictionAssessment: Sendable {
    public enum State: String, Sendable, CaseIterable {
        /// No work has answered it: `alert` is what the CMMS is told.
        case open
        /// A completion after the detection answered it (`answeredBy`).
        case answered
        /// Its component is not in the registry (yet).
        case unknownComponent = "unknown-component"
        /// Its component is off its aircraft (removed, scrapped or in stock).
        case offAircraft = "off-aircraft"
        /// Detected after the as-of day (or at no readable time).
        case notYetDetected = "not-yet-detected"
    }

    public var predictionId: String
    public var dppId: String
    public var detectedAt: String?
    public var anomaly: String?
    public var state: State
    public var answeredBy: String?
    public var alert: PredictiveAlert?
}

/// Finds the open CAOS predictions as of a day and assesses each (`PredictiveAlert`).
public struct PredictiveAlertCalculator {
    public let policy: SchedulingPolicy
    /// The operator's days: what a completion day and the as-of day mean.
    public let timeZone: OperatorTimeZone
    public init(policy: SchedulingPolicy, timeZone: OperatorTimeZone = .utc) { self.policy = policy; self.timeZone = timeZone }

    /// What CAOS may say of a prediction (reconciliation refuses other values; a value stored
    /// before that check reads as none): a probability, and a failure horizon inside the calendar.
    public static let confidenceRange: ClosedRange<Double> = 0...1
    public static let failureHoursRange: ClosedRange<Double> = 0...1_000_000

    /// Every prediction no completed work answers, as of the start of `asOf` in the operator's time zone, in
    /// prediction order. Only components the registry knows and that are fitted get one: an alert for a component
    /// off its aircraft (`REMOVED`, `SCRAPPED`, `IN_STOCK`) would ask for work no aircraft can give a window to, and one for an
    /// unknown component waits for the registry to bring it. A prediction detected after the as-of day waits for it.
    ///
    /// A prediction is answered by a completion on its component, by the as-of day, that finished after the detection
    /// and names its recommended task or none (corrective work rarely names a programme task; any
    /// completion when the prediction recommends no task): completed on a later day than the detection's
    /// (in the operator's time zone, as completion days are), or on the same day with a status date (when the
    /// CMMS recorded it complete) at or after the detection; without one, the alert stays: a missed alert
    /// costs more than one sent twice.
    public func compute(asOf: CivilDate, in db: Database) throws -> [PredictiveAlert] {
        try assess(asOf: asOf, in: db).compactMap(\.alert)
    }

    /// What became of every stored prediction as of `asOf` (`report predictive`): open with its alert, answered by
    /// a work order, or why it has no alert (`compute`'s rules).
    ///
    /// Every pass assesses every stored prediction, so each costs what its own lookups cost: their statements are
    /// prepared once (GRDB authorises a statement it prepares table by table, which had been most of a pass with
    /// 20,000 predictions: 2.7 s), columns are read by position, and a task's programme entry once per pass.
    public func assess(asOf: CivilDate, in db: Database) throws -> [PredictionAssessment] {
        let now = timeZone.start(of: asOf)
        let endOfDay = Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch + 86_400_000)
        let lookups = try Lookups(db)
        var tasks: [String: (task: PredictiveAlert.Task?, workHours: Double)] = [:]
        let predictions = try Row.fetchCursor(db, sql: """
            SELECT p.prediction_id, p.dpp_id, p.detected_at, p.anomaly, p.indicator, p.value, p.threshold, p.confidence,
                   p.predicted_failure_within_hours, p.recommended_action, p.recommended_task_id, a.cmms_asset_num, a.installed_on,
                   a.parent_dpp_id, parent.cmms_asset_num,
                   a.dpp_id IS NOT NULL, COALESCE(a.status, '') IN ('REMOVED', 'SCRAPPED', 'IN_STOCK')
            FROM caos_prediction p LEFT JOIN asset a ON a.dpp_id = p.dpp_id LEFT JOIN asset parent ON parent.dpp_id = a.parent_dpp_id
            ORDER BY p.prediction_id
            """)
        var assessments: [PredictionAssessment] = []
        while let prediction = try predictions.next() {
            guard let predictionId = prediction[0] as String?, let dppId = prediction[1] as String? else { continue }
            let detectedText = prediction[2] as String?
            var assessment = PredictionAssessment(predictionId: predictionId, dppId: dppId, detectedAt: detectedText, anomaly: prediction[3],
                                                  state: .open)
            defer { assessments.append(assessment) }
            guard prediction[15] as Bool else { assessment.state = .unknownComponent; continue }
            guard !(prediction[16] as Bool) else { assessment.state = .offAircraft; continue }
            guard let detectedAt = detectedText.flatMap({ Timestamp(iso: $0) }), detectedAt < endOfDay else { assessment.state = .notYetDetected; continue }
            let taskId = prediction[10] as String?
            if let answer = try answer(dppId: dppId, taskId: taskId, detectedAt: detectedAt, before: asOf.adding(days: 1), lookups: lookups) {
                assessment.state = .answered
                assessment.answeredBy = answer
                continue
            }
            let hours = DueCalculator.decimal(prediction[8], in: Self.failureHoursRange)
            // A horizon that ends past the calendar (9999-12-31) is none.
            let failureBy = hours.map { Timestamp(millisecondsSinceEpoch: detectedAt.millisecondsSinceEpoch + Int64(($0 * 3_600_000).rounded())) }
                .flatMap { $0.civilDate().daysSinceEpoch <= DueCalculator.lastDay ? $0 : nil }
            let confidence = DueCalculator.decimal(prediction[7], in: Self.confidenceRange)
            let planned: (task: PredictiveAlert.Task?, workHours: Double)
            if let taskId, let known = tasks[taskId] {
                planned = known
            } else {
                let task = try taskId.flatMap { try Row.fetchOne(lookups.task, arguments: [$0]) }.map {
                    PredictiveAlert.Task(maintenanceType: $0[0], estimatedDuration: $0[1], requiredCategory: $0[2],
                                         requiredAuthorisation: $0[3], releaseCertificate: $0[4])
                }
                planned = (task, Self.hours(ofDuration: task?.estimatedDuration) ?? policy.defaultWorkHours)
                if let taskId { tasks[taskId] = planned }
            }
            let aircraft = prediction[12] as String?
            let window = try aircraft.flatMap { try firstWindow(of: $0, from: max(now, detectedAt), before: failureBy, lasting: planned.workHours, lookups: lookups) }
            let overdue = failureBy.map { $0 <= now } ?? false
            assessment.alert = PredictiveAlert(
                predictionId: predictionId, dppId: dppId, cmmsAssetNum: prediction[11],
                parentDppId: prediction[13], parentCmmsAssetNum: prediction[14], aircraft: aircraft,
                detectedAt: detectedAt, predictedFailureBy: failureBy,
                priority: policy.alertPriority(hoursLeft: failureBy.map { Double($0.millisecondsSinceEpoch - now.millisecondsSinceEpoch) / 3_600_000 },
                                               confidence: confidence),
                overdue: overdue, confidence: confidence, anomaly: prediction[3], indicator: prediction[4],
                value: prediction[5], threshold: prediction[6], recommendedAction: prediction[9],
                recommendedTaskId: taskId, task: planned.task, workHours: planned.workHours, window: window)
        }
        return assessments
    }

    /// The statements every prediction runs, prepared once for a pass.
    private struct Lookups {
        /// Completions on a component from a day, before another (`work_order_latest` answers both forms).
        let anyCompletion: Statement, completionOfTask: Statement
        let task: Statement
        let windows: Statement

        init(_ db: Database) throws {
            anyCompletion = try db.cachedStatement(sql: """
                SELECT completion_date, status_date, work_order_id FROM work_order WHERE dpp_id = ? AND completion_date >= ? AND completion_date < ?
                ORDER BY completion_date, work_order_id
                """)
            completionOfTask = try db.cachedStatement(sql: """
                SELECT completion_date, status_date, work_order_id FROM work_order
                WHERE dpp_id = ? AND COALESCE(task_id, '') IN (?, '') AND completion_date >= ? AND completion_date < ?
                ORDER BY completion_date, work_order_id
                """)
            task = try db.cachedStatement(sql: """
                SELECT maintenance_type, estimated_duration, required_category, required_authorisation, release_certificate
                FROM maintenance_task WHERE task_id = ?
                """)
            // Stored instants are UTC text of one width (`Timestamp.description`): text order is time order.
            windows = try db.cachedStatement(sql: "SELECT station, start, \"end\" FROM ground_window WHERE aircraft = ? AND start >= ? ORDER BY start")
        }
    }

    /// The first work order that answers the prediction, if any.
    private func answer(dppId: String, taskId: String?, detectedAt: Timestamp, before end: CivilDate, lookups: Lookups) throws -> String? {
        let (day, end) = (timeZone.civilDate(of: detectedAt).description, end.description)
        let completions = try taskId.map { try Row.fetchCursor(lookups.completionOfTask, arguments: [dppId, $0, day, end]) }
            ?? Row.fetchCursor(lookups.anyCompletion, arguments: [dppId, day, end])
        while let row = try completions.next() {
            guard let completed = (row[0] as String?).flatMap({ CivilDate(iso: String($0.prefix(10))) }) else { continue }
            if completed.description > day || (row[1] as String?).flatMap({ Timestamp(iso: $0) }).map({ $0 >= detectedAt }) == true {
                return row[2]
            }
        }
        return nil
    }

    /// The first ground window of `aircraft` that starts at or after `from`, lasts `hours`, and
    /// ends by `deadline` (when there is one).
    private func firstWindow(of aircraft: String, from: Timestamp, before deadline: Timestamp?, lasting hours: Double,
                             lookups: Lookups) throws -> PredictiveAlert.GroundWindow? {
        let needed = Int64((hours * 3_600_000).rounded())
        let windows = try Row.fetchCursor(lookups.windows, arguments: [aircraft, from.description])
        while let row = try windows.next() {
            guard let start = (row[1] as String?).flatMap({ Timestamp(iso: $0) }), let end = (row[2] as String?).flatMap({ Timestamp(iso: $0) }),
                  start >= from, end.millisecondsSinceEpoch - start.millisecondsSinceEpoch >= needed else { continue }
            if let deadline, end > deadline { continue }  // a later, shorter one may still end in time
            return PredictiveAlert.GroundWindow(station: row[0], start: start, end: end)
        }
        return nil
    }

    /// Hours of a programme's `estimatedDuration`: `4 hours`, `90 minutes`, `1.5 h`, `2 days`, `45 min`,
    /// `4 hrs.`, `1 week`, or ISO 8601 (`PT12H`, `PT90M`, `P1D`, `P1DT4H`); `nil` for anything else (or
    /// nothing, or more than a year). An alert whose task's duration is not one of these is planned at
    /// the configured default, and says so (`plannedHours`).
    public static func hours(ofDuration text: String?) -> Double? {
        guard let text else { return nil }
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let hours: Double
        if trimmed.hasPrefix("p") {
            guard let iso = isoHours(trimmed.dropFirst()) else { return nil }
            hours = iso
        } else {
            let number = trimmed.prefix { $0.isNumber || $0 == "." }
            var unit = trimmed.dropFirst(number.count).trimmingCharacters(in: .whitespaces)
            if unit.hasSuffix(".") { unit.removeLast() }
            guard let value = Double(number), let scale = unitHours[unit] else { return nil }
            hours = value * scale
        }
        return hours > 0 && hours <= 8_784 ? hours : nil
    }

    private static let unitHours: [String: Double] = [
        "h": 1, "hr": 1, "hrs": 1, "hour": 1, "hours": 1, "m": 1.0 / 60, "min": 1.0 / 60, "mins": 1.0 / 60, "minute": 1.0 / 60,
        "minutes": 1.0 / 60, "d": 24, "day": 24, "days": 24, "w": 168, "wk": 168, "week": 168, "weeks": 168,
    ]

    /// `nDTnHnM` after the `P` of an ISO 8601 duration (days, then after `T` hours and minutes; each optional, one at least).
    private static func isoHours(_ text: Substring) -> Double? {
        var hours = 0.0, number = "", inTime = false, any = false, timeParts = 0
        for character in text {
            switch character {
            case "0"..."9", ".": number.append(character)
            case "t" where !inTime && number.isEmpty: inTime = true
            case "d" where !inTime, "h" where inTime, "m" where inTime:
                guard let value = Double(number) else { return nil }
                hours += value * (character == "d" ? 24 : character == "h" ? 1 : 1.0 / 60)
                number = ""
                any = true
                if inTime { timeParts += 1 }
            default: return nil
            }
        }
        return any && number.isEmpty && (!inTime || timeParts > 0) ? hours : nil
    }
}

import Foundation
