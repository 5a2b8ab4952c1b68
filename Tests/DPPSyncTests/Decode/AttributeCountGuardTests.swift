@testable import DPPSync
import Foundation
import Testing

@Suite("attribute count guard")
struct AttributeCountGuardTests {
    static let noise = String(repeating: " k=v", count: 1_500)
    /// Markup a byte scan could miscount, and an element with exactly the most attributes allowed.
    static let allowed = "<?xml version=\"1.0\"?>\n<?pi\(noise)?>\n<r note=\"\(noise) > ™ • ✓ ħ ≤\" other='\(noise)'>\n<!--\(noise) <x\(noise)> -- still a comment -->\n"
        + "<a><![CDATA[<y\(noise) ]] > ]]></a>\n<b" + (1...1_000).map { " b\($0)=\"\($0)\"" }.joined() + "/>\n"
    /// One attribute more, on line 7.
    static let refused = allowed + "<c\n" + (1...1_001).map { " c\($0)='\($0)'" }.joined() + "/>\n</r>\n"

    /// Scans `bytes` whole, then one byte at a time (libxml2 hands the guard buffers of any size:
    /// a count, a quote or a comment cut between two of them must read as it does whole), and
    /// returns the verdict and what was refused, checked to be the same both ways.
    func scan(_ bytes: [UInt8]) -> (accepted: Bool, refusal: (AttributeCountGuard.Refusal, Int)?) {
        var whole = AttributeCountGuard()
        let accepted = bytes.withUnsafeBytes { whole.scan($0) }
        var bytewise = AttributeCountGuard()
        var bytewiseAccepted = true
        for byte in bytes where bytewiseAccepted { bytewiseAccepted = withUnsafeBytes(of: byte) { bytewise.scan($0) } }
        #expect(bytewiseAccepted == accepted)
        #expect(bytewise.refusal?.reason == whole.refusal?.reason && bytewise.refusal?.offset == whole.refusal?.offset)
        return (accepted, whole.refusal.map { ($0.reason, $0.offset) })
    }

    @Test("the verdict and the element refused are the same whole and one byte at a time")
    func chunked() throws {
        #expect(scan(Array((Self.allowed + "</r>\n").utf8)).accepted)
        let refused = Array(Self.refused.utf8)
        let verdict = scan(refused)
        #expect(!verdict.accepted)
        let offset = try #require(verdict.refusal?.1)
        #expect(verdict.refusal?.0 == .tooManyAttributes)
        #expect(offset == Self.allowed.utf8.count, "the offset of the element's '<'")
        #expect(refused.withUnsafeBytes { AttributeCountGuard.line(of: offset, in: $0) } == 7)
    }

    /// libxml2 adds an `<!ATTLIST>`'s default attributes as quadratically; a DTD is refused
    /// wherever it starts, even past the prolog the first check reads.
    @Test("a declaration other than a comment or CDATA section is refused wherever it is")
    func declarations() throws {
        let late = "<!--" + String(repeating: "padding\n", count: 10_000) + "-->\n<!DOCTYPE r [<!ATTLIST r d0 CDATA \"0\">]>\n<r/>\n"
        let verdict = scan(Array(late.utf8))
        #expect(verdict.refusal?.0 == .declaration)
        #expect(verdict.refusal?.1 == late.utf8.count - "<!DOCTYPE r [<!ATTLIST r d0 CDATA \"0\">]>\n<r/>\n".utf8.count)
        #expect(!scan(Array("<r><!ELEMENT x ANY></r>".utf8)).accepted)
        #expect(scan(Array("<r><!----><![CDATA[]]><!-- - -- --></r>".utf8)).accepted)
    }

