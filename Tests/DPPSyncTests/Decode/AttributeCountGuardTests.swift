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
    /// a count, a quote, a comment or a code unit cut between two of them must read as it does
    /// whole), and returns the verdict and what was refused, checked to be the same both ways.
    func scan(_ bytes: [UInt8], _ layout: AttributeCountGuard.Layout) -> (accepted: Bool, refusal: (AttributeCountGuard.Refusal, Int)?) {
        var whole = AttributeCountGuard(layout: layout)
        let accepted = bytes.withUnsafeBytes { whole.scan($0) }
        var bytewise = AttributeCountGuard(layout: layout)
        var bytewiseAccepted = true
        for byte in bytes where bytewiseAccepted { bytewiseAccepted = withUnsafeBytes(of: byte) { bytewise.scan($0) } }
        #expect(bytewiseAccepted == accepted)
        #expect(bytewise.refusal?.reason == whole.refusal?.reason && bytewise.refusal?.offset == whole.refusal?.offset)
        return (accepted, whole.refusal.map { ($0.reason, $0.offset) })
    }

    @Test("the verdict and the element refused are the same whole and one byte at a time, in UTF-8, UTF-16 and UTF-32")
    func chunked() throws {
        let encodings: [(String.Encoding, AttributeCountGuard.Layout)] = [
            (.utf8, .bytes), (.utf16LittleEndian, .units(width: 2, bigEndian: false)), (.utf16BigEndian, .units(width: 2, bigEndian: true)),
            (.utf32LittleEndian, .units(width: 4, bigEndian: false)), (.utf32BigEndian, .units(width: 4, bigEndian: true)),
        ]
        for (encoding, layout) in encodings {
            let accepted = try #require((Self.allowed + "</r>\n").data(using: encoding))
            #expect(scan(Array(accepted), layout).accepted, "\(encoding)")
            let refused = Array(try #require(Self.refused.data(using: encoding)))
            let verdict = scan(refused, layout)
            #expect(!verdict.accepted, "\(encoding)")
            let offset = try #require(verdict.refusal?.1)
            #expect(verdict.refusal?.0 == .tooManyAttributes)
            #expect(offset == Self.allowed.data(using: encoding)?.count, "\(encoding): the byte offset of the element's '<'")
            #expect(refused.withUnsafeBytes { layout.line(of: offset, in: $0) } == 7, "\(encoding)")
        }
        // Read a byte at a time, UTF-16's `™` (22 21) had opened a quoted value in the name's place.
        let quoteInUnit = "<r note=\"™\"" + (1...1_001).map { " a\($0)=\"\($0)\"" }.joined() + "/>"
        #expect(!scan(Array(try #require(quoteInUnit.data(using: .utf16LittleEndian))), .units(width: 2, bigEndian: false)).accepted)
    }

    /// libxml2 adds an `<!ATTLIST>`'s default attributes as quadratically; a DTD is refused
    /// wherever it starts, even past the prolog the first check reads.
    @Test("a declaration other than a comment or CDATA section is refused wherever it is")
    func declarations() throws {
        let late = "<!--" + String(repeating: "padding\n", count: 10_000) + "-->\n<!DOCTYPE r [<!ATTLIST r d0 CDATA \"0\">]>\n<r/>\n"
        let verdict = scan(Array(late.utf8), .bytes)
        #expect(verdict.refusal?.0 == .declaration)
        #expect(verdict.refusal?.1 == late.utf8.count - "<!DOCTYPE r [<!ATTLIST r d0 CDATA \"0\">]>\n<r/>\n".utf8.count)
        #expect(!scan(Array("<r><!ELEMENT x ANY></r>".utf8), .bytes).accepted)
        #expect(scan(Array("<r><!----><![CDATA[]]><!-- - -- --></r>".utf8), .bytes).accepted)
    }

    @Test("the layout is libxml2's: a byte-order mark, the mapping's encoding, the first four bytes, the declaration, else UTF-8")
    func layouts() throws {
        typealias Layout = AttributeCountGuard.Layout
        let declaration = Array("<?xml version=\"1.0\" encoding='ISO-8859-15'?>".utf8)
        #expect(try Layout.of(prolog: [0xEF, 0xBB, 0xBF] + declaration, encoding: "UTF-16") == .bytes, "a mark wins")
        #expect(try Layout.of(prolog: [0xFF, 0xFE, 0x3C, 0x00], encoding: nil) == .units(width: 2, bigEndian: false))
        #expect(try Layout.of(prolog: [0xFE, 0xFF, 0x00, 0x3C], encoding: nil) == .units(width: 2, bigEndian: true))
        #expect(try Layout.of(prolog: [0xFF, 0xFE, 0x00, 0x00], encoding: nil) == .units(width: 4, bigEndian: false))
        #expect(try Layout.of(prolog: [0x00, 0x3C, 0x00, 0x3F], encoding: nil) == .units(width: 2, bigEndian: true))
        #expect(try Layout.of(prolog: [0x00, 0x3C, 0x00, 0x3F], encoding: "UTF-16") == .units(width: 2, bigEndian: true), "the bytes say the order")
        #expect(try Layout.of(prolog: [0x00, 0x00, 0x00, 0x3C], encoding: nil) == .units(width: 4, bigEndian: true))
        #expect(try Layout.of(prolog: declaration, encoding: nil) == .bytes)
        #expect(try Layout.of(prolog: declaration, encoding: "latin1") == .bytes)
        #expect(try Layout.of(prolog: declaration, encoding: "windows-1252") == .bytes)
        #expect(try Layout.of(prolog: Array("<r/>".utf8), encoding: nil) == .bytes)
        #expect(Layout.declaredEncoding(declaration) == "ISO-8859-15")
        for (prolog, encoding) in [(Array("<?xml version=\"1.0\" encoding=\"ISO-2022-JP\"?>".utf8), String?.none), (declaration, "UTF-7"),
                                   (declaration, "IBM037"), ([0x4C, 0x6F, 0xA7, 0x94], nil)] {
            #expect(throws: DecodeError.self, "\(encoding ?? String(decoding: prolog, as: UTF8.self))") { try Layout.of(prolog: prolog, encoding: encoding) }
        }
    }
}
