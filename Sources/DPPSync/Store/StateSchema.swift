/// A DPP state table: written only through `StateWriter.apply` and rebuilt
/// from the ledger by replay, so every column is part of the after-image.
public struct StateTable: Sendable, Hashable {
    public var name: String
    public var keyColumns: [String]
    public var columns: [String]

    var createSQL: String {
        "CREATE TABLE \(name) (" + columns.map { $0 + (keyColumns.contains($0) ? " TEXT NOT NULL" : "") }.joined(separator: ", ")
            + ", PRIMARY KEY (" + keyColumns.joined(separator: ", ") + "))"
    }

    var upsertSQL: String {
        let updates = columns.filter { !keyColumns.contains($0) }.map { "\($0) = excluded.\($0)" }
        return "INSERT INTO \(name) (" + columns.joined(separator: ", ") + ") VALUES ("
            + columns.map { _ in "?" }.joined(separator: ", ") + ") ON CONFLICT (" + keyColumns.joined(separator: ", ")
            + ") DO " + (updates.isEmpty ? "NOTHING" : "UPDATE SET " + updates.joined(separator: ", "))
    }

    var deleteSQL: String {
        "DELETE FROM \(name) WHERE " + keyColumns.map { "\($0) = ?" }.joined(separator: " AND ")
    }
}

/// The DPP state tables. Columns are untyped text (SQLite affinity), so that the
/// ledger's canonical after-images, which carry every value as a string, replay
/// to identical rows.
public enum StateSchema {
    public static let asset = StateTable(name: "asset", keyColumns: ["dpp_id"], columns: [
        "dpp_id", "cmms_asset_num", "part_number", "serial_number", "description", "manufacturer",
        "installed_on", "parent_dpp_id", "position", "installed_at", "status", "criticality",
        "certification", "specifications", "source_time",
    ])
    public static let workOrder = StateTable(name: "work_order", keyColumns: ["work_order_id"], columns: [
        "work_order_id", "dpp_id", "site_id", "task_id", "completion_date", "status", "status_date",
        "findings", "return_to_service", "certifying_staff", "source_time",
    ])
    public static let workOrderPart = StateTable(name: "work_order_part", keyColumns: ["work_order_id", "part_dpp_id"], columns: [
        "work_order_id", "part_dpp_id", "action",
    ])
    public static let lifecycleEvent = StateTable(name: "lifecycle_event", keyColumns: ["event_id"], columns: [
        "event_id", "dpp_id", "event_date", "event_kind", "work_order_id", "summary",
    ])

    public static let tables: [StateTable] = [asset, workOrder, workOrderPart, lifecycleEvent]

    public static func table(named name: String) -> StateTable? { tables.first { $0.name == name } }
}
