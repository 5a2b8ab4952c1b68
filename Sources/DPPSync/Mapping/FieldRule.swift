/// Where a value is: a JSON path (`a.b[0].c`) or an XPath 1.0 expression,
/// depending on the mapping's format. Kept as text plus its parsed JSON form.
public struct FieldPath: Sendable, Hashable, CustomStringConvertible {
    public let text: String
    /// The parsed path for JSON and YAML inputs (`nil` for XML).
    public let json: RecordPath?

    public init(_ text: String, json: RecordPath?) { self.text = text; self.json = json }
    public var description: String { text }
}

/// How one field of a record is read from the source.
public struct FieldRule: Sendable, Hashable {
    /// Where the value is in the record; `nil` with `value` or `template`.
    public var path: FieldPath?
    /// A constant instead of a path.
    public var constant: JSONValue?
    /// Text built from other fields: `"{siteId}/{workOrderId}"` (`{context.x}` for context values).
    public var template: String?
    public var required: Bool = false
    /// Used when the path finds nothing (or `null`/`""`/`xsi:nil`).
    public var defaultValue: JSONValue?
    public var type: FieldType = .string
    public var trim: Bool = true
    public var letterCase: LetterCase?
    public var stripLeadingZeros = false
    /// Regular-expression replacement applied to the text.
    public var replace: (pattern: String, with: String)?
    /// A regular expression whose first group (or whole match) becomes the value.
    public var extract: String?
    /// A value table: source code → DPP value (inline, or loaded from `valuesFile`).
    public var values: [String: String]?
    /// A regular expression the (converted) text must match whole.
    public var pattern: String?
    /// Splits the text on this delimiter into a list.
    public var split: String?
    /// Accepted date / date-time formats (`iso`, `yyyyMMdd`, `dd.MM.yyyy`, `epoch-ms`, `odata`).
    public var formats: [DateFormat] = [.iso]
    /// `1,5` means one and a half.
    public var decimalComma = false
    /// Arithmetic on numbers: multiply by `scale`, then `negate` or `abs`.
    public var scale: Double?
    public var negate = false
    public var absolute = false
    /// Repeated sub-records: the rule yields a list of objects, one per node at `each`.
    public var each: FieldPath?
    public var subfields: [(name: String, rule: FieldRule)] = []
    /// Whether the mapping declared `type:` (otherwise the record kind's type applies).
    var typeDeclared = false

    public enum LetterCase: String, Sendable, Hashable { case upper, lower }

    public init(path: FieldPath? = nil, constant: JSONValue? = nil, type: FieldType = .string) {
        self.path = path; self.constant = constant; self.type = type
    }

    public static let keys = ["path", "value", "template", "required", "default", "type", "trim", "case", "stripLeadingZeros",
                              "replace", "extract", "values", "valuesFile", "pattern", "split", "formats", "decimalComma",
                              "scale", "negate", "abs", "each", "fields"]

    public static func == (a: FieldRule, b: FieldRule) -> Bool {
        a.path == b.path && a.constant == b.constant && a.template == b.template && a.type == b.type
            && a.subfields.map(\.name) == b.subfields.map(\.name)
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(path); hasher.combine(type) }
}

/// Date formats a rule can accept.
public enum DateFormat: String, Sendable, Hashable, CaseIterable {
    /// ISO 8601 date or date-time, with or without offset.
    case iso
    case yyyyMMdd
    case ddMMyyyy = "dd.MM.yyyy"
    /// Milliseconds since the epoch.
    case epochMilliseconds = "epoch-ms"
    /// `/Date(1730800000000)/` or `/Date(1730800000000+0100)/`.
    case odata
}

/// A record filter: the record is taken only when the value at `path` is one of `oneOf`.
public struct RecordFilter: Sendable, Hashable {
    public var path: FieldPath
    public var oneOf: [String]
    public static let keys = ["path", "in"]
}
