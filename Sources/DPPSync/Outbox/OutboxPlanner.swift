import Crypto
import GRDB

/// Decides what the CMMS must be told (DESIGN.md §1 "outbox intents"): each
/// message is a ledgered row of `outbox_message`, queued in `outbox_queue` for
/// emission after commit. Messages form streams (one per component and task,
/// per component); a stream gets a new message only when what
/// it says changed, and the new message names the one it replaces.
public struct OutboxPlanner {
    public let policy: SchedulingPolicy
    /// The operator's days (predictive alerts compare a detection with completion days).
    public var timeZone: OperatorTimeZone
    public init(policy: SchedulingPolicy, timeZone: OperatorTimeZone = .utc) { self.policy = policy; self.timeZone = timeZone }

    /// Changes whenever the planner decides differently from the same state, day and settings (a new
    /// channel, another rule): a pass skips a plan whose key it finds unchanged (`Finalizer`).
    public static let revision = 1

    /// A message to decide.
    struct Plan {
        var id: String
        var channel: String
        var stream: String
        var subject: String
        var body: [(String, JSONValue)]
        /// Words that can change while the id stays (a requirement names the notification in force,
        /// whose id changes with its priority): a head with this id is compared by its words too, and
        /// new words go out under the first free `<id>-r<n>`.
        var revisable = false
    }

    /// The members that can carry a message's own id; its first one does (a resend's id replaces it).
    static let idMembers = Set(OutboxChannel.allCases.map(\.idMember))

