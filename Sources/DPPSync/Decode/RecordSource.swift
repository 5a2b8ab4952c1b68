/// One record as decoded from an input file, before mapping.
public struct DecodedRecord: Sendable {
    public var value: JSONValue
    public var position: RecordPosition
    /// The record's own text, for a re-droppable quarantine extract.
    public var extract: String
}

/// A record that could not even be decoded (a broken JSON Lines line).
public struct UndecodableRecord: Sendable {
    public var position: RecordPosition
    public var error: JSONParseError
    public var extract: String
}

/// A decoded input file: its file-level document (for `context:`) and its records.
public struct DecodedFile: Sendable {
    public var document: JSONValue
    public var records: [Result<DecodedRecord, UndecodableRecordError>]
}

/// Wraps `UndecodableRecord` so it can travel in a `Result`.
public struct UndecodableRecordError: Error, Sendable {
    public var record: UndecodableRecord
}

/// The whole file could not be decoded: `NOT_PARSEABLE`.
public struct DecodeError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var position: SourcePosition?
    public var description: String { message + (position.map { " at \($0)" } ?? "") }
}

/// Turns a file's bytes into records for a mapping's format.
public enum RecordDecoder {
    public static func decode(_ bytes: [UInt8], format: InputFormat, records path: RecordPath) throws(DecodeError) -> DecodedFile {
        let utf8 = try TextEncoding.utf8(bytes)
        switch format {
        case .jsonl:
            return decodeLines(utf8)
        case .json:
            let document: JSONValue
            do {
                document = try JSONParser.parseDocument(utf8)
            } catch {
                // A file of several documents is JSON Lines in a .json name.
                if error.message == "unexpected content after the JSON value" { return decodeLines(utf8) }
                throw DecodeError(message: "not valid JSON: \(error.message)", position: error.position)
            }
            return DecodedFile(document: document, records: try records(in: document, at: path).enumerated().map { index, value in
                .success(DecodedRecord(value: value, position: RecordPosition(index: index), extract: value.jsonText(pretty: true) + "\n"))
            })
        case .xml, .yaml:
            throw DecodeError(message: "format \(format.rawValue) is not supported by this version", position: nil)
        }
    }

    /// The records at `path`: an array gives its elements, anything else is one record.
    static func records(in document: JSONValue, at path: RecordPath) throws(DecodeError) -> [JSONValue] {
        guard let found = path.value(in: document) else {
            throw DecodeError(message: "no records at '\(path)' (the mapping's records: path)", position: nil)
        }
        if case .array(let elements) = found { return elements }
        return [found]
    }

    static func decodeLines(_ utf8: [UInt8]) -> DecodedFile {
        var records: [Result<DecodedRecord, UndecodableRecordError>] = []
        var start = utf8.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var line = 1
        var index = 0
        while start < utf8.count {
            let end = utf8[start...].firstIndex(of: 0x0A) ?? utf8.count
            let slice = Array(utf8[start..<end])
            if !slice.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                let text = String(decoding: slice, as: UTF8.self)
                do {
                    let value = try JSONParser.parseDocument(slice)
                    records.append(.success(DecodedRecord(value: value, position: RecordPosition(index: index, line: line), extract: text + "\n")))
                } catch {
                    var position = error.position
                    position.line = line
                    records.append(.failure(UndecodableRecordError(record: UndecodableRecord(
                        position: RecordPosition(index: index, line: line),
                        error: JSONParseError(message: error.message, position: position), extract: text + "\n"))))
                }
                index += 1
            }
            line += 1
            start = end + 1
        }
        return DecodedFile(document: .object([]), records: records)
    }
}

/// Input text encodings: UTF-8 (with or without BOM) and UTF-16 with a BOM.
enum TextEncoding {
    static func utf8(_ bytes: [UInt8]) throws(DecodeError) -> [UInt8] {
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) {
            let bigEndian = bytes[0] == 0xFE
            var units: [UInt16] = []
            units.reserveCapacity(bytes.count / 2)
            var i = 2
            while i + 1 < bytes.count {
                units.append(bigEndian ? UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1]) : UInt16(bytes[i + 1]) << 8 | UInt16(bytes[i]))
                i += 2
            }
            guard let text = String(validating: units, as: UTF16.self) else {
                throw DecodeError(message: "invalid UTF-16 text", position: nil)
            }
            return Array(text.utf8)
        }
        return bytes
    }
}
