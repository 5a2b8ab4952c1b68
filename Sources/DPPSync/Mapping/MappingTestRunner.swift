import Foundation
import Yams

/// Runs mapping test cases (`Mappings/tests/*.test.yaml`): an input (inline or
/// a file beside the test) and the records or errors it must produce. No store.
public struct MappingTestRunner {
    public let mappingsDirectory: String
    public let configuration: Configuration

    public init(mappingsDirectory: String, configuration: Configuration) {
        self.mappingsDirectory = mappingsDirectory; self.configuration = configuration
    }

    public struct CaseResult: Sendable {
        public var file: String
        public var name: String
        /// Empty when the case passed.
        public var failures: [String]
        public var passed: Bool { failures.isEmpty }
    }

    public static let keys = ["mapping", "cases"]
    public static let caseKeys = ["name", "input", "inputFile", "fileName", "expect"]

    public func run(testFile path: String) -> [CaseResult] {
        let name = (path as NSString).lastPathComponent
        func broken(_ message: String) -> [CaseResult] { [CaseResult(file: name, name: "(file)", failures: [message])] }
        guard let data = FileManager.default.contents(atPath: path) else { return broken("cannot read \(path)") }
        var reader = YAMLReader(file: name)
        guard let root = reader.compose(YAMLText.decoding(data)) else { return broken(reader.issues.map(\.description).joined(separator: "; ")) }
        let pairs = reader.pairs(root, allowed: Self.keys, what: "a mapping test")
        guard let mappingName = pairs.first(where: { $0.key == "mapping" }).flatMap({ reader.string($0.value, "mapping") }) else {
            return broken("missing 'mapping' (the mapping file this test exercises)")
        }
        // Paths a test names stay in their folders: a test file is data an administrator may take
        // from elsewhere, and had read any file the process could (`inputFile: ../../secret`).
        guard !mappingName.contains("/"), !mappingName.hasPrefix(".") else {
            return broken("mapping '\(mappingName)' must be a file name in \(mappingsDirectory)")
        }
        let mappingPath = mappingsDirectory + "/" + mappingName
        guard let mappingData = FileManager.default.contents(atPath: mappingPath) else { return broken("mapping \(mappingName) not found in \(mappingsDirectory)") }
        let mapping: Mapping
        do {
            mapping = try Mapping.load(text: YAMLText.decoding(mappingData), file: mappingName, directory: mappingsDirectory)
        } catch {
            return broken("mapping \(mappingName) fails its check: \(error)")
        }
        let testDirectory = (path as NSString).deletingLastPathComponent
        var results: [CaseResult] = []
        for caseNode in pairs.first(where: { $0.key == "cases" })?.value.sequence.map(Array.init) ?? [] {
            var result = CaseResult(file: name, name: "?", failures: [])
            var input: [UInt8]?, fileName: String?, expectations: [Node] = []
            for (key, _, value) in reader.pairs(caseNode, allowed: Self.caseKeys, what: "a test case") {
                switch key {
                case "name": result.name = reader.string(value, "name") ?? "?"
                case "input": input = reader.string(value, "input").map { Array($0.utf8) }
                case "inputFile":
                    if let file = reader.string(value, "inputFile") {
                        guard !file.hasPrefix("/"), !file.split(separator: "/").contains("..") else {
                            result.failures.append("input file \(file) must be a path below the test's folder"); continue
                        }
                        fileName = fileName ?? file
                        input = FileManager.default.contents(atPath: testDirectory + "/" + file).map { [UInt8]($0) }
                        if input == nil { result.failures.append("input file \(file) not found beside the test") }
                    }
                case "fileName": fileName = reader.string(value, "fileName")
                case "expect": expectations = value.sequence.map(Array.init) ?? []
                default: break
                }
            }
            guard let input else {
                if result.failures.isEmpty { result.failures.append("the case has no input or inputFile") }
                results.append(result); continue
            }
            do {
                let preview = try MappingPreview(mapping: mapping, timeZone: configuration.timeZone)
                    .run(bytes: input, fileName: fileName ?? "input." + mapping.format.rawValue, configuration: configuration)
                result.failures += compare(preview.entries, expectations)
            } catch {
                result.failures.append("decoding failed: \(error)")
            }
            results.append(result)
        }
        if !reader.issues.isEmpty { results.append(CaseResult(file: name, name: "(file)", failures: reader.issues.map(\.description))) }
        return results
    }

    private func compare(_ entries: [MappingPreview.Entry], _ expectations: [Node]) -> [String] {
        var failures: [String] = []
        if entries.count != expectations.count {
            failures.append("expected \(expectations.count) record(s), got \(entries.count)")
        }
        for (i, (entry, expected)) in zip(entries, expectations).enumerated() {
            let want = expected.jsonValue
            switch entry {
            case .record(let record, _):
                if let key = want["key"]?.scalarText, key != record.key { failures.append("record \(i): key \(record.key), expected \(key)") }
                if want["skipped"] != nil || want["error"] != nil { failures.append("record \(i): mapped, expected \(want["skipped"] != nil ? "skipped" : "an error")") }
                if case .object(let fields)? = want["fields"] {
                    for (name, value) in fields {
                        let got = record.fields[name]
                        if !Self.matches(got, value) {
                            failures.append("record \(i) field \(name): got \(got?.jsonText(sortedKeys: true) ?? "nothing"), expected \(value.jsonText(sortedKeys: true))")
                        }
                    }
                }
            case .skipped(_, _, let reason):
                guard let expectedReason = want["skipped"]?.scalarText else { failures.append("record \(i): skipped (\(reason)), expected a record"); continue }
                if !reason.contains(expectedReason) { failures.append("record \(i): skipped with '\(reason)', expected '\(expectedReason)'") }
            case .invalid(_, _, _, let message, let failure):
                guard let error = want["error"] else { failures.append("record \(i): error (\(message)), expected a record"); continue }
                if let field = error["field"]?.scalarText, failure?.field != field { failures.append("record \(i): error on \(failure?.field ?? "?"), expected on \(field): \(message)") }
                if let rule = error["rule"]?.scalarText, failure?.rule != rule { failures.append("record \(i): rule \(failure?.rule ?? "?"), expected \(rule): \(message)") }
            }
        }
        return failures
    }

    /// Scalars compare as text (`4.25` = "4.25", `true` = "true"); lists and objects structurally.
    static func matches(_ got: JSONValue?, _ expected: JSONValue) -> Bool {
        guard let got else { return expected == .null }
        switch (got, expected) {
        case (.array(let a), .array(let b)): return a.count == b.count && zip(a, b).allSatisfy { matches($0, $1) }
        case (.object(let a), .object(let b)):
            return b.allSatisfy { name, value in matches(a.first { $0.0 == name }?.1, value) }
        default:
            return got.scalarText == expected.scalarText
        }
    }
}
