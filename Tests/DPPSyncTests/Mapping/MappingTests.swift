@testable import DPPSync
import Foundation
import Testing

@Suite("mapping language")
struct MappingTests {
    static let base = """
        source: workorders
        files: ["*.json"]
        format: json
        kind: workOrderCompletion
        key: [workOrderId]

        """

    @Test("every problem is reported with file:line:column and a hint")
    func errorsHavePositions() {
        let text = """
            source: workorders
            filez: ["*.json"]
            format: csv
            kind: workOrderCompletion
            key: [workOrderId]
            fields:
              workOrderId: { path: workOrderId, type: text }
              completionDate: { path: x, pattern: "([" }
              complitionDate: y
            """
        do {
            _ = try Mapping.load(text: text, file: "m.mapping.yaml")
            Issue.record("should have failed")
        } catch {
            let messages = error.issues.map(\.description)
            #expect(messages.contains { $0.hasPrefix("m.mapping.yaml:2:1: error: unknown key 'filez'") && $0.contains("did you mean 'files'") })
            #expect(messages.contains { $0.hasPrefix("m.mapping.yaml:3:9: error: unknown format 'csv'") })
            #expect(messages.contains { $0.hasPrefix("m.mapping.yaml:7:43:") && $0.contains("unknown type 'text'") }, "\(messages)")
            #expect(messages.contains { $0.hasPrefix("m.mapping.yaml:8:39:") && $0.contains("not a valid regular expression") })
            #expect(messages.contains { $0.hasPrefix("m.mapping.yaml:9:3:") && $0.contains("did you mean 'completionDate'") })
            #expect(messages.contains { $0.contains("missing 'files'") })
        }
    }

