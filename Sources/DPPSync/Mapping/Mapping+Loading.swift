import Foundation
import Yams

extension Mapping {
    /// Parses and checks a mapping; every problem is reported with file:line:column.
    /// - Parameter directory: where `valuesFile:` tables are looked up (beside the mapping).
    public static func load(text: String, file: String, directory: String? = nil) throws(ConfigurationErrors) -> Mapping {
        var reader = YAMLReader(file: file)
        guard let root = reader.compose(text) else {
            if reader.issues.isEmpty { reader.fail(nil, "the mapping is empty") }
            throw ConfigurationErrors(issues: reader.issues)
        }
        // The format decides how paths are read, so find it first.
        var format: InputFormat?
        if let formatNode = root.mapping?["format"], let text = formatNode.string {
            format = InputFormat(rawValue: text)
            if format == nil {
                // `XML` is read as `xml` for the paths' sake, or every path had been refused as JSON too.
                format = InputFormat(rawValue: text.lowercased())
                let hint = format.map { " (did you mean '\($0.rawValue)'?)" } ?? ""
                reader.fail(formatNode, "unknown format '\(text)'\(hint); one of: \(InputFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        var loader = RuleLoader(format: format ?? .json, directory: directory)
        var source: String?, files: [String] = [], records = "$", namespaces: [String: String] = [:], encoding: String?
        var kind: RecordKind?, key: [String] = [], timestamp: String?, timestampNode: Node?
        var context: [(String, FieldRule)] = [], fields: [(String, FieldRule)] = [], filters: [RecordFilter] = []
        var fieldNodes: [String: Node] = [:]
        var kindNode: Node?, keyNode: Node?, recordsNode: Node?

        for (name, _, value) in reader.pairs(root, allowed: topLevelKeys, what: "the mapping") {
            switch name {
            case "source":
                source = reader.string(value, "source")
                if let s = source, !isSafeFolderName(s) { reader.fail(value, "source '\(s)' must be a plain folder name under Inbox/") }
            case "files":
                files = reader.strings(value, "files")
                // Patterns match names in Inbox/<source>/: one with a folder in it had never matched, unseen.
                for pattern in files where pattern.contains("/") {
                    reader.fail(value, "files: '\(pattern)' has a '/': patterns match file names in Inbox/<source>/, not paths")
                }
            case "encoding":
                encoding = reader.string(value, "encoding")
                if let name = encoding, !(format == .xml ? XMLRecordSource.reads(encoding: name) : TextEncoding.declarable.contains(name.lowercased())) {
                    let known = format == .xml ? "one libxml2 knows, such as ISO-8859-1 or windows-1252" : TextEncoding.declarable.joined(separator: ", ")
                    reader.fail(value, "unknown encoding '\(name)' (\(known); UTF-8 and UTF-16 with a byte-order mark are detected)")
                }
            case "namespaces":
                for (prefix, _, uri) in reader.pairs(value, allowed: nil, what: "namespaces") {
                    namespaces[prefix] = reader.string(uri, "namespaces.\(prefix)")
                }
            case "records":
                records = reader.string(value, "records") ?? "$"
                recordsNode = value
            case "kind":
                kindNode = value
                if let text = reader.string(value, "kind") { kind = RecordKind(rawValue: text) }
            case "key": key = reader.strings(value, "key"); keyNode = value
            case "timestamp": timestamp = reader.string(value, "timestamp"); timestampNode = value
            case "context":
                for (fieldName, _, ruleNode) in reader.pairs(value, allowed: nil, what: "context") {
                    if let rule = loader.rule(ruleNode, field: "context.\(fieldName)", defaultType: .string, reader: &reader) {
                        context.append((fieldName, rule))
                    }
                }
            case "fields":
                for (fieldName, fieldKeyNode, ruleNode) in reader.pairs(value, allowed: nil, what: "fields") {
                    fieldNodes[fieldName] = fieldKeyNode
                    if let rule = loader.rule(ruleNode, field: fieldName, defaultType: nil, reader: &reader) {
                        fields.append((fieldName, rule))
                    }
                }
            case "when":
                let conditions: [Node] = value.sequence.map { Array($0) } ?? [value]
                for condition in conditions {
                    var path: FieldPath?, oneOf: [String] = []
                    for (k, _, v) in reader.pairs(condition, allowed: RecordFilter.keys, what: "when") {
                        if k == "path", let text = reader.string(v, "when.path") { path = loader.path(text, node: v, field: "when", reader: &reader) }
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
        if root.mapping?["format"] == nil { reader.fail(root, "missing 'format' (json, jsonl, xml or yaml)") }
        if format == .xml {
            if records == "$" { reader.fail(recordsNode ?? root, "an XML mapping needs 'records': the record element's name, such as WORKORDER") }
            else if !XMLNames.isQualifiedName(records) { reader.fail(recordsNode, "records '\(records)' is not an element name (NAME or prefix:NAME)") }
            if let prefix = XMLNames.prefix(of: records), namespaces[prefix] == nil {
                reader.fail(recordsNode, "records uses the prefix '\(prefix)', which namespaces: does not declare")
            }
        } else if RecordPath(records) == nil {
            reader.fail(recordsNode, "records path '\(records)' is not valid")
        }
        for (undeclared, use) in loader.usedPrefixes.sorted(by: { $0.key < $1.key }) where namespaces[undeclared] == nil && !["xsi", "xml"].contains(undeclared) {
            reader.fail(use.node, "\(use.field): the namespace prefix '\(undeclared)' is not declared under namespaces:")
        }
        if let kind {
            if kind.fields.isEmpty {
                reader.fail(kindNode, "unknown record kind '\(kind)'; one of: \(RecordKind.all.map(\.rawValue).joined(separator: ", "))")
            } else {
                var typed: [(String, FieldRule)] = []
                for (name, rule) in fields {
                    guard let spec = kind.field(named: name) else {
                        let hint = didYouMean(name, among: kind.fields.map(\.name))
                        reader.fail(fieldNodes[name], "record kind '\(kind)' has no field '\(name)'\(hint)")
                        continue
                    }
                    var rule = rule
                    // A day is compared as a day (due dates, reports, duplicates): another type would store a
                    // time or a text that no date reads, and the due dates had skipped such a completion.
                    if rule.typeDeclared, spec.type == .date, rule.type != .date {
                        reader.fail(fieldNodes[name], "field '\(name)' of record kind '\(kind)' is a day (in dppsync.yaml's time zone); "
                                    + "type '\(rule.type.rawValue)' would store something no date reads: leave the type out (a date-time value is read as its day)")
                        continue
                    }
                    if !rule.typeDeclared { rule.type = rule.each != nil ? .list : spec.type }
                    // A list where the kind stores one value (or the reverse, or an object) had passed every check and
                    // stored nothing: `split: "-"` on a position left the component's installation empty.
                    if let mismatch = Self.shapeMismatch(of: rule, for: spec) {
                        reader.fail(fieldNodes[name], "field '\(name)' of record kind '\(kind)' \(mismatch)")
                        continue
                    }
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
            reader.fail(keyNode, "key field '\(k)' has no rule under fields\(didYouMean(k, among: fields.map(\.0)))")
        }
        loader.checkTemplates(of: fields, context: context.map(\.0), node: root, nodes: fieldNodes, reader: &reader)
        if let timestamp {
            let rule = timestamp.hasPrefix("context.")
                ? context.first { "context." + $0.0 == timestamp }?.1
                : fields.first { $0.0 == timestamp }?.1
            if let rule {
                // The source time decides stale updates: a field that is no date-time had turned them off unseen.
                if ![.dateTime, .date, .string].contains(rule.type) {
                    reader.fail(timestampNode, "timestamp '\(timestamp)' must be a date-time, date or text field, not \(rule.type.rawValue)")
                }
            } else {
                reader.fail(timestampNode, "timestamp '\(timestamp)' names no field or context value")
            }
        }
        guard reader.issues.isEmpty, let source, let format, let kind else {
            throw ConfigurationErrors(issues: reader.issues)
        }
        // The content hash covers the value tables the mapping reads.
        let hashed = text + loader.tableTexts.sorted { $0.key < $1.key }.map { "\n--- \($0.key)\n" + $0.value }.joined()
        return Mapping(name: file, contentHash: Fingerprint.sha256Hex(hashed), text: hashed, source: source, files: files,
                       format: format, records: records, namespaces: namespaces, encoding: encoding, context: context, kind: kind,
                       key: key, timestamp: timestamp, fields: fields, when: filters)
    }

    /// What is wrong with `rule` making a list, an object or one value where `spec` stores another (`nil` if nothing).
    static func shapeMismatch(of rule: FieldRule, for spec: FieldSpec) -> String? {
        let makesList = rule.split != nil || rule.each != nil || rule.type == .list
        switch spec.type {
        case .list:
            return makesList ? nil : "is a list; type '\(rule.type.rawValue)' would store one value where a list is read: leave the type out"
        case .object:
            if makesList { return "is an object; a list (split, each or type list) is not stored in it: leave them out" }
            return rule.type == .object ? nil : "is an object; type '\(rule.type.rawValue)' is not stored in it: leave the type out"
        default:
            if makesList { return "holds one value; a list (split, each or type list) is not stored in it: pick one part with extract or replace instead" }
            return rule.type == .object ? "holds one value; type 'object' is not stored in it: leave the type out" : nil
        }
    }
}

/// Reads field rules, checking paths for the mapping's format as it goes.
struct RuleLoader {
    let format: InputFormat
    let directory: String?
    /// Namespace prefixes the XPath expressions use (checked against `namespaces:`), each with the first
    /// field and path that uses it: the error had pointed at `namespaces:` without naming the field.
    var usedPrefixes: [String: (field: String, node: Node)] = [:]
    /// CSV value tables read, by file name, for the content hash.
    var tableTexts: [String: String] = [:]

    init(format: InputFormat, directory: String?) { self.format = format; self.directory = directory }

    mutating func path(_ text: String, node: Node, field: String, reader: inout YAMLReader) -> FieldPath? {
        if format == .xml {
            if let problem = XPathSyntax.problem(in: text) {
                reader.fail(node, "\(field): XPath '\(text)' does not compile: \(problem)")
                return nil
            }
            // `context:` reads the root element's attributes, which are kept whole while records stream.
            if field.hasPrefix("context.") {
                let attribute = text.hasPrefix("/*/") ? text.dropFirst(3) : Substring(text)
                guard attribute.hasPrefix("@"), XMLNames.isQualifiedName(String(attribute.dropFirst())) else {
                    reader.fail(node, "\(field): in an XML export, context reads an attribute of the root element ('@name' or '/*/@name'), not '\(text)'")
                    return nil
                }
            } else if let step = XPathSyntax.stepOutsideRecord(in: text) {
                reader.fail(node, "\(field): XPath '\(text)' reads outside the record ('\(step)'): records are streamed, so only the record's own nodes are there to read")
                return nil
            }
            for prefix in XPathSyntax.prefixes(in: text) where usedPrefixes[prefix] == nil { usedPrefixes[prefix] = (field, node) }
            return FieldPath(text, json: nil)
        }
        guard let parsed = RecordPath(text) else {
            reader.fail(node, "\(field): path '\(text)' is not valid (use a.b[0].c)")
            return nil
        }
        if parsed.steps.dropLast().contains(.each) {
            reader.fail(node, "\(field): path '\(text)' has [*] before its last step; a field's path reads one value (use each: for a list)")
            return nil
        }
        return FieldPath(text, json: parsed)
    }

    mutating func rule(_ node: Node, field: String, defaultType: FieldType?, reader: inout YAMLReader) -> FieldRule? {
        guard let rule = ruleKeys(node, field: field, defaultType: defaultType, reader: &reader) else { return nil }
        if !rule.subfields.isEmpty, rule.each == nil {
            reader.fail(node, "\(field): fields: maps sub-records, and needs each: (the path of the list to map)")
        }
        return rule
    }

    /// Each `{name}` of a template names a field set before it (fields are made in order; a
    /// sub-record's, a sibling) or a `context.` value: any other name had filled in as "" on every record.
    func checkTemplates(of fields: [(String, FieldRule)], context: [String], node: Node, nodes: [String: Node] = [:], reader: inout YAMLReader) {
        var earlier: [String] = []
        for (name, rule) in fields {
            defer { earlier.append(name) }
            checkTemplates(of: rule.subfields, context: context, node: nodes[name] ?? node, reader: &reader)
            guard let template = rule.template else { continue }
            for used in BraceTemplate.names(in: template) {
                if used.hasPrefix("context.") {
                    if !context.contains(String(used.dropFirst(8))) { reader.fail(nodes[name] ?? node, "\(name): template names '\(used)', which context: does not define") }
                } else if !earlier.contains(used) {
                    let why = fields.contains { $0.0 == used } ? "a field set after it (fields are made in order)" : "no field" + didYouMean(used, among: earlier)
                    reader.fail(nodes[name] ?? node, "\(name): template names '\(used)', \(why)")
                }
            }
        }
    }

    private mutating func ruleKeys(_ node: Node, field: String, defaultType: FieldType?, reader: inout YAMLReader) -> FieldRule? {
        var rule = FieldRule()
        if let defaultType { rule.type = defaultType; rule.typeDeclared = true }
        // Shorthand: `field: path`.
        if case .scalar(let scalar) = node {
            guard let path = path(scalar.string, node: node, field: field, reader: &reader) else { return nil }
            rule.path = path
            return rule
        }
        var given: Set<String> = []
        for (key, _, value) in reader.pairs(node, allowed: FieldRule.keys, what: "the rule of field '\(field)'") {
            given.insert(key)
            switch key {
            case "path":
                if let text = reader.string(value, "\(field).path") { rule.path = path(text, node: value, field: field, reader: &reader) }
            case "each":
                if let text = reader.string(value, "\(field).each") { rule.each = path(text, node: value, field: field, reader: &reader) }
            case "fields":
                for (name, _, subNode) in reader.pairs(value, allowed: nil, what: "\(field).fields") {
                    if let sub = self.rule(subNode, field: "\(field).\(name)", defaultType: nil, reader: &reader) {
                        rule.subfields.append((name, sub))
                    }
                }
            case "value": rule.constant = value.jsonValue
            case "template": rule.template = reader.string(value, "\(field).template")
            case "required": rule.required = reader.bool(value, "\(field).required") ?? false
            case "default": rule.defaultValue = value.jsonValue
            case "type":
                if let text = reader.string(value, "\(field).type") {
                    if let type = FieldType(rawValue: text) { rule.type = type; rule.typeDeclared = true }
                    else { reader.fail(value, "\(field): unknown type '\(text)'; one of: \(FieldType.allCases.map(\.rawValue).joined(separator: ", "))") }
                }
            case "trim": rule.trim = reader.bool(value, "\(field).trim") ?? true
            case "stripLeadingZeros": rule.stripLeadingZeros = reader.bool(value, "\(field).stripLeadingZeros") ?? false
            case "decimalComma": rule.decimalComma = reader.bool(value, "\(field).decimalComma") ?? false
            case "negate": rule.negate = reader.bool(value, "\(field).negate") ?? false
            case "abs": rule.absolute = reader.bool(value, "\(field).abs") ?? false
            case "scale": rule.scale = reader.number(value, "\(field).scale")
            case "split": rule.split = reader.string(value, "\(field).split")
            case "case":
                if let text = reader.string(value, "\(field).case") {
                    rule.letterCase = FieldRule.LetterCase(rawValue: text)
                    if rule.letterCase == nil { reader.fail(value, "\(field): case must be upper or lower") }
                }
            case "formats":
                rule.formats = []
                for text in reader.strings(value, "\(field).formats") {
                    if let f = DateFormat(rawValue: text) { rule.formats.append(f) }
                    else { reader.fail(value, "\(field): unknown date format '\(text)'; one of: \(DateFormat.allCases.map(\.rawValue).joined(separator: ", "))") }
                }
            case "values":
                var table: [String: String] = [:]
                for (from, _, to) in reader.pairs(value, allowed: nil, what: "\(field).values") {
                    table[from] = reader.string(to, "\(field).values.\(from)")
                }
                rule.values = table
            case "valuesFile":
                if let name = reader.string(value, "\(field).valuesFile") { rule.values = loadTable(name, node: value, field: field, reader: &reader) }
            case "pattern", "extract":
                if let text = reader.string(value, "\(field).\(key)") {
                    if (try? NSRegularExpression(pattern: text)) == nil { reader.fail(value, "\(field): \(key) '\(text)' is not a valid regular expression") }
                    else if key == "pattern" { rule.pattern = text } else { rule.extract = text }
                }
            case "replace":
                var pattern: String?, with = ""
                for (k, _, v) in reader.pairs(value, allowed: ["pattern", "with"], what: "\(field).replace") {
                    if k == "pattern" { pattern = reader.string(v, "\(field).replace.pattern") } else { with = reader.string(v, "\(field).replace.with") ?? "" }
                }
                if let pattern, (try? NSRegularExpression(pattern: pattern)) != nil { rule.replace = (pattern, with) }
                else { reader.fail(value, "\(field): replace needs a valid regular expression under 'pattern'") }
            default: break
            }
        }
        // (Not said of a rule that has one the check refused: its own error says what is wrong.)
        if given.isDisjoint(with: ["path", "value", "template", "each"]) {
            reader.fail(node, "\(field): a rule needs 'path', 'value', 'template' or 'each'")
        }
        if rule.each != nil, rule.subfields.isEmpty { reader.fail(node, "\(field): 'each' needs 'fields' for its sub-records") }
        return rule
    }

    /// A two-column CSV (`from,to`, a header line allowed) beside the mapping.
    private mutating func loadTable(_ name: String, node: Node, field: String, reader: inout YAMLReader) -> [String: String]? {
        guard !name.contains("/"), !name.hasPrefix("."), let directory else {
            reader.fail(node, "\(field): valuesFile must be a file name beside the mapping"); return nil
        }
        let path = directory + "/" + name
        guard FileSystem.entryExists(path) else {
            reader.fail(node, "\(field): value table \(name) not found beside the mapping"); return nil
        }
        // A link is not followed (it had read a table from outside Mappings/, which a path cannot name), a pipe
        // is never opened.
        if let kind = FileSystem.specialKind(of: path) {
            reader.fail(node, "\(field): value table \(name) is \(kind): tables are read only as files beside the mapping (copy it in)"); return nil
        }
        guard !FileSystem.isDirectory(path), let data = FileManager.default.contents(atPath: path) else {
            reader.fail(node, "\(field): value table \(name) cannot be read as a file"); return nil
        }
        // Excel's "CSV UTF-8" starts with a byte-order mark: it had become part of the first code, invisibly.
        let text = YAMLText.decoding(data.starts(with: [0xEF, 0xBB, 0xBF]) ? data.dropFirst(3) : data)
        tableTexts[name] = text
        var table: [String: String] = [:]
        var lineOf: [String: Int] = [:]
        for (i, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() where !line.isEmpty {
            if line.unicodeScalars.contains(YAMLText.notUTF8) {
                reader.fail(node, "\(field): \(name) line \(i + 1) is not UTF-8: save the table as UTF-8 (Excel: CSV UTF-8)"); return nil
            }
            let cells = line.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
            guard cells.count == 2 else { reader.fail(node, "\(field): \(name) line \(i + 1) needs two columns"); continue }
            if i == 0, cells[0].lowercased() == "from" { continue }
            // As an inline `values:` map refuses a key twice: the last one had won, unseen.
            if let earlier = lineOf[cells[0]] {
                reader.fail(node, "\(field): \(name) line \(i + 1) maps '\(cells[0])' again (line \(earlier) maps it to '\(table[cells[0]] ?? "")')"); continue
            }
            table[cells[0]] = cells[1]
            lineOf[cells[0]] = i + 1
        }
        return table
    }
}

extension Node {
    subscript(key: String) -> Node? { mapping?[key] }
}
