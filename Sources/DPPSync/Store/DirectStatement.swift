import GRDB
import GRDBSQLite

/// Runs a statement GRDB prepared (and caches) through the SQLite C API: binding text
/// straight from each string's UTF-8 and stepping once. On the write path of a large
/// file GRDB's generic argument handling cost more than SQLite's own work.
struct DirectStatement {
    let statement: Statement
    private var handle: OpaquePointer { statement.sqliteStatement }

    /// The cached statement for `sql`, reset (a statement GRDB or an earlier error left
    /// mid-way must not keep its old bindings).
    init(_ db: Database, sql: String) throws {
        self.init(prepared: try db.cachedStatement(sql: sql))
    }

    /// A statement already prepared (see `StatementCache`), reset.
    init(prepared: Statement) {
        statement = prepared
        sqlite3_reset(prepared.sqliteStatement)
    }

    /// Binds the row's values of `columns` in order, executes, and resets the statement.
    func execute(_ columns: [String], of row: RowImage, in db: Database) throws {
        try bindInPlace(from: 0, count: columns.count, firstParameter: 1, { i in row.values.value(of: columns[i], expectedAt: i) ?? nil }) { try step(db) }
    }

    /// Binds `values`, then reads the first row's columns as text, or `nil` when there is none.
    func firstRow(_ values: [String], columns count: Int, in db: Database) throws -> [String?]? {
        try bindInPlace(from: 0, count: values.count, firstParameter: 1, { values[$0] }) {
            defer { sqlite3_reset(handle) }
            let code = sqlite3_step(handle)
            if code == SQLITE_DONE { return nil }
            guard code == SQLITE_ROW else { throw error(code, db) }
            return currentRow(columns: count)
        }
    }

    /// Binds `texts` to the parameters from `first` on (those before it are bound already),
    /// executes, resets the statement and clears its bindings.
    func step(texts: [String?], from first: Int32, in db: Database) throws {
        try bindInPlace(from: 0, count: texts.count, firstParameter: first, { texts[$0] }) { try step(db) }
    }

    /// Binds `bytes` without copying them, runs `body` (which steps the statement), then clears the bindings.
    func withBlob<R>(_ bytes: [UInt8], at index: Int32, _ body: () throws -> R) throws -> R {
        guard !bytes.isEmpty else {
            try bind(bytes, at: index)
            return try body()
        }
        return try bytes.withUnsafeBytes { buffer in
            try check(sqlite3_bind_blob(handle, index, buffer.baseAddress, Int32(buffer.count), Self.static))
            defer { sqlite3_clear_bindings(handle) }
            return try body()
        }
    }

    /// Binds parameter `firstParameter + i` to `value(i)` for `i` in `index..<count`, without
    /// copying the text, runs `body`, and clears the bindings. SQLite reads a string's bytes
    /// where Swift keeps them (`SQLITE_STATIC`): each `withUTF8` encloses the binding of the next
    /// parameter and `body`, so every pointer stays valid until the statement has run. Copying
    /// each text into SQLite (`SQLITE_TRANSIENT`) had cost a `malloc`, a copy and a `free` per value.
    private func bindInPlace<R>(from index: Int, count: Int, firstParameter: Int32, _ value: (Int) -> String?,
                                _ body: () throws -> R) throws -> R {
        if index == count {
            defer { sqlite3_clear_bindings(handle) }
            return try body()
        }
        let parameter = firstParameter + Int32(index)
        let current = value(index)
        guard var text = current, !text.isEmpty else {
            // NULL, or an empty text (an empty buffer may have no address; SQLite would take that for NULL).
            try bind(current, at: parameter)
            return try bindInPlace(from: index + 1, count: count, firstParameter: firstParameter, value, body)
        }
        return try text.withUTF8 { bytes in
            try check(bytes.withMemoryRebound(to: CChar.self) {
                sqlite3_bind_text(handle, parameter, $0.baseAddress, Int32($0.count), Self.static)
            })
            return try bindInPlace(from: index + 1, count: count, firstParameter: firstParameter, value, body)
        }
    }

    /// Binds `values`, then hands every row's columns, as text, to `body`.
    func forEachRow(_ values: [String], columns count: Int, in db: Database, _ body: ([String?]) throws -> Void) throws {
        defer { sqlite3_reset(handle) }
        for (i, value) in values.enumerated() { try bind(value, at: Int32(i + 1)) }
        try eachRow(in: db) { _ in try body(currentRow(columns: count)) }
    }

