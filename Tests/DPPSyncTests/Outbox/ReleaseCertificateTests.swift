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

    @Test("the labour code is read from a body the certificate wrote, and from a body of any other shape by parsing it")
    func laborCode() throws {
        func code(_ body: String) -> String? { ReleaseCertificate.laborCode(inBody: Array(body.utf8)) }
        let workOrder: RowValues = ["work_order_id": "WO-1", "dpp_id": "D-1", "findings": #"said "technician":{"laborCode":"X"}"#,
                                    "release_status": "released", "certifying_staff": "T-9"]
        let row = try #require(ReleaseCertificate.row(workOrder: workOrder, asset: [:], category: "B1", decidedOn: nil))
        // The findings quote the member's text; escaped in the body, it is not the member.
        #expect(code(try #require(row.values["body"] ?? nil)) == "T-9")
        // Other shapes: members in another order, another nesting, an escaped code, no technician.
        #expect(code(#"{"technician":{"category":"B1","laborCode":"T-2"},"certificateId":"C"}"#) == "T-2")
        #expect(code(#"{"certificateId":"C","other":{"technician":{"laborCode":"NO"}},"technician":{"laborCode":"T-3"}}"#) == "T-3")
        #expect(code(#"{"certificateId":"C","other":{"a":1,"technician":{"laborCode":"NO"}},"technician":{"laborCode":"T-6"}}"#) == "T-6")
        #expect(code(#"{"certificateId":"C","other":[1,{"a":1,"technician":{"laborCode":"NO"}}]}"#) == nil)
        #expect(code(#"{"certificateId":"C","technician":{"laborCode":"T\u002d4"}}"#) == "T-4")
        #expect(code(#"{"certificateId":"C","date":"2026-01-09"}"#) == nil)
        #expect(code(#"{"certificateId":"C","technician":null}"#) == nil)
    }
}
