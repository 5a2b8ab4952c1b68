/// A record as the mapping produced it: typed fields, external keys not yet
/// resolved against the store, and where it came from.
public struct MappedRecord: Sendable, Hashable {
    public var kind: RecordKind
    /// The natural key: the `key:` fields' values joined by `|`.
    public var key: String
    /// The source's own time for this record (for stale/out-of-order decisions).
    public var timestamp: Timestamp?
    /// Field values after conversion: strings, `yyyy-MM-dd` dates, UTC date-times,
    /// numbers as text, booleans, lists and objects.
    public var fields: [String: JSONValue]
    public var position: RecordPosition

    public init(kind: RecordKind, key: String, timestamp: Timestamp?, fields: [String: JSONValue], position: RecordPosition) {
        self.kind = kind; self.key = key; self.timestamp = timestamp; self.fields = fields; self.position = position
    }

    public func string(_ name: String) -> String? {
        if case .string(let s)? = fields[name] { return s }
        return fields[name]?.scalarText
    }

    public func bool(_ name: String) -> Bool? {
        if case .bool(let b)? = fields[name] { return b }
        return nil
    }

    public func list(_ name: String) -> [JSONValue] {
        if case .array(let a)? = fields[name] { return a }
        return []
    }

    /// The record as JSON: what the review queue keeps and `mapping preview` prints.
    public var jsonValue: JSONValue {
        var members: [(String, JSONValue)] = [("kind", .string(kind.rawValue)), ("key", .string(key))]
        members.append(("timestamp", timestamp.map { .string($0.description) } ?? .null))
        members.append(("fields", .object(fields.sorted { $0.key < $1.key })))
        members.append(("position", position.jsonValue))
        return .object(members)
    }

    /// Rebuilds a record from `jsonValue` (the review queue's stored form).
    public init?(json: JSONValue) {
        guard case .string(let kind)? = json["kind"], case .string(let key)? = json["key"],
              case .object(let fields)? = json["fields"], let position = json["position"].flatMap(RecordPosition.init(json:))
        else { return nil }
        var timestamp: Timestamp?
        if case .string(let t)? = json["timestamp"] { timestamp = Timestamp(iso: t) }
        self.init(kind: RecordKind(rawValue: kind), key: key, timestamp: timestamp,
                  fields: Dictionary(fields, uniquingKeysWith: { a, _ in a }), position: position)
    }
}

/// Where a record is in its file: its index (0-based) and, where known, its line.
public struct RecordPosition: Sendable, Hashable {
    public var index: Int
    public var line: Int?
    public init(index: Int, line: Int? = nil) { self.index = index; self.line = line }

    public var jsonValue: JSONValue {
        .object([("index", .number(String(index))), ("line", line.map { .number(String($0)) } ?? .null)])
    }

    init?(json: JSONValue) {
        guard case .number(let i)? = json["index"], let index = Int(i) else { return nil }
        var line: Int?
        if case .number(let l)? = json["line"] { line = Int(l) }
        self.init(index: index, line: line)
    }
}

/// Why a record could not be mapped: the field, the rule it failed, the value seen.
public struct FieldFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public var field: String
    public var rule: String
    public var value: String?
    public var message: String

    /// The same failure of a sub-field, named from its enclosing field (`labor[0]` + `hours`).
    func within(_ parent: String) -> FieldFailure {
        var failure = self
        failure.field = parent + "." + field
        return failure
    }

    public var description: String {
        "field '\(field)' fails rule '\(rule)'" + (value.map { " (value \"\($0)\")" } ?? "") + ": " + message
    }
}

/// The result of mapping one source record.
public enum MappingResult: Sendable {
    case record(MappedRecord)
    /// Filtered out by `when:`, with the filter's words.
    case skipped(key: String?, reason: String)
    case invalid(key: String?, FieldFailure)
}