    /// libxml2 reads a construct again from its `<` at each 512-byte chunk holding a `>`: past 64 KB,
    /// 64 more `>` are let through, and no more.
    @Test("a tag value, comment, instruction or CDATA section past 64 KB with more than 64 '>' in it is refused; shorter ones are not")
    func longConstructs() throws {
        let head = String(repeating: "x", count: AttributeCountGuard.longConstruct)
        let shapes: [(String, String)] = [("<r a=\"", "\"/>"), ("<r a='", "'/>"), ("<!--", "-->"), ("<?pi ", "?>"), ("<r><![CDATA[", "]]></r>")]
        for (open, close) in shapes {
            let allowed = "<d>" + open + head + String(repeating: "> ", count: 64) + close + "</d>"
            #expect(scan(Array(allowed.utf8)).accepted, "\(open): 64 '>' past 64 KB")
            let many = "<d>" + open + String(repeating: ">", count: 5_000) + close + "</d>"
            #expect(scan(Array(many.utf8)).accepted, "\(open): 5,000 '>' within 64 KB")
            let refused = "<d>" + open + head + String(repeating: "> ", count: 65) + close + "</d>"
            let verdict = scan(Array(refused.utf8))
            let construct = try #require(Array(("<d>" + open).utf8).lastIndex(of: UInt8(ascii: "<")))
            #expect(verdict.refusal?.0 == .longConstruct && verdict.refusal?.1 == construct, "\(open): 65 '>' past 64 KB, refused at its '<'")
        }
    }

    /// libxml2 looks every prefixed name up through the declarations in force: those of an element and
    /// its open ancestors count, those of closed and empty elements no longer, and names, values and
    /// text that only look like declarations never.
    @Test("more than 64 namespace declarations in force are refused; closed elements' and lookalikes do not count")
    func namespaces() throws {
        // 2 on the root and on each of 31 levels: 64 in force at the innermost, reached and left twice.
        let root = "<r xmlns=\"u\" xmlns:q='u'>\n"
        let levels = (1...30).map { "<l\($0)\n\t xmlns:a\($0) = 'u'  xmlns:b\($0)='u'>" }.joined()
        let lookalikes = "<e xml:lang=\"en\" xmlnsx=\"1\" q:xmlns=\"1\" a=\"xmlns:z='u'\" b=\" xmlns:z='u'\">xmlns:c='u'<!-- xmlns:d='u' --><?pi xmlns:e='u'?>"
            + "<![CDATA[<f xmlns:f='u'>]]></e>"
        let innermost = "<l31 xmlns:a31='u' xmlns:b31=\"u\"><e q:x=\"1\"/>" + lookalikes + "</l31 >"
        let emptyAtTheTop = String(repeating: "<e xmlns:x='u' xmlns:y='u'/><e xmlns='u'\n/>", count: 50)
        let closing = (1...30).reversed().map { "</l\($0)>" }.joined()
        let records = String(repeating: "<rec xmlns:s='u' xmlns:t='u'><v xmlns:w='u'>1</v></rec>\n", count: 100)
        let allowed = root + levels + emptyAtTheTop + innermost + innermost + closing + records + "</r>\n"
        #expect(scan(Array(allowed.utf8)).accepted)

        let refusals = ["<f xmlns:y=\"u\">", "<f\nxmlns = 'u'/>", "<f a='1' xmlns:y='u' b='2'></f>"]
        for one in refusals {
            let head = root + levels + "<l31 xmlns:a31='u' xmlns:b31=\"u\">"
            let verdict = scan(Array((head + one + "</l31>" + closing + "</r>").utf8))
            #expect(verdict.refusal?.0 == .namespaces && verdict.refusal?.1 == head.utf8.count, "\(one): the 65th in force, refused at its element's '<'")
        }
    }

