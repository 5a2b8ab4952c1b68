import Foundation

/// One record as a decoder hands it on: an accessor valid only during the
/// callback (an XML node is freed once the reader moves on), its position, and
/// a way to make its re-droppable quarantine extract while it is still alive.
public struct RecordItem {
    /// `nil` when the record could not be decoded (a broken JSON Lines line).
    public var accessor: (any RecordAccessor)?
    public var position: RecordPosition
    /// Why the record could not be decoded.
    public var failure: String?
    /// The record alone, wrapped so that it can be corrected and dropped back as it is.
    public var extract: () -> String
}

/// A decoder that streams a file's records: `context` is called once with the
/// file-level values' accessor before the first record, then `record` per record.
public protocol RecordSource {
    func forEach(context: (any RecordAccessor) throws -> Void, record: (RecordItem) throws -> Void) throws
}

/// The whole file could not be decoded: `NOT_PARSEABLE`.
public struct DecodeError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var line: Int?
    public var column: Int?

    public init(message: String, line: Int? = nil, column: Int? = nil) {
        self.message = message; self.line = line; self.column = column
    }

    public var description: String {
        message + (line.map { " (line \($0)" + (column.map { ", column \($0)" } ?? "") + ")" } ?? "")
    }
}

/// Where a decoder reads from: a file on disk (streamed where the format allows,
/// so memory stays bounded by the largest record) or bytes already in memory.
public enum RecordInput: Sendable {
    case file(String)
    case bytes([UInt8])

    /// The whole input in memory (formats that need the whole document).
    func allBytes() throws(DecodeError) -> [UInt8] {
        switch self {
        case .bytes(let bytes): return bytes
        case .file(let path):
            do { return try FileSystem.readBytes(path) } catch { throw DecodeError(message: "\(error)") }
        }
    }
}

/// Picks the record source for a mapping and a file.
public enum RecordDecoder {
    /// A JSON document without records where the mapping's `records:` path looks: the mapping's mistake as
    /// often as the file's (a typo, `asset` for `assets`), so it says which members the document has.
    static func noRecords(at path: String, members: [String]?, isList: Bool = false) -> String {
        let has = isList ? "; the document is a list (records: $ reads its elements)"
            : members.map { $0.isEmpty ? "; the document has no members" : "; the document's members are " + $0.prefix(10).map { "'\($0)'" }.joined(separator: ", ") } ?? ""
        return "no records at '\(path)', the mapping's records: path\(has) (is the path wrong, or the file another export?)"
    }

    private static func prefix(_ path: String, _ count: Int = 4096) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        return [UInt8]((try? handle.read(upToCount: count)) ?? Data())
    }

    static func startsUTF16(_ path: String) -> Bool {
        let head = prefix(path, 2)
        return head == [0xFF, 0xFE] || head == [0xFE, 0xFF]
    }

    /// `true` when the document is an array (a single object at `$` is one record: parsed whole).
    static func startsWithArray(_ path: String) -> Bool {
        prefix(path).first { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D && $0 != 0xEF && $0 != 0xBB && $0 != 0xBF } == UInt8(ascii: "[")
    }

    public static func source(for bytes: [UInt8], fileName: String, mapping: Mapping) throws(DecodeError) -> any RecordSource {
        try source(for: .bytes(bytes), fileName: fileName, mapping: mapping)
    }

    public static func source(for input: RecordInput, fileName: String, mapping: Mapping) throws(DecodeError) -> any RecordSource {
        let ext = fileName.split(separator: ".").last.map { $0.lowercased() } ?? ""
        switch mapping.format {
        case .xml:
            return XMLRecordSource(input: input, mapping: mapping)
        case .jsonl:
            return JSONLinesSource(input: input, encoding: mapping.encoding)
        case .json where ext == "jsonl" || ext == "ndjson":
            return JSONLinesSource(input: input, encoding: mapping.encoding)
        case .json:
            // A file in UTF-8 whose records are an array at the top or in one member is streamed.
            if case .file(let path) = input, mapping.encoding.map({ $0.lowercased() == "utf-8" }) ?? true,
               let member = StreamingJSONDocumentSource.member(of: mapping.recordsPath), !Self.startsUTF16(path) {
                if member != nil || Self.startsWithArray(path) { return StreamingJSONDocumentSource(path: path, member: member) }
            }
            return try JSONDocumentSource(utf8: TextEncoding.utf8(input.allBytes(), declared: mapping.encoding), records: mapping.recordsPath)
        case .yaml:
            return try YAMLDocumentSource(utf8: TextEncoding.utf8(input.allBytes(), declared: mapping.encoding), records: mapping.recordsPath)
        }
    }
}
