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

    /// Two files of one name: the second replaces the first, which the consumer may not have read.
    @Test("a file name that does not use the message's id (or a batch file's batch and part) is refused at load")
    func fileNamesKeepFilesApart() throws {
        func load(_ lines: String) throws -> OutboundMapping { try OutboundMapping.load(text: lines, file: "x.outbound.yaml") }
        #expect(try load("channel: maintenance-due\nfileName: \"{dppId}-{notificationId}.json\"").render(.object([("notificationId", .string("N-1")), ("dppId", .string("D"))])).fileName == "D-N-1.json")
        #expect(try load("channel: component-status\n").fileName == "{statusId}.json", "the default uses the id")
        #expect(try load("channel: release-certificates\nfiles: batch\nfileName: \"crs-{part}-{batch}.jsonl\"").fileName == "crs-{part}-{batch}.jsonl")
        let refusals = [("channel: maintenance-due\nfileName: \"{dppId}.json\"", "fileName must use {notificationId}, the message's id"),
                        ("channel: predictive-alerts\nfileName: alerts.json", "fileName must use {alertId}"),
                        ("channel: release-certificates\nfiles: batch\nfileName: \"crs-{batch}.jsonl\"", "fileName must use {batch} and {part}")]
        for (text, expected) in refusals {
            #expect { try load(text) } throws: { error in "\(error)".contains(expected) && "\(error)".contains("x.outbound.yaml") }
        }
    }
}
