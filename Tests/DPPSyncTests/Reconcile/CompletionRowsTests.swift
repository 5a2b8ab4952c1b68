@testable import DPPSync
import Foundation
import GRDB
import Testing

@Suite("the rows a work-order completion writes")
struct CompletionRowsTests {
    /// A component on aircraft AC-1, two certified parts, a B1 technician and the task he may certify.
    func store() throws -> Store {
        let store = try Store(path: TemporaryFiles.path("dppsync-completion-rows-", ".sqlite"))
        let certificate = #"{"reference":"EF1-1","type":"EASA Form 1","validUntil":"2030-01-01"}"#
        try store.write { db in
            var writer = try StateWriter(db: db, batchId: 1)
            try writer.apply(StateChange(kind: "reference", subject: "DPP-C1", rows: [
                RowImage(table: StateSchema.asset, values: ["dpp_id": "DPP-C1", "part_number": "PN-C", "installed_on": "AC-1", "status": "UNSERVICEABLE"]),
                RowImage(table: StateSchema.asset, values: ["dpp_id": "DPP-P1", "part_number": "PN-1", "serial_number": "S1", "status": "SERVICEABLE", "certification": certificate]),
                RowImage(table: StateSchema.asset, values: ["dpp_id": "DPP-P2", "part_number": "PN-2", "serial_number": "S2", "status": "SERVICEABLE", "certification": certificate]),
                RowImage(table: StateSchema.technician, values: ["labor_code": "T1", "category": "B1", "valid_from": "2020-01-01", "valid_until": "2030-01-01"]),
                RowImage(table: StateSchema.maintenanceTask, values: ["task_id": "TASK-1", "part_number": "PN-C", "required_category": "B1"]),
            ], provenance: Provenance()))
        }
        return store
    }

    /// Writes reference rows (more parts, another task) as one change.
    func apply(_ rows: [RowImage], to store: Store) throws {
        try store.write { db in
            var writer = try StateWriter(db: db, batchId: 1)
            try writer.apply(StateChange(kind: "reference", subject: "DPP-C1", rows: rows, provenance: Provenance()))
        }
    }

    let completion = MappedRecord(kind: .workOrderCompletion, key: "WO-1", timestamp: Timestamp(iso: "2025-10-17T09:10:00Z"), fields: [
        "dppId": .string("DPP-C1"), "siteId": .string("LEJ"), "taskId": .string("TASK-1"), "completionDate": .string("2025-10-17"),
        "status": .string("COMP"), "statusDate": .string("2025-10-17T09:10:00.000Z"), "findings": .string("ok"), "returnToService": .bool(true),
        "partsUsed": .array([.object([("dppId", .string("DPP-P1"))]), .object([("partNumber", .string("PN-2")), ("serialNumber", .string("S2"))])]),
        "labor": .array([.object([("laborCode", .string("T1")), ("hours", .string("4.25")), ("craft", .string("B1")), ("startDate", .string("2025-10-17T07:05:00.000Z"))])]),
        "tests": .array([.object([("name", .string("Leak")), ("value", .string("1.35")), ("unit", .string("mbar/min")), ("upperLimit", .string("1.5"))])]),
    ], position: RecordPosition(index: 0))

    @Test("every column of every row, full rows in their table's column order")
    func rows() throws {
        let store = try store()
        let decision = try store.write { db in
            var reconciler = Reconciler(configuration: Configuration())
            reconciler.decisionDate = "2025-10-18"
            return try reconciler.decide(completion, provenance: Provenance(), in: db)
        }
        #expect(decision.outcome == .applied, "\(decision.message)")
        let rows = try #require(decision.changes.first?.rows)
        func row(_ table: StateTable, _ n: Int = 0) -> RowImage? { rows.filter { $0.table == table.name }.dropFirst(n).first }
        let expected: [(StateTable, Int, RowValues)] = [
            (StateSchema.workOrder, 0, ["work_order_id": "WO-1", "dpp_id": "DPP-C1", "site_id": "LEJ", "task_id": "TASK-1", "completion_date": "2025-10-17",
                                        "status": "COMP", "status_date": "2025-10-17T09:10:00.000Z", "findings": "ok", "return_to_service": "1",
                                        "release_status": "released", "certifying_staff": "T1", "source_time": "2025-10-17T09:10:00.000Z"]),
            (StateSchema.workOrderPart, 0, ["work_order_id": "WO-1", "part_dpp_id": "DPP-P1", "action": "installed"]),
            (StateSchema.workOrderPart, 1, ["work_order_id": "WO-1", "part_dpp_id": "DPP-P2", "action": "installed"]),
            (StateSchema.installation, 0, ["dpp_id": "DPP-P1", "start_day": "2025-10-17", "aircraft": "AC-1"]),
            (StateSchema.installation, 1, ["dpp_id": "DPP-P2", "start_day": "2025-10-17", "aircraft": "AC-1"]),
            (StateSchema.workOrderLabor, 0, ["work_order_id": "WO-1", "line": "1", "labor_code": "T1", "hours": "4.25", "craft": "B1",
                                             "start_date": "2025-10-17T07:05:00.000Z"]),
            (StateSchema.workOrderTest, 0, ["work_order_id": "WO-1", "line": "1", "name": "Leak", "value": "1.35", "unit": "mbar/min",
                                            "lower_limit": nil, "upper_limit": "1.5", "result": "PASS"]),
        ]
        for (table, n, values) in expected {
            let image = try #require(row(table, n), "\(table.name) \(n)")
            #expect(image.values == values, "\(table.name) \(n)")
            #expect(image.values.keys == table.columns, "\(table.name): a full row keeps its table's column order")
        }
        // The parts move into the component (partial images), the component returns to service.
        #expect(row(StateSchema.asset, 0)?.values == ["dpp_id": "DPP-C1", "status": "IN_SERVICE"])
        #expect(row(StateSchema.asset, 1)?.values == ["dpp_id": "DPP-P1", "parent_dpp_id": "DPP-C1", "installed_on": "AC-1", "installed_at": "2025-10-17", "status": "INSTALLED"])
        #expect(row(StateSchema.outboxMessage)?.values["message_id"] == .some("CRS-WO-1"))
    }

