import Foundation
import Yams

extension Mapping {
    /// Parses and checks a mapping; every problem is reported with file:line:column.
    public static func load(text: String, file: String) throws(ConfigurationErrors) -> Mapping {
        var reader = YAMLReader(file: file)
        guard let root = reader.compose(text) else {
            if reader.issues.isEmpty { reader.fail(nil, "the mapping is empty") }
            throw ConfigurationErrors(issues: reader.issues)
        }
        var source: String?, files: [String] = [], format: InputFormat?, records = RecordPath("$")!
        var kind: RecordKind?, key: [String] = [], timestamp: String?, timestampNode: Node?
        var context: [(String, FieldRule)] = [], fields: [(String, FieldRule)] = [], filters: [RecordFilter] = []
        var fieldNodes: [String: Node] = [:]
        var kindNode: Node?, keyNode: Node?

        for (name, _, value) in reader.pairs(root, allowed: topLevelKeys, what: "the mapping") {
            switch name {
            case "source":
                source = reader.string(value, "source")
                if let s = source, !isSafeFolderName(s) { reader.fail(value, "source '\(s)' must be a plain folder name under Inbox/") }
            case "files": files = reader.strings(value, "files")
            case "format":
                if let text = reader.string(value, "format") {
                    format = InputFormat(rawValue: text)
                    if format == nil { reader.fail(value, "unknown format '\(text)'; one of: \(InputFormat.allCases.map(\.rawValue).joined(separator: ", "))") }
                    else if format == .xml || format == .yaml { reader.fail(value, "format '\(text)' is not supported by this version yet; use json or jsonl") }
                }
            case "records":
                if let text = reader.string(value, "records") {
                    if let path = RecordPath(text) { records = path } else { reader.fail(value, "records path '\(text)' is not valid") }
                }
            case "kind":
                kindNode = value
                if let text = reader.string(value, "kind") { kind = RecordKind(rawValue: text) }
            case "key": key = reader.strings(value, "key"); keyNode = value
            case "timestamp": timestamp = reader.string(value, "timestamp"); timestampNode = value
            case "context":
                for (fieldName, _, ruleNode) in reader.pairs(value, allowed: nil, what: "context") {
                    if let rule = readRule(ruleNode, field: "context.\(fieldName)", defaultType: .string, reader: &reader) {
                        context.append((fieldName, rule))
                    }
                }
            case "fields":
                for (fieldName, fieldKeyNode, ruleNode) in reader.pairs(value, allowed: nil, what: "fields") {
                    fieldNodes[fieldName] = fieldKeyNode
                    if let rule = readRule(ruleNode, field: fieldName, defaultType: nil, reader: &reader) {
                        fields.append((fieldName, rule))
                    }
                }
            case "when":
                let conditions: [Node] = value.sequence.map { Array($0) } ?? [value]
                for condition in conditions {
                    var path: RecordPath?, oneOf: [String] = []
                    for (k, _, v) in reader.pairs(condition, allowed: RecordFilter.keys, what: "when") {
                        if k == "path", let text = reader.string(v, "when.path") {
                            path = RecordPath(text)
                            if path == nil { reader.fail(v, "path '\(text)' is not valid") }
                        }
                        if k == "in" { oneOf = reader.strings(v, "when.in") }
                    }
                    if let path, !oneOf.isEmpty { filters.append(RecordFilter(path: path, oneOf: oneOf)) }
                    else { reader.fail(condition, "a when: condition needs 'path' and 'in'") }
                }
            default: break
            }
        }

        // Whole-mapping checks.
        if source == nil { reader.fail(root, "missing 'source' (the folder under Inbox/ this mapping reads)") }
        if files.isEmpty { reader.fail(root, "missing 'files' (a glob such as \"*.json\")") }
        if format == nil, !reader.issues.contains(where: { $0.message.hasPrefix("unknown format") }) {
            reader.fail(root, "missing 'format' (json or jsonl)")
        }
        if let kind {
            if kind.fields.isEmpty {
                reader.fail(kindNode, "unknown record kind '\(kind)'; one of: \(RecordKind.all.map(\.rawValue).joined(separator: ", "))")
            } else {
                var typed: [(String, FieldRule)] = []
                for (name, rule) in fields {
                    guard let spec = kind.field(named: name) else {
                        let hint = kind.fields.map(\.name).min { editDistance($0, name) < editDistance($1, name) }
                            .flatMap { editDistance($0, name) <= 3 ? " (did you mean '\($0)'?)" : nil } ?? ""
                        reader.fail(fieldNodes[name], "record kind '\(kind)' has no field '\(name)'\(hint)")
                        continue
                    }
                    var rule = rule
                    if !rule.typeDeclared { rule.type = spec.type }
                    typed.append((name, rule))
                }
                fields = typed
                for spec in kind.fields where spec.required && !fields.contains(where: { $0.0 == spec.name }) {
                    reader.fail(root, "record kind '\(kind)' requires field '\(spec.name)', and the mapping has no rule for it")
                }
            }
        } else {
            reader.fail(root, "missing 'kind' (one of: \(RecordKind.all.map(\.rawValue).joined(separator: ", ")))")
        }
        if key.isEmpty { reader.fail(root, "missing 'key' (the fields that identify a record)") }
        for k in key where !fields.contains(where: { $0.0 == k }) {
            reader.fail(keyNode, "key field '\(k)' has no rule under fields")
        }
        if let timestamp {
            let known = timestamp.hasPrefix("context.")
                ? context.contains { "context." + $0.0 == timestamp }
                : fields.contains { $0.0 == timestamp }
            if !known { reader.fail(timestampNode, "timestamp '\(timestamp)' names no field or context value") }
        }
        guard reader.issues.isEmpty, let source, let format, let kind else {
            throw ConfigurationErrors(issues: reader.issues)
        }
        return Mapping(name: file, contentHash: Fingerprint.sha256Hex(text), text: text, source: source, files: files,
                       format: format, records: records, context: context, kind: kind, key: key, timestamp: timestamp,
                       fields: fields, when: filters)
    }

