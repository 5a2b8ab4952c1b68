@testable import DPPSync
import Foundation
import GRDB
import Testing

@Suite("due computation: whichever comes first")
struct DueCalculatorTests {
    /// A store with one task, one component and the given utilisation, written through the one write path.
    func store(task: [String: String?], installedAt: String, periods: [(String, String?)], usage: [(String, String, String, String)],
               completions: [(String, String)] = []) throws -> Store {
        let store = try Store(path: TemporaryFiles.path("dppsync-due-", ".sqlite"))
        try store.write { db in
            var writer = try StateWriter(db: db, batchId: nil)
            var rows = [RowImage(table: StateSchema.maintenanceTask, values: RowValues(task.merging(["task_id": "T", "part_number": "PN"]) { a, _ in a }))]
            rows.append(RowImage(table: StateSchema.asset, values: ["dpp_id": "C", "part_number": "PN", "installed_on": periods.last?.1 ?? nil, "installed_at": installedAt, "status": "IN_SERVICE"]))
            rows += periods.map { RowImage(table: StateSchema.installation, values: ["dpp_id": "C", "start_day": $0.0, "aircraft": $0.1]) }
            rows += usage.map { RowImage(table: StateSchema.utilisation, values: ["aircraft": $0.0, "day": $0.1, "flight_hours": $0.2, "cycles": $0.3]) }
            rows += completions.map { RowImage(table: StateSchema.workOrder, values: ["work_order_id": $0.0, "dpp_id": "C", "task_id": "T", "completion_date": $0.1]) }
            try writer.apply(StateChange(kind: "test.setup", subject: "C", rows: rows, provenance: Provenance()))
        }
        return store
    }

    func due(_ store: Store, asOf: String) throws -> DueItem {
        let items = try store.read { db in try DueCalculator(policy: SchedulingPolicy()).compute(asOf: CivilDate(iso: asOf)!, in: db) }
        return try #require(items.first)
    }

    @Test("calendar intervals across month ends and leap days")
    func calendar() throws {
        let leap = try store(task: ["interval_days": "30"], installedAt: "2024-01-31", periods: [("2024-01-31", "A")], usage: [])
        #expect(try due(leap, asOf: "2024-02-01").dueDate.description == "2024-03-01", "2024 is a leap year: 31 Jan + 30 days = 1 Mar")
        let plain = try store(task: ["interval_days": "30"], installedAt: "2025-01-31", periods: [("2025-01-31", "A")], usage: [])
        #expect(try due(plain, asOf: "2025-02-01").dueDate.description == "2025-03-02")
        let yearEnd = try store(task: ["interval_days": "90"], installedAt: "2025-10-17", periods: [("2025-10-17", "A")], usage: [])
        #expect(try due(yearEnd, asOf: "2026-01-10").dueDate.description == "2026-01-15")
    }

    @Test("a component on an aircraft whose status the registry left out is scheduled like one in service; one in stock is not")
    func statusLeftOut() throws {
        let store = try store(task: ["interval_days": "90"], installedAt: "2025-10-17", periods: [("2025-10-17", "A")], usage: [])
        func setStatus(_ status: String?) throws {
            try store.write { db in
                var writer = try StateWriter(db: db, batchId: nil)
                try writer.apply(StateChange(kind: "test.status", subject: "C", rows: [
                    RowImage(table: StateSchema.asset, carrying: ["dpp_id": "C", "status": status]),
                ], provenance: Provenance()))
            }
        }
        try setStatus(nil)
        #expect(try due(store, asOf: "2026-01-10").dueDate.description == "2026-01-15")
        try setStatus("IN_STOCK")
        #expect(try store.read { db in try DueCalculator(policy: SchedulingPolicy()).compute(asOf: CivilDate(iso: "2026-01-10")!, in: db) }.isEmpty)
    }

