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
        for folder in FileSystem.entries(of: layout.outbox) { FileSystem.removeStaleTemporaries(in: layout.outbox + "/" + folder) }
        let checkpoint = try Ledger(store: store, layout: layout, origin: "").latestCheckpoint()
        // Pages of pending messages, so memory stays flat however many are due.
        var written: [String] = []
        var after: Int64 = 0
        while true {
            let pending = try store.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT q.message_id, q.ledger_seq, m.channel, m.body, p.licence
                    FROM outbox_queue q JOIN outbox_message m ON m.message_id = q.message_id
                    LEFT JOIN work_order w ON m.channel = 'release-certificates' AND w.work_order_id = json_extract(m.body, '$.workOrderId')
                    LEFT JOIN technician_personal p ON p.labor_code = w.certifying_staff
                    WHERE q.emitted_at IS NULL AND q.ledger_seq > ? ORDER BY q.ledger_seq LIMIT 5000
                    """, arguments: [after])
            }
            guard let last = pending.last else { break }
            after = last["ledger_seq"]
            written += try emit(pending, mappings: mappings, checkpoint: checkpoint, now: now)
        }
        return written
    }

    private func emit(_ pending: [Row], mappings: [String: [OutboundMapping]], checkpoint: StoredCheckpoint?, now: Timestamp) throws -> [String] {
        // Render and write every pending file under a temporary name, flush them to disk
        // together (one syncfs instead of one fsync per file), then rename each into place
        // and fsync each folder once: a file appears under its final name only when complete.
        var staged: [(messageId: String, temporary: String, final: String)] = []
        var folders = Set<String>()
        defer { for file in staged where FileSystem.exists(file.temporary) { unlink(file.temporary) } }
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
            for mapping in mappings[channel] ?? [OutboundMapping.defaultMapping(for: channel)] {
                let (name, content) = mapping.render(message)
                let folder = layout.outbox + "/" + mapping.folder
                if folders.insert(folder).inserted { try FileSystem.createDirectory(folder) }
                let temporary = folder + "/.\(name).\(getpid()).tmp"
                try FileSystem.writeUnsynced(Array(content.utf8), to: temporary)
                staged.append((row["message_id"], temporary, folder + "/" + name))
            }
        }
        guard !staged.isEmpty else { return [] }
        try FileSystem.syncFileSystem(containing: layout.outbox)
        var written: [String] = []
        for file in staged {
            guard rename(file.temporary, file.final) == 0 else { throw FileSystemError(operation: "rename", path: file.temporary, reason: String(cString: strerror(errno))) }
            written.append(file.final)
            crash.reached(.afterEmit)
        }
        for folder in folders { try FileSystem.syncDirectory(folder) }
        let files = Dictionary(grouping: staged, by: \.messageId).mapValues { $0.map(\.final).joined(separator: "\n") }
        try store.write { db in
            for (messageId, paths) in files {
                try db.cachedStatement(sql: "UPDATE outbox_queue SET emitted_at = ?, file = ? WHERE message_id = ?")
                    .execute(arguments: [now.description, paths, messageId])
            }
        }
        return written
    }
}

#if canImport(Glibc)
import Glibc
#endif
