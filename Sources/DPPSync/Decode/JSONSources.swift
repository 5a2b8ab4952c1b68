import Foundation
import Yams

/// A JSON document whose records are at a path: an object is one record, an array many.
struct JSONDocumentSource: RecordSource {
    let document: JSONValue
    let records: RecordPath

    init(utf8: [UInt8], records: RecordPath) throws(DecodeError) {
        do {
            document = try JSONParser.parseDocument(utf8)
        } catch {
            throw DecodeError(message: "not valid JSON: \(error.message)", line: error.position.line, column: error.position.column)
        }
        self.records = records
    }

    init(document: JSONValue, records: RecordPath) { self.document = document; self.records = records }

    func forEach(context: (any RecordAccessor) throws -> Void, record: (RecordItem) throws -> Void) throws {
        try context(JSONRecordAccessor(document))
        guard let found = records.value(in: document) else {
            guard case .object(let members) = document else {
                let isList = if case .array = document { true } else { false }
                throw DecodeError(message: RecordDecoder.noRecords(at: "\(records)", members: nil, isList: isList))
            }
            throw DecodeError(message: RecordDecoder.noRecords(at: "\(records)", members: members.map(\.0)))
        }
        let isArray: Bool
        let values: [JSONValue]
        if case .array(let elements) = found { values = elements; isArray = true } else { values = [found]; isArray = false }
        for (index, value) in values.enumerated() {
            // The extract keeps the document around the one record, so context values travel with it.
            try record(RecordItem(accessor: JSONRecordAccessor(value), position: RecordPosition(index: index), failure: nil) {
                records.replacing(in: document, with: isArray ? .array([value]) : value).jsonText(pretty: true) + "\n"
            })
        }
    }
}

/// One JSON value per line: a broken line is a broken record, not a broken file.
/// A file is read in chunks, so memory stays bounded by the longest line.
struct JSONLinesSource: RecordSource {
    let input: RecordInput
    let encoding: String?

    init(input: RecordInput, encoding: String?) { self.input = input; self.encoding = encoding }

    func forEach(context: (any RecordAccessor) throws -> Void, record: (RecordItem) throws -> Void) throws {
        try context(JSONRecordAccessor(.object([])))
        var line = 1
        var index = 0
        func handle(_ slice: ArraySlice<UInt8>) throws {
            defer { line += 1 }
            guard !slice.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) else { return }
            let bytes = Array(slice)
            let text = String(decoding: bytes, as: UTF8.self) + "\n"
            let position = RecordPosition(index: index, line: line)
            index += 1
            do {
                let value = try JSONParser.parseDocument(bytes)
                try record(RecordItem(accessor: JSONRecordAccessor(value), position: position, failure: nil) { text })
            } catch let error as JSONParseError {
                try record(RecordItem(accessor: nil, position: position,
                                      failure: "line \(line) is not valid JSON: \(error.message) at column \(error.position.column)") { text })
            }
        }
        func handleAll(_ raw: [UInt8]) throws {
            let utf8 = try TextEncoding.utf8(raw, declared: encoding)
            var start = utf8.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
            while start < utf8.count {
                let end = utf8[start...].firstIndex(of: 0x0A) ?? utf8.count
                try handle(utf8[start..<end])
                start = end + 1
            }
        }
        switch input {
        case .bytes(let raw):
            try handleAll(raw)
        case .file(let path):
            guard let stream = InputStream(fileAtPath: path) else { throw DecodeError(message: "cannot read \(path)") }
            stream.open()
            defer { stream.close() }
            var pending: [UInt8] = []
            // `pending` before this holds no line's end: a long line is searched once, not again
            // from its start after every chunk (a minified array in a .jsonl had taken quadratic time).
            var searched = 0
            var chunk = [UInt8](repeating: 0, count: 1 << 20)
            var first = true
            while true {
                let n = stream.read(&chunk, maxLength: chunk.count)
                if n < 0 { throw DecodeError(message: "cannot read \(path): \(stream.streamError.map { "\($0)" } ?? "read error")") }
                if n == 0 { break }
                pending.append(contentsOf: chunk[0..<n])
                if first {
                    first = false
                    // UTF-16 or a declared 8-bit encoding: convert the whole file (rare for JSON Lines).
                    if pending.starts(with: [0xFF, 0xFE]) || pending.starts(with: [0xFE, 0xFF]) || (encoding.map { $0.lowercased() != "utf-8" } ?? false) {
                        return try handleAll(try RecordInput.file(path).allBytes())
                    }
                    if pending.starts(with: [0xEF, 0xBB, 0xBF]) { pending.removeFirst(3) }
                }
                var start = 0
                while let end = pending[max(start, searched)...].firstIndex(of: 0x0A) {
                    try handle(pending[start..<end])
                    start = end + 1
                }
                pending.removeFirst(start)
                searched = pending.count
            }
            if !pending.isEmpty { try handle(pending[...]) }
        }
    }
}