    @Test("flight hours projected at the mean of reported days, rounded down; the earliest limit decides")
    func projection() throws {
        let store = try store(task: ["interval_days": "90", "interval_flight_hours": "600", "interval_cycles": "400"], installedAt: "2025-10-17",
                              periods: [("2025-10-17", "EC-AMP")], usage: [("EC-AMP", "2025-11-04", "6.4", "3"), ("EC-AMP", "2025-11-05", "7.1", "4")],
                              completions: [("WO-54321", "2025-11-05")])
        let item = try due(store, asOf: "2026-01-10")
        #expect(item.dueDate.description == "2026-02-01", "600 FH at 6.75 FH a day from 2025-11-05: 88.9 → 88 days")
        #expect(item.basis.limit == "flightHours" && item.basis.projected)
        #expect(item.flightHoursSince == 0, "accrual starts the day after the accomplishment")
        #expect(item.priority == "Low")
    }

    @Test("a limit reached on a whole day is due that day, not the day before (cycles divide exactly)")
    func wholeDayProjection() throws {
        // 8, 8 and 9 cycles a day: the 475 cycles left take exactly 57 days from the last report
        // (475 ÷ 8.333… had given 56.999…, one day early).
        let store = try store(task: ["interval_cycles": "500"], installedAt: "2025-10-31", periods: [("2025-10-31", "A")],
                              usage: [("A", "2025-11-01", "1", "8"), ("A", "2025-11-02", "1", "8"), ("A", "2025-11-03", "1", "9")])
        let item = try due(store, asOf: "2025-11-10")
        #expect(item.dueDate.description == "2025-12-30", "\(item.basis.detail)")
        #expect(item.cyclesSince == 25)
    }

    @Test("hours or cycles with nothing to project them at give no due date (not the accomplishment day); neither do absurd stored values crash")
    func nothingToProject() throws {
        let compute = { (store: Store) in
            try store.read { db in try DueCalculator(policy: SchedulingPolicy()).compute(asOf: CivilDate(iso: "2025-12-01")!, in: db) }
        }
        let unreported = try store(task: ["interval_flight_hours": "600"], installedAt: "2025-11-01", periods: [("2025-11-01", "A")], usage: [])
        #expect(try compute(unreported).isEmpty)
        let noInterval = try store(task: [:], installedAt: "2025-11-01", periods: [("2025-11-01", "A")], usage: [])
        #expect(try compute(noInterval).isEmpty)
        // Written before reconciliation checked them: a tiny day's hours, a huge interval and cycle count.
        let tiny = try store(task: ["interval_flight_hours": "600"], installedAt: "2025-11-01", periods: [("2025-11-01", "A")],
                             usage: [("A", "2025-11-02", "0.00000000000000001", "0")])
        #expect(try compute(tiny).isEmpty, "600 FH at 1e-17 a day is past the calendar's end")
        let huge = try store(task: ["interval_flight_hours": "1e19", "interval_days": "9223372036854775807", "interval_cycles": "5"],
                             installedAt: "2025-11-01", periods: [("2025-11-01", "A")], usage: [("A", "2025-11-02", "3", "9223372036854775807")])
        #expect(try compute(huge).isEmpty, "out-of-range intervals and counts read as none")
    }

    @Test("a reached limit decides on the day it was reached; overdue only past due + tolerance")
    func reachedAndTolerance() throws {
        let store = try store(task: ["interval_days": "365", "interval_cycles": "5", "tolerance_days": "3"], installedAt: "2024-02-27",
                              periods: [("2024-02-27", "A")], usage: [("A", "2024-02-28", "2", "2"), ("A", "2024-02-29", "2", "2"), ("A", "2024-03-01", "2", "2")])
        let within = try due(store, asOf: "2024-03-04")
        #expect(within.dueDate.description == "2024-03-01")
        #expect(within.basis.limit == "cycles" && !within.basis.projected)
        #expect(!within.overdue && within.priority == "Medium", "3 days of tolerance: not overdue on 4 March")
        #expect(try due(store, asOf: "2024-03-05").overdue)
    }

