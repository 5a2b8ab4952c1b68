import Yams

/// A problem in an administrator's YAML file, with where it is.
public struct ConfigurationIssue: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file; self.line = line; self.column = column; self.message = message
    }

    /// `file:line:column: error: message`, the form editors and CI logs link.
    public var description: String { "\(file):\(line):\(column): error: \(message)" }
}

/// The text of a configuration file (dppsync.yaml, a mapping, a value table) as read from its bytes.
public enum YAMLText {
    /// The text of `bytes` without a leading byte-order mark (Yams had refused a file that started with one and
    /// a key), each byte sequence that is not UTF-8 read as `notUTF8`, for the reader to refuse in a key or a
    /// value: `String(decoding:)` makes it U+FFFD, which a file may hold in its own right.
    public static func decoding(_ bytes: some Sequence<UInt8>) -> String {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var scalars = String.UnicodeScalarView()
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                let scalar = Unicode.UTF8.decode(encoded)
                if scalar != "\u{FEFF}" || !scalars.isEmpty { scalars.append(scalar) }
            case .error: scalars.append(notUTF8)
            case .emptyInput: return String(scalars)
            }
        }
    }

    /// What `decoding` reads a byte that is not UTF-8 as: the last private-use character, which YAML takes as
    /// printable (so a comment holding one parses) and no configuration file holds.
    static let notUTF8: Unicode.Scalar = "\u{10FFFD}"
}

/// Walks a composed YAML tree and collects every problem instead of stopping at
/// the first, so an administrator sees all typos in one `mapping check`.
struct YAMLReader {
    let file: String
    private(set) var issues: [ConfigurationIssue] = []

    init(file: String) { self.file = file }

    /// The text of `key` at the top of `text`, read as leniently as YAML allows: which source or channel a
    /// file that fails its check is for.
    static func topLevelString(_ key: String, in text: String) -> String? {
        (try? Yams.compose(yaml: text))?.flatMap { $0.mapping?[key]?.string }
    }

    /// Composes `text` (as `YAMLText.decoding` reads a file); a syntax error, a byte that is not UTF-8 in a key or
    /// a value, or a tag becomes an issue and `nil`.
    mutating func compose(_ text: String) -> Node? {
        // (Split as Characters: a Windows line end, "\r\n", is one, and a newline.)
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        let notUTF8Line = lines.firstIndex { $0.unicodeScalars.contains { $0 == YAMLText.notUTF8 || $0 == "\0" } }
        do {
            guard let node = try Yams.compose(yaml: text) else { return nil }
            // A byte that is not UTF-8 (a Windows-1252 `ü` had become `�` in values, unseen) is refused in a key or a
            // value, found by the parser (a comment, which no value holds, is let be: an upgrade's Windows-1252
            // comment had stopped every command).
            if notUTF8Line != nil, let bad = Self.firstNode(in: node, where: { $0.scalar?.string.unicodeScalars.contains(YAMLText.notUTF8) ?? false }) {
                issues.append(ConfigurationIssue(file: file, line: bad.mark?.line ?? 1, column: bad.mark?.column ?? 1,
                                                 message: "the file is not UTF-8 (a byte of the value that starts here is not): save it as UTF-8"))
                return nil
            }
            // A tag (`!include`, `!!binary`, `!!python/…`) is no part of the language: it had been dropped
            // silently, the value read as if it were not there. Refused where it stands.
            let plain = ["str", "int", "float", "bool", "null", "map", "seq", "merge", "timestamp", "value"].map { "tag:yaml.org,2002:" + $0 }
            if let tagged = Self.firstNode(in: node, where: { !plain.contains($0.tag.rawValue) }) {
                let tag = tagged.tag.rawValue.hasPrefix("tag:yaml.org,2002:") ? "!!" + tagged.tag.rawValue.dropFirst(18) : tagged.tag.rawValue
                issues.append(ConfigurationIssue(file: file, line: tagged.mark?.line ?? 1, column: tagged.mark?.column ?? 1,
                                                 message: "the tag '\(tag)' is no part of a dppsync file: remove it (tags include and run nothing here)"))
                return nil
            }
            return node
        } catch {
            let problem = YAMLProblem(error)
            // A file that is not UTF-8 at all (UTF-16: "control characters are not allowed") says so first; another
            // syntax error is said as it is, with the line of a byte that is not UTF-8 (in a comment, it had hidden it).
            if let bad = notUTF8Line, text.unicodeScalars.contains("\0") || problem.message.contains("control characters") {
                issues.append(ConfigurationIssue(file: file, line: bad + 1, column: 1,
                                                 message: "the file is not UTF-8 (this line holds a byte that is not, or a NUL): save it as UTF-8"))
                return nil
            }
            var message = "YAML syntax: \(problem.message)"
            if let bad = notUTF8Line { message += " (line \(bad + 1) also holds a byte that is not UTF-8)" }
            var (line, column) = (problem.line ?? 1, problem.column ?? 1)
            if line >= 1, line <= lines.count, lines[line - 1].contains("\t") { message += " (a tab on this line: YAML indents with spaces)" }
            // Yams marks a repeated key where it first is: the repeat is what to remove.
            if let key = problem.duplicateKey, let repeated = Self.repeatOf(key, firstAt: line, column: column, in: lines) {
                message += " (first at line \(line))"
                (line, column) = repeated
            }
            issues.append(ConfigurationIssue(file: file, line: line, column: column, message: message))
            return nil
        }
    }

