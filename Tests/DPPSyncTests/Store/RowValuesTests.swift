@testable import DPPSync
import Testing

@Suite("row values: a dictionary's semantics in column order")
struct RowValuesTests {
    @Test("nil removes a column, .some(nil) stores NULL, a missing column reads nil")
    func subscripts() {
        var row: RowValues = ["dpp_id": "P-1", "status": "INSTALLED"]
        row["position"] = .some(nil)
        #expect(row.count == 3)
        #expect(row["position"] == .some(nil))
        #expect(row["aircraft"] == nil)
        row["status"] = nil
        #expect(row.keys == ["dpp_id", "position"])
        row["dpp_id"] = "P-2"
        #expect(row["dpp_id"] == "P-2" && row.count == 2)
    }

    @Test("equality and hashing ignore the columns' order, not their values")
    func orderIndependence() {
        let a: RowValues = ["dpp_id": "P-1", "status": "INSTALLED", "position": nil]
        let b: RowValues = ["position": nil, "status": "INSTALLED", "dpp_id": "P-1"]
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(Set([a, b]).count == 1)
        #expect(a != ["dpp_id": "P-1", "status": "REMOVED", "position": nil])
        #expect(a != ["dpp_id": "P-1", "status": "INSTALLED"])
        #expect(a != ["dpp_id": "P-1", "status": "INSTALLED", "installed_on": nil])
    }

    @Test("a row image holds its table's columns in table order, read by position or by name")
    func tableOrder() {
        let image = RowImage(table: StateSchema.workOrderPart, values: ["action": "installed", "part_dpp_id": "P-1", "work_order_id": "WO-1", "stray": "x"])
        #expect(image.values.keys == StateSchema.workOrderPart.columns)
        #expect(image.values.value(of: "part_dpp_id", expectedAt: 1) == "P-1")
        // A column not at the expected position is still found.
        #expect(image.values.value(of: "action", expectedAt: 0) == "installed")
        #expect(image.values.value(of: "stray", expectedAt: 0) == nil)
    }
}
