import GRDB

/// Computes due dates from the state: every installed component × every
/// programme task for its part number (whichever limit comes first).
///
/// Rules (issue "DPP → CMMS"), so that every reader gets the same date:
/// - flight hours and cycles accrue from the day after the accomplishment, over
///   the utilisation days of the aircraft the component was on that day;
/// - a limit not yet reached is projected at the mean daily utilisation of the
///   reported days in the 30 days before the last report, counted from the later
///   of the last reported day and the accomplishment day, rounded down to whole days;
/// - the due date is the earliest of calendar, flight-hour and cycle dates;
/// - the tolerance does not move the due date: overdue only past due + tolerance.
public struct DueCalculator {
    public let policy: SchedulingPolicy
    public init(policy: SchedulingPolicy) { self.policy = policy }

    struct Task {
        var id: String, partNumber: String, type: String?, duration: String?
        var days: Int?, flightHours: Double?, cycles: Int?, tolerance: Int
        var category: String?, authorisation: String?, certificate: String?
    }

    /// - Parameter recordsThrough: when set (the compliance report: a period's last day), only what is
    ///   dated up to that day counts — completions, utilisation, and where each component was then (its
    ///   installation period in force, whose start is the baseline when no completion counts); components
    ///   not fitted then are left out. The question is what was overdue at the period's end, after later
    ///   work may have answered it. The planner counts every record (`nil`): a completion dated ahead of the
    ///   operator's today (a CMMS in a zone ahead) counts at once.
    public func compute(asOf: CivilDate, in db: Database, recordsThrough: CivilDate? = nil) throws -> [DueItem] {
        let tasks = try Row.fetchAll(db, sql: "SELECT * FROM maintenance_task ORDER BY task_id").map { r in
            Task(id: r["task_id"], partNumber: r["part_number"], type: r["maintenance_type"], duration: r["estimated_duration"],
                 days: Self.whole(r["interval_days"], in: Self.wholeIntervalRange), flightHours: Self.decimal(r["interval_flight_hours"], in: Self.intervalRange),
                 cycles: Self.whole(r["interval_cycles"], in: Self.wholeIntervalRange), tolerance: Self.whole(r["tolerance_days"], in: Self.toleranceRange) ?? 0,
                 category: r["required_category"], authorisation: r["required_authorisation"], certificate: r["release_certificate"])
        }
        guard !tasks.isEmpty else { return [] }
        let tasksByPart = Dictionary(grouping: tasks, by: \.partNumber)
        // Utilisation per aircraft, by day.
        var usage: [String: [(day: Int, fh: Double, fc: Int)]] = [:]
        let last = recordsThrough?.description ?? "9999-12-31"
        for r in try Row.fetchAll(db, sql: "SELECT aircraft, day, flight_hours, cycles FROM utilisation WHERE day <= ? ORDER BY aircraft, day", arguments: [last]) {
            guard let day = CivilDate(iso: r["day"] as String) else { continue }
            usage[r["aircraft"], default: []].append((day.daysSinceEpoch, Self.decimal(r["flight_hours"], in: Self.storedDailyRange) ?? 0,
                                                      Self.whole(r["cycles"], in: Self.storedDailyRange) ?? 0))
        }
        // A period without an aircraft: removed, on none from that day.
        var periods: [String: [(start: Int, aircraft: String?)]] = [:]
        // Only components the programme has tasks for (not every serialised part).
        let scheduled = "SELECT dpp_id FROM asset WHERE part_number IN (SELECT part_number FROM maintenance_task)"
        let installations = try Row.fetchCursor(db, sql: "SELECT dpp_id, start_day, aircraft FROM installation WHERE dpp_id IN (\(scheduled)) ORDER BY dpp_id, start_day")
        while let r = try installations.next() {
            guard let day = CivilDate(iso: r["start_day"] as String) else { continue }
            periods[r["dpp_id"], default: []].append((day.daysSinceEpoch, r["aircraft"] as String?))
        }
        // Latest completion per component and task (and per component for work orders without a task):
        // one seek each in `work_order_latest`, so a run reads as many entries as the fleet has
        // components and tasks, however many work orders were ever completed.
        // Run through the C API and read by position: through GRDB's generic rows the seek's
        // answer had cost ~20,000 instructions, twice per component.
        let latestStatement = try DirectStatement(db, sql: """
            SELECT completion_date, work_order_id FROM work_order
            WHERE dpp_id = ? AND COALESCE(task_id, '') = ? AND completion_date IS NOT NULL AND completion_date <= ?
            ORDER BY completion_date DESC, work_order_id DESC LIMIT 1
            """)
        func latestCompletion(_ dppId: String, task: String) throws -> (String, CivilDate)? {
            guard let row = try latestStatement.firstRow([dppId, task, last], columns: 2, in: db),
                  let date = row[0], let workOrder = row[1], let day = CivilDate(iso: date) else { return nil }
            return (workOrder, day)
        }
        var items: [DueItem] = []
        // As of `recordsThrough`, a component removed or scrapped since is taken too: its installation
        // history says whether it was fitted then (listed by its state now, it had dropped out of the
        // report of a period it was overdue in).
        let fittedNow = "installed_on IS NOT NULL AND COALESCE(status, '') NOT IN ('REMOVED', 'SCRAPPED', 'IN_STOCK')"
        let assets = try Row.fetchCursor(db, sql: """
            SELECT dpp_id, part_number, installed_on, installed_at, \(fittedNow) FROM asset
            WHERE \(recordsThrough == nil ? fittedNow : "1") AND part_number IN (SELECT part_number FROM maintenance_task) ORDER BY dpp_id
            """)
        while let asset = try assets.next() {
            // By position: dpp_id, part_number, installed_on, installed_at, whether it is fitted now.
            let dppId: String = asset[0]
            guard let partNumber = asset[1] as String?, let applicable = tasksByPart[partNumber] else { continue }
            // Where it is (or was on `recordsThrough`), and since when.
            var aircraft: String? = asset[2]
            var installedSince = (asset[3] as String?).flatMap { CivilDate(iso: $0) }
            if let through = recordsThrough {
                if let history = periods[dppId] {
                    guard let then = history.last(where: { $0.start <= through.daysSinceEpoch }), let on = then.aircraft else { continue }
                    aircraft = on
                    installedSince = CivilDate(daysSinceEpoch: then.start)
                } else if !(asset[4] as Bool) || installedSince.map({ $0 > through }) == true {
                    continue
                }
            }
            guard let aircraft else { continue }
            for task in applicable {
                // A work order without a task counts for the component's only task.
                var latest = try latestCompletion(dppId, task: task.id)
                if applicable.count == 1, let untasked = try latestCompletion(dppId, task: ""), latest.map({ untasked.1 > $0.1 }) ?? true { latest = untasked }
                let accomplished: CivilDate
                let by: String
                if let latest {
                    accomplished = latest.1; by = "work order \(latest.0)"
                } else if let installedSince {
                    accomplished = installedSince; by = "installation"
                } else { continue }
                if let item = due(task: task, dppId: dppId, accomplished: accomplished, by: by, asOf: asOf,
                                  periods: periods[dppId] ?? [], currentAircraft: aircraft, usage: usage) {
                    items.append(item)
                }
            }
        }
        return items
    }

