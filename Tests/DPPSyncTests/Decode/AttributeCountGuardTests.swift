@testable import DPPSync
import Testing

@Suite("attribute count guard")
struct AttributeCountGuardTests {
    /// libxml2 hands the guard buffers of any size: a count, a quote or a comment cut between two
    /// of them must read as it does whole.
    @Test("the verdict and the element refused are the same whole and one byte at a time")
    func chunked() throws {
        let noise = String(repeating: " k=v", count: 1_500)
        let allowed = "<?xml version=\"1.0\"?>\n<?pi\(noise)?>\n<r note=\"\(noise) >\" other='\(noise)'>\n<!--\(noise) <x\(noise)> -- still a comment -->\n"
            + "<a><![CDATA[<y\(noise) ]] > ]]></a>\n<b" + (1...1_000).map { " b\($0)=\"\($0)\"" }.joined() + "/>\n"
        let refused = allowed + "<c\n" + (1...1_001).map { " c\($0)='\($0)'" }.joined() + "/>\n</r>\n"
        for (document, refusedAt) in [(allowed + "</r>\n", Int?.none), (refused, allowed.utf8.count)] {
            let bytes = Array(document.utf8)
            var whole = AttributeCountGuard()
            let wholeVerdict = bytes.withUnsafeBytes { whole.scan($0) }
            var bytewise = AttributeCountGuard()
            var bytewiseVerdict = true
            for byte in bytes where bytewiseVerdict { bytewiseVerdict = withUnsafeBytes(of: byte) { bytewise.scan($0) } }
            #expect(wholeVerdict == (refusedAt == nil))
            #expect(bytewiseVerdict == wholeVerdict)
            #expect(whole.refusedAt == refusedAt, "the offset of the element's '<'")
            #expect(bytewise.refusedAt == refusedAt)
            if let refusedAt { #expect(bytes.withUnsafeBytes { AttributeCountGuard.line(of: refusedAt, in: $0) } == 7) }
        }
    }
}