    /// Plans and applies every message that is due as of `asOf`; returns how many were decided.
    /// - Parameter dueItems: the due items as of `asOf` (`DueCalculator.compute` on the state this
    ///   transaction started from), waited for once the components' streams, planned first, are
    ///   done: the finalizer computes them on the second core meanwhile.
    @discardableResult
    public func plan(asOf: CivilDate, writer: inout StateWriter, provenance: Provenance = Provenance(), in db: Database,
                     dueItems: () throws -> [DueItem]) throws -> Int {
        let horizon = asOf.adding(days: policy.horizonDays)
        // Validities are compared as text: before the day after the horizon takes a date-time on the
        // horizon's day too (`2026-02-09T12:00:00Z` sorts after `2026-02-09`).
        let dayAfterHorizon = horizon.adding(days: 1).description
        // The latest message of every stream (kept by the write path as messages are decided:
        // as many rows as streams, however many messages were ever decided), but the components'
        // status and specifications, whose heads come with their assets' rows below.
        var latestByStream: [String: String] = [:]
        /// The words of revisable heads (`outbox_stream.source`), where recorded.
        var wordsByStream: [String: String] = [:]
        let heads = try Row.fetchCursor(db, sql: """
            SELECT stream, message_id, source FROM outbox_stream
            WHERE substr(stream, 1, instr(stream, '/')) NOT IN ('\(Self.statusChannel)/', '\(Self.specificationChannel)/')
            """)
        while let row = try heads.next() {
            latestByStream[row[0]] = row[1] as String
            if let words = row[2] as String? { wordsByStream[row[0]] = words }
        }
        // Each plan is decided as soon as it is made: memory stays flat however many components there are.
        var decided = 0
        func decidedBefore(_ id: String) throws -> Bool {
            try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM outbox_message WHERE message_id = ?)"), arguments: [id]) == true
        }
        /// The stream of the message decided under `id`, if any.
        func stream(of id: String) throws -> String? {
            try String.fetchOne(db.cachedStatement(sql: "SELECT stream FROM outbox_message WHERE message_id = ?"), arguments: [id])
        }
        /// Whether the stored message `head` says `words` (for a head whose words were not recorded).
        func says(_ head: String, words: String) throws -> Bool {
            guard let text = try String.fetchOne(db.cachedStatement(sql: "SELECT body FROM outbox_message WHERE message_id = ?"), arguments: [head]),
                  case .object(let members)? = try? JSONParser.parseDocument(Array(text.utf8)) else { return false }
            return Self.words(of: members) == words
        }
        /// Records `words` as what the head of `stream` says (the write path clears them when the head changes).
        func keep(words: String, of stream: String) throws {
            try db.cachedStatement(sql: "UPDATE outbox_stream SET source = ? WHERE stream = ?").execute(arguments: [words, stream])
            wordsByStream[stream] = words
        }
        /// Decides `plan` unless its stream's head `latest` says it already; returns the id it was decided under.
        func submit(_ plan: Plan, latest: String?) throws -> String? {
            // A revisable head is compared by its words too: as recorded with it, or else (none recorded,
            // or others) as its body says, which are then recorded.
            let words = plan.revisable ? Self.words(of: plan.body) : nil
            // An id another stream's message already has is this stream's own once the stream is added:
            // ids join their parts with `-`, which the parts may hold too (`D-A` + `1`, `D` + `A-1`).
            var planId = plan.id
            var decidedAlready: Bool?  // whether `planId` was decided before, when that lookup answered it
            if latest.map({ !Self.says($0, planId) }) ?? true {
                let other = try stream(of: planId)
                if let other, other != plan.stream { planId = safeId(plan.id + "/" + plan.stream) } else { decidedAlready = other != nil }
            }
            if let latest, Self.says(latest, planId) {
                guard let words else { return nil }
                if wordsByStream[plan.stream] == words { return nil }
                if try says(latest, words: words) {
                    try keep(words: words, of: plan.stream)
                    return nil
                }
            }
            // A stream back to what an earlier message of it said (a component moved and moved back),
            // or a requirement whose words changed under the same id: the CMMS holds another message,
            // so these words go under an id of their own, the first free `<id>-r<n>`. Ids are looked up
            // one key at a time, so memory holds a message per stream, not every message ever decided.
            var id = planId
            if try decidedAlready ?? decidedBefore(id) {
                // No head to replace: the message under this id is still what the CMMS holds.
                guard latest != nil else { return nil }
                var resend = 2
                while try decidedBefore(Self.resend(resend, of: planId)) { resend += 1 }
                id = Self.resend(resend, of: planId)
            }
            var body = plan.body
            if let index = body.firstIndex(where: { Self.idMembers.contains($0.0) }) {
                body[index].1 = .string(id)
                body.insert(("replaces", .text(latest)), at: index + 1)
            }
            try writer.apply(StateChange(kind: "outbox.decided", subject: plan.subject, rows: [
                RowImage(table: StateSchema.outboxMessage, values: [
                    "message_id": id, "channel": plan.channel, "subject": plan.subject, "stream": plan.stream, "replaces": latest,
                    "body": JSONValue.object(body).jsonText(), "decided_at": asOf.description,
                ]),
            ], provenance: provenance))
            decided += 1
            if let words { try keep(words: words, of: plan.stream) }
            return id
        }
        /// A stream whose head this pass keeps in `latestByStream`.
        func submit(_ plan: Plan) throws {
            if let id = try submit(plan, latest: latestByStream[plan.stream]) { latestByStream[plan.stream] = id }
        }
        /// A component's status or specification stream: once its head is the message built from
        /// `source` (an SQL expression of the asset's columns), the source is kept with it, and later
        /// passes skip the component while it is unchanged.
        func submit(_ plan: Plan, head: String?, source: String) throws {
            guard try submit(plan, latest: head) != nil || head.map({ Self.says($0, plan.id) }) == true else { return }
            try db.cachedStatement(sql: "UPDATE outbox_stream SET source = (SELECT \(source) FROM asset WHERE dpp_id = ?) WHERE stream = ?")
                .execute(arguments: [plan.subject, plan.stream])
        }
        // Only components the CMMS keeps (status, specifications) or whose certificate expires within the
        // horizon: the serialised parts the work orders installed are most of the registry and need neither.
        // Found through two indexes (the CMMS number's, the certificate expiry's) and read by key:
        // an `OR` of the two made SQLite read every asset and parse its certificate.
        // Columns read by position (`AssetColumn`): by name, each lookup compared column names.
        // Each row says whether its status and specification streams' sources are unchanged: such a
        // component's messages would be their streams' heads again, so they are not built (building,
        // hashing and parsing two messages for every component had been most of a pass's planning).
        let assets = try Row.fetchCursor(db, sql: """
            SELECT \(AssetColumn.selection), \(StateSchema.certificateExpirySQL) < ?,
                   status_head.message_id, status_head.source IS \(AssetColumn.statusSource),
                   specification_head.message_id, specification_head.source IS \(AssetColumn.specificationSource)
            FROM asset
            LEFT JOIN outbox_stream status_head ON status_head.stream = '\(Self.statusChannel)/' || dpp_id
            LEFT JOIN outbox_stream specification_head ON specification_head.stream = '\(Self.specificationChannel)/' || dpp_id
            WHERE dpp_id IN (
                SELECT dpp_id FROM asset WHERE cmms_asset_num IS NOT NULL
                UNION ALL SELECT dpp_id FROM asset WHERE \(StateSchema.certificateExpirySQL) < ?)
            ORDER BY dpp_id
            """, arguments: [dayAfterHorizon, dayAfterHorizon])
        var cmmsNumbers: [String: String] = [:]
        while let asset = try assets.next() {
            // Every component the CMMS keeps passes here: its number, for the due notifications below.
            if let number = asset[AssetColumn.cmmsAssetNum] as String? { cmmsNumbers[asset[AssetColumn.dppId]] = number }
            // The index's expiry within the horizon picks the candidates for renewal, here as in the query.
            let renewal = (asset[AssetColumn.renewalCandidate] as Bool?) ?? false
            let keptByCMMS = !asset.hasNull(atIndex: AssetColumn.cmmsAssetNum)
            let statusUnchanged: Bool = asset[AssetColumn.statusUnchanged]
            let specificationUnchanged: Bool = asset[AssetColumn.specificationUnchanged]
            if !renewal, !keptByCMMS || (statusUnchanged && specificationUnchanged) { continue }
            let dppId: String = asset[AssetColumn.dppId]
            let certification = (asset[AssetColumn.certification] as String?).flatMap { try? JSONParser.parseDocument(Array($0.utf8)) }
            // Certificates that expire within the horizon need renewing. A validity written as a date-time
            // counts by its day as written (it had been no date, and no renewal was asked). Revisable:
            // `expired` turns true under the same id once the day has passed, sent as `<id>-r2`.
            if renewal, let until = certification?["validUntil"]?.scalarText, let day = Self.day(of: until), day <= horizon {
                let id = safeId("CRR-\(dppId)-\(withoutDashes(day.description))")
                try submit(Plan(id: id, channel: Self.requirementChannel, stream: "certificate-renewal/\(dppId)", subject: dppId, body: [
                    ("requirementId", .string(id)), ("kind", .string("certificate-renewal")), ("dppId", .string(dppId)),
                    ("certificateType", certification?["type"] ?? .null), ("reference", certification?["reference"] ?? .null),
                    ("validUntil", .string(until)), ("expired", .bool(day < asOf)),
                ], revisable: true))
            }
            // Status and specifications go to the CMMS for the components it keeps asset
            // records for (those with a CMMS asset number); serialised parts without one
            // are tracked by the DPP alone (the CMMS sees them as material issues).
            guard keptByCMMS else { continue }
            if !statusUnchanged {
                // Component status: status, position, certification.
                let status: [(String, JSONValue)] = [
                    ("dppId", .string(dppId)), ("status", text(asset[AssetColumn.status] as String?)), ("installedOn", text(asset[AssetColumn.installedOn] as String?)),
                    ("parentDppId", text(asset[AssetColumn.parentDppId] as String?)), ("position", text(asset[AssetColumn.position] as String?)),
                    ("certification", certification ?? .null), ("cmmsAssetNum", text(asset[AssetColumn.cmmsAssetNum] as String?)),
                ]
                let statusId = safeId("CST-\(dppId)-" + hash8(status))
                try submit(Plan(id: statusId, channel: Self.statusChannel, stream: "\(Self.statusChannel)/\(dppId)", subject: dppId,
                                body: [("statusId", .string(statusId))] + status),
                           head: asset[AssetColumn.statusHead], source: AssetColumn.statusSource)
            }
            if !specificationUnchanged {
                // Asset specifications the DPP owns.
                let specification: [(String, JSONValue)] = [
                    ("dppId", .string(dppId)), ("cmmsAssetNum", text(asset[AssetColumn.cmmsAssetNum] as String?)), ("partNumber", text(asset[AssetColumn.partNumber] as String?)),
                    ("serialNumber", text(asset[AssetColumn.serialNumber] as String?)), ("description", text(asset[AssetColumn.description] as String?)),
                    ("manufacturer", text(asset[AssetColumn.manufacturer] as String?)), ("criticality", text(asset[AssetColumn.criticality] as String?)),
                    ("specifications", (asset[AssetColumn.specifications] as String?).flatMap { try? JSONParser.parseDocument(Array($0.utf8)) } ?? .null),
                ]
                let specificationId = safeId("ASP-\(dppId)-" + hash8(specification))
                try submit(Plan(id: specificationId, channel: Self.specificationChannel, stream: "\(Self.specificationChannel)/\(dppId)", subject: dppId,
                                body: [("specificationId", .string(specificationId))] + specification),
                           head: asset[AssetColumn.specificationHead], source: AssetColumn.specificationSource)
            }
        }
        // Maintenance due, and what the work will require, within the horizon. A task that work done
        // moved past it gets no update: the CMMS closed its request with that work (it sent the
        // completion), and a notice months ahead is what the horizon keeps from it.
        for item in try dueItems() where item.overdue || item.dueDate <= horizon {
            let notificationStream = OutboxChannel.maintenanceDue.rawValue + "/\(item.dppId)/\(item.taskId)"
            let due = item.dueDate.description
            let notificationId = safeId("MDN-\(item.dppId)-\(item.taskId)-\(withoutDashes(due))-\(item.priority.prefix(1))")
            try submit(Plan(id: notificationId, channel: OutboxChannel.maintenanceDue.rawValue, stream: notificationStream, subject: item.dppId, body: [
                ("dppId", .string(item.dppId)), ("maintenanceType", text(item.maintenanceType)), ("dueDate", .string(due)),
                ("priority", .string(item.priority)), ("estimatedDuration", text(item.estimatedDuration)),
                ("notificationId", .string(notificationId)), ("taskId", .string(item.taskId)),
                ("basis", .object([("limit", .string(item.basis.limit)), ("projected", .bool(item.basis.projected)), ("detail", .string(item.basis.detail))])),
                ("overdue", .bool(item.overdue)), ("lastAccomplished", .string(item.accomplished.description)),
                ("cmmsAssetNum", text(cmmsNumbers[item.dppId])),
            ]))
            let requirementId = safeId("CRQ-\(item.dppId)-\(item.taskId)-\(withoutDashes(due))")
            try submit(Plan(id: requirementId, channel: Self.requirementChannel, stream: "\(Self.requirementChannel)/\(item.dppId)/\(item.taskId)", subject: item.dppId, body: [
                ("requirementId", .string(requirementId)), ("kind", .string("task")), ("dppId", .string(item.dppId)),
                // The notification in force: this one, or its words sent again under an id of their own.
                ("taskId", .string(item.taskId)), ("dueDate", .string(due)), ("notificationId", .string(latestByStream[notificationStream] ?? notificationId)),
                ("licenceCategory", text(item.requiredCategory)), ("authorisation", text(item.requiredAuthorisation)),
                ("releaseCertificate", text(item.releaseCertificate)),
            ], revisable: true))
        }
        // Predictive alerts: every CAOS prediction that no completed work has answered. The id carries the
        // priority (a new one replaces the alert as the failure nears); the chosen ground window and the
        // rest are its words, sent again as `<id>-r2` when they change. Answered predictions get no update:
        // the CMMS closed its work order with the completion it sent.
        for alert in try PredictiveAlertCalculator(policy: policy, timeZone: timeZone).compute(asOf: asOf, in: db) {
            let id = safeId("PRA-\(alert.predictionId)-\(alert.priority.prefix(1))")
            let window: JSONValue = alert.window.map { window in
                .object([("aircraft", text(alert.aircraft)), ("station", text(window.station)),
                         ("start", .string(window.start.description)), ("end", .string(window.end.description))])
            } ?? .null
            try submit(Plan(id: id, channel: Self.alertChannel, stream: "\(Self.alertChannel)/\(alert.predictionId)", subject: alert.dppId, body: [
                ("alertId", .string(id)), ("predictionId", .string(alert.predictionId)), ("dppId", .string(alert.dppId)),
                ("cmmsAssetNum", text(alert.cmmsAssetNum)), ("parentDppId", text(alert.parentDppId)),
                ("parentCmmsAssetNum", text(alert.parentCmmsAssetNum)), ("aircraft", text(alert.aircraft)),
                ("priority", .string(alert.priority)), ("overdue", .bool(alert.overdue)),
                ("detectedAt", .string(alert.detectedAt.description)), ("predictedFailureBy", text(alert.predictedFailureBy?.description)),
                ("anomaly", text(alert.anomaly)), ("indicator", text(alert.indicator)), ("value", number(alert.value)),
                ("threshold", number(alert.threshold)), ("confidence", alert.confidence.map { .number(String($0)) } ?? .null),
                ("recommendedAction", text(alert.recommendedAction)), ("recommendedTaskId", text(alert.recommendedTaskId)),
                ("maintenanceType", text(alert.task?.maintenanceType)),
                ("estimatedDuration", text(alert.task?.estimatedDuration)), ("plannedHours", .number(DueCalculator.format(alert.workHours))),
                ("licenceCategory", text(alert.task?.requiredCategory)), ("authorisation", text(alert.task?.requiredAuthorisation)),
                ("releaseCertificate", text(alert.task?.releaseCertificate)),
                ("groundWindow", window),
            ], revisable: true))
        }
        return decided
    }

    /// A message's words: its members but its own id (the first id member: a requirement names a
    /// notification's id too) and the message it `replaces`, in their order.
    /// Written as `name=value;` with each value as JSON (a requirement's every pass: no object built).
    static func words(of members: [(String, JSONValue)]) -> String {
        var words: [UInt8] = []
        words.reserveCapacity(320)
        var ownSkipped = false
        for (name, value) in members where name != "replaces" {
            if !ownSkipped, idMembers.contains(name) { ownSkipped = true; continue }
            words += name.utf8
            words.append(UInt8(ascii: "="))
            if case .string(let text) = value { JSONValue.appendQuoted(text, to: &words) } else { words += value.jsonText().utf8 }
            words.append(UInt8(ascii: ";"))
        }
        return String(decoding: words, as: UTF8.self)
    }

    /// The `n`th issue (`n` ≥ 2) of message `id`: its words sent again, or a revisable message's new words.
    static func resend(_ n: Int, of id: String) -> String { id + "-r" + String(n) }

    /// Whether the message `head` says what the message `id` says: it is that message, or a resend of it.
    static func says(_ head: String, _ id: String) -> Bool {
        guard head.utf8.count > id.utf8.count, head.hasPrefix(id) else { return head == id }
        let suffix = head.utf8.dropFirst(id.utf8.count)
        return suffix.starts(with: "-r".utf8) && suffix.count > 2 && suffix.dropFirst(2).allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    private func text(_ value: String?) -> JSONValue { .text(value) }
    /// A stored decimal as a JSON number (`null` for text that is not one).
    private func number(_ value: String?) -> JSONValue {
        guard let value, case .number? = try? JSONParser.parseDocument(Array(value.utf8)) else { return .null }
        return .number(value)
    }

    /// The day of a date (`2026-01-20`) or of a date-time as written (`2026-01-20T23:59:59Z`).
    static func day(of text: String) -> CivilDate? {
        CivilDate(iso: text) ?? (Timestamp(iso: text) != nil ? CivilDate(iso: String(text.prefix(10))) : nil)
    }

    static let statusChannel = OutboxChannel.componentStatus.rawValue, specificationChannel = OutboxChannel.assetSpecifications.rawValue
    static let requirementChannel = OutboxChannel.certificationRequirements.rawValue
    static let alertChannel = OutboxChannel.predictiveAlerts.rawValue

    /// The asset columns the planner reads, and their positions in its query's rows.
    private enum AssetColumn {
        static let selection = "dpp_id, certification, cmms_asset_num, status, installed_on, parent_dpp_id, position, "
            + "part_number, serial_number, description, manufacturer, criticality, specifications"
        static let dppId = 0, certification = 1, cmmsAssetNum = 2, status = 3, installedOn = 4, parentDppId = 5, position = 6,
                   partNumber = 7, serialNumber = 8, description = 9, manufacturer = 10, criticality = 11, specifications = 12
        static let renewalCandidate = 13, statusHead = 14, statusUnchanged = 15, specificationHead = 16, specificationUnchanged = 17
        /// The columns each message is built from, as SQLite's `json_array` writes them (unambiguous, and
        /// cheaper than concatenating quoted literals), tagged with the version of how the message is built:
        /// a change to a message's shape must change its tag, or components whose rows did not change would
        /// keep messages of the old shape. Each column is read as text, as the message reads it (and
        /// `json_array` refuses a BLOB, which would stop every pass).
        static let statusSource = source("component-status/1", of: ["status", "installed_on", "parent_dpp_id", "position", "certification", "cmms_asset_num"])
        static let specificationSource = source("asset-specifications/1", of: ["cmms_asset_num", "part_number", "serial_number", "description",
                                                                               "manufacturer", "criticality", "specifications"])

        private static func source(_ tag: String, of columns: [String]) -> String {
            "json_array('\(tag)', " + columns.map { "CAST(\($0) AS TEXT)" }.joined(separator: ", ") + ")"
        }
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
/// A text that is not such an id already is made one and followed by its hash, so that two
/// texts never share an id.
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
    // The text's hash keeps ids of different texts apart (`WO/1` and `WO_1` would both read `WO_1`).
    if out.count > 130 { out = String(out.prefix(130)) }
    return out + "-" + String(Fingerprint.sha256Hex(text).prefix(out.count >= 130 ? 16 : 8))
}