    /// The task's next due date for one component, or `nil` when no limit gives one: no interval,
    /// or only hours or cycles and no utilisation to project them at (a date then would be a guess,
    /// and the accomplishment day had made the task overdue at once).
    private func due(task: Task, dppId: String, accomplished: CivilDate, by: String, asOf: CivilDate,
                     periods: [(start: Int, aircraft: String?)], currentAircraft: String, usage: [String: [(day: Int, fh: Double, fc: Int)]]) -> DueItem? {
        let start = accomplished.daysSinceEpoch
        func aircraft(on day: Int) -> String? {
            guard let period = periods.last(where: { $0.start <= day }) else { return periods.isEmpty ? currentAircraft : nil }
            return period.aircraft
        }
        // Accrual after the accomplishment, day by day, on the aircraft of that day.
        var accrued: [(day: Int, fh: Double, fc: Int)] = []
        let aircraftSeen = Set(periods.compactMap(\.aircraft) + [currentAircraft])
        for name in aircraftSeen {
            for u in usage[name] ?? [] where u.day > start && aircraft(on: u.day) == name { accrued.append(u) }
        }
        accrued.sort { $0.day < $1.day }
        let fhSince = accrued.reduce(0) { $0 + $1.fh }, fcSince = accrued.reduce(0) { $0 + $1.fc }
        var candidates: [(day: Int, limit: String, projected: Bool, detail: String)] = []
        if let days = task.days { candidates.append((start + days, "calendar", false, "\(days) days from \(accomplished)")) }
        // Projection rate: the current aircraft's reported days in the window before its last report.
        let reports = usage[currentAircraft] ?? []
        let lastReport = reports.last?.day
        let window = lastReport.map { last in reports.filter { $0.day > last - policy.projectionWindowDays && $0.day <= last } } ?? []
        let reportedDays = Double(window.count)
        for (limit, name, used, reported) in [
            (task.flightHours, "flightHours", fhSince, window.reduce(0) { $0 + $1.fh }),
            (task.cycles.map(Double.init), "cycles", Double(fcSince), Double(window.reduce(0) { $0 + $1.fc })),
        ] {
            guard let limit else { continue }
            let unit = name == "flightHours" ? "FH" : "FC"
            if used >= limit {
                // Reached: the day the running total got there.
                var total = 0.0
                let reached = accrued.first { total += name == "flightHours" ? $0.fh : Double($0.fc); return total >= limit }?.day ?? start
                candidates.append((reached, name, false, "\(Self.format(limit)) \(unit) reached"))
            } else if reported > 0 {
                let base = max(lastReport ?? start, start)
                // (limit − used) × days ÷ reported, not ÷ the mean: whole cycles then divide exactly, so
                // a limit reached on a whole day is not rounded down to the day before (8, 8 and 9 a
                // day reach 500 in exactly 60 days; 500 ÷ 8.333… gave 59.999…). The allowance covers
                // decimal hours' last bit. A limit further off than the calendar's end gives no date.
                let days = ((limit - used) * reportedDays / reported + 1e-9).rounded(.down)
                guard days.isFinite, days < Double(Self.lastDay - base) else { continue }
                candidates.append((base + Int(days), name, true,
                                   "\(Self.format(limit)) \(unit) at \(Self.format(reported / reportedDays)) \(unit) a day, \(Self.format(used)) used"))
            }
        }
        guard let chosen = candidates.min(by: { $0.day < $1.day }) else { return nil }
        let dueDate = CivilDate(daysSinceEpoch: chosen.day)
        let overdue = asOf.daysSinceEpoch > chosen.day + task.tolerance
        return DueItem(dppId: dppId, taskId: task.id, maintenanceType: task.type, estimatedDuration: task.duration,
                       accomplished: accomplished, accomplishedBy: by, dueDate: dueDate,
                       basis: DueItem.Basis(limit: chosen.limit, projected: chosen.projected, detail: chosen.detail),
                       flightHoursSince: fhSince, cyclesSince: fcSince, toleranceDays: task.tolerance, overdue: overdue,
                       priority: policy.priority(due: dueDate, overdue: overdue, asOf: asOf),
                       requiredCategory: task.category, requiredAuthorisation: task.authorisation, releaseCertificate: task.certificate)
    }

