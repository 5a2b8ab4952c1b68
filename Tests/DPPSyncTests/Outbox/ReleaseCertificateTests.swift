@testable import DPPSync
import Testing

@Suite("release certificates")
struct ReleaseCertificateTests {
    @Test("the certificate body is the compact JSON of its members in order, awkward text escaped, absent values null")
    func body() throws {
        let workOrder: RowValues = ["work_order_id": "WO-1", "dpp_id": "DPP-\"7\"", "task_id": nil, "findings": "seal\nworn \\ é\u{1}",
                                    "completion_date": "2026-01-09", "release_status": "released", "certifying_staff": "T-1"]
        let asset: RowValues = ["part_number": "PN-1", "serial_number": nil, "description": "Kit <A&B>"]
        let row = try #require(ReleaseCertificate.row(workOrder: workOrder, asset: asset, category: nil, decidedOn: "2026-01-10"))
        let expected = JSONValue.object([
            ("certificateId", .string("CRS-WO-1")), ("dppId", .string("DPP-\"7\"")), ("workOrderId", .string("WO-1")),
            ("taskId", .null), ("partNumber", .string("PN-1")), ("serialNumber", .null), ("description", .string("Kit <A&B>")),
            ("findings", .string("seal\nworn \\ é\u{1}")),
            ("technician", .object([("laborCode", .string("T-1")), ("category", .null)])),
            ("date", .string("2026-01-09")),
        ])
        #expect(row.values["body"] == .some(expected.jsonText()))
        #expect(row.values["decided_at"] == "2026-01-10")
        #expect(ReleaseCertificate.row(workOrder: ["work_order_id": "WO-2", "dpp_id": "D", "release_status": "blocked"], asset: [:],
                                       category: nil, decidedOn: nil) == nil)
    }
}
