import DPPSync
import Foundation
import Testing

@Suite("XML exports through libxml2")
struct XMLTests {
    /// A root with the registry and the technicians' certifications dropped, for a work order to apply.
    static func rootWithReferences(_ name: String = #function) throws -> CLI {
        let cli = try CLI.freshRoot(name)
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.dropFixture("technician-certifications.json", source: "certifications")
        return cli
    }

    /// The Maximo fixture's first work order with one attribute more than the guard lets through,
    /// after `before` (on lines of its own).
    static func flooded(_ xml: String, before: String = "") -> String {
        let flood = (1...1_001).map { " a\($0)=\"\($0)\"" }.joined()
        return xml.replacingOccurrences(of: "    <WORKORDER action=\"Replace\">", with: before + "    <WORKORDER action=\"Replace\"\n\(flood)>")
    }

    @Test("the Maximo export maps: completed work applies through the asset crosswalk, INPRG is skipped with the filter's words")
    func maximoExport() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.dropFixture("technician-certifications.json", source: "certifications")
        try cli.dropFixture("maximo-workorders.xml", source: "workorders")
        let result = try cli.run("run", "--once", "--stability-window", "0")
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let rows = try cli.query("SELECT record_key, outcome, reason, message, line FROM record_outcome WHERE kind = 'workOrderCompletion' ORDER BY record_index")
        #expect(rows.count == 2)
        #expect(rows[0][0] == "WO-54321" && rows[0][1] == "applied" && rows[0][4] == "4")
        #expect(rows[1][0] == "WO-54330" && rows[1][1] == "skipped" && rows[1][2] == "FILTERED")
        #expect(rows[1][3] == "mx:STATUS is 'INPRG', not one of COMP, CLOSE")
        #expect(try cli.scalar("SELECT dpp_id || ' ' || completion_date || ' ' || task_id || ' ' || findings FROM work_order") == "DPP-H2-001 2025-11-05 FCS-INSP-01 No issues")
        #expect(try cli.scalar("SELECT parent_dpp_id FROM asset WHERE dpp_id = 'DPP-PART-123'") == "DPP-H2-001", "part found by part and serial number")
        #expect(try cli.scalar("SELECT status_date FROM work_order") == "2025-11-05T15:10:00.000Z", "offset +01:00 normalised to UTC")
    }

    @Test("a record failing a rule is rejected with its line; its extract keeps the root and namespaces and can be dropped back")
    func invalidRecordExtract() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.dropFixture("technician-certifications.json", source: "certifications")
        let xml = try Fixtures.text("maximo-workorders.xml").replacingOccurrences(of: "<ACTFINISH>2025-11-05T14:30:00+01:00</ACTFINISH>", with: "<ACTFINISH>yesterday</ACTFINISH>")
        try cli.drop(xml, as: "wo.xml", source: "workorders")
        let result = try cli.run("run", "--once", "--stability-window", "0")
        #expect(result.status == 1)
        let rejected = try cli.query("SELECT record_index, line, message FROM record_outcome WHERE outcome = 'rejected'")
        #expect(rejected.count == 1)
        #expect(rejected.first?[1] == "4")
        #expect(rejected.first?[2]?.contains("completionDate") == true && rejected.first?[2]?.contains("yesterday") == true)
        let extractName = try #require(cli.files(in: "Quarantine/workorders").first { $0.hasSuffix("-0.xml") })
        let extract = try String(contentsOfFile: cli.root + "/Quarantine/workorders/" + extractName, encoding: .utf8)
        #expect(extract.contains("<PublishMXWO xmlns=\"http://www.ibm.com/maximo\""))
        #expect(extract.contains("xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""))
        #expect(extract.contains("creationDateTime=\"2025-11-05T23:00:04+01:00\""))
        #expect(!extract.contains("WO-54330"))
        // Corrected and dropped back, it applies.
        try cli.drop(extract.replacingOccurrences(of: "yesterday", with: "2025-11-05T14:30:00+01:00"), as: "fixed.xml", source: "workorders")
        let rerun = try cli.run("run", "--once", "--stability-window", "0")
        #expect(rerun.status == 0, "\(rerun.stdout)")
        #expect(try cli.scalar("SELECT completion_date FROM work_order WHERE work_order_id = 'WO-54321'") == "2025-11-05")
    }

    @Test("a record the reconciler rejects gets its extract too (made in a second pass over the file), and only its own")
    func reconcilerRejectionExtract() throws {
        let cli = try CLI.freshRoot()
        try "policies:\n  UNKNOWN_ASSET: rejected\n".write(toFile: cli.layout.configFile, atomically: true, encoding: .utf8)
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.dropFixture("technician-certifications.json", source: "certifications")
        let xml = try Fixtures.text("maximo-workorders.xml").replacingOccurrences(of: "<ASSETNUM>H2FC-0001</ASSETNUM>", with: "<ASSETNUM>H2FC-9999</ASSETNUM>")
        try cli.drop(xml, as: "wo.xml", source: "workorders")
        #expect(try cli.run("run", "--once", "--stability-window", "0").status == 1)
        #expect(try cli.scalar("SELECT record_index || ' ' || reason FROM record_outcome WHERE outcome = 'rejected'") == "0 UNKNOWN_ASSET")
        let extractName = try #require(cli.files(in: "Quarantine/workorders").first { $0.hasSuffix("-0.xml") })
        let extract = try String(contentsOfFile: cli.root + "/Quarantine/workorders/" + extractName, encoding: .utf8)
        #expect(extract.contains("<PublishMXWO xmlns=\"http://www.ibm.com/maximo\""))
        #expect(extract.contains("<WONUM>WO-54321</WONUM>") && extract.contains("H2FC-9999"))
        #expect(!extract.contains("WO-54330"))
    }

    @Test("a truncated export is quarantined whole, nothing of it applied, with the line")
    func truncated() throws {
        let cli = try CLI.freshRoot()
        try cli.dropFixture("dpp-registry.json", source: "registry")
        let xml = try Fixtures.text("maximo-workorders.xml")
        try cli.drop(String(xml.prefix(xml.count - 300)), as: "cut.xml", source: "workorders")
        let result = try cli.run("run", "--once", "--stability-window", "0")
        #expect(result.status == 1)
        #expect(try cli.scalar("SELECT COUNT(*) FROM work_order") == "0")
        #expect(try cli.scalar("SELECT COUNT(*) FROM record_outcome WHERE kind = 'workOrderCompletion'") == "0")
        let reason = try String(contentsOfFile: cli.root + "/Quarantine/workorders/cut.xml.reason.json", encoding: .utf8)
        #expect(reason.contains("NOT_PARSEABLE"))
        let document = try JSONParser.parseDocument(Array(reason.utf8))
        guard case .number(let line)? = document["line"] else { Issue.record("no line: \(reason)"); return }
        #expect((Int(line) ?? 0) > 40, "the decoder stopped near the cut: \(reason)")
    }

    @Test("a billion-laughs file is refused quickly and an external entity is never loaded")
    func hostileXML() throws {
        let cli = try CLI.freshRoot()
        var laughs = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n"
        laughs += "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
        for i in 2...9 { laughs += "<!ENTITY lol\(i) \"" + String(repeating: "&lol\(i - 1);", count: 10) + "\">\n" }
        laughs += "]>\n<PublishMXWO xmlns=\"http://www.ibm.com/maximo\"><WORKORDER><WONUM>&lol9;</WONUM></WORKORDER></PublishMXWO>\n"
        try cli.drop(laughs, as: "laughs.xml", source: "workorders")
        let secret = cli.root + "/secret.txt"
        try "TOP SECRET".write(toFile: secret, atomically: true, encoding: .utf8)
        let xxe = "<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY s SYSTEM \"file://\(secret)\">]>\n<PublishMXWO xmlns=\"http://www.ibm.com/maximo\"><WORKORDER><WONUM>&s;</WONUM></WORKORDER></PublishMXWO>\n"
        try cli.drop(xxe, as: "xxe.xml", source: "workorders")
        let result = try cli.run("run", "--once", "--stability-window", "0")
        #expect(result.status == 1)
        #expect(cli.files(in: "Quarantine/workorders").sorted() == ["laughs.xml", "laughs.xml.reason.json", "xxe.xml", "xxe.xml.reason.json"])
        let reason = try String(contentsOfFile: cli.root + "/Quarantine/workorders/laughs.xml.reason.json", encoding: .utf8)
        #expect(reason.contains("DTD"))
        #expect(try cli.scalar("SELECT COUNT(*) FROM record_outcome") == "0")
        let everything = cli.files(in: "").compactMap { try? String(contentsOfFile: cli.root + "/" + $0, encoding: .utf8) }
        #expect(!everything.filter { !$0.hasPrefix("TOP SECRET") }.contains { $0.contains("TOP SECRET") }, "the entity's file was never read into any output")
    }

    /// libxml2 2.9 is quadratic in a start tag's attributes: a file of one element with a million
    /// of them would hold a pass for tens of minutes.
    @Test("an element with more than 1,000 attributes is refused unread; '=' in comments, CDATA, instructions and values counts for nothing")
    func attributeFlood() throws {
        let cli = try Self.rootWithReferences()
        let xml = try Fixtures.text("maximo-workorders.xml")
        // After 390 KB of comment: the guard's reads and the refusal's line cross several buffers.
        try cli.drop(Self.flooded(xml, before: "<!--" + String(repeating: "padding line\n", count: 30_000) + "-->\n"), as: "flood.xml", source: "workorders")
        // The same export with markup a scan could miscount: it applies as the plain one does.
        let many = String(repeating: " k=v", count: 2_000)
        let noisy = xml.replacingOccurrences(of: "<PublishMXWO xmlns=\"http://www.ibm.com/maximo\"",
                                             with: "<?note\(many)?>\n<!--\(many) <x\(many)> -->\n<PublishMXWO xmlns=\"http://www.ibm.com/maximo\" note=\"\(many) >\"")
            .replacingOccurrences(of: "<SITEID>LEJ</SITEID>", with: "<SITEID>LEJ</SITEID><NOTE><![CDATA[<y\(many) ]] > ]]></NOTE><NOTE2\(String((1...1_000).map { " b\($0)='\($0)'" }.joined()))/>")
        try cli.drop(noisy, as: "noisy.xml", source: "workorders")
        // In UTF-16 a `™` is the bytes 22 21: read byte by byte, a quote that hid the flood.
        let wide = Self.flooded(xml.replacingOccurrences(of: "encoding=\"UTF-8\"", with: "encoding=\"UTF-16\"")
            .replacingOccurrences(of: "<MXWOSet xmlns:xsi", with: "<MXWOSet note=\"™\" xmlns:xsi"))
        try (Data([0xFF, 0xFE]) + (try #require(wide.data(using: .utf16LittleEndian)))).write(to: URL(fileURLWithPath: cli.root + "/Inbox/workorders/wide.xml"))
        // libxml2 would inflate a gzip file unasked, past every check.
        try Data([0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00]).write(to: URL(fileURLWithPath: cli.root + "/Inbox/workorders/packed.xml"))
        let result = try cli.run("run", "--once", "--stability-window", "0")
        #expect(result.status == 1)
        #expect(cli.files(in: "Quarantine/workorders").sorted() == ["flood.xml", "flood.xml.reason.json", "packed.xml", "packed.xml.reason.json",
                                                                   "wide.xml", "wide.xml.reason.json"])
        let wideReason = try String(contentsOfFile: cli.root + "/Quarantine/workorders/wide.xml.reason.json", encoding: .utf8)
        #expect(wideReason.contains("more than 1000 attributes") && wideReason.contains("\"line\": 4"), "\(wideReason)")
        #expect(try String(contentsOfFile: cli.root + "/Quarantine/workorders/packed.xml.reason.json", encoding: .utf8).contains("gzip-compressed"))
        let reason = try String(contentsOfFile: cli.root + "/Quarantine/workorders/flood.xml.reason.json", encoding: .utf8)
        #expect(reason.contains("more than 1000 attributes"), "\(reason)")
        let document = try JSONParser.parseDocument(Array(reason.utf8))
        #expect(document["line"] == .number("30005"), "the line of the element's '<': \(reason)")
        let outcomes = try cli.query("SELECT record_key, outcome FROM record_outcome WHERE kind = 'workOrderCompletion' ORDER BY record_index")
        #expect(outcomes == [["WO-54321", "applied"], ["WO-54330", "skipped"]], "the noisy export reads as the plain one")
    }

    /// Rejected records are written to the quarantine as they are decided; when the file then fails as a
    /// whole, their outcomes are rolled back and their extracts removed: the file goes whole, alone.
    @Test("a file that fails as a whole after some of its records were rejected leaves only itself and its reason in the quarantine")
    func rejectedThenBroken() throws {
        let cli = try Self.rootWithReferences()
        let xml = try Fixtures.text("maximo-workorders.xml")
        let start = try #require(xml.range(of: "    <WORKORDER action=\"Replace\">")), end = try #require(xml.range(of: "</WORKORDER>\n"))
        let record = String(xml[start.lowerBound..<end.upperBound])
        // More records than the feed reads ahead, so that the first are decided before the broken end is read.
        let records = (0..<3_000).map { i in
            record.replacingOccurrences(of: "WO-54321", with: "WO-\(i)")
                .replacingOccurrences(of: "2025-11-05T14:30:00+01:00</ACTFINISH>", with: i % 100 == 0 ? "yesterday</ACTFINISH>" : "2025-11-05T14:30:00+01:00</ACTFINISH>")
        }
        try cli.drop(String(xml[..<start.lowerBound]) + records.joined() + "  </MXWOSet>\n</Publish>\n", as: "broken.xml", source: "workorders")
        let result = try cli.run("run", "--once", "--stability-window", "0")
        #expect(result.status == 1)
        #expect(cli.files(in: "Quarantine/workorders").sorted() == ["broken.xml", "broken.xml.reason.json"])
        #expect(try cli.scalar("SELECT COUNT(*) FROM record_outcome WHERE kind = 'workOrderCompletion'") == "0")
        #expect(try String(contentsOfFile: cli.root + "/Quarantine/workorders/broken.xml.reason.json", encoding: .utf8).contains("NOT_PARSEABLE"))
    }

    /// libxml2 looks every prefixed name up through the namespace declarations in force; an export
    /// declares a few, on its root or again on each record.
    @Test("more than 64 namespace declarations in force refuse the file at the element; an export redeclaring on each record applies")
    func namespaceDeclarations() throws {
        let cli = try Self.rootWithReferences()
        let xml = try Fixtures.text("maximo-workorders.xml")
        // The root's default and the set's `xsi`, then `extra` more on the root and two on each record.
        func declaring(_ extra: Int) -> String {
            xml.replacingOccurrences(of: "<PublishMXWO xmlns=\"http://www.ibm.com/maximo\"",
                                     with: "<PublishMXWO xmlns=\"http://www.ibm.com/maximo\"" + (1...extra).map { " xmlns:n\($0)=\"urn:n\($0)\"" }.joined())
                .replacingOccurrences(of: "<WORKORDER action=\"Replace\">",
                                      with: "<WORKORDER action=\"Replace\" xmlns:w=\"urn:w\"\n        xmlns = \"http://www.ibm.com/maximo\">")
        }
        try cli.drop(declaring(60), as: "redeclaring.xml", source: "workorders")
        try cli.drop(declaring(61), as: "declarations.xml", source: "workorders")
        let result = try cli.run("run", "--once", "--stability-window", "0")
        #expect(result.status == 1)
        #expect(cli.files(in: "Quarantine/workorders").sorted() == ["declarations.xml", "declarations.xml.reason.json"])
        let reason = try String(contentsOfFile: cli.root + "/Quarantine/workorders/declarations.xml.reason.json", encoding: .utf8)
        #expect(reason.contains("declare more than 64 namespaces"), "\(reason)")
        #expect(try JSONParser.parseDocument(Array(reason.utf8))["line"] == .number("4"), "the line of the first record's '<': \(reason)")
        let outcomes = try cli.query("SELECT record_key, outcome FROM record_outcome WHERE kind = 'workOrderCompletion' ORDER BY record_index")
        #expect(outcomes == [["WO-54321", "applied"], ["WO-54330", "skipped"]], "64 in force: the export reads as the plain one")
    }

    /// libxml2 is handed UTF-8 only, decoded before it: read as raw bytes, a Shift_JIS character can
    /// end in `]` and a declared encoding had switched libxml2 in mid-file, past any check.
    @Test("an export is checked as libxml2 reads it: decoded first, the declaration ignored once the encoding is decided")
    func checkedAsDecoded() throws {
        let cli = try Self.rootWithReferences()
        let xml = try Fixtures.text("maximo-workorders.xml")
        let flooded = Self.flooded(xml)
        // Shift_JIS: 81 5D is one character, so the CDATA section goes on past `]]><!--`.
        let sjis = flooded.replacingOccurrences(of: "encoding=\"UTF-8\"", with: "encoding=\"Shift_JIS\"")
        let cut = try #require(sjis.range(of: "<MXWOSet xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">")).upperBound
        let tricky = Data(sjis[..<cut].utf8) + Data("<![CDATA[x".utf8) + Data([0x81]) + Data("]]><!--]]>".utf8) + Data(sjis[cut...].utf8)
        try tricky.write(to: URL(fileURLWithPath: cli.root + "/Inbox/workorders/sjis.xml"))
        // A UTF-8 mark, then a declaration of EBCDIC: libxml2 had switched to it after the declaration.
        try (Data([0xEF, 0xBB, 0xBF]) + Data(flooded.replacingOccurrences(of: "encoding=\"UTF-8\"", with: "encoding=\"IBM037\"").utf8))
            .write(to: URL(fileURLWithPath: cli.root + "/Inbox/workorders/marked.xml"))
        // libxml2 reads its first four bytes as what they look like, whatever it is told: decoded text
        // beginning `3C 00 3F 00` was UTF-16 to it for those bytes, one quote out of step with the guard.
        let nul = "<\u{0}?\u{0}x \"?>" + "<PublishMXWO xmlns=\"http://www.ibm.com/maximo\"" + (1...1_001).map { " a\($0)=\"x\"" }.joined() + "><MXWOSet/></PublishMXWO><!-- \" -->\n"
        try (Data([0xFF, 0xFE]) + (try #require(nul.data(using: .utf16LittleEndian)))).write(to: URL(fileURLWithPath: cli.root + "/Inbox/workorders/nul.xml"))
        let result = try cli.run("run", "--once", "--stability-window", "0")
        #expect(result.status == 1)
        let nulReason = try String(contentsOfFile: cli.root + "/Quarantine/workorders/nul.xml.reason.json", encoding: .utf8)
        #expect(nulReason.contains("NUL character"), "\(nulReason)")
        let sjisReason = try String(contentsOfFile: cli.root + "/Quarantine/workorders/sjis.xml.reason.json", encoding: .utf8)
        #expect(sjisReason.contains("more than 1000 attributes"), "\(sjisReason)")
        #expect(cli.files(in: "Quarantine/workorders").contains("marked.xml"), "read as the UTF-8 its mark says, the EBCDIC declaration ignored")
        #expect(try cli.scalar("SELECT COUNT(*) FROM work_order") == "0")

        // UTF-32 (which libxml2 2.9 cannot read) and a declaration the mapping's encoding overrides.
        let other = try Self.rootWithReferences()
        try (Data([0xFF, 0xFE, 0x00, 0x00]) + (try #require(xml.replacingOccurrences(of: "No issues", with: "Prüfung 水素").data(using: .utf32LittleEndian))))
            .write(to: URL(fileURLWithPath: other.root + "/Inbox/workorders/wide.xml"))
        #expect(try other.run("run", "--once", "--stability-window", "0").status == 0)
        #expect(try other.scalar("SELECT findings FROM work_order WHERE work_order_id = 'WO-54321'") == "Prüfung 水素")
        let mapping = other.layout.mappings + "/workorders-maximo.mapping.yaml"
        try String(contentsOfFile: mapping, encoding: .utf8).replacingOccurrences(of: "format: xml\n", with: "format: xml\nencoding: ISO-8859-1\n")
            .write(toFile: mapping, atomically: true, encoding: .utf8)
        let latin = xml.replacingOccurrences(of: "encoding=\"UTF-8\"", with: "encoding=\"IBM037\"").replacingOccurrences(of: "WO-54321", with: "WO-54399")
            .replacingOccurrences(of: "No issues", with: "Prüfung")
        try (try #require(latin.data(using: .isoLatin1))).write(to: URL(fileURLWithPath: other.root + "/Inbox/workorders/latin.xml"))
        #expect(try other.run("run", "--once", "--stability-window", "0").status == 0)
        #expect(try other.scalar("SELECT findings FROM work_order WHERE work_order_id = 'WO-54399'") == "Prüfung")

        // Told UTF-8, libxml2 had still read its first four bytes as what they look like: `4C 6F A7 94` is
        // `<?xm` in EBCDIC, and the fixture goes on in UTF-8 with ` <x y="?>` and the flooded export, which
        // libxml2 read as an instruction and the guard as a quote left open. It is now handed a UTF-8 mark first.
        try String(contentsOfFile: mapping, encoding: .utf8).replacingOccurrences(of: "encoding: ISO-8859-1", with: "encoding: UTF-8")
            .write(toFile: mapping, atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: Fixtures.directory + "/ebcdic-flood.xml", toPath: other.root + "/Inbox/workorders/ebcdic.xml")
        #expect(try other.run("run", "--once", "--stability-window", "0").status == 1)
        #expect(other.files(in: "Quarantine/workorders").contains("ebcdic.xml"))
    }

    @Test("mapping check compiles XPath and checks namespace prefixes, naming line and column")
    func xpathChecks() throws {
        let cli = try CLI.freshRoot()
        try """
            source: workorders
            files: ["*.xml"]
            format: xml
            records: mx:WORKORDER
            kind: workOrderCompletion
            key: [workOrderId]
            fields:
              workOrderId: "mx:WONUM[["
              completionDate: q:ACTFINISH
            """.write(toFile: cli.layout.mappings + "/bad.mapping.yaml", atomically: true, encoding: .utf8)
        let check = try cli.run("mapping", "check", cli.layout.mappings + "/bad.mapping.yaml")
        #expect(check.status == 2)
        #expect(check.stdout.contains("bad.mapping.yaml:8:16: error: workOrderId: XPath 'mx:WONUM[[' does not compile"), "\(check.stdout)")
        #expect(check.stdout.contains("records uses the prefix 'mx', which namespaces: does not declare"))
        #expect(check.stdout.contains("bad.mapping.yaml:9:19: error: completionDate: the namespace prefix 'q' is not declared under namespaces:"), "at the field: \(check.stdout)")
    }

    @Test("a byte-order mark wins over the mapping's declared encoding; an encoding no decoder knows fails the check")
    func byteOrderMarkWins() throws {
        let cli = try CLI.freshRoot()
        let mapping = cli.layout.mappings + "/workorders-maximo.mapping.yaml"
        let declared = try String(contentsOfFile: mapping, encoding: .utf8).replacingOccurrences(of: "format: xml\n", with: "format: xml\nencoding: ISO-8859-1\n")
        try declared.write(toFile: mapping, atomically: true, encoding: .utf8)
        let text = try Fixtures.text("maximo-workorders.xml").replacingOccurrences(of: "No issues", with: "Prüfung ohne Befund")
        let file = cli.root + "/bom.xml"
        try Data([0xEF, 0xBB, 0xBF] + Array(text.utf8)).write(to: URL(fileURLWithPath: file))
        let preview = try cli.run("mapping", "preview", "--mapping", mapping, file)
        #expect(preview.stdout.contains("\"findings\": \"Prüfung ohne Befund\""), "\(preview.stdout.prefix(600))")
        // JSON: the same, through the declared Latin-1 of a JSON mapping.
        let json = cli.layout.mappings + "/workorders-json.mapping.yaml"
        try String(contentsOfFile: json, encoding: .utf8).replacingOccurrences(of: "format: json\n", with: "format: json\nencoding: latin1\n")
            .write(toFile: json, atomically: true, encoding: .utf8)
        let message = try Fixtures.text("work-order-complete.json").replacingOccurrences(of: "No issues", with: "Prüfung")
        try Data([0xEF, 0xBB, 0xBF] + Array(message.utf8)).write(to: URL(fileURLWithPath: cli.root + "/bom.json"))
        #expect(try cli.run("mapping", "preview", "--mapping", json, cli.root + "/bom.json").stdout.contains("\"findings\": \"Prüfung\""))
        try String(contentsOfFile: json, encoding: .utf8).replacingOccurrences(of: "encoding: latin1", with: "encoding: UTF8")
            .write(toFile: json, atomically: true, encoding: .utf8)
        #expect(try cli.run("mapping", "check", json).status == 0, "the usual spelling of UTF-8 is known")
        try declared.replacingOccurrences(of: "ISO-8859-1", with: "bogus-enc").write(toFile: mapping, atomically: true, encoding: .utf8)
        let check = try cli.run("mapping", "check", mapping)
        #expect(check.status == 2 && check.stdout.contains("unknown encoding 'bogus-enc'"), "\(check.stdout)")
    }
}