    private static func readRule(_ node: Node, field: String, defaultType: FieldType?, reader: inout YAMLReader) -> FieldRule? {
        var rule = FieldRule()
        if let defaultType { rule.type = defaultType; rule.typeDeclared = true }
        // Shorthand: `field: path.to.value`.
        if case .scalar(let scalar) = node {
            guard let path = RecordPath(scalar.string) else { reader.fail(node, "\(field): path '\(scalar.string)' is not valid"); return nil }
            rule.path = path
            return rule
        }
        for (key, _, value) in reader.pairs(node, allowed: FieldRule.keys, what: "the rule of field '\(field)'") {
            switch key {
            case "path":
                if let text = reader.string(value, "\(field).path") {
                    if let path = RecordPath(text) { rule.path = path } else { reader.fail(value, "\(field): path '\(text)' is not valid") }
                }
            case "value": rule.constant = value.jsonValue
            case "required": rule.required = reader.bool(value, "\(field).required") ?? false
            case "default": rule.defaultValue = value.jsonValue
            case "type":
                if let text = reader.string(value, "\(field).type") {
                    if let type = FieldType(rawValue: text) { rule.type = type; rule.typeDeclared = true }
                    else { reader.fail(value, "\(field): unknown type '\(text)'; one of: \(FieldType.allCases.map(\.rawValue).joined(separator: ", "))") }
                }
            case "trim": rule.trim = reader.bool(value, "\(field).trim") ?? true
            case "case":
                if let text = reader.string(value, "\(field).case") {
                    rule.letterCase = FieldRule.LetterCase(rawValue: text)
                    if rule.letterCase == nil { reader.fail(value, "\(field): case must be upper or lower") }
                }
            case "values":
                var table: [String: String] = [:]
                for (from, _, to) in reader.pairs(value, allowed: nil, what: "\(field).values") {
                    table[from] = reader.string(to, "\(field).values.\(from)")
                }
                rule.values = table
            case "pattern":
                if let text = reader.string(value, "\(field).pattern") {
                    if (try? NSRegularExpression(pattern: text)) == nil { reader.fail(value, "\(field): pattern '\(text)' is not a valid regular expression") }
                    else { rule.pattern = text }
                }
            default: break
            }
        }
        if rule.path == nil, rule.constant == nil { reader.fail(node, "\(field): a rule needs 'path' or 'value'") }
        return rule
    }
}