    @Test("the encoding: a byte-order mark, the mapping's, the declaration read as the first four bytes show, those bytes, else UTF-8")
    func encodings() throws {
        let declaration = Array("<?xml version=\"1.0\" encoding='ISO-8859-15'?>".utf8)
        #expect(try ExportEncoding.of(prolog: [0xEF, 0xBB, 0xBF] + declaration, mapping: "UTF-16") == .utf8, "a mark wins")
        #expect(try ExportEncoding.of(prolog: [0xFF, 0xFE, 0x3C, 0x00], mapping: nil) == ExportEncoding(name: "UTF-16LE", markLength: 2))
        #expect(try ExportEncoding.of(prolog: [0xFE, 0xFF, 0x00, 0x3C], mapping: "ISO-8859-1") == ExportEncoding(name: "UTF-16BE", markLength: 2))
        #expect(try ExportEncoding.of(prolog: [0xFF, 0xFE, 0x00, 0x00], mapping: nil) == ExportEncoding(name: "UTF-32LE", markLength: 4))
        #expect(try ExportEncoding.of(prolog: declaration, mapping: "latin1") == ExportEncoding(name: "latin1"), "the mapping's is for files without a mark")
        #expect(try ExportEncoding.of(prolog: declaration, mapping: "utf8") == .utf8)
        #expect(try ExportEncoding.of(prolog: declaration, mapping: nil) == ExportEncoding(name: "ISO-8859-15"))
        #expect(try ExportEncoding.of(prolog: Array("<?xml version = '1.0'  encoding = \"utf-8\" standalone='yes'?>".utf8), mapping: nil) == .utf8)
        #expect(try ExportEncoding.of(prolog: Array("<r/>".utf8), mapping: nil) == .utf8)
        // UTF-16 without a mark is read as its bytes show, whatever it declares.
        let wide = Array(try #require("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r/>".data(using: .utf16BigEndian)))
        #expect(try ExportEncoding.of(prolog: wide, mapping: nil) == ExportEncoding(name: "UTF-16BE"))
        // EBCDIC: the declaration, read in EBCDIC, names the variant.
        let ebcdic = Self.ebcdic("<?xml version=\"1.0\" encoding=\"IBM1047\"?>")
        #expect(try ExportEncoding.of(prolog: Array(ebcdic), mapping: nil) == ExportEncoding(name: "IBM1047"))
    }

    /// Characters cut between two reads come out whole; a byte not of the encoding is an error naming it.
    @Test("the transcoder reads UTF-16 a byte at a time as it reads it whole, and names a byte that is not of its encoding")
    func transcoder() throws {
        let text = "<r note=\"™ 水素 😀\">Prüfung</r>\n"
        let wide = Array(try #require(text.data(using: .utf16LittleEndian)))
        var whole: [UInt8] = [], bytewise: [UInt8] = []
        try wide.withUnsafeBytes { try UTF8Transcoder(from: "UTF-16LE").convert($0, final: true, into: &whole) }
        let transcoder = try UTF8Transcoder(from: "UTF-16LE")
        for byte in wide { try withUnsafeBytes(of: byte) { try transcoder.convert($0, into: &bytewise) } }
        try transcoder.convert(UnsafeRawBufferPointer(start: nil, count: 0), final: true, into: &bytewise)
        #expect(whole == Array(text.utf8) && bytewise == whole)
        #expect(throws: DecodeError.self) { var out: [UInt8] = []; try [UInt8]([0x3C, 0xFF, 0x3E]).withUnsafeBytes { try UTF8Transcoder(from: "UTF-8").convert($0, final: true, into: &out) } }
        #expect(throws: DecodeError.self) { var out: [UInt8] = []; try [UInt8]([0x3C, 0x00, 0x3E]).withUnsafeBytes { try UTF8Transcoder(from: "UTF-16LE").convert($0, final: true, into: &out) } }
        #expect(throws: DecodeError.self) { _ = try UTF8Transcoder(from: "bogus-enc") }
    }

    /// The input is made before the file is opened: failing to open it must free what it holds once.
    @Test("a file that cannot be opened is an error naming why")
    func unopenable() throws {
        let text = try #require(DefaultMappings.files.first { $0.name.contains("maximo") }).text
        let source = XMLRecordSource(input: .file("/nonexistent/export.xml"), mapping: try Mapping.load(text: text, file: "maximo.mapping.yaml"))
        #expect { try source.forEach(context: { _ in }, record: { _ in }) } throws: { error in
            "\(error)".contains("cannot be opened: No such file or directory")
        }
    }

    /// `text` in EBCDIC (IBM037/1047 agree on these characters).
    static func ebcdic(_ text: String) -> Data {
        let table: [Character: UInt8] = ["<": 0x4C, "?": 0x6F, "x": 0xA7, "m": 0x94, "l": 0x93, " ": 0x40, "v": 0xA5, "e": 0x85, "r": 0x99, "s": 0xA2, "i": 0x89,
                                         "o": 0x96, "n": 0x95, "=": 0x7E, "\"": 0x7F, "1": 0xF1, ".": 0x4B, "0": 0xF0, "c": 0x83, "d": 0x84, "g": 0x87,
                                         "I": 0xC9, "B": 0xC2, "M": 0xD4, "4": 0xF4, "7": 0xF7, ">": 0x6E]
        return Data(text.map { table[$0] ?? 0x40 })
    }
}
