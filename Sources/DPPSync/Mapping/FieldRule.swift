/// How one field of a record is read from the source.
public struct FieldRule: Sendable, Hashable {
    /// Where the value is in the record (`a.b[0].c`); `nil` with a `value`.
    public var path: RecordPath?
    /// A constant instead of a path.
    public var constant: JSONValue?
    public var required: Bool = false
    /// Used when the path finds nothing (or `null`/`""`).
    public var defaultValue: JSONValue?
    public var type: FieldType = .string
    public var trim: Bool = true
    public var letterCase: LetterCase?
    /// A value table: source code → DPP value (`COMP → completed`).
    public var values: [String: String]?
    /// A regular expression the (converted) text must match whole.
    public var pattern: String?
    /// Whether the mapping declared `type:` (otherwise the record kind's type applies).
    var typeDeclared = false

    public enum LetterCase: String, Sendable, Hashable { case upper, lower }

    public init(path: RecordPath? = nil, constant: JSONValue? = nil, type: FieldType = .string) {
        self.path = path; self.constant = constant; self.type = type
    }

    public static let keys = ["path", "value", "required", "default", "type", "trim", "case", "values", "pattern"]
}

/// A record filter: the record is taken only when the value at `path` is one of `oneOf`.
public struct RecordFilter: Sendable, Hashable {
    public var path: RecordPath
    public var oneOf: [String]
    public static let keys = ["path", "in"]
}
