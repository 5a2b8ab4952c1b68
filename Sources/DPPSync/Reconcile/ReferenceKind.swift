/// How a reference-data record kind (technicians, programme tasks, utilisation,
/// CAOS predictions, ground windows) maps onto its state table: one row per
/// natural key, newer source time wins, identical is a duplicate.
struct ReferenceKind {
    var table: StateTable
    /// Record field → column.
    var columns: [(field: String, column: String)]
    /// The ledger subject of a row (a `dppId` where there is one).
    var subject: (MappedRecord) -> String
    var changeKind: String
    /// Numeric fields and the values they may take: a record with another is rejected (INVALID_FIELD),
    /// as due dates computed from it would be meaningless or past the calendar.
    var ranges: [(field: String, range: ClosedRange<Double>, meaning: String)] = []
    /// What else makes a record of this kind meaningless (`INVALID_FIELD` with the returned words): a ground window
    /// that ends before it starts would never be chosen, unseen.
    var problem: (MappedRecord) -> String? = { _ in nil }

    /// `record`'s fields as this kind's columns (its source time not among them).
    func values(of record: MappedRecord) -> RowValues {
        var values: RowValues = [:]
        for (field, column) in columns { values[column] = Reconciler.text(record.fields[field]) }
        return values
    }

    /// The table's key of a row of `values`.
    func key(of values: RowValues) -> [String] {
        table.keyColumns.map { (values[$0] ?? nil) ?? "" }
    }

    static func spec(for kind: RecordKind) -> ReferenceKind? {
        switch kind {
        case .technicianCertification:
            return ReferenceKind(table: StateSchema.technician, columns: [
                ("laborCode", "labor_code"), ("category", "category"), ("authorisations", "authorisations"),
                ("validFrom", "valid_from"), ("validUntil", "valid_until"),
            ], subject: { "technician:" + ($0.string("laborCode") ?? "") }, changeKind: "technician.certified")
        case .maintenanceTask:
            return ReferenceKind(table: StateSchema.maintenanceTask, columns: [
                ("taskId", "task_id"), ("partNumber", "part_number"), ("maintenanceType", "maintenance_type"),
                ("intervalDays", "interval_days"), ("intervalFlightHours", "interval_flight_hours"), ("intervalCycles", "interval_cycles"),
                ("toleranceDays", "tolerance_days"), ("estimatedDuration", "estimated_duration"),
                ("requiredCategory", "required_category"), ("requiredAuthorisation", "required_authorisation"),
                ("releaseCertificate", "release_certificate"),
            ], subject: { "task:" + ($0.string("taskId") ?? "") }, changeKind: "programme.task", ranges: [
                ("intervalDays", DueCalculator.wholeIntervalRange, "an interval of days"),
                ("intervalFlightHours", DueCalculator.intervalRange, "an interval of flight hours"),
                ("intervalCycles", DueCalculator.wholeIntervalRange, "an interval of cycles"),
                ("toleranceDays", DueCalculator.toleranceRange, "a tolerance of days"),
            ])
        case .utilisation:
            return ReferenceKind(table: StateSchema.utilisation, columns: [
                ("aircraft", "aircraft"), ("date", "day"), ("flightHours", "flight_hours"), ("cycles", "cycles"),
            ], subject: { "aircraft:" + ($0.string("aircraft") ?? "") }, changeKind: "utilisation.reported", ranges: [
                ("flightHours", DueCalculator.dailyFlightHours, "one day's flight hours"),
                ("cycles", DueCalculator.dailyCycles, "one day's cycles"),
            ])
        case .caosPrediction:
            return ReferenceKind(table: StateSchema.caosPrediction, columns: [
                ("predictionId", "prediction_id"), ("dppId", "dpp_id"), ("detectedAt", "detected_at"), ("anomaly", "anomaly"),
                ("indicator", "indicator"), ("value", "value"), ("threshold", "threshold"), ("confidence", "confidence"),
                ("predictedFailureWithinHours", "predicted_failure_within_hours"), ("recommendedAction", "recommended_action"),
                ("recommendedTaskId", "recommended_task_id"),
            ], subject: { $0.string("dppId") ?? "" }, changeKind: "caos.prediction", ranges: [
                ("confidence", PredictiveAlertCalculator.confidenceRange, "a confidence"),
                ("predictedFailureWithinHours", PredictiveAlertCalculator.failureHoursRange, "a number of hours to failure"),
            ])
        case .groundWindow:
            return ReferenceKind(table: StateSchema.groundWindow, columns: [
                ("aircraft", "aircraft"), ("start", "start"), ("end", "end"), ("station", "station"),
            ], subject: { "aircraft:" + ($0.string("aircraft") ?? "") }, changeKind: "ground-window.planned", problem: { record in
                guard let start = record.string("start"), let end = record.string("end"), let from = Timestamp(iso: start), let to = Timestamp(iso: end),
                      to <= from else { return nil }
                return "end \(end) is not after start \(start)"
            })
        default:
            return nil
        }
    }
}

import GRDB

extension Reconciler {
    func decideReference(_ record: MappedRecord, spec: ReferenceKind, provenance: Provenance, in db: Database) throws -> Decision {
        for (field, range, meaning) in spec.ranges {
            guard let text = record.fields[field]?.scalarText, let value = Double(text), !range.contains(value) else { continue }
            return byPolicy(.invalidField, "\(field) \(text) is not \(meaning) (\(DueCalculator.format(range.lowerBound)) to \(DueCalculator.format(range.upperBound)))")
        }
        if let problem = spec.problem(record) { return byPolicy(.invalidField, problem) }
        var values = spec.values(of: record)
        values["source_time"] = record.timestamp?.description
        let key = spec.key(of: values)
        var decision: Decision
        if let stored = try StateWriter.row(spec.table, key: key, in: db) {
            let (stale, storedTime) = isStale(record.timestamp, stored: stored["source_time"])
            if stale, let storedTime, let incoming = record.timestamp {
                return Decision(outcome: configuration.outcome(for: .staleUpdate), reason: .staleUpdate,
                                message: "source time \(incoming) is older than the stored \(storedTime); the newer values stay")
            }
            if record.timestamp == nil { values["source_time"] = stored["source_time"] ?? nil }
            let differences = spec.table.columns.filter { $0 != "source_time" && (stored[$0] ?? nil) != (values[$0] ?? nil) }
            if differences.isEmpty {
                decision = Decision(outcome: .duplicate, reason: .duplicateRecord, message: "identical to the stored \(spec.table.name) row")
            } else if let divergent = sameTimeDivergence(record.timestamp, stored: stored["source_time"] ?? nil, differences: differences,
                                                         what: "\(spec.table.name) \(key.joined(separator: "|"))") {
                return divergent
            } else {
                decision = Decision(outcome: .applied, reason: nil, message: "updated: " + differences.joined(separator: ", "), changes: [
                    StateChange(kind: spec.changeKind, subject: spec.subject(record), rows: [RowImage(table: spec.table, values: values)], provenance: provenance),
                ])
            }
        } else {
            decision = Decision(outcome: .applied, reason: nil, message: "recorded", changes: [
                StateChange(kind: spec.changeKind, subject: spec.subject(record), rows: [RowImage(table: spec.table, values: values)], provenance: provenance),
            ])
        }
        if record.kind == .technicianCertification, let code = record.string("laborCode") {
            decision.personal = [(code, record.string("name"), record.string("licence"))]
        }
        return decision
    }
}
