import Foundation

/// The mappings of a root, read afresh on every poll so an edit takes effect
/// without a restart.
public struct MappingCatalog: Sendable {
    public var mappings: [Mapping]
    /// Mapping files that failed their check, with the source they name when that much could be
    /// read: that source's files wait in the inbox. One whose source cannot be read holds every
    /// source, as any of them might be the one it takes files from.
    public var broken: [(file: String, source: String?, errors: ConfigurationErrors)]

    public static let suffix = ".mapping.yaml"

    /// Loads every `*.mapping.yaml` directly in `directory`.
    public static func load(directory: String) -> MappingCatalog {
        var catalog = MappingCatalog(mappings: [], broken: [])
        for name in FileSystem.entries(of: directory) where name.hasSuffix(suffix) {
            let path = directory + "/" + name
            guard let data = FileManager.default.contents(atPath: path) else {
                let issue = ConfigurationIssue(file: name, line: 1, column: 1, message: "the mapping file cannot be read")
                catalog.broken.append((name, nil, ConfigurationErrors(issues: [issue])))
                continue
            }
            let text = YAMLText.decoding(data)
            do {
                var mapping = try Mapping.load(text: text, file: name, directory: directory)
                mapping.name = name
                catalog.mappings.append(mapping)
            } catch {
                // A YAML syntax error elsewhere in the file leaves no tree: the source is then read from
                // its own line. Without it, another mapping had taken the files meant for this one.
                let source = YAMLReader.topLevelString("source", in: text) ?? Self.sourceLine(in: text)
                catalog.broken.append((name, source, error))
            }
        }
        return catalog
    }

    /// The mapping that takes `fileName` from `source`: of several, the one whose matching `files:` pattern
    /// names most of it (`legacy-*.xml` before `*.xml`); `nil` when none does, or when two are equally specific
    /// (`noMappingReason` says which). The first by name had taken it: a backup copy left in Mappings/ took
    /// the files of the mapping being edited, unseen, and a specific mapping's files went to a general one
    /// named before it.
    public func mapping(source: String, fileName: String) -> Mapping? {
        let best = mostSpecific(source: source, fileName: fileName)
        return best.count == 1 ? best[0] : nil
    }

    /// The mappings of `source` that take `fileName` with the most specific pattern (more than one: a tie).
    private func mostSpecific(source: String, fileName: String) -> [Mapping] {
        let taking = mappings.compactMap { mapping in mapping.source == source ? mapping.specificity(for: fileName).map { (mapping, $0) } : nil }
        guard let top = taking.map(\.1).max() else { return [] }
        return taking.filter { $0.1 == top }.map(\.0)
    }

    /// Why no one mapping takes `fileName` from `source` (`nil` when one does).
    public func noMappingReason(source: String, fileName: String) -> String? {
        let best = mostSpecific(source: source, fileName: fileName)
        switch best.count {
        case 1: return nil
        case 0: return "no mapping in Mappings/ takes \(fileName) from source '\(source)' (NO_MAPPING)"
        default:
            return "\(best.map(\.name).joined(separator: " and ")) take \(fileName) from source '\(source)' with patterns as specific (NO_MAPPING): "
                + "keep one (move a backup copy out of Mappings/, or narrow a mapping's files:)"
        }
    }

    /// The other valid mappings of `mapping`'s source whose `files:` are the same patterns: each file one takes,
    /// the other takes too (for `mapping check`; files that only some patterns share are found as they come).
    public func sameFiles(as mapping: Mapping, named name: String) -> [String] {
        mappings.filter { $0.name != name && $0.source == mapping.source && Set($0.files) == Set(mapping.files) }.map(\.name)
    }

    /// Why `source`'s files wait for broken mappings, each with its first error and where it is (`nil` when none
    /// is broken): `status` and the log had said only "fails its check", where the README says they say why.
    public func heldReason(for source: String) -> String? {
        let held = broken.filter { $0.source == nil || $0.source == source }
        guard !held.isEmpty else { return nil }
        return held.map { mapping in
            let issues = mapping.errors.issues
            let first = issues.first.map { " (line \($0.line), column \($0.column): \($0.message)" + (issues.count > 1 ? "; \(issues.count - 1) more" : "") + ")" } ?? ""
            return "mapping \(mapping.file) fails its check\(first)"
        }.joined(separator: "; ")
    }

    /// The value of a top-level `source:` line (`source: legacy`, quoted or not, a comment after it).
    static func sourceLine(in text: String) -> String? {
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("source:") {
            var value = line.dropFirst("source:".count)
            if let hash = value.firstIndex(of: "#") { value = value[..<hash] }
            let trimmed = value.trimmingCharacters(in: CharacterSet(charactersIn: " \t\"'"))
            return trimmed.isEmpty ? nil : trimmed
        }
        return nil
    }
}
