/// The release-to-service certificate a released work order sends to the CMMS
/// (recorded and relayed; certified by the technician named). It is decided in
/// the same ledger entry as the completion that released the component, so the
/// certificate and the work it certifies are one change of the DPP.
enum ReleaseCertificate {
    static let channel = "release-certificates"

    static func messageId(workOrderId: String) -> String { safeId("CRS-\(workOrderId)") }

    /// The certificate's fixed wording, added when its file is written (the ledger
    /// keeps what varies).
    static let work = "Inspected/Tested"
    static let statement = "Certifies that the work identified was carried out in accordance with the approved maintenance data and that the component is considered ready for release to service. Recorded and relayed by dppsync; certified by the technician named."

    /// The `outbox_message` row of the certificate for a released work order.
    /// - Parameters:
    ///   - workOrder: the work order's after-image (`release_status` `released`, `certifying_staff` set).
    ///   - asset: the component's row; `category`: the certifying technician's licence category.
    static func row(workOrder: RowValues, asset: RowValues, category: String?, decidedOn: String?) -> RowImage? {
        guard (workOrder["release_status"] ?? nil) == "released", let staff = workOrder["certifying_staff"] ?? nil,
              let workOrderId = workOrder["work_order_id"] ?? nil, let dppId = workOrder["dpp_id"] ?? nil else { return nil }
        func text(_ value: String??) -> JSONValue { (value ?? nil).map(JSONValue.string) ?? .null }
        let id = messageId(workOrderId: workOrderId)
        let body = JSONValue.object([
            ("certificateId", .string(id)), ("dppId", .string(dppId)), ("workOrderId", .string(workOrderId)),
            ("taskId", text(workOrder["task_id"])), ("partNumber", text(asset["part_number"])), ("serialNumber", text(asset["serial_number"])),
            ("description", text(asset["description"])), ("findings", text(workOrder["findings"])),
            ("technician", .object([("laborCode", .string(staff)), ("category", text(category))])),
            ("date", text(workOrder["completion_date"])),
        ])
        return RowImage(table: StateSchema.outboxMessage, values: [
            "message_id": id, "channel": channel, "subject": dppId, "stream": "\(channel)/\(workOrderId)", "replaces": nil,
            "body": body.jsonText(), "decided_at": decidedOn ?? (workOrder["completion_date"] ?? nil),
        ])
    }
}