    /// Where `key`, first at `line` and `column`, is repeated: at the same indentation, within the block (a line
    /// less indented ends it); `nil` when not found, or when the first is not the start of its line (a flow
    /// mapping, `{a: 1, a: 2}`, whose repeat is on that line).
    private static func repeatOf(_ key: String, firstAt line: Int, column: Int, in lines: [Substring]) -> (line: Int, column: Int)? {
        guard line >= 1, line <= lines.count else { return nil }
        let indent = lines[line - 1].prefix(while: { $0 == " " || $0 == "-" }).count
        guard column == indent + 1 else { return nil }
        let spellings = [key, "'\(key)'", "\"\(key)\""].map { $0 + ":" }
        for i in lines.indices.dropFirst(line) {
            let content = lines[i]
            guard !content.allSatisfy({ $0 == " " || $0 == "\t" }), content.drop(while: { $0 == " " }).first != "#" else { continue }
            let lineIndent = content.prefix { $0 == " " }.count
            if lineIndent < indent { return nil }
            if lineIndent == indent, spellings.contains(where: { content.dropFirst(indent).hasPrefix($0) }) { return (i + 1, indent + 1) }
        }
        return nil
    }

    /// The first node of `node`'s tree, keys included, for which `matches` holds.
    static func firstNode(in node: Node, where matches: (Node) -> Bool) -> Node? {
        if matches(node) { return node }
        switch node {
        case .mapping(let mapping):
            for (key, value) in mapping { if let found = firstNode(in: key, where: matches) ?? firstNode(in: value, where: matches) { return found } }
        case .sequence(let sequence):
            for element in sequence { if let found = firstNode(in: element, where: matches) { return found } }
        default: break
        }
        return nil
    }

    mutating func fail(_ node: Node?, _ message: String) {
        let mark = node?.mark
        issues.append(ConfigurationIssue(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, message: message))
    }

    /// The pairs of a mapping, reporting keys outside `allowed` (with a
    /// suggestion when one is close).
    mutating func pairs(_ node: Node, allowed: [String]?, what: String) -> [(key: String, keyNode: Node, value: Node)] {
        guard case .mapping(let mapping) = node else {
            fail(node, "\(what) must be a mapping of keys to values")
            return []
        }
        var result: [(String, Node, Node)] = []
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? ""
            if let allowed, !allowed.contains(key) {
                let hint = allowed.min { editDistance($0, key) < editDistance($1, key) }
                    .flatMap { editDistance($0, key) <= 2 ? " (did you mean '\($0)'?)" : nil } ?? ""
                fail(keyNode, "unknown key '\(key)' in \(what)\(hint); allowed: \(allowed.joined(separator: ", "))")
                continue
            }
            result.append((key, keyNode, value))
        }
        return result
    }

    mutating func string(_ node: Node, _ what: String) -> String? {
        guard case .scalar(let scalar) = node else { fail(node, "\(what) must be a single value"); return nil }
        return scalar.string
    }

    mutating func strings(_ node: Node, _ what: String) -> [String] {
        switch node {
        case .scalar(let scalar): return [scalar.string]
        case .sequence(let sequence): return sequence.compactMap { string($0, what) }
        default: fail(node, "\(what) must be a value or a list of values"); return []
        }
    }

    mutating func bool(_ node: Node, _ what: String) -> Bool? {
        guard let b = node.bool else { fail(node, "\(what) must be true or false"); return nil }
        return b
    }

    mutating func number(_ node: Node, _ what: String) -> Double? {
        guard let d = node.float ?? node.int.map(Double.init) else { fail(node, "\(what) must be a number"); return nil }
        return d
    }
}

