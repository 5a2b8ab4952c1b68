@testable import DPPSync
import Testing

@Suite("XML records: which elements are the mapping's records")
struct XMLRecordSelectionTests {
    /// Names and namespaces are compared where libxml2 keeps them, byte for byte and no further: one a
    /// byte longer or shorter, or in no namespace, is not a record.
    @Test("a record is the mapping's local name in the mapping's namespace, exactly")
    func exactNameAndNamespace() throws {
        let text = try #require(DefaultMappings.files.first { $0.name == "workorders-maximo.mapping.yaml" }).text
        let mapping = try Mapping.load(text: text, file: "workorders-maximo.mapping.yaml")
        func record(_ open: String, _ close: String, _ id: String) -> String {
            "\(open)<WONUM>\(id)</WONUM><ASSETNUM>A</ASSETNUM><ACTFINISH>2025-11-05T14:30:00+01:00</ACTFINISH><STATUS>COMP</STATUS>\(close)\n"
        }
        let xml = "<?xml version=\"1.0\"?>\n<PublishMXWO xmlns=\"http://www.ibm.com/maximo\"><MXWOSet>\n"
            + record("<WORKORDER>", "</WORKORDER>", "WO-1")
            + record("<o:WORKORDER xmlns:o=\"http://www.ibm.com/maximox\">", "</o:WORKORDER>", "longer-namespace")
            + record("<o:WORKORDER xmlns:o=\"http://www.ibm.com/maxim\">", "</o:WORKORDER>", "shorter-namespace")
            + record("<WORKORDER xmlns=\"\">", "</WORKORDER>", "no-namespace")
            + record("<WORKORDERS>", "</WORKORDERS>", "longer-name") + record("<WORKORDE>", "</WORKORDE>", "shorter-name")
            + record("<m:WORKORDER xmlns:m=\"http://www.ibm.com/maximo\">", "</m:WORKORDER>", "WO-2")
            + "</MXWOSet></PublishMXWO>\n"
        var read: [String] = []
        try RecordDecoder.source(for: Array(xml.utf8), fileName: "x.xml", mapping: mapping).forEach(context: { _ in }, record: { item in
            read.append(item.extract().components(separatedBy: "<WONUM>")[1].components(separatedBy: "<")[0])
        })
        #expect(read == ["WO-1", "WO-2"])
    }
}
