import Foundation

/// A JSON document streamed from its file: the elements of the records array
/// (`$` for a top-level array, or one member such as `assets`) are handed on one
/// at a time, so a registry of hundreds of thousands of components never sits in
/// memory whole. Two passes: the first collects the other members (the `context:`
/// values may come before or after the array), the second streams the records.
struct StreamingJSONDocumentSource: RecordSource {
    let path: String
    /// `nil` for a top-level array; else the member holding the records.
    let member: String?

    /// The streamable shapes of a records path: `$`, `$[*]`, `member`, `member[*]`.
    static func member(of path: RecordPath) -> String?? {
        var steps = path.steps
        if steps.last == .each { steps.removeLast() }
        switch steps.count {
        case 0: return .some(nil)
        case 1: if case .member(let name) = steps[0] { return .some(name) } else { return nil }
        default: return nil
        }
    }

    func forEach(context: (any RecordAccessor) throws -> Void, record: (RecordItem) throws -> Void) throws {
        // Pass 1: the document's other members.
        var members: [(String, JSONValue)] = []
        var reader = try ChunkReader(path: path)
        if let member {
            // A list where the mapping looks for a member of an object: its records: path is the question.
            if try reader.peekNonSpace() == UInt8(ascii: "[") {
                throw DecodeError(message: RecordDecoder.noRecords(at: member, members: nil, isList: true), line: 1)
            }
            try reader.expect(UInt8(ascii: "{"))
            var found = false
            try reader.members { key, reader in
                if key == member {
                    found = true
                    _ = try reader.value(capture: false)
                } else {
                    members.append((key, try reader.parsedValue()))
                }
            }
            guard found else { throw DecodeError(message: RecordDecoder.noRecords(at: member, members: members.map(\.0))) }
        }
        let document = JSONValue.object(members)
        try context(JSONRecordAccessor(document))

        // Pass 2: the records, one at a time.
        var stream = try ChunkReader(path: path)
        var index = 0
        func elements(of reader: inout ChunkReader) throws {
            try reader.elements { reader in
                _ = try reader.peekNonSpace()
                let line = reader.line
                let value = try reader.parsedValue()
                let position = RecordPosition(index: index, line: line)
                index += 1
                try record(RecordItem(accessor: JSONRecordAccessor(value), position: position, failure: nil) {
                    let wrapped: JSONValue = member.map { .object(members + [($0, .array([value]))]) } ?? .array([value])
                    return wrapped.jsonText(pretty: true) + "\n"
                })
            }
        }
        if let member {
            try stream.expect(UInt8(ascii: "{"))
            try stream.members { key, reader in
                if key == member {
                    if try reader.peekNonSpace() == UInt8(ascii: "[") {
                        try elements(of: &reader)
                    } else {
                        // A single object is one record.
                        _ = try reader.peekNonSpace()
                        let line = reader.line
                        let value = try reader.parsedValue()
                        try record(RecordItem(accessor: JSONRecordAccessor(value), position: RecordPosition(index: 0, line: line), failure: nil) {
                            JSONValue.object(members + [(member, value)]).jsonText(pretty: true) + "\n"
                        })
                    }
                } else {
                    _ = try reader.value(capture: false)
                }
            }
        } else {
            try elements(of: &stream)
        }
        try stream.expectEnd()
    }
}

/// Reads a JSON text from a file in 1 MiB chunks, value by value, keeping the
/// line number; captured values are parsed by `JSONParser`.
struct ChunkReader {
    private let stream: InputStream
    private var buffer: [UInt8] = []
    private var position = 0
    private(set) var line = 1
    private let path: String
    private var atEnd = false

    init(path: String) throws {
        guard let stream = InputStream(fileAtPath: path) else { throw DecodeError(message: "cannot read \(path)") }
        stream.open()
        self.stream = stream
        self.path = path
        try refill()
        if buffer.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
    }

    private mutating func refill() throws {
        if atEnd { return }
        if position > 0 { buffer.removeFirst(position); position = 0 }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        let n = stream.read(&chunk, maxLength: chunk.count)
        if n < 0 { throw DecodeError(message: "cannot read \(path)") }
        buffer.append(contentsOf: chunk[0..<n])
        if n == 0 { atEnd = true; stream.close() }
    }

