/// A path into a decoded record: `a.b[0].c`, with an optional `$.` root prefix.
/// `[*]` as the last step of a `records:` path means "each element".
public struct RecordPath: Sendable, Hashable, CustomStringConvertible {
    public enum Step: Sendable, Hashable {
        case member(String)
        case index(Int)
        case each
    }

    public var steps: [Step]
    public let text: String

    /// Parses `text`; `nil` when it is not a valid path.
    public init?(_ text: String) {
        self.text = text
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        if rest == "$" || rest.isEmpty { steps = []; return }
        if rest.hasPrefix("$.") { rest = rest.dropFirst(2) } else if rest.hasPrefix("$[") { rest = rest.dropFirst(1) }
        var steps: [Step] = []
        var name = ""
        var i = rest.startIndex
        func flush() { if !name.isEmpty { steps.append(.member(name)); name = "" } }
        while i < rest.endIndex {
            let c = rest[i]
            if c == "." {
                guard !name.isEmpty || steps.last.map({ if case .member = $0 { return false } else { return true } }) == true else { return nil }
                flush()
                i = rest.index(after: i)
            } else if c == "[" {
                flush()
                guard let close = rest[i...].firstIndex(of: "]") else { return nil }
                let inner = rest[rest.index(after: i)..<close]
                if inner == "*" { steps.append(.each) } else if let n = Int(inner), n >= 0 { steps.append(.index(n)) } else { return nil }
                i = rest.index(after: close)
            } else {
                name.append(c)
                i = rest.index(after: i)
            }
        }
        flush()
        self.steps = steps
    }

    public var description: String { text }

    /// The value at this path, or `nil` when any step is missing.
    public func value(in root: JSONValue) -> JSONValue? {
        var current = root
        for step in steps {
            switch step {
            case .member(let name):
                guard let next = current[name] else { return nil }
                current = next
            case .index(let n):
                guard case .array(let elements) = current, n < elements.count else { return nil }
                current = elements[n]
            case .each:
                return current
            }
        }
        return current
    }
}

extension RecordPath {
    /// `root` with the value at this path replaced by `replacement` (for a
    /// quarantine extract that keeps the document around one record).
    public func replacing(in root: JSONValue, with replacement: JSONValue) -> JSONValue {
        func replace(_ value: JSONValue, _ steps: ArraySlice<Step>) -> JSONValue {
            guard let step = steps.first else { return replacement }
            switch (step, value) {
            case (.member(let name), .object(var members)):
                if let i = members.firstIndex(where: { $0.0 == name }) {
                    members[i].1 = replace(members[i].1, steps.dropFirst())
                }
                return .object(members)
            case (.index(let n), .array(var elements)) where n < elements.count:
                elements[n] = replace(elements[n], steps.dropFirst())
                return .array(elements)
            case (.each, _):
                return replacement
            default:
                return value
            }
        }
        return replace(root, steps[...])
    }
}
