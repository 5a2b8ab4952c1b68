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
