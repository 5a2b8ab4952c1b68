import ArgumentParser
import DPPSync
import Foundation

struct MappingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mapping",
        abstract: "Work with mapping files.",
        subcommands: [Check.self]
    )

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate mapping files without running them; errors as file:line:column.",
            discussion: """
                Checks keys (typos get a suggestion), record kinds and their fields, required \
                fields, types, paths and regular expressions. Exit 2 on any error.

                Example:
                  dppsync mapping check Mappings/workorders-json.mapping.yaml
                """
        )

        @OptionGroup var options: RootOptions

        @Argument(help: "Mapping files (default: every Mappings/*.mapping.yaml).")
        var files: [String] = []

        func run() throws {
            let paths = files.isEmpty
                ? FileSystem.entries(of: options.layout.mappings).filter { $0.hasSuffix(MappingCatalog.suffix) }.map { options.layout.mappings + "/" + $0 }
                : files
            var failed = false
            for path in paths {
                guard let data = FileManager.default.contents(atPath: path) else {
                    print("\(path): error: cannot read the file"); failed = true; continue
                }
                do {
                    let mapping = try Mapping.load(text: String(decoding: data, as: UTF8.self), file: path, directory: (path as NSString).deletingLastPathComponent)
                    print("\(path): ok (source \(mapping.source), kind \(mapping.kind), sha256 \(mapping.contentHash.prefix(12)))")
                } catch {
                    print("\(error)"); failed = true
                }
            }
            if failed { throw DPPExit.usage }
        }
    }
}
