@testable import DPPSync
import Testing

@Suite("XML text written by dppsync")
struct XMLNamesTests {
    @Test("markup is escaped; tab, LF and CR as references a parser gives back; other controls, which XML forbids, as U+FFFD")
    func escaped() {
        #expect(XMLNames.escaped("Seal <kit> & \"ring\"") == "Seal &lt;kit&gt; &amp; &quot;ring&quot;")
        #expect(XMLNames.escaped("a\tb\nc\r\nd") == "a&#9;b&#10;c&#13;&#10;d")
        #expect(XMLNames.escaped("page\u{0C}break\u{0B}\u{00}end") == "page\u{FFFD}break\u{FFFD}\u{FFFD}end")
        #expect(XMLNames.escaped("H₂ tank, no markup") == "H₂ tank, no markup")
    }
}

@Suite("XPath a mapping may use on streamed records")
struct XPathOutsideRecordTests {
    @Test("steps that leave the record are named; the record's own paths, predicates and functions pass")
    func stepsOutside() {
        for (expression, step) in [("..", ".."), ("../mx:HEADER/mx:SITE", ".."), ("/mx:Root/mx:SITE", "/"), ("count(//mx:WORKORDER)", "//"),
                                   ("following-sibling::mx:WORKORDER[1]/mx:WONUM", "following-sibling::"), ("ancestor::*[1]/@id", "ancestor::"),
                                   ("concat(mx:A, /x)", "/"), ("id('x')", "id()"), ("mx:A | //mx:B", "//"),
                                   // After an operator, `/` starts at the document: minus, multiplication and the named operators too.
                                   ("mx:A - /x", "/"), ("2 * /x", "/"), ("mx:A * //x", "//"), ("mx:A and /x", "/"), ("mx:A or //x", "//"),
                                   ("5 div /x", "/"), ("5 mod /x", "/"), ("-/x", "/"), ("count(mx:A) * /x", "/"), ("'a' = /x", "/"),
                                   ("mx:A[1] - /x", "/"), ("mx:A/parent::*", "parent::")] {
            #expect(XPathSyntax.stepOutsideRecord(in: expression) == step, "\(expression)")
        }
        for expression in ["mx:WONUM", "mx:WORKLOG[mx:LOGTYPE='FINDING']/mx:DESCRIPTION", ".", "@kind", "mx:A//mx:B", "count(mx:PART)",
                           "w:NOTE[@kind='../x']", "concat(mx:A, '/', mx:B)", "string-length(mx:WONUM) > 3", "child::mx:A/descendant::mx:B",
                           // A `*` name test, and names that look like operators where a step is read, continue the record's paths.
                           "*/mx:A", "mx:A/*/mx:B", "child::*/mx:B", "mx:A * 2", "and/or", "div/mod", "mx:and / mx:or", "mx:A-B/mx:C",
                           "mx:A[2]/mx:B", "(mx:A)/mx:B", "mx:A[mx:B and mx:C]/mx:D", "@kind", "./mx:A", "mx:A/@kind", "sum(mx:A/mx:B) div 2", "mx:*/mx:B", "mx:A/mx:*"] {
            #expect(XPathSyntax.stepOutsideRecord(in: expression) == nil, "\(expression)")
        }
    }

    @Test("a function or variable XPath 1.0 does not define is a compile problem; prefixed names and the core library pass")
    func unknownFunctions() {
        #expect(XPathSyntax.problem(in: "upper-case(mx:WONUM)") != nil)
        #expect(XPathSyntax.problem(in: "concat(mx:A, $site)") != nil)
        #expect(XPathSyntax.problem(in: "normalize-space(translate(mx:WONUM, 'abc', 'ABC'))") == nil)
        #expect(XPathSyntax.problem(in: "mx:WORKLOG[mx:LOGTYPE='FINDING'][last()]/mx:DESCRIPTION") == nil)
        #expect(XPathSyntax.problem(in: "count(mx:PART) > 0 and string-length(@id) = 3") == nil)
        // Where evaluating on an empty element reaches no call: a predicate, what follows an `and`.
        for hidden in ["mx:WORKLOG[upper-case(mx:LOGTYPE)='FINDING']/mx:DESCRIPTION", "mx:A and upper-case(mx:B)",
                       "mx:W[mx:T = 'x' and $site]/mx:D", "mx:A[ext:lookup(.)]"] {
            #expect(XPathSyntax.problem(in: hidden)?.contains("is no XPath 1.0 function or variable") == true, "\(hidden)")
        }
        for valid in ["child::mx:A/text()", "node()", "processing-instruction('x')", "mx:A and (mx:B)", "count(mx:PART) div 2",
                      "not(mx:X)", "mx:A[. = 'upper-case(x)']", "ancestor-or-self::node()", "1e5 + 2"] {
            #expect(XPathSyntax.unknownCall(in: valid) == nil, "\(valid)")
        }
    }

    @Test("mapping check refuses a field that reads outside the record, and a context that is not a root attribute")
    func mappingCheck() {
        let base = """
            source: workorders
            files: ["*.xml"]
            format: xml
            namespaces: { mx: "http://www.ibm.com/maximo" }
            records: mx:WORKORDER
            kind: workOrderCompletion
            key: [workOrderId]

            """
        let fields = "fields:\n  workOrderId: mx:WONUM\n  assetNum: mx:ASSETNUM\n  completionDate: mx:ACTFINISH\n"
        #expect(throws: Never.self) { try Mapping.load(text: base + "context:\n  exportedAt: /*/@creationDateTime\n  site: \"@site\"\n" + fields, file: "m") }
        do {
            _ = try Mapping.load(text: base + "context:\n  site: mx:HEADER/mx:SITE\n" + fields + "  siteId: ../mx:HEADER/mx:SITE\n", file: "m")
            Issue.record("loaded")
        } catch {
            let text = error.issues.map(\.message)
            #expect(text.contains { $0.hasPrefix("context.site: in an XML export, context reads an attribute of the root element") }, "\(text)")
            #expect(text.contains { $0.hasPrefix("siteId: XPath '../mx:HEADER/mx:SITE' reads outside the record ('..')") }, "\(text)")
        }
    }
}

@Suite("the DTD pre-scan")
struct DoctypeScanTests {
    @Test("a <!DOCTYPE> is found before libxml2 reads it, in UTF-8 and in UTF-16 of either byte order, with or without a mark")
    func utf16() {
        let text = "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n<!-- export -->\n<!DOCTYPE x [<!ENTITY a \"b\">]>\n<x/>"
        let little = text.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        let big = text.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        for bytes in [Array(text.utf8), little, big, [0xFF, 0xFE] + little, [0xFE, 0xFF] + big] {
            #expect(XMLRecordSource.doctypeLine(bytes) == 3)
        }
        #expect(XMLRecordSource.doctypeLine([0xFF, 0xFE] + "<x/>".utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }) == nil)
    }
}
