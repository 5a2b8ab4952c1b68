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
            let text = String(decoding: data, as: UTF8.self)
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

    /// The mapping that takes `fileName` from `source` (the first by file name).
    public func mapping(source: String, fileName: String) -> Mapping? {
        mappings.first { $0.source == source && $0.takes(fileName: fileName) }
    }

    /// Broken mappings that name `source`, or whose source could not be read.
    public func brokenMappings(for source: String) -> [String] {
        broken.filter { $0.source == nil || $0.source == source }.map(\.file)
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