extension Node {
    /// The node as a `JSONValue`: plain scalars that are null, `true`/`false` or a JSON number are
    /// typed so; every other scalar is its text.
    var jsonValue: JSONValue {
        var unbounded = Int.max
        return jsonValue(budget: &unbounded) ?? .null
    }

    /// The node as a `JSONValue`, or `nil` once it has made more than `budget` values (each
    /// value made takes one from it).
    func jsonValue(budget: inout Int) -> JSONValue? {
        budget -= 1
        guard budget >= 0 else { return nil }
        switch self {
        case .scalar(let scalar):
            if scalar.style == .plain {
                if self.null != nil { return .null }
                switch scalar.string {
                case "true", "True", "TRUE": return .bool(true)
                case "false", "False", "FALSE": return .bool(false)
                default: break
                }
                // A number only in JSON's own notation: YAML 1.1's and the core schema's other forms
                // (`.inf`, `0x1F`, `1_000`, `007`, `+5`) had been kept as number text that is not JSON,
                // and `ON`/`NO` had become booleans. Those stay the text they were written as.
                let text = scalar.string
                if text.utf8.first != UInt8(ascii: "+"), Mapper.decimalForm(text).json { return .number(text) }
            }
            return .string(scalar.string)
        case .sequence(let sequence):
            var elements: [JSONValue] = []
            for node in sequence {
                guard let value = node.jsonValue(budget: &budget) else { return nil }
                elements.append(value)
            }
            return .array(elements)
        case .mapping(let mapping):
            var members: [(String, JSONValue)] = []
            // `<<: *base` (or a list of them) merges the keys the mapping does not set itself, the
            // first listed winning; without this they had been dropped (a task lost its licence category).
            var merged: [(String, JSONValue)] = []
            for (key, node) in mapping {
                guard let value = node.jsonValue(budget: &budget) else { return nil }
                if case .scalar(let scalar) = key, scalar.string == "<<", scalar.style == .plain {
                    let bases: [JSONValue] = if case .array(let list) = value { list } else { [value] }
                    let pairs = bases.compactMap { base -> [(String, JSONValue)]? in if case .object(let p) = base { p } else { nil } }
                    if pairs.count == bases.count { merged += pairs.joined(); continue }
                }
                members.append((key.string ?? "", value))
            }
            if !merged.isEmpty {
                var present = Set(members.map(\.0))
                for (key, value) in merged where present.insert(key).inserted { members.append((key, value)) }
            }
            return .object(members)
        case .alias: return .null
        }
    }
}

/// ` (did you mean 'x'?)` for the candidate nearest `name` within `maxDistance` edits (or in another case), else "".
func didYouMean(_ name: String, among candidates: [String], maxDistance: Int = 3) -> String {
    let nearest = candidates.min { editDistance($0.lowercased(), name.lowercased()) < editDistance($1.lowercased(), name.lowercased()) }
    guard let nearest, nearest != name, editDistance(nearest.lowercased(), name.lowercased()) <= maxDistance else { return "" }
    return " (did you mean '\(nearest)'?)"
}

/// Levenshtein distance, for "did you mean" hints on typos.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in stride(from: 1, through: b.count, by: 1) {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}

/// What went wrong in a YAML text, and where, without the text itself (Yams' own description
/// carries the whole document: a 60 KB line had become a 60 KB log message).
struct YAMLProblem {
    var message: String
    var line: Int?
    var column: Int?
    /// The first key a mapping repeats, when that is the problem.
    var duplicateKey: String?

    init(_ error: any Error) {
        switch error as? YamlError {
        case .scanner(_, let problem, let mark, _)?, .parser(_, let problem, let mark, _)?, .composer(_, let problem, let mark, _)?:
            message = problem; line = mark.line; column = mark.column
        case .duplicatedKeysInMapping(let duplicates, let context)?:
            message = "a mapping repeats the key " + duplicates.map { "'\($0.prefix(80))'" }.joined(separator: ", ")
            line = context.mark.line; column = context.mark.column
            duplicateKey = duplicates.first
        case .reader(let problem, _, _, _)?:
            message = problem
        default:
            message = String("\(error)".prefix(200))
        }
    }
}
