import Foundation

/// Applies one mapping to source records. Pure: no store, no files.
public struct Mapper {
    public let mapping: Mapping
    public let timeZone: OperatorTimeZone
    /// The mapping's fields and context values, compiled.
    private let fields: [(name: String, rule: CompiledRule)]
    private let context: [(name: String, rule: CompiledRule)]

    public init(mapping: Mapping, timeZone: OperatorTimeZone) {
        self.mapping = mapping
        self.timeZone = timeZone
        fields = mapping.fields.map { ($0.name, CompiledRule($0.rule)) }
        context = mapping.context.map { ($0.name, CompiledRule($0.rule)) }
    }

    /// A rule with its regular expressions compiled and its sub-fields compiled in turn. A
    /// reference: iterating a mapping's rules for every record had copied each `FieldRule`
    /// (a dozen reference-counted members) and looked its regular expressions up by text.
    final class CompiledRule: Sendable {
        let rule: FieldRule
        let subfields: [(name: String, rule: CompiledRule)]
        /// Whether a sub-field is a template, which reads its sub-record's other fields by name:
        /// only then are they kept in a dictionary (one a sub-record, a fifth of mapping a line).
        let subfieldsReadSiblings: Bool
        let replace: NSRegularExpression?
        let extract: NSRegularExpression?
        /// `pattern`, anchored at both ends.
        let pattern: NSRegularExpression?

        init(_ rule: FieldRule) {
            self.rule = rule
            subfields = rule.subfields.map { ($0.name, CompiledRule($0.rule)) }
            subfieldsReadSiblings = rule.subfields.contains { $0.rule.template != nil }
            // The loader compiled each expression once already: one that fails here failed there.
            replace = rule.replace.flatMap { try? NSRegularExpression(pattern: $0.pattern) }
            extract = rule.extract.flatMap { try? NSRegularExpression(pattern: $0) }
            pattern = rule.pattern.flatMap { try? NSRegularExpression(pattern: "^(?:" + $0 + ")$") }
        }
    }

    /// Reads the file-level `context:` values (the JSON document, or the XML root's attributes).
    public func context(from document: any RecordAccessor) throws(FieldFailure) -> [String: JSONValue] {
        var values: [String: JSONValue] = [:]
        for (name, rule) in context {
            values[name] = try evaluate(rule, field: "context.\(name)", in: document, fields: [:], context: values)
        }
        return values
    }

    /// Maps one JSON record (convenience for tests and previews).
    public func map(_ record: JSONValue, context: [String: JSONValue], position: RecordPosition) -> MappingResult {
        map(JSONRecordAccessor(record), context: context, position: position)
    }

    /// Maps one record.
    public func map(_ record: any RecordAccessor, context: [String: JSONValue], position: RecordPosition) -> MappingResult {
        for filter in mapping.when {
            let seen = record.value(at: filter.path)?.scalarText
            if !filter.oneOf.contains(seen ?? "") {
                let key = mapping.key.compactMap { name in
                    mapping.fields.first { $0.name == name }?.rule.path.flatMap { record.value(at: $0)?.scalarText }
                }.joined(separator: "|")
                return .skipped(key: key.isEmpty ? nil : key,
                                reason: "\(filter.path) is \(seen.map { "'\($0)'" } ?? "absent"), not one of \(filter.oneOf.joined(separator: ", "))")
            }
        }
        var fields: [String: JSONValue] = [:]
        fields.reserveCapacity(self.fields.count)
        do {
            for (name, rule) in self.fields {
                if let value = try evaluate(rule, field: name, in: record, fields: fields, context: context) { fields[name] = value }
            }
        } catch {
            return .invalid(key: keyText(fields), error)
        }
        var timestamp: Timestamp?
        if let name = mapping.timestamp {
            let value = name.hasPrefix("context.") ? context[String(name.dropFirst(8))] : fields[name]
            if case .string(let text)? = value { timestamp = Timestamp(iso: text) }
        }
        // Every key field has a value: a record without one had been applied under the key "", and the
        // next keyless record taken for its duplicate.
        if let missing = mapping.key.first(where: { (fields[$0]?.scalarText ?? "").isEmpty }) {
            return .invalid(key: nil, FieldFailure(field: missing, rule: "key", value: nil, message: "a key field must have a value"))
        }
        return .record(MappedRecord(kind: mapping.kind, key: keyText(fields) ?? "", timestamp: timestamp, fields: fields, position: position))
    }

    private func keyText(_ fields: [String: JSONValue]) -> String? {
        let parts = mapping.key.compactMap { fields[$0]?.scalarText }
        return parts.count == mapping.key.count ? parts.joined(separator: "|") : nil
    }

