/// `{name}` templates: a mapping field's `template:` and an outbound mapping's `fileName:`. A `{`
/// without its `}` is text; nothing is escaped.
enum BraceTemplate {
    /// The names a template uses, in order.
    static func names(in template: String) -> [String] {
        var names: [String] = []
        _ = fill(template) { names.append($0); return nil }
        return names
    }

    /// The template with each `{name}` replaced by `value(name)` (nothing for `nil`), up to its last
    /// `{name}`, and the text after that (an outbound file name keeps its extension apart).
    static func fill(_ template: String, _ value: (String) -> String?) -> (filled: String, tail: Substring) {
        var filled = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            filled += rest[..<open]
            filled += value(String(rest[rest.index(after: open)..<close])) ?? ""
            rest = rest[rest.index(after: close)...]
        }
        return (filled, rest)
    }
}
