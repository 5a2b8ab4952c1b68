/// A declarative inbound mapping (`Mappings/*.mapping.yaml`): which files of
/// which source it takes, where their records are, and how each field of the
/// DPP record is read. Mappings never read the store (DESIGN.md §1).
public struct Mapping: Sendable {
    /// File name, for messages and provenance.
    public var name: String
    /// SHA-256 of the mapping text: stored with every record it produced.
    public var contentHash: String
    /// The mapping text as it ran, kept by hash so an auditor can read it.
    public var text: String

    public var source: String
    /// Shell globs on the file name (`*.json`).
    public var files: [String]
    public var format: InputFormat
    /// Where the records are. JSON: a path, `$` for the document (an object is one
    /// record, an array many). XML: the record element's name, optionally prefixed
    /// (`WORKORDER`, `mx:WORKORDER`), wherever it is in the document.
    public var records: String
    /// XML namespace prefixes used in paths: prefix → URI.
    public var namespaces: [String: String]
    /// The declared text encoding, if any (`ISO-8859-1`, `windows-1252`, `UTF-16`).
    public var encoding: String?
    /// Values read once per file, referenced as `context.<name>`.
    public var context: [(name: String, rule: FieldRule)]
    public var kind: RecordKind
    /// Fields whose values form the record's natural key.
    public var key: [String]
    /// The field (or `context.<name>`) that holds the record's source time.
    public var timestamp: String?
    public var fields: [(name: String, rule: FieldRule)]
    public var when: [RecordFilter]

    /// `true` when `fileName` matches one of `files`.
    public func takes(fileName: String) -> Bool {
        files.contains { globMatches($0, fileName) }
    }

    /// How specific the most specific of the patterns that take `fileName` is: the characters it names
    /// itself (`legacy_*.json` before `*_????????.json`), then those it fixes, a `?` fixing one (`WO-????.xml`
    /// before `WO-*.xml`); `nil` when none takes it.
    func specificity(for fileName: String) -> Specificity? {
        files.filter { globMatches($0, fileName) }.map { pattern in
            let scalars = pattern.unicodeScalars
            return Specificity(fixed: scalars.filter { $0 != "*" }.count, named: scalars.filter { $0 != "*" && $0 != "?" }.count)
        }.max()
    }

    /// See `specificity(for:)`.
    struct Specificity: Comparable {
        var fixed: Int
        var named: Int
        static func < (a: Self, b: Self) -> Bool { (a.named, a.fixed) < (b.named, b.fixed) }
    }

    /// The JSON records path (`$` when the mapping reads XML).
    public var recordsPath: RecordPath { RecordPath(records) ?? RecordPath("$")! }

    public static let topLevelKeys = ["$schema", "description", "source", "files", "format", "encoding", "namespaces", "records",
                                      "context", "kind", "key", "timestamp", "fields", "when"]
}

/// Input formats a mapping can read.
public enum InputFormat: String, Sendable, Hashable, CaseIterable {
    /// One JSON document: an object, or an array of records at `records`.
    case json
    /// One JSON value per line; a bad line is a bad record, not a bad file.
    case jsonl
    case xml
    case yaml
}

/// Shell-style glob on a plain name: `*`, `?` and literal characters.
func globMatches(_ pattern: String, _ name: String) -> Bool {
    let p = Array(pattern.unicodeScalars), n = Array(name.unicodeScalars)
    var pi = 0, ni = 0, star = -1, mark = 0
    while ni < n.count {
        if pi < p.count, p[pi] == "?" || p[pi] == n[ni] {
            pi += 1; ni += 1
        } else if pi < p.count, p[pi] == "*" {
            star = pi; mark = ni; pi += 1
        } else if star >= 0 {
            pi = star + 1; mark += 1; ni = mark
        } else {
            return false
        }
    }
    while pi < p.count, p[pi] == "*" { pi += 1 }
    return pi == p.count
}
