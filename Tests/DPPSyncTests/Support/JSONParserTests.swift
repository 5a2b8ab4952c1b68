@testable import DPPSync
import Testing

@Suite("JSON parser")
struct JSONParserTests {
    // Cases in the spirit of the JSON test suite (nst/JSONTestSuite): y_ must parse, n_ must not.
    @Test("accepts valid documents", arguments: [
        "[]", "{}", "[1,-0.5,2e10,1E-2]", #"{"a":[true,false,null]}"#, #"["\u00e9\ud83d\ude00"]"#,
        #"[" \\ \/ \b\f\n\r\t"]"#, " \n[ 1 ] \n", "\u{FEFF}[1]", "\"x\"", "123", #"{"":0}"#,
    ])
    func accepts(_ text: String) throws {
        _ = try JSONParser.parseDocument(Array(text.utf8))
    }

    @Test("rejects invalid documents", arguments: [
        "[1,]", "[01]", "[1.]", "[.5]", "{\"a\" 1}", "[\"\\x\"]", "[\"a\nb\"]", "[\"\\ud800\"]", "[1] x", "",
        "{'a':1}", "[NaN]", "[tru]", "[\"unterminated]", "{\"a\":1,}", "[-]", "[1e]",
    ])
    func rejects(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parseDocument(Array(text.utf8)) }
    }

    @Test("keeps number text, tells booleans from numbers, decodes escapes")
    func values() throws {
        let value = try JSONParser.parseDocument(Array(#"{"n": 1.10, "b": true, "s": "a\u0041\n", "big": 12345678901234567890}"#.utf8))
        #expect(value["n"] == .number("1.10"))
        #expect(value["b"] == .bool(true))
        #expect(value["s"] == .string("aA\n"))
        #expect(value["big"] == .number("12345678901234567890"))
    }

    @Test("reports line and column of the error")
    func position() {
        do {
            _ = try JSONParser.parseDocument(Array("{\n  \"a\": 1,\n  \"b\" 2\n}".utf8))
            Issue.record("should have failed")
        } catch {
            #expect(error.position.line == 3)
            #expect(error.position.column == 7)
        }
    }

    @Test("deep nesting is refused, not a stack overflow")
    func depthBound() {
        let text = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parseDocument(Array(text.utf8)) }
    }

    @Test("strings: ASCII, valid UTF-8 and escapes are read; invalid UTF-8 is refused, with or without escapes")
    func utf8() throws {
        let quote = UInt8(ascii: "\"")
        func parse(_ content: [UInt8]) throws -> JSONValue { try JSONParser.parseDocument([quote] + content + [quote]) }
        #expect(try parse(Array("WO-1 plain".utf8)) == .string("WO-1 plain"))
        #expect(try parse(Array("Dichtsatz ä €".utf8)) == .string("Dichtsatz ä €"))
        #expect(try parse(Array(#"a\"b é"#.utf8)) == .string("a\"b é"))
        for invalid: [UInt8] in [[0x61, 0xFF], [0xC3], [0xE2, 0x82], [0xC0, 0xAF], [0x5C, 0x6E, 0xFE]] {
            #expect(throws: JSONParseError.self, "\(invalid)") { try parse(invalid) }
        }
    }

    @Test("canonical writing sorts keys by bytes and escapes only what JSON requires")
    func canonicalWriting() throws {
        let value = try JSONParser.parseDocument(Array(#"{"b":"x\"y","a":[1,{"d":null,"c":"é\u0001"}]}"#.utf8))
        #expect(value.jsonText(sortedKeys: true) == #"{"a":[1,{"c":"é\u0001","d":null}],"b":"x\"y"}"#)
    }

    @Test("strings are escaped the same whether a special byte falls inside an eight-byte run or after it")
    func escapingAtEveryOffset() throws {
        for special in ["\"", "\\", "\n", "\u{1F}", "\u{7F}", "é"] {
            for offset in 0..<20 {
                let text = String(repeating: "a", count: offset) + special + String(repeating: "b", count: 19 - offset)
                var out: [UInt8] = []
                JSONValue.appendQuoted(text, to: &out)
                // Parsed back it is the same string, and nothing but `"`, `\` and controls was escaped.
                #expect(try JSONParser.parseDocument(out) == .string(text))
                let escapes = special == "\"" || special == "\\" || special == "\n" || special == "\u{1F}"
                #expect(out.count == text.utf8.count + 2 + (escapes ? (special == "\u{1F}" ? 5 : 1) : 0), "\(Array(special.utf8)) at \(offset)")
            }
        }
    }
}
