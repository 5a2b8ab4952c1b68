/// The release-to-service certificate a released work order sends to the CMMS
/// (recorded and relayed; certified by the technician named). It is decided in
/// the same ledger entry as the completion that released the component, so the
/// certificate and the work it certifies are one change of the DPP.
import GRDB

enum ReleaseCertificate {
    static let channel = OutboxChannel.releaseCertificates.rawValue

    static func messageId(workOrderId: String) -> String { issueId(1, of: workOrderId) }

    /// The certificate's fixed wording, added when its file is written (the ledger
    /// keeps what varies).
    static let work = "Inspected/Tested"
    static let statement = "Certifies that the work identified was carried out in accordance with the approved maintenance data and that the component is considered ready for release to service. Recorded and relayed by dppsync; certified by the technician named."

    /// The `outbox_message` row of the certificate for a released work order.
    /// - Parameters:
    ///   - workOrder: the work order's after-image (`release_status` `released`, `certifying_staff` set).
    ///   - asset: the component's row; `category`: the certifying technician's licence category.
    /// - Parameter issue: the certificate's place among those of its work order (its id, and the withdrawal it
    ///   follows): the first, unless an earlier one was withdrawn.
    static func row(workOrder: RowValues, asset: RowValues, category: String?, decidedOn: String?, issue: Issue? = nil) -> RowImage? {
        guard (workOrder["release_status"] ?? nil) == "released", let staff = workOrder["certifying_staff"] ?? nil,
              let workOrderId = workOrder["work_order_id"] ?? nil, let dppId = workOrder["dpp_id"] ?? nil else { return nil }
        let id = issue?.id ?? messageId(workOrderId: workOrderId)
        // message_id, channel, subject, stream, replaces, body, decided_at
        return RowImage(table: StateSchema.outboxMessage, inColumnOrder: [
            id, channel, dppId, channel + "/" + workOrderId, issue?.replaces, body(id: id, workOrder: workOrder, asset: asset, staff: staff, category: category),
            decidedOn ?? (workOrder["completion_date"] ?? nil),
        ])
    }

    /// Where a certificate goes among its work order's: its id and the withdrawal it follows, if any.
    struct Issue {
        var id: String
        var replaces: String?
    }

    /// The certificates a work order has had, as far as the next decision needs them: the one issued last, its
    /// withdrawal's id and whether that was decided, and the id a new certificate would take.
    struct History {
        var latest: String?
        var withdrawal: String?
        var withdrawn: Bool
        var next: String
    }

    /// The `n`th certificate of a work order, and its withdrawal: `CRS-<wo>`, `CRS2-<wo>`, … and `CRW-<wo>`,
    /// `CRW2-<wo>`, …. The number is in the prefix, which no `CRS-<wo>` of another work order can spell
    /// (a suffix could: `CRS-<wo>-withdrawn` is `CRS-` + the work order `<wo>-withdrawn`).
    static func issueId(_ n: Int, of workOrderId: String) -> String { safeId((n == 1 ? "CRS-" : "CRS\(n)-") + workOrderId) }
    static func withdrawalId(_ n: Int, of workOrderId: String) -> String { safeId((n == 1 ? "CRW-" : "CRW\(n)-") + workOrderId) }

    /// The work order's certificates, found by id, a lookup each (certificates have no stream head, and the
    /// stream index leaves them out): only for a work order sent again.
    /// Through the C API (`DirectStatement`): the compliance report asks this of every release of its period, and
    /// GRDB's generic fetch had been most of that report's time (1M releases: 16.6 % of its samples).
    static func history(of workOrderId: String, in db: Database) throws -> History {
        let exists = try DirectStatement(db, sql: "SELECT 1 FROM outbox_message WHERE message_id = ?")
        func decided(_ id: String) throws -> Bool { try exists.firstRow([id], columns: 1, in: db) != nil }
        guard try decided(issueId(1, of: workOrderId)) else { return History(latest: nil, withdrawal: nil, withdrawn: false, next: issueId(1, of: workOrderId)) }
        var n = 1
        while true {
            let withdrawal = withdrawalId(n, of: workOrderId)
            guard try decided(withdrawal) else { return History(latest: issueId(n, of: workOrderId), withdrawal: withdrawal, withdrawn: false, next: issueId(n + 1, of: workOrderId)) }
            guard try decided(issueId(n + 1, of: workOrderId)) else {
                return History(latest: issueId(n, of: workOrderId), withdrawal: withdrawal, withdrawn: true, next: issueId(n + 1, of: workOrderId))
            }
            n += 1
        }
    }

