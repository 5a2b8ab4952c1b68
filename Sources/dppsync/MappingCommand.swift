import ArgumentParser
import DPPSync
import Foundation

/// The folder a mapping's value tables are looked for in: the one `path` names, or the working folder for a bare
/// file name (it had been "", and tables were looked for at `/issue.csv`).
func folder(of path: String) -> String {
    let folder = (path as NSString).deletingLastPathComponent
    return folder.isEmpty ? "." : folder
}

struct MappingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mapping",
        abstract: "Work with mapping files.",
        subcommands: [Check.self, Preview.self, Test.self]
    )

    struct Preview: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode and map one input file; print the records and per-record errors as JSON, touching nothing.",
            discussion: """
                With --resolve, each record is also decided against a read-only snapshot of the store \
                (the outcome it would get now), still writing nothing.

                Example:
                  dppsync mapping preview --mapping Mappings/workorders-maximo.mapping.yaml Samples/workorders/maximo-workorders.xml
                """
        )
        @OptionGroup var options: RootOptions
        @Option(help: "The mapping file.") var mapping: String
        @Flag(help: "Also decide each record against a read-only snapshot of the store.") var resolve = false
        @Argument(help: "The input file.") var file: String

        func run() throws {
            let configuration = try options.loadConfiguration()
            guard let text = FileManager.default.contents(atPath: mapping) else { throw UsageError(message: "cannot read \(mapping)") }
            let loaded: Mapping
            do {
                loaded = try Mapping.load(text: YAMLText.decoding(text), file: mapping, directory: folder(of: mapping))
            } catch { throw UsageError(message: "\(error)") }
            guard let bytes = FileManager.default.contents(atPath: file) else { throw UsageError(message: "cannot read \(file)") }
            let store = resolve ? try options.openStore(readOnly: true) : nil
            do {
                let result = try MappingPreview(mapping: loaded, timeZone: configuration.timeZone)
                    .run(bytes: [UInt8](bytes), fileName: (file as NSString).lastPathComponent, configuration: configuration, store: store)
                print(MappingPreview.json(result).jsonText(pretty: true))
                if result.entries.contains(where: { if case .invalid = $0 { return true } else { return false } }) { throw DPPExit.attention }
            } catch let error as DecodeError {
                throw UsageError(message: "\(file): NOT_PARSEABLE: \(error)")
            }
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run mapping test cases (Mappings/tests/*.test.yaml): input and the records or errors expected.",
            discussion: """
                Prints one line per case and a closing "N passed, N failed"; exit 1 when a case fails.

                Example:
                  dppsync mapping test Mappings/tests/workorders-maximo.test.yaml
                """
        )
        @OptionGroup var options: RootOptions
        @Argument(help: "Test files (default: every Mappings/tests/*.test.yaml).") var files: [String] = []

        func run() throws {
            if files.isEmpty { try options.requireRoot() }  // else "0 passed" for a mistyped --root
            let configuration = try options.loadConfiguration()
            let directory = options.layout.mappings + "/tests"
            let paths = files.isEmpty ? FileSystem.entries(of: directory).filter { $0.hasSuffix(".test.yaml") }.map { directory + "/" + $0 } : files
            let runner = MappingTestRunner(mappingsDirectory: options.layout.mappings, configuration: configuration)
            var passed = 0, failed = 0
            for path in paths {
                for result in runner.run(testFile: path) {
                    if result.passed {
                        passed += 1
                        print("✔ \(result.file): \(result.name)")
                    } else {
                        failed += 1
                        print("✘ \(result.file): \(result.name)")
                        for failure in result.failures { print("    \(failure)") }
                    }
                }
            }
            print("\(passed) passed, \(failed) failed")
            if failed > 0 { throw DPPExit.attention }
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate mapping files without running them; errors as file:line:column.",
            discussion: """
                Checks keys (typos get a suggestion), record kinds and their fields, required \
                fields, types, paths and regular expressions; and outbound mappings' channel, \
                folder and file name. Exit 2 on any error.

                Example:
                  dppsync mapping check Mappings/workorders-json.mapping.yaml
                """
        )

        @OptionGroup var options: RootOptions

        @Argument(help: "Mapping files (default: every Mappings/*.mapping.yaml and *.outbound.yaml).")
        var files: [String] = []

        func run() throws {
            if files.isEmpty { try options.requireRoot() }  // else nothing checked, and exit 0, for a mistyped --root
            let paths = files.isEmpty
                ? FileSystem.entries(of: options.layout.mappings).filter { $0.hasSuffix(MappingCatalog.suffix) || $0.hasSuffix(OutboundMapping.suffix) }
                    .map { options.layout.mappings + "/" + $0 }
                : files
            var failed = false
            // Outbound mappings pass alone but not together when they write the same files. A file named
            // outside Mappings/ (a draft) is checked as if it were copied in, beside those there and the other drafts.
            let mappings = FileSystem.canonicalFolder(options.layout.mappings)
            func isDraft(_ path: String) -> Bool { (FileSystem.canonicalPath(path) as NSString).deletingLastPathComponent != mappings }
            let drafts = paths.filter { $0.hasSuffix(OutboundMapping.suffix) && isDraft($0) }.compactMap { path in
                FileManager.default.contents(atPath: path).map { ((path as NSString).lastPathComponent, YAMLText.decoding($0)) }
            }
            let checked = Set(paths.map { ($0 as NSString).lastPathComponent })
            let catalog = MappingCatalog.load(directory: options.layout.mappings)
            // A broken dppsync.yaml is for `run` to refuse: the mappings are checked all the same, but not their sources.
            var configuration: DPPSync.Configuration?
            if FileSystem.exists(options.layout.configFile) {
                do { configuration = try options.loadConfiguration() } catch {
                    print("\(options.layout.configFile): warning: it does not load, so the mappings' sources were not compared with it (\(error))")
                }
            }
            let store = FileSystem.exists(options.layout.storeFile) ? try? Store(path: options.layout.storeFile, readOnly: true) : nil
            for path in paths {
                guard let data = FileManager.default.contents(atPath: path) else {
                    print("\(path): error: cannot read the file"); failed = true; continue
                }
                let text = YAMLText.decoding(data)
                do {
                    if path.hasSuffix(OutboundMapping.suffix) {
                        let mapping = try OutboundMapping.load(text: text, file: path)
                        // This file as it is, under its name; the other drafts (of other names) as if copied in.
                        let name = (path as NSString).lastPathComponent
                        let others = Dictionary(drafts.filter { $0.0 != name }, uniquingKeysWith: { first, _ in first })
                        let without = OutboxEmitter.mappings(in: options.layout.mappings, drafts: others).broken
                        let with = OutboxEmitter.mappings(in: options.layout.mappings, drafts: others.merging([name: text]) { $1 }).broken
                        if let clash = with.first(where: { $0.file == name }) {
                            print("\(path):1:1: error: \(clash.errors.issues.first?.message ?? "fails beside the other mappings")"); failed = true; continue
                        }
                        print("\(path): ok (outbound, channel \(mapping.channel), Outbox/\(mapping.folder)/\(mapping.fileName))")
                        // A field no message of the channel has is most likely a typo: it writes null on every message.
                        if let store {
                            let (missing, members) = mapping.fieldsNoMessageHas(try OutboxEmitter.latestMessages(of: mapping.channel, limit: 1_000, in: store))
                            for field in missing {
                                print("\(path): warning: field '\(field.name)' reads '\(field.path)', which none of the channel's latest messages has "
                                      + "(it is written as null; their members: \(members.joined(separator: ", ")))")
                            }
                        }
                        // Passing, it may make another fail: the later by name of two that write the same files.
                        let brokenWithout = Set(without.map(\.file))
                        for clash in with where !checked.contains(clash.file) && !brokenWithout.contains(clash.file) {
                            let message = clash.errors.issues.first?.message ?? "fails beside the other mappings"
                            print("\(options.layout.mappings)/\(clash.file):1:1: error: beside \(path), \(message)")
                            failed = true
                        }
                    } else {
                        let mapping = try Mapping.load(text: text, file: path, directory: folder(of: path))
                        let unusable = Self.unusable(mapping, text: text, named: (path as NSString).lastPathComponent, catalog: catalog, configuration: configuration)
                        guard unusable.isEmpty else {
                            for (line, message) in unusable { print("\(path):\(line):1: error: \(message)") }
                            failed = true
                            continue
                        }
                        print("\(path): ok (source \(mapping.source), kind \(mapping.kind), sha256 \(mapping.contentHash.prefix(12)))")
                    }
                } catch {
                    print("\(error)"); failed = true
                }
            }
            if failed { throw DPPExit.usage }
        }

        /// Why a mapping valid alone would still never be used, each at its line: a source dppsync.yaml does not
        /// configure is never read, and of two mappings that take the same files neither is (both had passed).
        static func unusable(_ mapping: Mapping, text: String, named name: String, catalog: MappingCatalog,
                             configuration: DPPSync.Configuration?) -> [(line: Int, message: String)] {
            let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
            func line(of key: String) -> Int { (lines.firstIndex { $0.hasPrefix(key + ":") } ?? 0) + 1 }
            var unusable: [(line: Int, message: String)] = []
            if let configuration, configuration.source(named: mapping.source) == nil {
                unusable.append((line(of: "source"), "source '\(mapping.source)' is not under sources: in dppsync.yaml, so no run reads Inbox/\(mapping.source)/ "
                                 + "(add `\(mapping.source): {}` there)"))
            }
            let clashes = catalog.sameFiles(as: mapping, named: name)
            if !clashes.isEmpty {
                unusable.append((line(of: "files"), "takes the same files from source '\(mapping.source)' as \(clashes.joined(separator: ", ")): no run uses "
                                 + "either, the files wait (keep one: move a backup copy out of Mappings/, or narrow files:)"))
            }
            return unusable
        }
    }
}