    /// Binds `values`, then hands every row to `body`, which reads it in place: no
    /// string is made of a column that is only copied on (a report's records).
    func forEachRawRow(_ values: [Int64], in db: Database, _ body: (RawRow) throws -> Void) throws {
        defer { sqlite3_reset(handle) }
        for (i, value) in values.enumerated() { try bind(value, at: Int32(i + 1)) }
        try eachRow(in: db, body)
    }

    /// Steps through the rows (the caller resets the statement).
    private func eachRow(in db: Database, _ body: (RawRow) throws -> Void) throws {
        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else { throw error(code, db) }
            try body(RawRow(handle: handle))
        }
    }

    private func currentRow(columns count: Int) -> [String?] {
        (0..<Int32(count)).map { column in
            guard sqlite3_column_type(handle, column) != SQLITE_NULL, let text = sqlite3_column_text(handle, column) else { return nil }
            return String(decoding: UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(handle, column))), as: UTF8.self)
        }
    }

    func bind(_ value: String?, at index: Int32) throws {
        guard var value else { return try check(sqlite3_bind_null(handle, index)) }
        let code = value.withUTF8 { bytes in
            // An empty buffer may have no address; SQLite would take that for NULL.
            bytes.isEmpty
                ? sqlite3_bind_text(handle, index, "", 0, Self.transient)
                : bytes.withMemoryRebound(to: CChar.self) { sqlite3_bind_text(handle, index, $0.baseAddress, Int32($0.count), Self.transient) }
        }
        try check(code)
    }

    func bind(_ value: Int64?, at index: Int32) throws {
        try check(value.map { sqlite3_bind_int64(handle, index, $0) } ?? sqlite3_bind_null(handle, index))
    }

    func bind(_ bytes: [UInt8], at index: Int32) throws {
        try check(bytes.withUnsafeBytes { sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), Self.transient) })
    }

    private func check(_ code: Int32) throws {
        guard code == SQLITE_OK else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "binding a parameter failed", sql: statement.sql)
        }
    }

    /// Executes with the values bound so far, and resets the statement for its next use.
    func step(_ db: Database) throws {
        defer { sqlite3_reset(handle) }
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE else { throw error(code, db) }
    }

    private func error(_ code: Int32, _ db: Database) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) },
                      sql: statement.sql)
    }

    /// `SQLITE_TRANSIENT`: SQLite copies the bytes before the call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
    /// `SQLITE_STATIC`: SQLite reads the bytes where they are, until the binding changes.
    private static let `static`: sqlite3_destructor_type? = nil
}

/// The row a statement stands on, its columns read by position. Valid only inside the
/// call that hands it over: the text is SQLite's own buffer, until the next step.
struct RawRow {
    fileprivate let handle: OpaquePointer

    func int64(_ column: Int32) -> Int64? {
        sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, column)
    }

    /// The column's UTF-8 text, or `nil` for NULL.
    func text(_ column: Int32) -> UnsafeBufferPointer<UInt8>? {
        guard sqlite3_column_type(handle, column) != SQLITE_NULL, let text = sqlite3_column_text(handle, column) else { return nil }
        return UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(handle, column)))
    }
}

/// The hot path's statements of one connection, found by a small key instead of
/// their SQL text. GRDB's statement cache hashes the whole text on every use, some
/// fifteen times per work order (1.6 % of a large file's instructions, measured with
/// callgrind). A miss falls back to GRDB's cache.
final class StatementCache {
    let db: Database
    /// The first statements asked for, found by a scan of their keys: a dozen serve a file's
    /// every row, and comparing a few keys costs less than hashing one (a lookup per row
    /// written). Any further ones (a replay's many partial images) are found by hashing.
    private var firstKeys: [Key] = []
    private var firstStatements: [Statement] = []
    private var statements: [Key: Statement] = [:]
    private static let scanned = 24

    /// What a statement does: a kind of the caller's, the table it works on, and the
    /// columns it binds (a partial upsert sets a subset of its table's columns).
    struct Key: Hashable {
        var kind: Int
        var table: ObjectIdentifier?
        var columns: UInt64 = 0
    }

    init(_ db: Database) { self.db = db }

    /// The statement for `key`, prepared from `sql` the first time.
    func statement(_ key: Key, sql: () -> String) throws -> DirectStatement {
        if let index = firstKeys.firstIndex(of: key) { return DirectStatement(prepared: firstStatements[index]) }
        if let statement = statements[key] { return DirectStatement(prepared: statement) }
        let statement = try db.cachedStatement(sql: sql())
        if firstKeys.count < Self.scanned {
            firstKeys.append(key)
            firstStatements.append(statement)
        } else {
            statements[key] = statement
        }
        return DirectStatement(prepared: statement)
    }
}
