@testable import DPPSync
import Foundation
import Testing

@Suite("mapping schema and reference")
struct SchemaTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    @Test("every key the loader accepts is in the JSON Schema and in the README's reference, and the other way round")
    func keysAgree() throws {
        let schema = try JSONParser.parseDocument(Array(try String(contentsOf: Self.root.appendingPathComponent("Mappings/mapping.schema.json"), encoding: .utf8).utf8))
        guard case .object(let properties)? = schema["properties"],
              case .array(let rules)? = schema["$defs"]?["rule"]?["oneOf"], case .object(let ruleProperties)? = rules.last?["properties"]
        else { Issue.record("schema shape"); return }
        #expect(Set(properties.map(\.0)) == Set(Mapping.topLevelKeys))
        #expect(Set(ruleProperties.map(\.0)) == Set(FieldRule.keys))
        guard case .array(let kinds)? = schema["properties"]?["kind"]?["enum"] else { Issue.record("kinds"); return }
        #expect(Set(kinds.compactMap(\.scalarText)) == Set(RecordKind.all.map(\.rawValue)))
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        for key in Mapping.topLevelKeys + FieldRule.keys {
            #expect(readme.contains("`\(key)`"), "README's mapping reference lacks `\(key)`")
        }
    }
}
