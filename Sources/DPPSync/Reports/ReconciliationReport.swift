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
    /// The CSV and the JSON are written in one pass over the batch's records.
    @discardableResult
    public func write(batchId: Int64) throws -> String {
        try FileSystem.createDirectory(layout.reconciliationReports)
        let base = layout.reconciliationReports + "/batch-\(batchId)"
        let json = try AtomicFileWriter(path: base + "." + Format.json.rawValue)
        let csv = try AtomicFileWriter(path: base + "." + Format.csv.rawValue)
        try stream(batchId: batchId, csv: { try csv.write($0) }, json: { try json.write($0) })
        try json.commit()
        try csv.commit()
        let html = try AtomicFileWriter(path: base + "." + Format.html.rawValue)
        try html.write(try renderHTML(batchId: batchId))
        try html.commit()
        try store.write { db in try db.execute(sql: "UPDATE batch SET reported = 1 WHERE id = ?", arguments: [batchId]) }
        return base
    }

    public enum Format: String, Sendable, CaseIterable { case json, csv, html }

    /// Read by position (`RecordColumn`): a report reads every record of its batch.
    static let recordsSQL = """
        SELECT o.record_index, o.line, o.kind, o.record_key, o.outcome, o.reason, o.message, o.mapping_hash, f.source, f.name, f.fingerprint
        FROM record_outcome o JOIN input_file f ON f.id = o.file_id WHERE o.batch_id = ? ORDER BY o.id
        """

    private enum RecordColumn {
        static let index: Int32 = 0, line: Int32 = 1, kind: Int32 = 2, key: Int32 = 3, outcome: Int32 = 4, reason: Int32 = 5,
                   message: Int32 = 6, mappingHash: Int32 = 7, source: Int32 = 8, file: Int32 = 9, fingerprint: Int32 = 10
    }

    /// The report as one string (tests, small batches).
    public func render(batchId: Int64, format: Format) throws -> String {
        var out = ""
        try render(batchId: batchId, format: format) { out += $0 }
        return out
    }

    /// Streams the report to `sink` row by row from the store: memory stays flat at any batch size.
    public func render(batchId: Int64, format: Format, into sink: (String) throws -> Void) throws {
        if format == .html {
            return try sink(try renderHTML(batchId: batchId))
        }
        try withoutActuallyEscaping(sink) { sink in
            let text: ([UInt8]) throws -> Void = { try sink(String(decoding: $0, as: UTF8.self)) }
            try stream(batchId: batchId, csv: format == .csv ? text : nil, json: format == .json ? text : nil)
        }
    }

    private func renderHTML(batchId: Int64) throws -> String {
        try store.read { db in try renderHTML(batchId: batchId, batch: try Self.batch(batchId, db), db: db) }
    }

    private static func batch(_ id: Int64, _ db: Database) throws -> Row {
        guard let batch = try Row.fetchOne(db, sql: "SELECT * FROM batch WHERE id = ?", arguments: [id]) else {
            throw StoreError(message: "no batch \(id)")
        }
        return batch
    }

    /// Streams the CSV and/or the JSON report in one read of the batch's records, each to
    /// its sink in pieces of about 64 KB. Records are written from SQLite's bytes as they
    /// are (a report of 100,000 records had spent a second building strings per column).
    private func stream(batchId: Int64, csv: (([UInt8]) throws -> Void)?, json: (([UInt8]) throws -> Void)?) throws {
        try store.read { db in
            let batch = try Self.batch(batchId, db)
            var csvOut: [UInt8] = [], jsonOut: [UInt8] = []
            if csv != nil {
                csvOut += "batch,source,file,fingerprint,record_index,line,kind,record_key,outcome,reason,message,mapping_hash\r\n".utf8
                let files = try Row.fetchCursor(db, sql: "SELECT source, name, fingerprint, disposition, reason, message, mapping_hash FROM input_file WHERE batch_id = ? AND reason IS NOT NULL ORDER BY id", arguments: [batchId])
                while let f = try files.next() {
                    csvOut += Self.csvLine([String(batchId), f["source"], f["name"], f["fingerprint"], "", "", "file", "", f["disposition"], f["reason"], f["message"], f["mapping_hash"]]).utf8
                }
            }
            if json != nil {
                func q(_ s: String?) -> String { s.map { JSONValue.string($0).jsonText() } ?? "null" }
                var head = "{\n  \"schema\": \"dppsync.reconciliation/1\",\n  \"batch\": \(batchId),\n"
                head += "  \"status\": \(q(batch["status"])),\n  \"startedAt\": \(q(batch["started_at"])),\n  \"finishedAt\": \(q(batch["finished_at"])),\n"
                let counts = try Row.fetchAll(db, sql: "SELECT outcome, reason, COUNT(*) AS n FROM record_outcome WHERE batch_id = ? GROUP BY outcome, reason ORDER BY outcome, reason", arguments: [batchId])
                head += "  \"counts\": [" + counts.map { "{\"outcome\": \(q($0["outcome"])), \"reason\": \(q($0["reason"])), \"records\": \($0["n"] as Int64)}" }.joined(separator: ", ") + "],\n"
                let files = try Row.fetchAll(db, sql: "SELECT source, name, fingerprint, disposition, reason, message, mapping_name, mapping_hash, record_count FROM input_file WHERE batch_id = ? ORDER BY id", arguments: [batchId])
                head += "  \"files\": [" + (files.isEmpty ? "" : "\n") + files.map { f in
                    "    {\"source\": \(q(f["source"])), \"file\": \(q(f["name"])), \"fingerprint\": \(q(f["fingerprint"])), \"disposition\": \(q(f["disposition"])), \"reason\": \(q(f["reason"])), \"message\": \(q(f["message"])), \"mapping\": \(q(f["mapping_name"])), \"mappingHash\": \(q(f["mapping_hash"])), \"records\": \(f["record_count"] as Int64)}"
                }.joined(separator: ",\n") + (files.isEmpty ? "" : "\n  ") + "],\n  \"records\": [\n"
                jsonOut += head.utf8
            }
            let batchText = Array(String(batchId).utf8)
            var first = true
            try DirectStatement(db, sql: Self.recordsSQL).forEachRawRow([batchId], in: db) { row in
                if csv != nil { Self.appendCSV(row, batch: batchText, to: &csvOut) }
                if json != nil {
                    if !first { jsonOut += ",\n".utf8 }
                    Self.appendJSON(row, to: &jsonOut)
                }
                first = false
                if let csv, csvOut.count >= 1 << 16 { try csv(csvOut); csvOut.removeAll(keepingCapacity: true) }
                if let json, jsonOut.count >= 1 << 16 { try json(jsonOut); jsonOut.removeAll(keepingCapacity: true) }
            }
            try csv?(csvOut)
            try json?(jsonOut + "\n  ]\n}\n".utf8)
        }
    }

    /// A record's CSV line (the columns of the header, in its order).
    private static func appendCSV(_ row: RawRow, batch: [UInt8], to out: inout [UInt8]) {
        out += batch
        for column in [RecordColumn.source, RecordColumn.file, RecordColumn.fingerprint] {
            out.append(UInt8(ascii: ","))
            appendCSVField(row.text(column), to: &out)
        }
        for column in [RecordColumn.index, RecordColumn.line] {
            out.append(UInt8(ascii: ","))
            if let number = row.int64(column) { out += String(number).utf8 }
        }
        for column in [RecordColumn.kind, RecordColumn.key, RecordColumn.outcome, RecordColumn.reason, RecordColumn.message, RecordColumn.mappingHash] {
            out.append(UInt8(ascii: ","))
            appendCSVField(row.text(column), to: &out)
        }
        out += [0x0D, 0x0A]
    }

    /// A record's JSON object, on a line of its own.
    private static func appendJSON(_ row: RawRow, to out: inout [UInt8]) {
        func member(_ prefix: StaticString, _ column: Int32) {
            out.append(literal: prefix)
            if let text = row.text(column) { JSONValue.appendQuoted(utf8: text, to: &out) } else { out.append(literal: "null") }
        }
        member(#"    {"source": "#, RecordColumn.source)
        member(#", "file": "#, RecordColumn.file)
        out.append(literal: #", "index": "#)
        out += String(row.int64(RecordColumn.index) ?? 0).utf8
        out.append(literal: #", "line": "#)
        if let line = row.int64(RecordColumn.line) { out += String(line).utf8 } else { out.append(literal: "null") }
        member(#", "kind": "#, RecordColumn.kind)
        member(#", "key": "#, RecordColumn.key)
        member(#", "outcome": "#, RecordColumn.outcome)
        member(#", "reason": "#, RecordColumn.reason)
        member(#", "message": "#, RecordColumn.message)
        member(#", "mappingHash": "#, RecordColumn.mappingHash)
        out.append(UInt8(ascii: "}"))
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
            ORDER BY CASE o.outcome WHEN 'rejected' THEN 0 WHEN 'held' THEN 1 WHEN 'superseded' THEN 2 WHEN 'applied' THEN 3
                                    WHEN 'duplicate' THEN 4 ELSE 5 END, o.id LIMIT ?
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

    /// One CSV line (RFC 4180): quoted where needed; a leading `=+-@`, tab or CR is
    /// prefixed with `'` so a spreadsheet never runs a formula from the data.
    static func csvLine(_ fields: [String?]) -> String {
        var line: [UInt8] = []
        line.reserveCapacity(256)
        for (i, field) in fields.enumerated() {
            if i > 0 { line.append(UInt8(ascii: ",")) }
            guard var field else { continue }
            field.withUTF8 { appendCSVField($0, to: &line) }
        }
        line += [0x0D, 0x0A]
        return String(decoding: line, as: UTF8.self)
    }

    /// One CSV field, from its UTF-8 bytes; nothing for `nil` (an empty field).
    static func appendCSVField(_ field: UnsafeBufferPointer<UInt8>?, to line: inout [UInt8]) {
        guard let field else { return }
        let quote = UInt8(ascii: "\"")
        let needsQuotes = field.contains { (byte: UInt8) -> Bool in byte == 0x2C || byte == 0x22 || byte == 0x0A || byte == 0x0D }
        // OWASP's list: a tab or carriage return first makes some spreadsheets read what follows as a formula.
        let guarded = field.first.map { (byte: UInt8) -> Bool in byte == 0x3D || byte == 0x2B || byte == 0x2D || byte == 0x40 || byte == 0x09 || byte == 0x0D } ?? false
        // Nearly every field is neither quoted nor guarded: appended as it is.
        if !needsQuotes && !guarded { line.append(contentsOf: field); return }
        if needsQuotes { line.append(quote) }
        if guarded { line.append(UInt8(ascii: "'")) }
        for byte in field {
            if byte == quote, needsQuotes { line.append(quote) }
            line.append(byte)
        }
        if needsQuotes { line.append(quote) }
    }
}

import Foundation