    @Test("a removed part's image clears where it was, in the asset table's column order, and carries only what changes")
    func removals() throws {
        let store = try store()
        try apply([
            RowImage(table: StateSchema.asset, values: ["dpp_id": "DPP-P3", "part_number": "PN-3", "serial_number": "S3", "installed_on": "AC-1",
                                                        "parent_dpp_id": "DPP-C1", "position": "POS-3", "status": "INSTALLED"]),
            RowImage(table: StateSchema.asset, values: ["dpp_id": "DPP-P4", "part_number": "PN-4", "serial_number": "S4", "installed_on": "AC-1",
                                                        "parent_dpp_id": "DPP-C1", "status": "INSTALLED"]),
        ], to: store)
        var record = completion
        record.fields["returnToService"] = nil
        record.fields["partsUsed"] = .array([.object([("dppId", .string("DPP-P3")), ("action", .string("removed"))]),
                                             .object([("dppId", .string("DPP-P4")), ("action", .string("removed"))])])
        let decision = try store.write { db in
            var reconciler = Reconciler(configuration: Configuration())
            reconciler.decisionDate = "2025-10-18"
            return try reconciler.decide(record, provenance: Provenance(), in: db)
        }
        #expect(decision.outcome == .applied, "\(decision.message)")
        let images = try #require(decision.changes.first?.rows).filter { $0.table == StateSchema.asset.name }
        #expect(images.map(\.values) == [
            ["dpp_id": "DPP-P3", "installed_on": nil, "parent_dpp_id": nil, "position": nil, "status": "REMOVED"],
            ["dpp_id": "DPP-P4", "installed_on": nil, "parent_dpp_id": nil, "status": "REMOVED"],  // it had no position
        ])
        #expect(images.map(\.values.keys) == [["dpp_id", "installed_on", "parent_dpp_id", "position", "status"],
                                               ["dpp_id", "installed_on", "parent_dpp_id", "status"]])
        let periods = try #require(decision.changes.first?.rows).filter { $0.table == StateSchema.installation.name }
        #expect(periods.map(\.values) == [["dpp_id": "DPP-P3", "start_day": "2025-10-17", "aircraft": nil], ["dpp_id": "DPP-P4", "start_day": "2025-10-17", "aircraft": nil]],
                "a removal begins no installation: it ends the one on the aircraft, from the completion day")
    }

    @Test("a completion that names no task, or one the programme lacks, is held to every task of its component's part number; letter case does not matter")
    func taskOfThePartNumber() throws {
        let store = try store()
        // PN-C's one task now asks for a B2 licence, which T1 (B1) does not hold.
        try apply([RowImage(table: StateSchema.maintenanceTask, values: ["task_id": "TASK-1", "part_number": "PN-C", "required_category": "B2"])],
                  to: store)
        func withoutTask(_ workOrder: String) -> MappedRecord {
            var record = completion
            record.key = workOrder
            record.fields["taskId"] = nil
            record.fields["partsUsed"] = .array([])
            return record
        }
        let releases = try store.write { db in
            var reconciler = Reconciler(configuration: Configuration())
            reconciler.decisionDate = "2025-10-18"
            return try ["WO-2", "WO-3"].map { workOrder in
                let decision = try reconciler.decide(withoutTask(workOrder), provenance: Provenance(), in: db)
                let row = decision.changes.first?.rows.first { $0.table == StateSchema.workOrder.name }
                return (row?.values["release_status"] ?? nil) ?? "held: \(decision.message)"
            }
        }
        // Both the first lookup and the remembered one refuse the B1 technician's release.
        #expect(releases.count == 2)
        #expect(releases.allSatisfy { $0 != "released" }, "\(releases)")

        // A second task for PN-C: both apply, and neither lets the B1 technician release (it had been released).
        try apply([RowImage(table: StateSchema.maintenanceTask, values: ["task_id": "TASK-2", "part_number": "PN-C", "required_category": "B1"])],
                  to: store)
        func release(_ record: MappedRecord) throws -> String? {
            try store.write { db in
                var reconciler = Reconciler(configuration: Configuration())
                reconciler.decisionDate = "2025-10-18"
                let decision = try reconciler.decide(record, provenance: Provenance(), in: db)
                return decision.changes.first?.rows.first { $0.table == StateSchema.workOrder.name }?.values["release_status"] ?? nil
            }
        }
        #expect(try release(withoutTask("WO-4")) == nil)
        var unknownTask = withoutTask("WO-5")
        unknownTask.fields["taskId"] = .string("NOT-IN-THE-PROGRAMME")
        #expect(try release(unknownTask) == nil, "a task the programme lacks is no task: the part number's apply")
        // Categories compare without letter case: "b1" and "b2" asked, B1 held → still not B2.
        try apply([RowImage(table: StateSchema.maintenanceTask, values: ["task_id": "TASK-1", "part_number": "PN-C", "required_category": "b1"])], to: store)
        #expect(try release(withoutTask("WO-6")) == "released", "b1 is B1")
    }
}
