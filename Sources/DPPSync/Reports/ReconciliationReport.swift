import GRDB
import Mustache

/// The per-batch reconciliation report for auditors:
/// `Reports/reconciliation/<batch>.json` and `.csv`, streamed from the store
/// row by row so memory stays flat at any batch size.
public struct ReconciliationReport {
    public let store: Store
    public let layout: RootLayout

    public init(store: Store, layout: RootLayout) { self.store = store; self.layout = layout }

    /// The latest batch id, if any.
    public func latestBatch() throws -> Int64? {
        try store.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM batch") }
    }

    /// Records shown in the HTML page (the CSV and JSON always hold all of them).
    public var htmlRecordLimit = 1000

    /// Writes the three files for `batchId`; returns the base path (`…/batch-<id>`).
    @discardableResult
    public func write(batchId: Int64) throws -> String {
        try FileSystem.createDirectory(layout.reconciliationReports)
        let base = layout.reconciliationReports + "/batch-\(batchId)"
        for format in Format.allCases {
            let writer = try AtomicFileWriter(path: base + "." + format.rawValue)
            try render(batchId: batchId, format: format) { try writer.write($0) }
            try writer.commit()
        }
        return base
    }

    public enum Format: String, Sendable, CaseIterable { case json, csv, html }

    static let recordsSQL = """
        SELECT o.record_index, o.line, o.kind, o.record_key, o.outcome, o.reason, o.message, o.mapping_hash, f.source, f.name, f.fingerprint
        FROM record_outcome o JOIN input_file f ON f.id = o.file_id WHERE o.batch_id = ? ORDER BY o.id
        """

    /// The report as one string (tests, small batches).
    public func render(batchId: Int64, format: Format) throws -> String {
        var out = ""
        try render(batchId: batchId, format: format) { out += $0 }
        return out
    }

    /// Streams the report to `sink` row by row from the store: memory stays flat at any batch size.
    public func render(batchId: Int64, format: Format, into sink: (String) throws -> Void) throws {
        try store.read { db in
            guard let batch = try Row.fetchOne(db, sql: "SELECT * FROM batch WHERE id = ?", arguments: [batchId]) else {
                throw StoreError(message: "no batch \(batchId)")
            }
            var out = ""
            /// Hands what has accumulated to the sink every few hundred rows.
            func drain(force: Bool = false) throws {
                if force || out.utf8.count > 1 << 16 { try sink(out); out = "" }
            }
            switch format {
            case .html:
                out = try renderHTML(batchId: batchId, batch: batch, db: db)
            case .csv:
                out += "batch,source,file,fingerprint,record_index,line,kind,record_key,outcome,reason,message,mapping_hash\r\n"
                let files = try Row.fetchCursor(db, sql: "SELECT source, name, fingerprint, disposition, reason, message, mapping_hash FROM input_file WHERE batch_id = ? AND reason IS NOT NULL ORDER BY id", arguments: [batchId])
                while let f = try files.next() {
                    out += Self.csvLine([String(batchId), f["source"], f["name"], f["fingerprint"], "", "", "file", "", f["disposition"], f["reason"], f["message"], f["mapping_hash"]])
                }
                let rows = try Row.fetchCursor(db, sql: Self.recordsSQL, arguments: [batchId])
                while let r = try rows.next() {
                    out += Self.csvLine([String(batchId), r["source"], r["name"], r["fingerprint"], (r["record_index"] as Int64?).map(String.init),
                                    (r["line"] as Int64?).map(String.init), r["kind"], r["record_key"], r["outcome"], r["reason"], r["message"], r["mapping_hash"]])
                    try drain()
                }
            case .json:
                func q(_ s: String?) -> String { s.map { JSONValue.string($0).jsonText() } ?? "null" }
                out += "{\n  \"schema\": \"dppsync.reconciliation/1\",\n  \"batch\": \(batchId),\n"
                out += "  \"status\": \(q(batch["status"])),\n  \"startedAt\": \(q(batch["started_at"])),\n  \"finishedAt\": \(q(batch["finished_at"])),\n"
                let counts = try Row.fetchAll(db, sql: "SELECT outcome, reason, COUNT(*) AS n FROM record_outcome WHERE batch_id = ? GROUP BY outcome, reason ORDER BY outcome, reason", arguments: [batchId])
                out += "  \"counts\": [" + counts.map { "{\"outcome\": \(q($0["outcome"])), \"reason\": \(q($0["reason"])), \"records\": \($0["n"] as Int64)}" }.joined(separator: ", ") + "],\n"
                let files = try Row.fetchAll(db, sql: "SELECT source, name, fingerprint, disposition, reason, message, mapping_name, mapping_hash, record_count FROM input_file WHERE batch_id = ? ORDER BY id", arguments: [batchId])
                out += "  \"files\": [\n" + files.map { f in
                    "    {\"source\": \(q(f["source"])), \"file\": \(q(f["name"])), \"fingerprint\": \(q(f["fingerprint"])), \"disposition\": \(q(f["disposition"])), \"reason\": \(q(f["reason"])), \"message\": \(q(f["message"])), \"mapping\": \(q(f["mapping_name"])), \"mappingHash\": \(q(f["mapping_hash"])), \"records\": \(f["record_count"] as Int64)}"
                }.joined(separator: ",\n") + "\n  ],\n  \"records\": [\n"
                let rows = try Row.fetchCursor(db, sql: Self.recordsSQL, arguments: [batchId])
                var first = true
                while let r = try rows.next() {
                    out += (first ? "" : ",\n") + "    {\"source\": \(q(r["source"])), \"file\": \(q(r["name"])), \"index\": \(r["record_index"] as Int64), \"line\": \((r["line"] as Int64?).map(String.init) ?? "null"), \"kind\": \(q(r["kind"])), \"key\": \(q(r["record_key"])), \"outcome\": \(q(r["outcome"])), \"reason\": \(q(r["reason"])), \"message\": \(q(r["message"])), \"mappingHash\": \(q(r["mapping_hash"]))}"
                    first = false
                    try drain()
                }
                out += "\n  ]\n}\n"
            }
            try drain(force: true)
        }
    }