    @Test("a CSV value table: Excel's byte-order mark is no part of the first code; a code twice, a byte that is not UTF-8, a link are refused; so is a mapping that is not UTF-8, and a tab says it is one")
    func valueTables() throws {
        let folder = TemporaryFiles.path("tables-", "")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        func load(_ table: [UInt8]?) throws -> Mapper {
            if let table { try Data(table).write(to: URL(fileURLWithPath: folder + "/status.csv")) }
            return Mapper(mapping: try Mapping.load(text: Self.base + "fields:\n  workOrderId: wo\n  completionDate: done\n  status: { path: st, valuesFile: status.csv }\n",
                                                    file: "m", directory: folder), timeZone: .utc)
        }
        func errors(_ table: [UInt8]?) -> String {
            do { _ = try load(table); return "" } catch { return "\(error)" }
        }
        let record = try JSONParser.parseDocument(Array(#"{"wo": "WO-1", "done": "2025-11-05", "st": "DONE"}"#.utf8))
        guard case .record(let mapped) = try load([0xEF, 0xBB, 0xBF] + Array("DONE,COMP\r\nOPEN,INPRG\r\n".utf8)).map(record, context: [:], position: RecordPosition(index: 0)) else {
            Issue.record("DONE not in the table read with its byte-order mark"); return
        }
        #expect(mapped.string("status") == "COMP")
        #expect(errors(Array("from,to\nDONE,COMP\n\nDONE,CLOSE\n".utf8)).contains("status.csv line 4 maps 'DONE' again (line 2 maps it to 'COMP')"))
        #expect(errors(Array("from,to\n".utf8) + [0x50, 0x72, 0xFC, 0x66, 0x2C, 0x43]).contains("status.csv line 2 is not UTF-8"))
        #expect(errors(Array("from,to\nPr\u{FFFD}f,COMP\n".utf8)) == "", "U+FFFD written as such is UTF-8")
        try FileManager.default.removeItem(atPath: folder + "/status.csv")
        try Data("DONE,COMP\n".utf8).write(to: URL(fileURLWithPath: folder + "/elsewhere.csv"))
        try FileManager.default.createSymbolicLink(atPath: folder + "/status.csv", withDestinationPath: folder + "/elsewhere.csv")
        #expect(errors(nil).contains("status: value table status.csv is a symbolic link: tables are read only as files beside the mapping"), "a link is not followed")

        func mappingErrors(_ text: String) -> String {
            do { _ = try Mapping.load(text: text, file: "m"); return "" } catch { return "\(error)" }
        }
        #expect(mappingErrors(Self.base + "fields:\n\tworkOrderId: wo\n").contains("(a tab on this line: YAML indents with spaces)"))
        // Read from bytes: U+FFFD written as such is text; a byte that is not UTF-8 is refused on its line (CRLF or
        // not), except in a comment, where it changes nothing.
        func bytesErrors(_ bytes: [UInt8]) -> String { mappingErrors(YAMLText.decoding(bytes)) }
        let fields = Array((Self.base + "fields:\n  workOrderId: wo\n  completionDate: done\n").utf8)
        #expect(bytesErrors(fields + Array("  findings: { path: n, default: \"Pr\u{FFFD}fung\" }\n".utf8)) == "")
        #expect(bytesErrors(fields + Array("  findings: n   # Pr".utf8) + [0xFC] + Array("fung\n".utf8)) == "")
        #expect(bytesErrors([0xEF, 0xBB, 0xBF] + fields) == "", "a byte-order mark before the first key")
        // Another syntax error is said as it is (a byte in a comment had hidden it), with the line of the byte.
        #expect(bytesErrors(Array("# Pr".utf8) + [0xFC] + Array("fung\n".utf8) + fields + Array("  findings: { path: n\n".utf8))
            .contains("YAML syntax:") && bytesErrors(Array("# Pr".utf8) + [0xFC] + Array("fung\n".utf8) + fields + Array("  findings: { path: n\n".utf8))
            .contains("(line 1 also holds a byte that is not UTF-8)"))
        #expect(bytesErrors(fields + Array("  findings: { path: n, default: \"operator's } # Pr".utf8) + [0xFC] + Array("fung\" }\n".utf8))
            .contains("not UTF-8"), "inside quotes, however they look")
        #expect(bytesErrors(fields + Array("  siteId: { path: s, default: operator's }   # Pr".utf8) + [0xFC] + Array("fung\n".utf8)) == "",
                "an apostrophe does not hide the comment")
        // A '#' in a block scalar, or after an escaped quote, is the value's.
        #expect(bytesErrors(fields + Array("  findings:\n    path: n\n    default: |\n      Seal # Pr".utf8) + [0xFC] + Array("fung\n".utf8))
            .contains("m:11:14: error: the file is not UTF-8 (a byte of the value that starts here is not)"))
        #expect(bytesErrors(fields + Array("  findings: { path: n, default: \"Seal 3\\\" # Pr".utf8) + [0xFC] + Array("fung\" }\n".utf8)).contains("not UTF-8"))
        #expect(bytesErrors(fields + Array("  findings: { path: n, default: \"Pr".utf8) + [0xFC] + Array("fung\" }\n".utf8))
            .contains("m:9:33: error: the file is not UTF-8"))
        let crlf = (fields + Array("  findings: { path: n, default: \"Pr".utf8) + [0xFC] + Array("fung\" }\n".utf8)).flatMap { $0 == 0x0A ? [0x0D, 0x0A] : [$0] }
        #expect(bytesErrors(crlf).contains("m:9:33: error: the file is not UTF-8"), "CRLF lines are lines")
    }

    @Test("check messages point at what to fix: a repeated key at the repeat, a bad path without a second error, XML in capitals, a folder in files:, in the file's order")
    func messagesPointAtTheFix() {
        func messages(_ text: String) -> [String] {
            do { _ = try Mapping.load(text: text, file: "m"); return [] } catch { return error.issues.map(\.description) }
        }
        let repeated = messages(Self.base + "fields:\n  workOrderId: wo\n  completionDate: done\n  workOrderId: other\n")
        #expect(repeated == ["m:9:3: error: YAML syntax: a mapping repeats the key 'workOrderId' (first at line 7)"], "\(repeated)")
        // The repeat within its block, quoted or not; a key of the same name in the next block is not it.
        let nested = messages(Self.base + "fields:\n  workOrderId: wo\n  completionDate: done\n  findings:\n    path: n\n    'path': m\n  siteId:\n    path: p\n")
        #expect(nested.first?.hasPrefix("m:11:5: error: YAML syntax: a mapping repeats the key 'path' (first at line 10)") == true, "\(nested)")
        // In a flow mapping the repeat is on the key's own line: a sibling's key of that name further down is not it.
        let flow = messages(Self.base + "fields:\n  workOrderId: wo\n  completionDate: done\n  findings: {path: n, \"path\": m}\n  siteId:\n    path: p\n  path: y\n")
        #expect(flow.first?.hasPrefix("m:9:14: error: YAML syntax: a mapping repeats the key 'path'") == true && flow.first?.contains("first at") == false, "\(flow)")
        let badPath = messages(Self.base + "fields:\n  workOrderId: wo\n  completionDate: done\n  findings: { path: \"notes[*].text\" }\n")
        #expect(badPath.count == 1 && badPath[0].contains("has [*] before its last step"), "\(badPath)")
        let capitals = messages(Self.base.replacingOccurrences(of: "format: json", with: "format: XML").replacingOccurrences(of: "files: [\"*.json\"]", with: "files: [\"out/*.xml\"]")
                                + "records: WORKORDER\nfields:\n  workOrderId: WONUM\n  completionDate: ACTFINISH\n  zzz: X\n")
        #expect(capitals.count == 3, "no path refused as JSON: \(capitals)")
        #expect(capitals.first?.hasPrefix("m:2:8: error: files: 'out/*.xml' has a '/'") == true, "\(capitals)")
        #expect(capitals.dropFirst().first?.hasPrefix("m:3:9: error: unknown format 'XML' (did you mean 'xml'?)") == true, "in the file's order: \(capitals)")
        let prefix = messages(Self.base.replacingOccurrences(of: "format: json", with: "format: xml").replacingOccurrences(of: "*.json", with: "*.xml")
                              + "records: mx:WORKORDER\nnamespaces: { mx: \"http://www.ibm.com/maximo\" }\nfields:\n  workOrderId: mx:WONUM\n  completionDate: mx:ACTFINISH\n  siteId: zz:SITEID\n")
        #expect(prefix == ["m:11:11: error: siteId: the namespace prefix 'zz' is not declared under namespaces:"], "at the field that uses it: \(prefix)")
        // A name that is nearly another's gets it suggested.
        let template = messages(Self.base + "fields:\n  workOrderId: wo\n  completionDate: done\n  findings: { template: \"{workOrderID}\" }\n")
        #expect(template.first?.contains("template names 'workOrderID', no field (did you mean 'workOrderId'?)") == true, "\(template)")
        let key = messages(Self.base.replacingOccurrences(of: "key: [workOrderId]", with: "key: [workOrderNo]") + "fields:\n  workOrderId: wo\n  completionDate: done\n")
        #expect(key.first?.contains("key field 'workOrderNo' has no rule under fields (did you mean 'workOrderId'?)") == true, "\(key)")
        #expect { try OutboundMapping.load(text: "channel: maintenance-dew\n", file: "o") } throws: { "\($0)".contains("unknown channel 'maintenance-dew' (did you mean 'maintenance-due'?)") }
        // Tags include and run nothing: they had been dropped silently. YAML's plain types, written out, pass.
        #expect(messages(Self.base + "fields:\n  workOrderId: !include wo.yaml\n  completionDate: done\n")
                == ["m:7:16: error: the tag '!include' is no part of a dppsync file: remove it (tags include and run nothing here)"])
        #expect(messages(Self.base + "fields:\n  workOrderId: wo\n  completionDate: !!binary ZG9uZQ==\n").first?.contains("the tag '!!binary'") == true)
        #expect(messages(Self.base + "fields:\n  workOrderId: !!str wo\n  completionDate: done\n") == [])
    }

    @Test("a record kind's required field without a rule is an error")
    func requiredFields() {
        #expect(throws: ConfigurationErrors.self) {
            try Mapping.load(text: Self.base + "fields:\n  workOrderId: workOrderId\n", file: "m")
        }
    }

    func mapper(_ fields: String, extra: String = "") throws -> Mapper {
        Mapper(mapping: try Mapping.load(text: Self.base + extra + "fields:\n" + fields, file: "m"), timeZone: .utc)
    }

    @Test("a record whose key field has no value is invalid, naming the field, though the mapping does not mark it required")
    func keyWithoutValue() throws {
        let mapper = try mapper("  workOrderId: wo\n  completionDate: done\n")
        for text in [#"{"done": "2025-11-05"}"#, #"{"wo": "", "done": "2025-11-05"}"#, #"{"wo": null, "done": "2025-11-05"}"#] {
            guard case .invalid(_, let failure) = mapper.map(try JSONParser.parseDocument(Array(text.utf8)), context: [:], position: RecordPosition(index: 0)) else {
                Issue.record("mapped: \(text)"); continue
            }
            #expect(failure.field == "workOrderId" && failure.message == "a key field must have a value")
        }
    }

    @Test("rules: required, default, value table, case, trim, pattern, types")
    func rules() throws {
        let mapper = try mapper("""
              workOrderId: { path: wo, required: true, case: upper, pattern: "WO-[0-9]+" }
              completionDate: { path: done, required: true }
              status: { path: st, values: { COMP: completed, CLOSE: closed } }
              returnToService: { path: rts, default: false }
              partsUsed: parts
              statusDate: { path: sd }
            """)
        let record = try JSONParser.parseDocument(Array(#"{"wo": " wo-1 ", "done": "2025-11-05T23:30:00+01:00", "st": "COMP", "rts": "1", "parts": "P-1", "sd": "2025-11-05T16:10:00.5+01:00"}"#.utf8))
        guard case .record(let mapped) = mapper.map(record, context: [:], position: RecordPosition(index: 0)) else {
            Issue.record("not mapped"); return
        }
        #expect(mapped.key == "WO-1")
        #expect(mapped.string("completionDate") == "2025-11-05", "date of a date-time: the operator's day")
        #expect(mapped.string("status") == "completed")
        #expect(mapped.bool("returnToService") == true)
        #expect(mapped.list("partsUsed") == [.string("P-1")])
        #expect(mapped.string("statusDate") == "2025-11-05T15:10:00.500Z")

        let missing = try JSONParser.parseDocument(Array(#"{"wo": "WO-2", "done": "", "st": "COMP"}"#.utf8))
        guard case .invalid(let key, let failure) = mapper.map(missing, context: [:], position: RecordPosition(index: 3)) else {
            Issue.record("should be invalid"); return
        }
        #expect(key == "WO-2", "the key is known when a later field fails")
        #expect(failure.field == "completionDate" && failure.rule == "required")

        let badTable = try JSONParser.parseDocument(Array(#"{"wo": "WO-3", "done": "2025-11-05", "st": "WAPPR"}"#.utf8))
        guard case .invalid(_, let tableFailure) = mapper.map(badTable, context: [:], position: RecordPosition(index: 0)) else {
            Issue.record("should be invalid"); return
        }
        #expect(tableFailure.rule == "values" && tableFailure.value == "WAPPR")

        let badPattern = try JSONParser.parseDocument(Array(#"{"wo": "X-3", "done": "2025-11-05"}"#.utf8))
        guard case .invalid(_, let patternFailure) = mapper.map(badPattern, context: [:], position: RecordPosition(index: 0)) else {
            Issue.record("should be invalid"); return
        }
        #expect(patternFailure.rule == "pattern")
    }

    @Test("a sub-record's template reads its sibling fields; sub-records without one keep theirs all the same")
    func subRecordTemplates() throws {
        let mapper = try mapper("""
              workOrderId: wo
              completionDate: done
              labor:
                each: lab
                fields:
                  laborCode: { path: code, case: upper }
                  hours: { path: h, type: decimal }
                  label: { template: "{laborCode}/{hours} for {context.site}" }
              tests:
                each: t
                fields:
                  name: n
            """, extra: "context:\n  site: site\n")
        let record = try JSONParser.parseDocument(Array(#"{"wo": "WO-1", "done": "2025-11-05", "lab": [{"code": "t1", "h": "2.5"}, {"code": "t2"}], "t": [{"n": "Leak"}]}"#.utf8))
        guard case .record(let mapped) = mapper.map(record, context: ["site": .string("LEJ")], position: RecordPosition(index: 0)) else {
            Issue.record("not mapped"); return
        }
        let labor = mapped.list("labor")
        #expect(labor.map { $0["label"]?.scalarText } == ["T1/2.5 for LEJ", "T2/ for LEJ"])
        #expect(mapped.list("tests").map { $0["name"]?.scalarText } == ["Leak"])
    }

    @Test("a default is the DPP's value: it is not looked up in the value table nor cleaned up, only converted to the field's type")
    func defaultSkipsTheTable() throws {
        let mapper = try mapper("""
              workOrderId: wo
              completionDate: done
              status: { path: st, values: { COMP: completed, CLOSE: closed }, default: completed, case: upper }
              returnToService: { path: rts, default: "true" }
            """)
        for (text, status) in [(#"{"wo": "WO-1", "done": "2025-11-05"}"#, "completed"), (#"{"wo": "WO-1", "done": "2025-11-05", "st": "close"}"#, "closed")] {
            guard case .record(let mapped) = mapper.map(try JSONParser.parseDocument(Array(text.utf8)), context: [:], position: RecordPosition(index: 0)) else {
                Issue.record("not mapped: \(text)"); continue
            }
            #expect(mapped.string("status") == status)
            #expect(mapped.bool("returnToService") == true)
        }
    }

    @Test("mapping check refuses what would fail or vanish on every record: template names no field defines, fields without each, [*] mid-path, a timestamp that is no date-time, a day typed as something else, a list where one value is stored or the reverse")
    func silentMistakes() {
        let cases: [(String, String)] = [
            ("  workOrderId: wo\n  completionDate: done\n  findings: { template: \"{workOrderID} at {siteId}\" }\n  siteId: site\n",
             "findings: template names 'workOrderID', no field"),
            ("  workOrderId: wo\n  completionDate: done\n  findings: { template: \"{siteId}\" }\n  siteId: site\n",
             "findings: template names 'siteId', a field set after it (fields are made in order)"),
            ("  workOrderId: wo\n  completionDate: done\n  findings: { template: \"{context.site}\" }\n",
             "findings: template names 'context.site', which context: does not define"),
            ("  workOrderId: wo\n  completionDate: done\n  labor:\n    path: lab\n    fields:\n      laborCode: code\n",
             "labor: fields: maps sub-records, and needs each: (the path of the list to map)"),
            ("  workOrderId: wo\n  completionDate: done\n  findings: notes[*].text\n",
             "findings: path 'notes[*].text' has [*] before its last step"),
            ("  workOrderId: wo\n  completionDate: done\n  siteId: { path: site, type: decimal }\n",
             "timestamp 'siteId' must be a date-time, date or text field, not decimal"),
            ("  workOrderId: wo\n  completionDate: { path: done, type: date-time }\n",
             "field 'completionDate' of record kind 'workOrderCompletion' is a day (in dppsync.yaml's time zone); type 'date-time' would store something no date reads"),
            // A list where one value is stored, one value where a list is read: they had stored nothing, unseen.
            ("  workOrderId: wo\n  completionDate: done\n  siteId: { path: site, split: \"-\" }\n",
             "field 'siteId' of record kind 'workOrderCompletion' holds one value; a list (split, each or type list) is not stored in it"),
            ("  workOrderId: wo\n  completionDate: done\n  findings: { path: notes, type: list }\n",
             "field 'findings' of record kind 'workOrderCompletion' holds one value; a list"),
            ("  workOrderId: wo\n  completionDate: done\n  findings: { path: notes, type: object }\n",
             "field 'findings' of record kind 'workOrderCompletion' holds one value; type 'object' is not stored in it"),
            ("  workOrderId: wo\n  completionDate: done\n  partsUsed: { path: parts, type: string }\n",
             "field 'partsUsed' of record kind 'workOrderCompletion' is a list; type 'string' would store one value"),
        ]
        for (fields, message) in cases {
            do {
                _ = try mapper(fields, extra: message.hasPrefix("timestamp") ? "timestamp: siteId\n" : "")
                Issue.record("loaded: \(message)")
            } catch {
                #expect("\(error)".contains(message), "\(error)")
            }
        }
    }

    @Test("epoch-ms and OData dates read in the years 0001–9999; beyond them the field is invalid (the day's arithmetic would overflow)")
    func epochDates() throws {
        let mapper = try mapper("""
              workOrderId: wo
              completionDate: { path: done, formats: [epoch-ms] }
              statusDate: { path: sd, formats: [odata] }
            """)
        func map(_ done: String, _ sd: String) throws -> MappingResult {
            let record = try JSONParser.parseDocument(Array(#"{"wo": "WO-1", "done": "\#(done)", "sd": "\#(sd)"}"#.utf8))
            return mapper.map(record, context: [:], position: RecordPosition(index: 0))
        }
        guard case .record(let mapped) = try map("1762300800000", "/Date(1762356600000)/") else { Issue.record("not mapped"); return }
        #expect(mapped.string("completionDate") == "2025-11-05")
        #expect(mapped.string("statusDate") == "2025-11-05T15:30:00.000Z")
        guard case .record(let edges) = try map("-62135596800000", "/Date(253402300799999)/") else { Issue.record("edges not mapped"); return }
        #expect(edges.string("completionDate") == "0001-01-01" && edges.string("statusDate") == "9999-12-31T23:59:59.999Z")
        for (done, sd, field) in [("-9223372036854775808", "/Date(0)/", "completionDate"), ("9223372036854775807", "/Date(0)/", "completionDate"),
                                  ("0", "/Date(-9223372036854775000)/", "statusDate"), ("0", "/Date(253402300800000)/", "statusDate")] {
            guard case .invalid(_, let failure) = try map(done, sd) else { Issue.record("\(done) \(sd) taken for a date"); continue }
            #expect(failure.field == field, "\(done) \(sd)")
        }
        // Eight digits that are no day under yyyyMMdd are not taken as milliseconds by the next format.
        let both = try self.mapper("  workOrderId: wo\n  completionDate: { path: done, formats: [yyyyMMdd, epoch-ms] }\n")
        func day(_ done: String) throws -> MappingResult {
            both.map(try JSONParser.parseDocument(Array(#"{"wo": "WO-1", "done": "\#(done)"}"#.utf8)), context: [:], position: RecordPosition(index: 0))
        }
        guard case .record(let valid) = try day("20251105"), case .record(let millis) = try day("1762300800000") else { Issue.record("not mapped"); return }
        #expect(valid.string("completionDate") == "2025-11-05" && millis.string("completionDate") == "2025-11-05")
        guard case .invalid(_, let failure) = try day("20251332") else { Issue.record("20251332 taken for a date"); return }
        #expect(failure.message.contains("has the form yyyyMMdd but is no day"))
    }

    @Test("a decimal is written as a JSON number: the source's text when it is one, the number's otherwise; hex, inf and an overflow by scale are not numbers")
    func decimalsAreJSONNumbers() throws {
        func hours(_ h: String, rule: String = "") throws -> String? {
            let mapper = try hoursMapper(rule)
            let record = try JSONParser.parseDocument(Array(#"{"wo": "WO-1", "done": "2025-11-05", "lines": [{"code": "T1", "h": "\#(h)"}]}"#.utf8))
            guard case .record(let mapped) = mapper.map(record, context: [:], position: RecordPosition(index: 0)) else { return nil }
            return mapped.list("labor").first?["hours"]?.scalarText
        }
        for (text, expected) in [("2.50", "2.50"), ("+1.5", "1.5"), ("-0.25", "-0.25"), ("1e3", "1e3"), ("0", "0"),
                                 (".5", "0.5"), ("-.5", "-0.5"), ("5.", "5"), ("007.5", "7.5"), ("00", "0")] {
            let written = try hours(text)
            #expect(written == expected, "\(text)")
            if let written { #expect((try? JSONParser.parseDocument(Array(written.utf8))) != nil, "\(written) parses as JSON") }
        }
        for text in ["0x1p4", "inf", "nan", "1.2.3", "e5", ".", "-", "1e", "1_000"] {
            #expect(try hours(text) == nil, "\(text) taken for a number")
        }
        #expect(try hours("1e306", rule: ", scale: 1000") == nil, "infinite once scaled")
        #expect(try hours("1.5", rule: ", scale: 60") == "90")
    }

    /// A work-order mapping whose labour lines' `hours` (path `h`) is a decimal with `rule` added.
    func hoursMapper(_ rule: String) throws -> Mapper {
        try mapper("""
              workOrderId: wo
              completionDate: done
              labor:
                each: lines
                fields:
                  laborCode: code
                  hours: { path: h, type: decimal\(rule) }
            """)
    }

    @Test("decimalComma reads 1.234,5 as 1234.5, a JSON number as it is, and refuses a point between other than groups of three; without it the text is not a number")
    func decimalComma() throws {
        let record = try JSONParser.parseDocument(Array(#"{"wo": "WO-1", "done": "2025-11-05", "lines": [{"code": "T1", "h": "1.234,5"}, {"code": "T2", "h": "4,25"}]}"#.utf8))
        guard case .record(let mapped) = try hoursMapper(", decimalComma: true").map(record, context: [:], position: RecordPosition(index: 0)) else {
            Issue.record("not mapped"); return
        }
        #expect(mapped.list("labor").map { $0["hours"]?.scalarText } == ["1234.5", "4.25"])
        guard case .invalid = try hoursMapper("").map(record, context: [:], position: RecordPosition(index: 0)) else {
            Issue.record("4,25 taken for a number without decimalComma"); return
        }
        // A JSON number is one already; a point that does not separate groups of three digits is refused.
        func hours(_ h: String) throws -> String? {
            let record = try JSONParser.parseDocument(Array(#"{"wo": "WO-1", "done": "2025-11-05", "lines": [{"code": "T1", "h": \#(h)}]}"#.utf8))
            guard case .record(let mapped) = try hoursMapper(", decimalComma: true").map(record, context: [:], position: RecordPosition(index: 0)) else { return nil }
            return mapped.list("labor").first?["hours"]?.scalarText
        }
        for (h, expected) in [("7.5", "7.5"), ("1234", "1234"), (#""1.234""#, "1234"), (#""-1.234.567,25""#, "-1234567.25"), (#""12,5""#, "12.5"),
                              (#""0,5""#, "0.5"), (#""1000""#, "1000")] {
            #expect(try hours(h) == expected, "\(h)")
        }
        for h in [#""7.5""#, #""12.5""#, #""1.2.3""#, #""1.2345""#, #""1.234,5,6""#, #""1,234.5""#, #"".234""#, #""1234.567""#] {
            #expect(try hours(h) == nil, "\(h) taken for a number with a decimal comma")
        }
    }

    @Test("when: filters records as skipped with the filter's words")
    func filter() throws {
        let mapper = try mapper("  workOrderId: wo\n  completionDate: done\n", extra: "when:\n  path: st\n  in: [COMP, CLOSE]\n")
        let record = try JSONParser.parseDocument(Array(#"{"wo": "WO-9", "done": "2025-11-05", "st": "INPRG"}"#.utf8))
        guard case .skipped(let key, let reason) = mapper.map(record, context: [:], position: RecordPosition(index: 0)) else {
            Issue.record("should be skipped"); return
        }
        #expect(key == "WO-9")
        #expect(reason == "st is 'INPRG', not one of COMP, CLOSE")
    }

    @Test("record paths, globs")
    func pathsAndGlobs() throws {
        let doc = try JSONParser.parseDocument(Array(#"{"a": {"b": [{"c": 1}, {"c": 2}]}}"#.utf8))
        #expect(RecordPath("a.b[1].c")?.value(in: doc) == .number("2"))
        #expect(RecordPath("$.a.b[0].c")?.value(in: doc) == .number("1"))
        #expect(RecordPath("a.x")?.value(in: doc) == nil)
        #expect(RecordPath("a.b[x]") == nil)
        #expect(globMatches("*.json", "dpp-registry.json"))
        #expect(!globMatches("*.json", "export.jsonl"))
        #expect(globMatches("wo-??.xml", "wo-01.xml"))
    }
}
