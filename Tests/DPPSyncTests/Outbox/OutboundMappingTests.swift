@testable import DPPSync
import Testing

@Suite("outbound mappings")
struct OutboundMappingTests {
    @Test("an XML message escapes &, <, > and \" in values and leaves plain text as it is")
    func xmlEscaping() throws {
        let mapping = try OutboundMapping.load(text: """
            channel: maintenance-due
            format: xml
            xml: { root: Notifications, record: Notification }
            fields:
              id: notificationId
              note: basis.detail
            """, file: "due.outbound.yaml")
        let message = try JSONParser.parseDocument(Array(#"{"notificationId": "MDN-1", "basis": {"detail": "seal <A&B> \"left\""}}"#.utf8))
        let (name, content) = mapping.render(message)
        #expect(name == "MDN-1.xml")
        #expect(content.contains("<id>MDN-1</id>"))
        #expect(content.contains("<note>seal &lt;A&amp;B&gt; &quot;left&quot;</note>"))
        #expect(XMLNames.escaped("plain text, é") == "plain text, é")
    }
}