    static func format(_ value: Double) -> String {
        guard value.isFinite, Swift.abs(value) < 1e15 else { return String(value) }
        return value == value.rounded() ? String(Int64(value)) : String((value * 100).rounded() / 100)
    }

    /// Intervals a task may have (days, hours or cycles): the programme's reconciliation refuses
    /// others, and a store written before it did reads them as no interval. Each ends well inside
    /// the calendar, so no date arithmetic on them overflows.
    public static let intervalRange: ClosedRange<Double> = 0.01...1_000_000
    public static let wholeIntervalRange: ClosedRange<Double> = 1...1_000_000
    public static let toleranceRange: ClosedRange<Double> = 0...3_650
    /// What one aircraft can report for one day (reconciliation refuses more), and what is read of a
    /// day from a store written before that: enough that no sum of days overflows.
    public static let dailyFlightHours: ClosedRange<Double> = 0...24
    public static let dailyCycles: ClosedRange<Double> = 0...1_000
    static let storedDailyRange: ClosedRange<Double> = 0...1_000_000
    /// 9999-12-31, the last day `CivilDate` writes.
    static let lastDay = CivilDate(iso: "9999-12-31")?.daysSinceEpoch ?? Int(Int32.max)

    static func decimal(_ text: String?, in range: ClosedRange<Double>) -> Double? {
        guard let text, let value = Double(text), range.contains(value) else { return nil }
        return value
    }

    static func whole(_ text: String?, in range: ClosedRange<Double>) -> Int? {
        decimal(text, in: range).flatMap { $0 == $0.rounded() ? Int($0) : nil }
    }
}
