import Yams

/// The mappings of a root, read afresh on every poll so an edit takes effect
/// without a restart.
public struct MappingCatalog: Sendable {
    public var mappings: [Mapping]
    /// Mapping files that failed their check, with the source they name when
    /// that much could be read: that source's files wait in the inbox.
    public var broken: [(file: String, source: String?, errors: ConfigurationErrors)]

    public static let suffix = ".mapping.yaml"

    /// Loads every `*.mapping.yaml` directly in `directory`.
    public static func load(directory: String) -> MappingCatalog {
        var catalog = MappingCatalog(mappings: [], broken: [])
        for name in FileSystem.entries(of: directory) where name.hasSuffix(suffix) {
            let path = directory + "/" + name
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            let text = String(decoding: data, as: UTF8.self)
            do {
                var mapping = try Mapping.load(text: text, file: name, directory: directory)
                mapping.name = name
                catalog.mappings.append(mapping)
            } catch {
                let source = (try? Yams.compose(yaml: text))?.flatMap { $0.mapping?["source"]?.string }
                catalog.broken.append((name, source, error))
            }
        }
        return catalog
    }

    /// The mapping that takes `fileName` from `source` (the first by file name).
    public func mapping(source: String, fileName: String) -> Mapping? {
        mappings.first { $0.source == source && $0.takes(fileName: fileName) }
    }

    /// Broken mappings that name `source`.
    public func brokenMappings(for source: String) -> [String] {
        broken.filter { $0.source == source }.map(\.file)
    }
}

import Foundation