    // MARK: One rule

    /// Locate, default, clean up, look up, validate, convert (a default: convert only).
    func evaluate(_ compiled: CompiledRule, field: String, in record: any RecordAccessor,
                  fields: [String: JSONValue], context: [String: JSONValue]) throws(FieldFailure) -> JSONValue? {
        let rule = compiled.rule
        if let each = rule.each {
            let subRecords = record.records(at: each)
            var items: [JSONValue] = []
            items.reserveCapacity(subRecords.count)
            for (i, sub) in subRecords.enumerated() {
                var object: [(String, JSONValue)] = []
                object.reserveCapacity(compiled.subfields.count)
                var subValues: [String: JSONValue] = [:]
                if compiled.subfieldsReadSiblings { subValues.reserveCapacity(compiled.subfields.count) }
                for (name, subRule) in compiled.subfields {
                    // The sub-field's full name (`partsUsed[1].serialNumber`) is built only for a failure.
                    let v: JSONValue?
                    do { v = try evaluate(subRule, field: name, in: sub, fields: subValues, context: context) } catch {
                        throw error.within("\(field)[\(i)]")
                    }
                    if let v {
                        object.append((name, v))
                        if compiled.subfieldsReadSiblings { subValues[name] = v }
                    }
                }
                if !object.isEmpty { items.append(.object(object)) }
            }
            if items.isEmpty, rule.required {
                throw FieldFailure(field: field, rule: "required", value: nil, message: "no sub-records at '\(each)'")
            }
            return items.isEmpty ? nil : .array(items)
        }
        var raw: JSONValue?
        if let constant = rule.constant {
            raw = constant
        } else if let template = rule.template {
            raw = .string(fill(template, fields: fields, context: context))
        } else if let path = rule.path {
            raw = record.value(at: path)
        }
        if let value = raw, value.isAbsent { raw = nil }
        // A default is the DPP's value already: it skips the clean-up and the value table (which had
        // refused `default: completed` beside `values: { COMP: completed }` on every record without one).
        let fromDefault = raw == nil && rule.defaultValue != nil
        if raw == nil { raw = rule.defaultValue }
        guard var value = raw, !value.isAbsent else {
            if rule.required {
                throw FieldFailure(field: field, rule: "required", value: nil, message: "no value at '\(rule.path?.description ?? "")'")
            }
            return nil
        }
        // Several values where one is expected (e.g. two XML nodes): joined for text.
        if case .array(let elements) = value, rule.type != .list, rule.type != .object, rule.split == nil,
           elements.allSatisfy({ $0.scalarText != nil }) {
            value = elements.count == 1 ? elements[0] : .string(elements.compactMap(\.scalarText).joined(separator: "; "))
        }
        if !fromDefault, var text = value.scalarText, rule.type != .object {
            let original = text
            text = try clean(text, rule: compiled, field: field)
            if let delimiter = rule.split {
                let parts = text.components(separatedBy: delimiter).map { rule.trim ? $0.trimmingCharacters(in: .whitespaces) : $0 }.filter { !$0.isEmpty }
                return .array(parts.map(JSONValue.string))
            }
            if text.isEmpty {
                if let d = rule.defaultValue, !d.isAbsent { value = d } else if rule.required {
                    throw FieldFailure(field: field, rule: "required", value: original, message: "nothing left after clean-up")
                } else { return nil }
            } else if text != original || rule.values != nil || rule.letterCase != nil {
                value = .string(text)
            } else if case .string = value {
                value = .string(text)
            }
        }
        return try convert(value, rule: rule, field: field)
    }

