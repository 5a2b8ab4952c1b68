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
                        ("channel: release-certificates\nfiles: batch\nfileName: \"crs-{batch}.jsonl\"", "fileName must use {batch} and {part}"),
                        // A name, not a path: `sub/` had become `sub_`, unseen.
                        ("channel: component-status\nfolder: cs6\nfileName: \"sub/{statusId}.json\"", "x.outbound.yaml:3:11: error: fileName 'sub/{statusId}.json' must be a plain file name in Outbox/cs6/"),
                        ("channel: maintenance-due\nfileName: \"../{notificationId}.json\"", "fileName '../{notificationId}.json' must be a plain file name in Outbox/maintenance-due/"),
                        ("channel: maintenance-due\nfileName: \".{notificationId}.json\"", "not starting with '.'"),
                        // XML names that are none had been dropped from every file; a prefix was written undeclared.
                        ("channel: maintenance-due\nformat: xml\nfields:\n  \"bad name\": notificationId\n  \"1abc\": dppId\n  ok: dppId\n",
                         "x.outbound.yaml:4:3: error: field 'bad name' is not an XML element name"),
                        ("channel: maintenance-due\nformat: xml\nfields:\n  \"1abc\": dppId\n", "x.outbound.yaml:4:3: error: field '1abc' is not an XML element name"),
                        ("fields:\n  \"x:y\": dppId\nformat: xml\nchannel: maintenance-due\n", "x.outbound.yaml:2:3: error: field 'x:y' is not an XML element name"),
                        ("channel: maintenance-due\nformat: xml\nxml: { root: \"m:Root\" }\n", "xml.root 'm:Root' is not an element name")]
        for (text, expected) in refusals {
            #expect { try load(text) } throws: { error in "\(error)".contains(expected) && "\(error)".contains("x.outbound.yaml") }
        }
        // JSON members may be named anything.
        #expect(try load("channel: maintenance-due\nfields:\n  \"bad name\": notificationId\n").fields.map(\.name) == ["bad name"])
    }
}
