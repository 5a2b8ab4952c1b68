/// A decoded JSON (or YAML) value, independent of Foundation's bridging.
///
/// Numbers keep their source text so that `1.10` stays `1.10` and large
/// integers are never rounded through `Double`.
public enum JSONValue: Sendable, Hashable {
    /// A string, or `null` for none: how documents written from optional columns carry them.
    static func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }

    /// Whether this is a number as JSON writes one (not a string of digits).
    var isJSONNumber: Bool {
        if case .number = self { return true }
        return false
    }

    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.number(a), .number(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let b): hasher.combine(b)
        case .number(let n): hasher.combine(n)
        case .string(let s): hasher.combine(s)
        case .array(let a): hasher.combine(a)
        case .object(let o):
            for (k, v) in o { hasher.combine(k); hasher.combine(v) }
        }
    }

    /// The member named `key` of an object, or `nil`.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    /// `true` for the values a CMMS uses to say "nothing here": `null` and `""`.
    public var isAbsent: Bool {
        switch self {
        case .null: return true
        case .string(let s): return s.isEmpty
        default: return false
        }
    }

    /// The value as text, for scalars; `nil` for arrays and objects.
    public var scalarText: String? {
        switch self {
        case .null: return nil
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n
        case .string(let s): return s
        case .array, .object: return nil
        }
    }
}