    private func renderHTML(batchId: Int64, batch: Row, db: Database) throws -> String {
        let counts = try Row.fetchAll(db, sql: "SELECT outcome, reason, COUNT(*) AS n FROM record_outcome WHERE batch_id = ? GROUP BY outcome, reason ORDER BY outcome, reason", arguments: [batchId])
        var perOutcome: [String: Int] = [:]
        for row in counts { perOutcome[row["outcome"], default: 0] += row["n"] as Int }
        let files = try Row.fetchAll(db, sql: "SELECT source, name, fingerprint, disposition, reason, message, mapping_name, mapping_hash, record_count FROM input_file WHERE batch_id = ? ORDER BY id", arguments: [batchId])
        let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM record_outcome WHERE batch_id = ? AND NOT (outcome = 'applied' AND reason IS NULL)", arguments: [batchId]) ?? 0
        let records = try Row.fetchAll(db, sql: """
            SELECT o.record_index, o.line, o.kind, o.record_key, o.outcome, o.reason, o.message, f.source, f.name
            FROM record_outcome o JOIN input_file f ON f.id = o.file_id
            WHERE o.batch_id = ? AND NOT (o.outcome = 'applied' AND o.reason IS NULL)
            ORDER BY CASE o.outcome WHEN 'rejected' THEN 0 WHEN 'held' THEN 1 WHEN 'superseded' THEN 2 ELSE 3 END, o.id LIMIT ?
            """, arguments: [batchId, htmlRecordLimit])
        let context: [String: Any] = [
            "batch": String(batchId), "status": batch["status"] as String, "startedAt": batch["started_at"] as String,
            "finishedAt": (batch["finished_at"] as String?) ?? "",
            "outcomes": Outcome.all.map { ["outcome": $0.rawValue, "count": String(perOutcome[$0.rawValue] ?? 0)] },
            "counts": counts.map { ["outcome": $0["outcome"] as String, "reason": ($0["reason"] as String?) ?? "—", "count": String($0["n"] as Int)] },
            "files": files.map { f -> [String: Any] in
                var file: [String: Any] = [
                    "source": f["source"] as String, "name": f["name"] as String, "disposition": f["disposition"] as String,
                    "reason": (f["reason"] as String?) ?? "", "records": String(f["record_count"] as Int), "mapping": (f["mapping_name"] as String?) ?? "",
                    "mappingHash": String(((f["mapping_hash"] as String?) ?? "").prefix(12)), "fingerprint": String((f["fingerprint"] as String).prefix(16)),
                ]
                // A file-level reason (duplicate, not parseable) comes with its explanation.
                if (f["reason"] as String?) != nil, let message = f["message"] as String? { file["message"] = message }
                return file
            },
            "records": records.map { r -> [String: Any] in [
                "outcome": r["outcome"] as String, "reason": (r["reason"] as String?) ?? "", "kind": (r["kind"] as String?) ?? "",
                "key": (r["record_key"] as String?) ?? "", "source": r["source"] as String, "file": r["name"] as String,
                "index": String(r["record_index"] as Int), "line": (r["line"] as Int?).map(String.init) ?? "", "message": (r["message"] as String?) ?? "",
            ] },
            "truncated": total > records.count, "shown": String(records.count), "total": String(total),
            "csvName": "batch-\(batchId).csv", "jsonName": "batch-\(batchId).json",
        ]
        return try MustacheTemplate(string: ReportTemplates.reconciliationHTML).render(context)
    }

    /// One CSV line (RFC 4180): quoted where needed; a leading `=+-@` is
    /// prefixed with `'` so a spreadsheet never runs a formula from the data.
    static func csvLine(_ fields: [String?]) -> String {
        var line = ""
        line.reserveCapacity(256)
        for (i, field) in fields.enumerated() {
            if i > 0 { line += "," }
            guard let field else { continue }
            var needsQuotes = false
            for byte in field.utf8 where byte == UInt8(ascii: ",") || byte == UInt8(ascii: "\"") || byte == 0x0A || byte == 0x0D {
                needsQuotes = true
                break
            }
            let guarded = field.utf8.first.map { "=+-@".utf8.contains($0) } ?? false
            // Nearly every field is neither quoted nor guarded: appended as it is.
            if !needsQuotes && !guarded { line += field; continue }
            let text = guarded ? "'" + field : field
            line += needsQuotes ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        return line + "\r\n"
    }
}

import Foundation