    @Test("a component moved between aircraft mid-interval accrues each aircraft's hours only while it was on it")
    func movedBetweenAircraft() throws {
        let store = try store(task: ["interval_flight_hours": "100"], installedAt: "2025-01-01",
                              periods: [("2025-01-01", "A"), ("2025-01-10", "B")],
                              usage: [("A", "2025-01-05", "10", "1"), ("A", "2025-01-12", "50", "1"), ("B", "2025-01-08", "40", "1"), ("B", "2025-01-15", "20", "1")],
                              completions: [("WO-1", "2025-01-02")])
        let item = try due(store, asOf: "2025-01-20")
        #expect(item.flightHoursSince == 30, "A on 5 Jan (10) + B on 15 Jan (20); not A after the move, not B before it")
        // Projection at B's mean (40 + 20) / 2 = 30 FH a day from B's last report: 70 left → 2 days.
        #expect(item.dueDate.description == "2025-01-17")
    }

    @Test("a component removed and installed again accrues no aircraft's hours while it was off: the removal ends its period")
    func removedThenInstalledAgain() throws {
        let store = try store(task: ["interval_flight_hours": "100"], installedAt: "2025-01-01",
                              periods: [("2025-01-01", "A"), ("2025-01-10", nil), ("2025-01-20", "B")],
                              usage: [("A", "2025-01-05", "10", "1"), ("A", "2025-01-12", "50", "1"), ("B", "2025-01-15", "40", "1"), ("B", "2025-01-22", "20", "1")],
                              completions: [("WO-1", "2025-01-02")])
        let item = try due(store, asOf: "2025-01-25")
        #expect(item.flightHoursSince == 30, "A on 5 Jan (10) + B on 22 Jan (20); not A's 12 Jan, when it was on a shelf, nor B's before it came")
    }

    @Test("a predictive alert's priority: failure passed or within 72 h → High, within 14 days → Medium, later → Low, no horizon → Medium; less than even confidence one band lower, unless the time has passed")
    func alertPriority() {
        let policy = SchedulingPolicy()
        #expect(policy.alertPriority(hoursLeft: -1, confidence: 0.1) == "High")
        #expect(policy.alertPriority(hoursLeft: 72, confidence: 0.9) == "High")
        #expect(policy.alertPriority(hoursLeft: 72.01, confidence: 0.9) == "Medium")
        #expect(policy.alertPriority(hoursLeft: 72, confidence: 0.49) == "Medium")
        #expect(policy.alertPriority(hoursLeft: 14 * 24, confidence: nil) == "Medium")
        #expect(policy.alertPriority(hoursLeft: 14 * 24 + 1, confidence: 0.5) == "Low")
        #expect(policy.alertPriority(hoursLeft: 14 * 24 + 1, confidence: 0.2) == "Low")
        #expect(policy.alertPriority(hoursLeft: nil, confidence: nil) == "Medium")
        #expect(policy.alertPriority(hoursLeft: nil, confidence: 0.3) == "Low")
    }

    @Test("a programme's estimated duration in hours, whatever unit it is written in; nil for what is no duration", arguments: [
        ("4 hours", 4.0), ("90 minutes", 1.5), ("1.5 h", 1.5), ("2 days", 48.0), ("45 min", 0.75), (" 6 Hours ", 6.0),
        ("4 hrs.", 4.0), ("1 week", 168.0), ("PT12H", 12.0), ("PT90M", 1.5), ("P1DT4H", 28.0), ("p2d", 48.0),
        ("soon", nil), ("0 hours", nil), ("4", nil), ("-2 h", nil), ("400 days", nil), ("1e3 h", nil), ("4-6 hours", nil), ("1,5 h", nil),
        ("P", nil), ("PT", nil), ("P1H", nil), ("PT4", nil), ("P1DT", nil),
    ] as [(String, Double?)])
    func durations(_ text: String, _ hours: Double?) {
        #expect(PredictiveAlertCalculator.hours(ofDuration: text) == hours)
    }
}