    /// Trim, strip zeros, case, replace, extract, value table, pattern.
    private func clean(_ input: String, rule compiled: CompiledRule, field: String) throws(FieldFailure) -> String {
        let rule = compiled.rule
        var text = input
        if rule.trim { text = Self.trimmed(text) }
        if rule.stripLeadingZeros {
            let stripped = text.drop { $0 == "0" }
            text = stripped.isEmpty && !text.isEmpty ? "0" : String(stripped)
        }
        switch rule.letterCase {
        case .upper?: text = text.uppercased()
        case .lower?: text = text.lowercased()
        case nil: break
        }
        if let replace = rule.replace, let regex = compiled.replace {
            text = regex.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: replace.with)
        }
        if let pattern = rule.extract, let regex = compiled.extract {
            guard let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) else {
                throw FieldFailure(field: field, rule: "extract", value: text, message: "does not contain /\(pattern)/")
            }
            let range = match.numberOfRanges > 1 && match.range(at: 1).location != NSNotFound ? match.range(at: 1) : match.range
            text = Range(range, in: text).map { String(text[$0]) } ?? ""
        }
        if let table = rule.values {
            guard let mapped = table[text] else {
                let known = table.keys.sorted()
                throw FieldFailure(field: field, rule: "values", value: text,
                                   message: "not in the value table (\(known.prefix(12).joined(separator: ", "))\(known.count > 12 ? ", …" : ""))")
            }
            text = mapped
        }
        if let pattern = rule.pattern, let regex = compiled.pattern,
           regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) == nil {
            throw FieldFailure(field: field, rule: "pattern", value: text, message: "does not match /\(pattern)/")
        }
        return text
    }

    /// `1.234,5` → `1234.5`, byte by byte (Foundation's `replacingOccurrences` is ~26,000 instructions a call);
    /// `nil` when a point does not separate groups of three digits (`7.5`, `1.2.3` had become 75 and 123).
    static func decimalCommaText(_ text: String) -> String? {
        var plain: [UInt8] = []
        plain.reserveCapacity(text.utf8.count)
        var digitsInGroup = 0, groups = 0, inFraction = false
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "."):
                guard !inFraction, groups == 0 ? (1...3).contains(digitsInGroup) : digitsInGroup == 3 else { return nil }
                groups += 1
                digitsInGroup = 0
            case UInt8(ascii: ","):
                guard !inFraction, groups == 0 || digitsInGroup == 3 else { return nil }
                inFraction = true
                plain.append(UInt8(ascii: "."))
            default:
                if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") { digitsInGroup += 1 }
                plain.append(byte)
            }
        }
        guard inFraction || groups == 0 || digitsInGroup == 3 else { return nil }
        return String(decoding: plain, as: UTF8.self)
    }

    private func fill(_ template: String, fields: [String: JSONValue], context: [String: JSONValue]) -> String {
        let (filled, tail) = BraceTemplate.fill(template) { name in
            (name.hasPrefix("context.") ? context[String(name.dropFirst(8))] : fields[name])?.scalarText
        }
        return filled + tail
    }

    private func convert(_ value: JSONValue, rule: FieldRule, field: String) throws(FieldFailure) -> JSONValue {
        let type = rule.type
        func fail(_ message: String) -> FieldFailure {
            FieldFailure(field: field, rule: "type \(type.rawValue)", value: value.scalarText ?? value.jsonText(), message: message)
        }
        switch type {
        case .string:
            guard let text = value.scalarText else { throw fail("expected a single value, found a list or object") }
            return .string(text)
        case .integer, .decimal:
            guard var text = value.scalarText else { throw fail("not a number") }
            // A JSON number is a number already: `7.5` had been read as 75.
            if rule.decimalComma, !value.isJSONNumber {
                guard let plain = Self.decimalCommaText(text) else {
                    throw fail("not a number written with a decimal comma (1.234,5; a point only between groups of three digits)")
                }
                text = plain
            }
            // Decimal notation only (`Double` also reads `0x1p4`, `inf` and `nan`).
            let form = Self.decimalForm(text)
            guard form.decimal, var number = Double(text), number.isFinite else {
                throw fail(type == .integer ? "not a whole number" : "not a decimal number")
            }
            let arithmetic = rule.scale != nil || rule.negate || rule.absolute
            if let scale = rule.scale { number *= scale }
            if rule.negate { number = -number }
            if rule.absolute { number = Swift.abs(number) }
            guard number.isFinite else { throw fail("out of range once scaled") }
            if type == .integer {
                guard number == number.rounded(), Swift.abs(number) < 9.0e15 else { throw fail("not a whole number") }
                return .number(String(Int64(number)))
            }
            // The source's own text where it is already a JSON number (`2.50` stays so), else
            // the number's (`.5`, `5.`, `007.5` are not JSON, and a message would not parse).
            return .number(arithmetic || rule.decimalComma || !form.json ? Self.decimalText(number) : Self.canonicalDecimal(text))
        case .boolean:
            if case .bool(let b) = value { return .bool(b) }
            switch value.scalarText {
            case "1"?, "true"?: return .bool(true)
            case "0"?, "false"?: return .bool(false)
            default: break
            }
            switch value.scalarText?.lowercased() {
            case "true", "1", "y", "yes": return .bool(true)
            case "false", "0", "n", "no": return .bool(false)
            default: throw fail("not a boolean (true/false, 1/0, Y/N)")
            }
        case .date, .dateTime:
            guard let text = value.scalarText else { throw fail("not a date") }
            for format in rule.formats {
                if let parsed = parse(text, format: format, asDate: type == .date) { return .string(parsed) }
                // Eight digits that are no day are not tried as the next format: `epoch-ms` had read 20251332 as
                // 20 seconds into 1970.
                if format == .yyyyMMdd, Self.trimmed(text).utf8.count == 8, Self.trimmed(text).utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
                    throw fail("has the form yyyyMMdd but is no day (its month or day is out of range)")
                }
            }
            throw fail("not a \(type == .date ? "date" : "date-time") in the accepted formats (\(rule.formats.map(\.rawValue).joined(separator: ", ")))")
        case .list:
            if case .array = value { return value }
            return .array([value])
        case .object:
            guard case .object = value else { throw fail("expected an object") }
            return value
        }
    }

    /// A date (`yyyy-MM-dd`, the operator's day) or UTC date-time, or `nil`.
    private func parse(_ text: String, format: DateFormat, asDate: Bool) -> String? {
        var instant: Timestamp?
        var day: CivilDate?
        let t = Self.trimmed(text)  // not Foundation's trimming: it copied every date through NSString
        switch format {
        case .iso:
            if let d = CivilDate(iso: t) { day = d } else {
                let offset = CivilDate(iso: t.prefix(10)).map { timeZone.offsetForLocalTime(onDay: $0) } ?? 0
                instant = Timestamp(iso: t, defaultOffsetMinutes: offset)
            }
        case .yyyyMMdd:
            let u = Array(t.utf8)
            if u.count == 8, let y = CivilDate.digits(u, 0, 4), let m = CivilDate.digits(u, 4, 2), let d = CivilDate.digits(u, 6, 2) {
                day = CivilDate(iso: "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))")
            }
        case .ddMMyyyy:
            let u = Array(t.utf8)
            if u.count == 10, u[2] == 0x2E, u[5] == 0x2E, let d = CivilDate.digits(u, 0, 2), let m = CivilDate.digits(u, 3, 2), let y = CivilDate.digits(u, 6, 4) {
                day = CivilDate(iso: "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))")
            }
        case .epochMilliseconds:
            if let ms = Int64(t) { instant = Timestamp(checkedMillisecondsSinceEpoch: ms) }
        case .odata:
            if t.hasPrefix("/Date("), t.hasSuffix(")/") {
                let inner = t.dropFirst(6).dropLast(2)
                let digits = inner.prefix { $0.isNumber || $0 == "-" }
                if let ms = Int64(digits) { instant = Timestamp(checkedMillisecondsSinceEpoch: ms) }
            }
        }
        if let instant { return asDate ? timeZone.civilDate(of: instant).description : instant.description }
        if let day {
            if asDate { return day.description }
            return timeZone.start(of: day).description
        }
        return nil
    }

    /// White space trimmed from both ends; the usual untouched case costs no copy.
    static func trimmed(_ text: String) -> String {
        let utf8 = text.utf8
        guard let first = utf8.first, let last = utf8.last else { return text }
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        if !isSpace(first), !isSpace(last), first < 0x80, last < 0x80 { return text }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Source decimal text without a leading `+`.
    static func canonicalDecimal(_ text: String) -> String {
        var t = text
        if t.hasPrefix("+") { t.removeFirst() }
        return t
    }

    /// Whether `text` is decimal notation, `[+-]digits[.digits][(e|E)[+-]digits]` with a digit
    /// before or after the point, and whether (without a leading `+`) it is also a JSON number
    /// (no leading zero, no bare point). One pass over the bytes, no copy of a native string.
    static func decimalForm(_ text: String) -> (decimal: Bool, json: Bool) {
        var text = text
        return text.withUTF8 { bytes in
            let n = bytes.count
            var i = 0
            func isDigit(_ at: Int) -> Bool { at < n && bytes[at] >= UInt8(ascii: "0") && bytes[at] <= UInt8(ascii: "9") }
            if i < n, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            let wholeStart = i
            while isDigit(i) { i += 1 }
            let whole = i - wholeStart
            var fraction = 0, point = false
            if i < n, bytes[i] == UInt8(ascii: ".") {
                point = true
                i += 1
                while isDigit(i) { i += 1; fraction += 1 }
            }
            guard whole + fraction > 0 else { return (false, false) }
            if i < n, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
                i += 1
                if i < n, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
                guard isDigit(i) else { return (false, false) }
                while isDigit(i) { i += 1 }
            }
            guard i == n else { return (false, false) }
            let json = whole > 0 && (whole == 1 || bytes[wholeStart] != UInt8(ascii: "0")) && (!point || fraction > 0)
            return (true, json)
        }
    }

    static func decimalText(_ number: Double) -> String {
        if number == number.rounded(), Swift.abs(number) < 1e15 { return String(Int64(number)) }
        return String(number)
    }
}
