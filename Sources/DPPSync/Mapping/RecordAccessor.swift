/// Read access to one source record, whatever its format: the mapper asks for
/// values by path and never sees JSON or XML directly.
public protocol RecordAccessor {
    /// The value at `path`: a scalar, a list (several XML nodes, a JSON array) or
    /// an object; `nil` when absent.
    func value(at path: FieldPath) -> JSONValue?
    /// The sub-records at `path`, for `each:` rules.
    func records(at path: FieldPath) -> [any RecordAccessor]
}

/// A JSON (or YAML) record.
public struct JSONRecordAccessor: RecordAccessor {
    public let root: JSONValue
    public init(_ root: JSONValue) { self.root = root }

    public func value(at path: FieldPath) -> JSONValue? {
        path.json.flatMap { $0.value(in: root) }
    }

    public func records(at path: FieldPath) -> [any RecordAccessor] {
        switch value(at: path) {
        case .array(let elements)?: return elements.map(JSONRecordAccessor.init)
        case .object?: return [JSONRecordAccessor(value(at: path) ?? .null)]
        default: return []
        }
    }
}
