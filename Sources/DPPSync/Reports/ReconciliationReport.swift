import GRDB

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

    /// Writes both files for `batchId`; returns their paths.
    @discardableResult
    public func write(batchId: Int64) throws -> (json: String, csv: String) {
        try FileSystem.createDirectory(layout.reconciliationReports)
        let base = layout.reconciliationReports + "/batch-\(batchId)"
        let json = try render(batchId: batchId, format: .json)
        let csv = try render(batchId: batchId, format: .csv)
        try FileSystem.writeAtomically(json, to: base + ".json")
        try FileSystem.writeAtomically(csv, to: base + ".csv")
        return (base + ".json", base + ".csv")
    }

    public enum Format: String, Sendable, CaseIterable { case json, csv }

    static let recordsSQL = """
        SELECT o.record_index, o.line, o.kind, o.record_key, o.outcome, o.reason, o.message, o.mapping_hash, f.source, f.name, f.fingerprint
        FROM record_outcome o JOIN input_file f ON f.id = o.file_id WHERE o.batch_id = ? ORDER BY o.id
        """

    public func render(batchId: Int64, format: Format) throws -> String {
        try store.read { db in
            guard let batch = try Row.fetchOne(db, sql: "SELECT * FROM batch WHERE id = ?", arguments: [batchId]) else {
                throw StoreError(message: "no batch \(batchId)")
            }
            var out = ""
            switch format {
            case .csv:
                out += "batch,source,file,fingerprint,record_index,line,kind,record_key,outcome,reason,message,mapping_hash\r\n"
                let files = try Row.fetchCursor(db, sql: "SELECT source, name, fingerprint, disposition, reason, message, mapping_hash FROM input_file WHERE batch_id = ? AND reason IS NOT NULL ORDER BY id", arguments: [batchId])
                while let f = try files.next() {
                    out += csvLine([String(batchId), f["source"], f["name"], f["fingerprint"], "", "", "file", "", f["disposition"], f["reason"], f["message"], f["mapping_hash"]])
                }
                let rows = try Row.fetchCursor(db, sql: Self.recordsSQL, arguments: [batchId])
                while let r = try rows.next() {
                    out += csvLine([String(batchId), r["source"], r["name"], r["fingerprint"], (r["record_index"] as Int64?).map(String.init),
                                    (r["line"] as Int64?).map(String.init), r["kind"], r["record_key"], r["outcome"], r["reason"], r["message"], r["mapping_hash"]])
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
                }
                out += "\n  ]\n}\n"
            }
            return out
        }
    }

    /// One CSV line (RFC 4180): quoted where needed; a leading `=+-@` is
    /// prefixed with `'` so a spreadsheet never runs a formula from the data.
    func csvLine(_ fields: [String?]) -> String {
        fields.map { field -> String in
            guard var s = field else { return "" }
            if let c = s.first, "=+-@".contains(c) { s = "'" + s }
            if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
                return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            }
            return s
        }.joined(separator: ",") + "\r\n"
    }
}

import Foundation