    private mutating func peek() throws -> UInt8? {
        if position >= buffer.count { try refill() }
        return position < buffer.count ? buffer[position] : nil
    }

    private mutating func next() throws -> UInt8? {
        guard let b = try peek() else { return nil }
        position += 1
        if b == 0x0A { line += 1 }
        return b
    }

    func fail(_ message: String) -> DecodeError { DecodeError(message: "not valid JSON: \(message)", line: line) }

    mutating func peekNonSpace() throws -> UInt8? {
        while let b = try peek(), b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { _ = try next() }
        return try peek()
    }

    mutating func expect(_ byte: UInt8) throws {
        guard try peekNonSpace() == byte, try next() == byte else { throw fail("expected '\(Character(Unicode.Scalar(byte)))'") }
    }

    mutating func expectEnd() throws {
        if try peekNonSpace() != nil { throw fail("unexpected content after the JSON value") }
    }

    /// The members of an object whose `{` was consumed; `body` must consume each value.
    mutating func members(_ body: (String, inout ChunkReader) throws -> Void) throws {
        if try peekNonSpace() == UInt8(ascii: "}") { _ = try next(); return }
        while true {
            guard try peekNonSpace() == UInt8(ascii: "\"") else { throw fail("expected a member name in double quotes") }
            // A bad name (an unknown escape, a raw control character, bytes that are not UTF-8)
            // is the file's fault, with its line, like a bad value: never the parser's error,
            // which nothing turns into a quarantine.
            guard case .string(let key) = try parsedValue() else { throw fail("invalid member name") }
            try expect(UInt8(ascii: ":"))
            try body(key, &self)
            switch try peekNonSpace() {
            case UInt8(ascii: ",")?: _ = try next()
            case UInt8(ascii: "}")?: _ = try next(); return
            default: throw fail("expected ',' or '}' in object")
            }
        }
    }

    /// The elements of an array (its `[` not yet consumed); `body` must consume each element.
    mutating func elements(_ body: (inout ChunkReader) throws -> Void) throws {
        try expect(UInt8(ascii: "["))
        if try peekNonSpace() == UInt8(ascii: "]") { _ = try next(); return }
        while true {
            try body(&self)
            switch try peekNonSpace() {
            case UInt8(ascii: ",")?: _ = try next()
            case UInt8(ascii: "]")?: _ = try next(); return
            default: throw fail("expected ',' or ']' in array")
            }
        }
    }

    /// The next value, parsed (with its line in errors).
    mutating func parsedValue() throws -> JSONValue {
        _ = try peekNonSpace()
        let line = self.line
        let bytes = try value(capture: true)
        do {
            return try JSONParser.parseDocument(bytes)
        } catch {
            throw DecodeError(message: "not valid JSON: \(error.message)", line: line + error.position.line - 1, column: error.position.column)
        }
    }

    /// Consumes one value, returning its bytes when `capture` is set. Strings and
    /// nesting are tracked exactly; full validation is the parser's job.
    mutating func value(capture: Bool) throws -> [UInt8] {
        var out: [UInt8] = []
        guard let first = try peekNonSpace() else { throw fail("unexpected end of input") }
        var depth = 0
        var inString = false
        var escaped = false
        repeat {
            guard let b = try next() else { throw fail("unexpected end of input") }
            if capture { out.append(b) }
            if inString {
                if escaped { escaped = false } else if b == 0x5C { escaped = true } else if b == 0x22 { inString = false; if depth == 0 { return out } }
                continue
            }
            switch b {
            case 0x22: inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth < 0 { throw fail("unbalanced '\(Character(Unicode.Scalar(b)))'") }
                if depth == 0 { return out }
            default:
                if depth == 0, first != 0x22, let n = try peek(),
                   n == UInt8(ascii: ",") || n == UInt8(ascii: "}") || n == UInt8(ascii: "]") || n == 0x20 || n == 0x0A || n == 0x0D || n == 0x09 {
                    return out
                }
            }
        } while true
    }
}
