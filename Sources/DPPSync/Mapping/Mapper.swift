import Foundation

/// Applies one mapping to decoded records. Pure: no store, no files.
public struct Mapper {
    public let mapping: Mapping
    public let timeZone: OperatorTimeZone
    private let patterns: [String: NSRegularExpression]

    public init(mapping: Mapping, timeZone: OperatorTimeZone) {
        self.mapping = mapping
        self.timeZone = timeZone
        var patterns: [String: NSRegularExpression] = [:]
        for (_, rule) in mapping.fields + mapping.context {
            if let p = rule.pattern, patterns[p] == nil { patterns[p] = try? NSRegularExpression(pattern: "^(?:" + p + ")$") }
        }
        self.patterns = patterns
    }

    /// Reads the file-level `context:` values from the whole document.
    public func context(from document: JSONValue) throws(FieldFailure) -> [String: JSONValue] {
        var values: [String: JSONValue] = [:]
        for (name, rule) in mapping.context {
            values[name] = try evaluate(rule, field: "context.\(name)", in: document)
        }
        return values
    }

    /// Maps one record.
    public func map(_ record: JSONValue, context: [String: JSONValue], position: RecordPosition) -> MappingResult {
        var fields: [String: JSONValue] = [:]
        for filter in mapping.when {
            let seen = filter.path.value(in: record)?.scalarText
            if !filter.oneOf.contains(seen ?? "") {
                let key = mapping.key.compactMap { name in mapping.fields.first { $0.name == name }?.rule.path?.value(in: record)?.scalarText }.joined(separator: "|")
                return .skipped(key: key.isEmpty ? nil : key,
                                reason: "\(filter.path) is \(seen.map { "'\($0)'" } ?? "absent"), not one of \(filter.oneOf.joined(separator: ", "))")
            }
        }
        do {
            for (name, rule) in mapping.fields {
                if let value = try evaluate(rule, field: name, in: record) { fields[name] = value }
            }
        } catch {
            return .invalid(key: keyText(fields), error)
        }
        let key = keyText(fields)
        var timestamp: Timestamp?
        if let name = mapping.timestamp {
            let value = name.hasPrefix("context.") ? context[String(name.dropFirst(8))] : fields[name]
            if case .string(let text)? = value { timestamp = Timestamp(iso: text) }
        }
        return .record(MappedRecord(kind: mapping.kind, key: key ?? "", timestamp: timestamp, fields: fields, position: position))
    }

    private func keyText(_ fields: [String: JSONValue]) -> String? {
        let parts = mapping.key.compactMap { fields[$0]?.scalarText }
        return parts.count == mapping.key.count ? parts.joined(separator: "|") : nil
    }

    /// One rule: locate, default, clean up, look up, validate, convert.
    func evaluate(_ rule: FieldRule, field: String, in record: JSONValue) throws(FieldFailure) -> JSONValue? {
        var raw: JSONValue? = rule.constant ?? rule.path.flatMap { $0.value(in: record) }
        if let value = raw, value.isAbsent { raw = nil }
        if raw == nil { raw = rule.defaultValue }
        guard var value = raw, !value.isAbsent else {
            if rule.required {
                throw FieldFailure(field: field, rule: "required", value: nil,
                                   message: "no value at '\(rule.path?.description ?? "")'")
            }
            return nil
        }
        if var text = value.scalarText, rule.type != .object, rule.type != .list {
            if rule.trim { text = text.trimmingCharacters(in: .whitespacesAndNewlines) }
            switch rule.letterCase {
            case .upper?: text = text.uppercased()
            case .lower?: text = text.lowercased()
            case nil: break
            }
            if let table = rule.values {
                guard let mapped = table[text] else {
                    throw FieldFailure(field: field, rule: "values", value: text,
                                       message: "not in the value table (\(table.keys.sorted().joined(separator: ", ")))")
                }
                text = mapped
            }
            if let pattern = rule.pattern, let regex = patterns[pattern],
               regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) == nil {
                throw FieldFailure(field: field, rule: "pattern", value: text, message: "does not match /\(pattern)/")
            }
            if case .string = value { value = .string(text) } else if rule.values != nil || rule.letterCase != nil { value = .string(text) }
        }
        return try convert(value, to: rule.type, field: field)
    }

    private func convert(_ value: JSONValue, to type: FieldType, field: String) throws(FieldFailure) -> JSONValue {
        func fail(_ message: String) -> FieldFailure {
            FieldFailure(field: field, rule: "type \(type.rawValue)", value: value.scalarText ?? value.jsonText(), message: message)
        }
        switch type {
        case .string:
            guard let text = value.scalarText else { throw fail("expected a single value, found a list or object") }
            return .string(text)
        case .integer:
            guard let text = value.scalarText, let n = Int64(text) else { throw fail("not a whole number") }
            return .number(String(n))
        case .decimal:
            guard let text = value.scalarText, let d = Double(text), d.isFinite else { throw fail("not a decimal number") }
            return .number(text)
        case .boolean:
            switch value {
            case .bool(let b): return .bool(b)
            default:
                switch value.scalarText?.lowercased() {
                case "true", "1", "y", "yes": return .bool(true)
                case "false", "0", "n", "no": return .bool(false)
                default: throw fail("not a boolean (true/false, 1/0, Y/N)")
                }
            }
        case .date:
            guard let text = value.scalarText else { throw fail("not a date") }
            if let day = CivilDate(iso: text) { return .string(day.description) }
            if let instant = Timestamp(iso: text) { return .string(timeZone.civilDate(of: instant).description) }
            throw fail("not a date (yyyy-MM-dd)")
        case .dateTime:
            guard let text = value.scalarText else { throw fail("not a date-time") }
            let offset = CivilDate(iso: text.prefix(10)).map { timeZone.offsetForLocalTime(onDay: $0) } ?? 0
            guard let instant = Timestamp(iso: text, defaultOffsetMinutes: offset) else {
                throw fail("not an ISO 8601 date-time")
            }
            return .string(instant.description)
        case .list:
            switch value {
            case .array(let elements): return .array(elements)
            default: return .array([value])
            }
        case .object:
            guard case .object = value else { throw fail("expected an object") }
            return value
        }
    }
}