/// A YAML document (the maintenance programme), records at a path.
struct YAMLDocumentSource: RecordSource {
    let inner: JSONDocumentSource

    init(utf8: [UInt8], records: RecordPath) throws(DecodeError) {
        guard let text = String(validating: utf8, as: UTF8.self) else { throw DecodeError(message: "not valid UTF-8 text") }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            let problem = YAMLProblem(error)
            throw DecodeError(message: "not valid YAML: \(problem.message)", line: problem.line, column: problem.column)
        }
        // An alias is the node it names, shared until it is turned into values: nested aliases (a
        // "billion laughs" file) would expand into more values than memory holds. A document
        // without aliases has fewer values than bytes, so this budget only stops such expansions.
        var budget = 8 * utf8.count + 10_000
        guard let document = node.map({ $0.jsonValue(budget: &budget) }) ?? .some(.null) else {
            throw DecodeError(message: "not accepted YAML: its aliases expand to more than \(8 * utf8.count + 10_000) values (8 per byte of the file)")
        }
        inner = JSONDocumentSource(document: document, records: records)
    }

    func forEach(context: (any RecordAccessor) throws -> Void, record: (RecordItem) throws -> Void) throws {
        try inner.forEach(context: context, record: record)
    }
}

/// Input text encodings for JSON and YAML: UTF-8 (with or without BOM), UTF-16
/// with a BOM, and ISO-8859-1 / Windows-1252 when the mapping declares them.
enum TextEncoding {
    /// The encodings a JSON or YAML mapping may declare.
    static let declarable = ["utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin1", "latin-1", "windows-1252", "cp1252"]

    /// A byte-order mark wins over the declared encoding (which is for files without one).
    static func utf8(_ bytes: [UInt8], declared: String?) throws(DecodeError) -> [UInt8] {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { return Array(bytes.dropFirst(3)) }
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) {
            let bigEndian = bytes[0] == 0xFE
            guard bytes.count % 2 == 0 else { throw DecodeError(message: "invalid UTF-16 text: an odd number of bytes (the file is cut short)") }
            var units: [UInt16] = []
            units.reserveCapacity(bytes.count / 2)
            var i = 2
            while i + 1 < bytes.count {
                units.append(bigEndian ? UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1]) : UInt16(bytes[i + 1]) << 8 | UInt16(bytes[i]))
                i += 2
            }
            guard let text = String(validating: units, as: UTF16.self) else { throw DecodeError(message: "invalid UTF-16 text") }
            return Array(text.utf8)
        }
        switch declared?.lowercased() {
        case "iso-8859-1", "latin1", "latin-1":
            return Array(String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) })).utf8)
        case "windows-1252", "cp1252":
            guard let text = String(data: Data(bytes), encoding: .windowsCP1252) else { throw DecodeError(message: "invalid Windows-1252 text") }
            return Array(text.utf8)
        default:
            return bytes
        }
    }
}
