import Crypto
import GRDB

/// Decides what the CMMS must be told (DESIGN.md §1 "outbox intents"): each
/// message is a ledgered row of `outbox_message`, queued in `outbox_queue` for
/// emission after commit. Messages form streams (one per component and task,
/// per component); a stream gets a new message only when what
/// it says changed, and the new message names the one it replaces.
public struct OutboxPlanner {
    public let policy: SchedulingPolicy
    public init(policy: SchedulingPolicy) { self.policy = policy }

    /// A message to decide.
    struct Plan {
        var id: String
        var channel: String
        var stream: String
        var subject: String
        var body: [(String, JSONValue)]
        /// The stream's previous message is replaced only when this differs from it.
        var replacesPrevious: Bool
    }

    /// Plans and applies every message that is due as of `asOf`; returns how many were decided.
    @discardableResult
    public func plan(asOf: CivilDate, writer: inout StateWriter, provenance: Provenance = Provenance(), in db: Database) throws -> Int {
        let horizon = asOf.adding(days: policy.horizonDays)
        // The latest message of every stream (kept by the write path as messages are decided:
        // as many rows as streams, however many messages were ever decided).
        var latestByStream: [String: String] = [:]
        let heads = try Row.fetchCursor(db, sql: "SELECT stream, message_id FROM outbox_stream")
        while let row = try heads.next() {
            latestByStream[row[0]] = row[1] as String
        }
        // Each plan is decided as soon as it is made: memory stays flat however many components there are.
        var decided = 0
        func submit(_ plan: Plan) throws {
            let latest = latestByStream[plan.stream]
            if latest == plan.id || (!plan.replacesPrevious && latest != nil) { return }
            // An id decided before (and since replaced) is not decided again: one key lookup,
            // so memory holds a message per stream, not every message ever decided.
            if try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM outbox_message WHERE message_id = ?)"), arguments: [plan.id]) == true { return }
            var body = plan.body
            if plan.replacesPrevious, let index = body.firstIndex(where: { ["notificationId", "requirementId", "statusId", "specificationId"].contains($0.0) }) {
                body.insert(("replaces", latest.map(JSONValue.string) ?? .null), at: index + 1)
            }
            try writer.apply(StateChange(kind: "outbox.decided", subject: plan.subject, rows: [
                RowImage(table: StateSchema.outboxMessage, values: [
                    "message_id": plan.id, "channel": plan.channel, "subject": plan.subject, "stream": plan.stream, "replaces": latest,
                    "body": JSONValue.object(body).jsonText(), "decided_at": asOf.description,
                ]),
            ], provenance: provenance))
            latestByStream[plan.stream] = plan.id
            decided += 1
        }
        let cmmsNumbers = Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT dpp_id, cmms_asset_num FROM asset WHERE cmms_asset_num IS NOT NULL")
            .map { ($0["dpp_id"] as String, $0["cmms_asset_num"] as String) })

        // Maintenance due, and what the work will require.
        for item in try DueCalculator(policy: policy).compute(asOf: asOf, in: db) where item.overdue || item.dueDate <= horizon {
            let due = item.dueDate.description
            let notificationId = safeId("MDN-\(item.dppId)-\(item.taskId)-\(withoutDashes(due))-\(item.priority.prefix(1))")
            try submit(Plan(id: notificationId, channel: "maintenance-due", stream: "maintenance-due/\(item.dppId)/\(item.taskId)", subject: item.dppId, body: [
                ("dppId", .string(item.dppId)), ("maintenanceType", text(item.maintenanceType)), ("dueDate", .string(due)),
                ("priority", .string(item.priority)), ("estimatedDuration", text(item.estimatedDuration)),
                ("notificationId", .string(notificationId)), ("taskId", .string(item.taskId)),
                ("basis", .object([("limit", .string(item.basis.limit)), ("projected", .bool(item.basis.projected)), ("detail", .string(item.basis.detail))])),
                ("overdue", .bool(item.overdue)), ("lastAccomplished", .string(item.accomplished.description)),
                ("cmmsAssetNum", text(cmmsNumbers[item.dppId])),
            ], replacesPrevious: true))
            let requirementId = safeId("CRQ-\(item.dppId)-\(item.taskId)-\(withoutDashes(due))")
            try submit(Plan(id: requirementId, channel: "certification-requirements", stream: "certification-requirements/\(item.dppId)/\(item.taskId)", subject: item.dppId, body: [
                ("requirementId", .string(requirementId)), ("kind", .string("task")), ("dppId", .string(item.dppId)),
                ("taskId", .string(item.taskId)), ("dueDate", .string(due)), ("notificationId", .string(notificationId)),
                ("licenceCategory", text(item.requiredCategory)), ("authorisation", text(item.requiredAuthorisation)),
                ("releaseCertificate", text(item.releaseCertificate)),
            ], replacesPrevious: true))
        }
        // Only components the CMMS keeps (status, specifications) or whose certificate expires within the
        // horizon: the serialised parts the work orders installed are most of the registry and need neither.
        // Found through two indexes (the CMMS number's, the certificate expiry's) and read by key:
        // an `OR` of the two made SQLite read every asset and parse its certificate.
        // Columns read by position (`AssetColumn`): by name, each lookup compared column names.
        let assets = try Row.fetchCursor(db, sql: """
            SELECT \(AssetColumn.selection) FROM asset WHERE dpp_id IN (
                SELECT dpp_id FROM asset WHERE cmms_asset_num IS NOT NULL
                UNION ALL SELECT dpp_id FROM asset WHERE \(StateSchema.certificateExpirySQL) <= ?)
            ORDER BY dpp_id
            """, arguments: [horizon.description])
        while let asset = try assets.next() {
            let dppId: String = asset[AssetColumn.dppId]
            let certification = (asset[AssetColumn.certification] as String?).flatMap { try? JSONParser.parseDocument(Array($0.utf8)) }
            // Certificates that expire within the horizon need renewing.
            if let until = certification?["validUntil"]?.scalarText, let day = CivilDate(iso: until), day <= horizon {
                let id = safeId("CRR-\(dppId)-\(withoutDashes(until))")
                try submit(Plan(id: id, channel: "certification-requirements", stream: "certificate-renewal/\(dppId)", subject: dppId, body: [
                    ("requirementId", .string(id)), ("kind", .string("certificate-renewal")), ("dppId", .string(dppId)),
                    ("certificateType", certification?["type"] ?? .null), ("reference", certification?["reference"] ?? .null),
                    ("validUntil", .string(until)), ("expired", .bool(day < asOf)),
                ], replacesPrevious: true))
            }
            // Status and specifications go to the CMMS for the components it keeps asset
            // records for (those with a CMMS asset number); serialised parts without one
            // are tracked by the DPP alone (the CMMS sees them as material issues).
            guard asset[AssetColumn.cmmsAssetNum] as String? != nil else { continue }
            // Component status: status, position, certification.
            let status: [(String, JSONValue)] = [
                ("dppId", .string(dppId)), ("status", text(asset[AssetColumn.status] as String?)), ("installedOn", text(asset[AssetColumn.installedOn] as String?)),
                ("parentDppId", text(asset[AssetColumn.parentDppId] as String?)), ("position", text(asset[AssetColumn.position] as String?)),
                ("certification", certification ?? .null), ("cmmsAssetNum", text(asset[AssetColumn.cmmsAssetNum] as String?)),
            ]
            let statusId = safeId("CST-\(dppId)-" + hash8(status))
            try submit(Plan(id: statusId, channel: "component-status", stream: "component-status/\(dppId)", subject: dppId,
                            body: [("statusId", .string(statusId))] + status, replacesPrevious: true))
            // Asset specifications the DPP owns.
            let specification: [(String, JSONValue)] = [
                ("dppId", .string(dppId)), ("cmmsAssetNum", text(asset[AssetColumn.cmmsAssetNum] as String?)), ("partNumber", text(asset[AssetColumn.partNumber] as String?)),
                ("serialNumber", text(asset[AssetColumn.serialNumber] as String?)), ("description", text(asset[AssetColumn.description] as String?)),
                ("manufacturer", text(asset[AssetColumn.manufacturer] as String?)), ("criticality", text(asset[AssetColumn.criticality] as String?)),
                ("specifications", (asset[AssetColumn.specifications] as String?).flatMap { try? JSONParser.parseDocument(Array($0.utf8)) } ?? .null),
            ]
            let specificationId = safeId("ASP-\(dppId)-" + hash8(specification))
            try submit(Plan(id: specificationId, channel: "asset-specifications", stream: "asset-specifications/\(dppId)", subject: dppId,
                            body: [("specificationId", .string(specificationId))] + specification, replacesPrevious: true))
        }
        return decided
    }

    private func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }

    /// The asset columns the planner reads, and their positions in `selection`.
    private enum AssetColumn {
        static let selection = "dpp_id, certification, cmms_asset_num, status, installed_on, parent_dpp_id, position, "
            + "part_number, serial_number, description, manufacturer, criticality, specifications"
        static let dppId = 0, certification = 1, cmmsAssetNum = 2, status = 3, installedOn = 4, parentDppId = 5, position = 6,
                   partNumber = 7, serialNumber = 8, description = 9, manufacturer = 10, criticality = 11, specifications = 12
    }

    /// `2026-03-31` → `20260331` for message ids (Foundation's `replacingOccurrences` took
    /// ~26,000 instructions a call: twice per due component, ~1 G instructions for a fleet of 20,000).
    private func withoutDashes(_ date: String) -> String {
        String(decoding: date.utf8.filter { $0 != UInt8(ascii: "-") }, as: UTF8.self)
    }

    private func hash8(_ members: [(String, JSONValue)]) -> String {
        String(Fingerprint.sha256Hex(JSONValue.object(members).jsonText(sortedKeys: true)).prefix(8))
    }
}

/// A message or file id built from data: only letters, digits, `.`, `_` and `-`;
/// no leading dot; bounded length. Nothing in a `dppId` can leave the channel's folder.
public func safeId(_ text: String) -> String {
    // Nearly every id is already safe: checked byte by byte and returned as it is.
    let utf8 = text.utf8
    if let first = utf8.first, first != UInt8(ascii: "."), utf8.count <= 150, utf8.allSatisfy({ byte in
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: ".")
    }) {
        return text
    }
    var out = String(text.unicodeScalars.map { scalar -> Character in
        (("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "-" || scalar == "_" || scalar == ".")
            ? Character(scalar) : "_"
    })
    while out.hasPrefix(".") { out = "_" + out.dropFirst() }
    if out.count > 150 { out = String(out.prefix(130)) + "-" + String(Fingerprint.sha256Hex(text).prefix(16)) }
    return out.isEmpty ? "_" : out
}