    /// The stored body of a certificate (to tell whether a new version of its work order still says the same).
    static func body(of id: String, in db: Database) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT body FROM outbox_message WHERE message_id = ?"), arguments: [id])
    }

    /// The withdrawal of `certificateId`, under `id`: the work order it certified no longer releases its component
    /// (a newer version with a failed test, or not returned to service), or releases it on other facts (another
    /// technician, other findings) that a new certificate states. The CMMS holds the certificate and must be told
    /// it no longer stands; the file adds the ledger entry and checkpoint that prove it.
    static func withdrawal(of certificateId: String, as id: String, workOrder: RowValues, reason: String, decidedOn: String?) -> RowImage? {
        guard let workOrderId = workOrder["work_order_id"] ?? nil, let dppId = workOrder["dpp_id"] ?? nil else { return nil }
        var out: [UInt8] = []
        out.append(member: #"{"certificateId":"#, id)
        out.append(member: #","withdraws":"#, certificateId)
        out.append(member: #","dppId":"#, dppId)
        out.append(member: #","workOrderId":"#, workOrderId)
        out.append(member: #","releaseStatus":"#, workOrder["release_status"] ?? nil)
        out.append(member: #","reason":"#, reason)
        out.append(member: #","date":"#, decidedOn ?? (workOrder["completion_date"] ?? nil))
        out.append(UInt8(ascii: "}"))
        return RowImage(table: StateSchema.outboxMessage, inColumnOrder: [
            id, channel, dppId, channel + "/" + workOrderId, certificateId, String(decoding: out, as: UTF8.self),
            decidedOn ?? (workOrder["completion_date"] ?? nil),
        ])
    }

    /// Whether a stored body is a withdrawal (`withdrawal(…)` writes its second member).
    static func isWithdrawal(body: [UInt8]) -> Bool {
        guard let comma = body.firstIndex(of: UInt8(ascii: ",")) else { return false }
        return body[comma...].starts(with: withdrawsMember)
    }
    private static let withdrawsMember = Array(#","withdraws":"#.utf8)

    /// The certificate as compact JSON, members in this order; written directly (one per
    /// released work order: building a `JSONValue` tree for it was ~24,000 instructions).
    static func body(id: String, workOrder: RowValues, asset: RowValues, staff: String, category: String?) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(384)
        out.append(member: #"{"certificateId":"#, id)
        out.append(member: #","dppId":"#, workOrder["dpp_id"] ?? nil)
        out.append(member: #","workOrderId":"#, workOrder["work_order_id"] ?? nil)
        out.append(member: #","taskId":"#, workOrder["task_id"] ?? nil)
        out.append(member: #","partNumber":"#, asset["part_number"] ?? nil)
        out.append(member: #","serialNumber":"#, asset["serial_number"] ?? nil)
        out.append(member: #","description":"#, asset["description"] ?? nil)
        out.append(member: #","findings":"#, workOrder["findings"] ?? nil)
        out.append(member: #","technician":{"laborCode":"#, staff)
        out.append(member: #","category":"#, category)
        out.append(member: #"},"date":"#, workOrder["completion_date"] ?? nil)
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// The certifying technician's labour code in a stored certificate body (`$.technician.laborCode`).
    /// A body shaped as `body(…)` writes it is read up to the code, without parsing the rest (the
    /// emitter reads one per certificate; `json_extract` in its query had cost ~7,500 instructions
    /// each); any other body is parsed.
    static func laborCode(inBody body: [UInt8]) -> String? {
        fast: if body.first == UInt8(ascii: "{") {
            // Up to the member `"technician":{"laborCode":"…"` at the top level: outside strings,
            // no other object or array may open before it.
            var i = 1, inString = false
            while i < body.count {
                let byte = body[i]
                if inString {
                    if byte == UInt8(ascii: "\\") { i += 1 } else if byte == UInt8(ascii: "\"") { inString = false }
                } else if byte == UInt8(ascii: "\"") {
                    inString = true
                } else if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") {
                    break fast
                } else if byte == UInt8(ascii: ","), body[i...].starts(with: laborCodeMember) {
                    let start = i + laborCodeMember.count
                    var end = start
                    while end < body.count, body[end] != UInt8(ascii: "\""), body[end] != UInt8(ascii: "\\") { end += 1 }
                    // An escape in the code (never written by dppsync) is left to the parser.
                    guard end < body.count, body[end] == UInt8(ascii: "\"") else { break fast }
                    return String(decoding: body[start..<end], as: UTF8.self)
                }
                i += 1
            }
        }
        return (try? JSONParser.parseDocument(body))?["technician"]?["laborCode"]?.scalarText
    }

    /// What precedes the labour code in a body `body(…)` wrote.
    private static let laborCodeMember = Array(#","technician":{"laborCode":""#.utf8)
}
