import Foundation
import GRDB

/// Writes decided messages into `Outbox/<folder>/` after their transaction
/// committed (DESIGN.md invariant 5): temporary file, fsync, rename, fsync the
/// folder; named by the message id, so a re-emission after a crash overwrites
/// the same file rather than doubling it. Delivery is at least once, idempotent by id.
public struct OutboxEmitter {
    public let store: Store
    public let layout: RootLayout
    public let crash: CrashPoints

    public init(store: Store, layout: RootLayout, crash: CrashPoints = .none) {
        self.store = store; self.layout = layout; self.crash = crash
    }

    /// Loads `Mappings/*.outbound.yaml`; channels without one use the default JSON shape.
    public static func mappings(in directory: String) -> (mappings: [String: [OutboundMapping]], errors: [ConfigurationErrors]) {
        var result: [String: [OutboundMapping]] = [:]
        var errors: [ConfigurationErrors] = []
        for name in FileSystem.entries(of: directory) where name.hasSuffix(".outbound.yaml") {
            guard let data = FileManager.default.contents(atPath: directory + "/" + name) else { continue }
            do {
                let mapping = try OutboundMapping.load(text: String(decoding: data, as: UTF8.self), file: name)
                result[mapping.channel, default: []].append(mapping)
            } catch {
                errors.append(error)
            }
        }
        return (result, errors)
    }

    /// Emits every pending message whose ledger entry a signed checkpoint covers
    /// (release certificates cite that checkpoint); returns the files written.
    @discardableResult
    public func emitPending(now: Timestamp = .now()) throws -> [String] {
        let (mappings, _) = Self.mappings(in: layout.mappings)
        let checkpoint = try Ledger(store: store, layout: layout, origin: "").latestCheckpoint()
        let pending = try store.read { db in
            try Row.fetchAll(db, sql: """
                SELECT q.message_id, q.ledger_seq, m.channel, m.body, p.licence
                FROM outbox_queue q JOIN outbox_message m ON m.message_id = q.message_id
                LEFT JOIN work_order w ON m.channel = 'release-certificates' AND w.work_order_id = json_extract(m.body, '$.workOrderId')
                LEFT JOIN technician_personal p ON p.labor_code = w.certifying_staff
                WHERE q.emitted_at IS NULL ORDER BY q.ledger_seq
                """)
        }
        var written: [String] = []
        for row in pending {
            let seq: Int64 = row["ledger_seq"]
            let channel: String = row["channel"]
            guard var message = try? JSONParser.parseDocument(Array((row["body"] as String).utf8)) else { continue }
            if channel == "release-certificates" {
                guard let checkpoint, checkpoint.checkpoint.treeSize >= seq else { continue }
                if case .object(var members) = message {
                    // Personal data joins the file here, never the ledger.
                    members.append(("licenceNumber", (row["licence"] as String?).map(JSONValue.string) ?? .null))
                    members.append(("ledgerEntry", .number(String(seq))))
                    members.append(("checkpoint", .string(checkpoint.note)))
                    message = .object(members)
                }
            }
            var files: [String] = []
            for mapping in mappings[channel] ?? [OutboundMapping.defaultMapping(for: channel)] {
                let (name, content) = mapping.render(message)
                let folder = layout.outbox + "/" + mapping.folder
                try FileSystem.createDirectory(folder)
                let path = folder + "/" + name
                try FileSystem.writeAtomically(content, to: path)
                files.append(path)
            }
            crash.reached(.afterEmit)
            try store.write { db in
                try db.execute(sql: "UPDATE outbox_queue SET emitted_at = ?, file = ? WHERE message_id = ?",
                               arguments: [now.description, files.joined(separator: "\n"), row["message_id"] as String])
            }
            written += files
        }
        return written
    }
}
