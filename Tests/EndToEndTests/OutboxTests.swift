@testable import DPPSync
import Foundation
import Testing

@Suite("DPP → CMMS outbox")
struct OutboxTests {
    /// Tests that change what a plan reads behind the ledger's back (a store from before a column) make the next pass plan.
    static let forgetPlan = "UPDATE outbox_plan SET planned_for = NULL"

    static func run(_ cli: CLI, asOf: String = "2026-01-10") throws -> CLI.Result {
        try cli.run("run", "--once", "--stability-window", "0", "--as-of", asOf)
    }

    /// A fresh root that has run the registry, the programme and the certifications.
    static func rootWithReferences(_ name: String = #function) throws -> CLI {
        let cli = try CLI.freshRoot(name)
        for (file, source) in [("dpp-registry.json", "registry"), ("maintenance-programme.yaml", "programme"),
                               ("technician-certifications.json", "certifications")] {
            try cli.dropFixture(file, source: source)
        }
        #expect(try run(cli).status == 0)
        return cli
    }

    func json(_ cli: CLI, _ path: String) throws -> JSONValue {
        try JSONParser.parseDocument(Array(try String(contentsOfFile: cli.root + "/Outbox/" + path, encoding: .utf8).utf8))
    }

    @Test("the seed's scheduled-maintenance workflow end to end, as of 2026-01-10")
    func seedWorkflow() throws {
        let cli = try CLI.freshRoot()
        for (file, source) in [("dpp-registry.json", "registry"), ("maintenance-programme.yaml", "programme"),
                               ("technician-certifications.json", "certifications"), ("utilisation.json", "utilisation")] {
            try cli.dropFixture(file, source: source)
        }
        #expect(try Self.run(cli).status == 0)
        // The seed's own notification: exactly its five fields, plus the ids.
        let first = try json(cli, "maintenance-due/MDN-DPP-H2-001-FCS-INSP-01-20260115-M.json")
        let seed = try JSONParser.parseDocument(Array(#"{"dppId": "DPP-H2-001", "maintenanceType": "Scheduled Inspection", "dueDate": "2026-01-15", "priority": "Medium", "estimatedDuration": "4 hours"}"#.utf8))
        guard case .object(let seedFields) = seed else { return }
        for (name, value) in seedFields { #expect(first[name] == value, "\(name)") }
        #expect(first["replaces"] == .null)
        #expect(first["basis"]?["limit"] == .string("calendar"))
        #expect(first["basis"]?["projected"] == .bool(false))
        let overdue = try json(cli, "maintenance-due/MDN-DPP-H2-002-LH2-LEAK-01-20251129-H.json")
        #expect(overdue["priority"] == .string("High") && overdue["dueDate"] == .string("2025-11-29"))
        // What the work will require.
        let requirement = try json(cli, "certification-requirements/CRQ-DPP-H2-001-FCS-INSP-01-20260115.json")
        #expect(requirement["licenceCategory"] == .string("B1") && requirement["authorisation"] == .string("FUEL-CELL"))
        #expect(requirement["releaseCertificate"] == .string("EASA Form 1"))

        // Re-running emits nothing new.
        let before = cli.files(in: "Outbox")
        #expect(try Self.run(cli).status == 0)
        #expect(cli.files(in: "Outbox") == before)

        // The Maximo completion comes back: a release certificate, and an update replacing the first notification.
        try cli.dropFixture("maximo-workorders.xml", source: "workorders")
        #expect(try Self.run(cli).status == 0)
        let update = try json(cli, "maintenance-due/MDN-DPP-H2-001-FCS-INSP-01-20260201-L.json")
        #expect(update["dueDate"] == .string("2026-02-01"))
        #expect(update["replaces"] == .string("MDN-DPP-H2-001-FCS-INSP-01-20260115-M"))
        // Every stream's head, as the write path keeps it, is its latest message in ledger order
        // (certificates, each a stream of its own, are never asked for and not kept).
        #expect(try cli.scalar("SELECT message_id FROM outbox_stream WHERE stream = 'maintenance-due/DPP-H2-001/FCS-INSP-01'") == "MDN-DPP-H2-001-FCS-INSP-01-20260201-L")
        let latest = try cli.query("""
            SELECT m.stream, m.message_id FROM outbox_message m JOIN outbox_queue q USING (message_id)
            WHERE m.channel != 'release-certificates' AND q.ledger_seq = (SELECT MAX(q2.ledger_seq) FROM outbox_message m2 JOIN outbox_queue q2 USING (message_id) WHERE m2.stream = m.stream)
            ORDER BY 1
            """)
        #expect(!latest.isEmpty)
        #expect(try cli.query("SELECT stream, message_id FROM outbox_stream ORDER BY 1") == latest)
        #expect(update["basis"]?["limit"] == .string("flightHours"))
        #expect(update["basis"]?["projected"] == .bool(true))
        // Release certificates come a file per batch (JSON Lines), one line each.
        let certificateFiles = cli.files(in: "Outbox/release-certificates")
        #expect(certificateFiles.count == 1 && certificateFiles.first?.hasSuffix("-001.jsonl") == true, "\(certificateFiles)")
        let lines = try String(contentsOfFile: cli.root + "/Outbox/release-certificates/" + (certificateFiles.first ?? ""), encoding: .utf8)
            .split(separator: "\n")
        #expect(lines.count == 1)
        let certificate = try JSONParser.parseDocument(Array((lines.first ?? "").utf8))
        #expect(certificate["certificateId"] == .string("CRS-WO-54321"))
        #expect(certificate["work"] == .string("Inspected/Tested") && certificate["statement"]?.scalarText?.hasPrefix("Certifies that") == true)
        #expect(certificate["technician"]?["laborCode"] == .string("JSMITH"))
        #expect(certificate["licenceNumber"] == .string("ES.66.B1.1234"))
        #expect(certificate["workOrderId"] == .string("WO-54321"))
        // The certificate names a ledger entry and the signed checkpoint that includes it: the proof checks out.
        let entry = try #require(certificate["ledgerEntry"]?.scalarText)
        #expect(try cli.scalar("SELECT kind FROM ledger_entry WHERE seq = \(entry)") == "workorder.completed", "the certificate is decided with the completion that released the component")
        #expect(try cli.scalar("SELECT CAST(sqlar_uncompress(body, body_size) AS TEXT) FROM ledger_entry WHERE seq = \(entry)")?.contains("ES.66") == false, "no licence number in the ledger")
        guard case .string(let note)? = certificate["checkpoint"], let size = Int(note.split(separator: "\n")[1]) else { Issue.record("no checkpoint"); return }
        #expect(size >= Int(entry) ?? .max)
        #expect(try cli.run("ledger", "proof", entry).status == 0)
        #expect(try cli.run("ledger", "verify").status == 0)
    }

    @Test("work done moves a task past the horizon: no notice months ahead is sent (the CMMS closed its request with that work); back within the horizon, the next one replaces the old")
    func doneBeyondTheHorizon() throws {
        let cli = try Self.rootWithReferences()
        let overdue = "MDN-DPP-H2-002-LH2-LEAK-01-20251129-H"
        let head = "SELECT message_id FROM outbox_stream WHERE stream = 'maintenance-due/DPP-H2-002/LH2-LEAK-01'"
        #expect(try cli.scalar(head) == overdue)
        try cli.drop(#"{"dppId": "DPP-H2-002", "workOrderId": "WO-LEAK-9", "completionDate": "2026-01-08", "findings": "No leak", "returnToService": true}"#,
                     as: "leak-test.json", source: "workorders")
        #expect(try Self.run(cli).status == 0)
        #expect(try cli.scalar(head) == overdue)
        #expect(!FileSystem.exists(cli.root + "/Outbox/maintenance-due/MDN-DPP-H2-002-LH2-LEAK-01-20260707-L.json"), "not as of 2026-01-10")
        // 180 days on, the task is due within the horizon again: its notice replaces the one the CMMS last had.
        #expect(try Self.run(cli, asOf: "2026-06-20").status == 0)
        let next = try json(cli, "maintenance-due/MDN-DPP-H2-002-LH2-LEAK-01-20260707-L.json")
        #expect(next["replaces"] == .string(overdue))
    }

    @Test("an outbound mapping can shape the same messages as Maximo-style XML")
    func xmlOutbound() throws {
        let cli = try CLI.freshRoot()
        try FileManager.default.copyItem(atPath: cli.layout.mappings + "/examples/maintenance-due-maximo.outbound.yaml",
                                         toPath: cli.layout.mappings + "/maintenance-due-maximo.outbound.yaml")
        for (file, source) in [("dpp-registry.json", "registry"), ("maintenance-programme.yaml", "programme")] { try cli.dropFixture(file, source: source) }
        #expect(try Self.run(cli).status == 0)
        let xml = try String(contentsOfFile: cli.root + "/Outbox/maintenance-due-maximo/MDN-DPP-H2-001-FCS-INSP-01-20260115-M.xml", encoding: .utf8)
        #expect(xml.contains("<SyncMXWO xmlns=\"http://www.ibm.com/maximo\">"))
        #expect(xml.contains("<ASSETNUM>H2FC-0001</ASSETNUM>") && xml.contains("<TARGCOMPDATE>2026-01-15</TARGCOMPDATE>"))
        #expect(FileSystem.exists(cli.root + "/Outbox/maintenance-due/MDN-DPP-H2-001-FCS-INSP-01-20260115-M.json"), "the JSON shape is still written")
        #expect(try cli.run("mapping", "check").stdout.contains("warning") == false, "every field of the example is in the messages")
        // A field no message has (a typo) had been written as null on every message, unseen: the check warns.
        let mapping = cli.layout.mappings + "/maintenance-due-maximo.outbound.yaml"
        try String(contentsOfFile: mapping, encoding: .utf8).replacingOccurrences(of: "AMP_DPPID: dppId", with: "AMP_DPPID: dppIdd").write(toFile: mapping, atomically: true, encoding: .utf8)
        let check = try cli.run("mapping", "check")
        #expect(check.status == 0 && check.stdout.contains("maintenance-due-maximo.outbound.yaml: warning: field 'AMP_DPPID' reads 'dppIdd', which none of the channel's latest messages has (it is written as null; their members: dppId, "),
                "\(check.stdout)")
        #expect(!check.stdout.contains("'AMP_REPLACES'"), "a member there as null is there")
    }

    /// A broken outbound mapping had been skipped without a word: its channel went out in the default
    /// shape, to the default folder, or (a file name without the id) one file replaced another.
    @Test("a broken outbound mapping holds its channel's messages in the queue, run and status say so, and they go once it is fixed; mapping check names it")
    func brokenOutboundMapping() throws {
        let cli = try CLI.freshRoot()
        let maximo = cli.layout.mappings + "/maintenance-due-maximo.outbound.yaml"
        let shipped = try String(contentsOfFile: cli.layout.mappings + "/examples/maintenance-due-maximo.outbound.yaml", encoding: .utf8)
        try shipped.replacingOccurrences(of: "fileName: \"{notificationId}.xml\"", with: "fileName: \"{dppId}.xml\"").write(toFile: maximo, atomically: true, encoding: .utf8)
        let check = try cli.run("mapping", "check")
        #expect(check.status == 2)
        #expect(check.stdout.contains("maintenance-due-maximo.outbound.yaml:8:11: error: fileName must use {notificationId}"), "\(check.stdout)")
        #expect(check.stdout.contains("maintenance-due.outbound.yaml: ok (outbound, channel maintenance-due"))

        for (file, source) in [("dpp-registry.json", "registry"), ("maintenance-programme.yaml", "programme")] { try cli.dropFixture(file, source: source) }
        let held = try Self.run(cli)
        #expect(held.status == 1, "a message that cannot be sent needs attention")
        #expect(held.stdout.contains("held: outbox maintenance-due: Mappings/maintenance-due-maximo.outbound.yaml fails its check"), "\(held.stdout)")
        #expect(cli.files(in: "Outbox/maintenance-due").isEmpty && cli.files(in: "Outbox/maintenance-due-maximo").isEmpty)
        #expect(!cli.files(in: "Outbox/certification-requirements").isEmpty, "the other channels go")
        #expect(try cli.scalar("SELECT COUNT(*) FROM outbox_queue WHERE channel = 'maintenance-due' AND emitted_at IS NULL") == "2")
        let status = try cli.run("status").stdout
        #expect(status.contains("outbox: 2 message(s) not sent yet\n  maintenance-due             waiting 2  HELD: Mappings/maintenance-due-maximo.outbound.yaml"), "\(status)")

        // A mapping whose channel cannot be read holds every channel.
        try "channel: [maintenance-due\n".write(toFile: cli.layout.mappings + "/unreadable.outbound.yaml", atomically: true, encoding: .utf8)
        try cli.dropFixture("technician-certifications.json", source: "certifications")
        try cli.dropFixture("maximo-workorders.xml", source: "workorders")
        let all = try Self.run(cli)
        #expect(all.status == 1 && all.stdout.contains("held: outbox release-certificates: Mappings/unreadable.outbound.yaml"), "\(all.stdout)")
        #expect(cli.files(in: "Outbox/release-certificates").isEmpty)

        try FileManager.default.removeItem(atPath: cli.layout.mappings + "/unreadable.outbound.yaml")
        try shipped.write(toFile: maximo, atomically: true, encoding: .utf8)
        let fixed = try Self.run(cli)
        #expect(fixed.status == 0 && !fixed.stdout.contains("held:"), "\(fixed.stdout)")
        #expect(cli.files(in: "Outbox/maintenance-due").count >= 2 && cli.files(in: "Outbox/maintenance-due-maximo").count == cli.files(in: "Outbox/maintenance-due").count)
        #expect(cli.files(in: "Outbox/release-certificates").count == 1)
        #expect(try cli.scalar("SELECT COUNT(*) FROM outbox_queue WHERE emitted_at IS NULL") == "0")
        #expect(try cli.run("status").stdout.contains("outbox: every message sent"))
    }

    /// An outbound mapping that cannot be read had been skipped (every channel went out in the default
    /// shape), and two that write the same files had stopped every channel's files at a failed rename.
    @Test("an unreadable outbound mapping holds every channel, one writing another's files holds its own; review resolve says so too")
    func unusableOutboundMappings() throws {
        let cli = try CLI.freshRoot()
        let unreadable = cli.layout.mappings + "/unreadable.outbound.yaml"
        try FileManager.default.createSymbolicLink(atPath: unreadable, withDestinationPath: "/nonexistent/due.outbound.yaml")
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.dropFixture("work-order-complete.json", source: "workorders")
        let held = try Self.run(cli)
        #expect(held.status == 1 && held.stdout.contains("held: outbox component-status: Mappings/unreadable.outbound.yaml fails its check (the outbound mapping file cannot be read)"),
                "\(held.stdout)")
        #expect(cli.files(in: "Outbox/component-status").isEmpty)

        // Resolving a review item emits what is due, and says what stays held, as run does.
        try cli.drop(try Fixtures.text("work-order-complete.json").replacingOccurrences(of: "No issues", with: "Seal weeping"), as: "wo2.json", source: "workorders")
        #expect(try Self.run(cli).status == 1)
        let item = try #require(try cli.scalar("SELECT id FROM review_item WHERE status = 'open'"))
        let resolve = try cli.run("review", "resolve", item, "--accept")
        #expect(resolve.status == 1 && resolve.stdout.contains("held: outbox component-status: Mappings/unreadable.outbound.yaml"), "\(resolve.stdout)")

        // Readable again, but two mappings write the same files.
        try FileManager.default.removeItem(atPath: unreadable)
        try "channel: component-status\n".write(toFile: cli.layout.mappings + "/status-a.outbound.yaml", atomically: true, encoding: .utf8)
        try "channel: component-status\nformat: json\nfileName: \"{statusId}.json\"\n".write(toFile: cli.layout.mappings + "/status-b.outbound.yaml", atomically: true, encoding: .utf8)
        let check = try cli.run("mapping", "check")
        #expect(check.status == 2 && check.stdout.contains("status-b.outbound.yaml:1:1: error: writes the same files as status-a.outbound.yaml"), "\(check.stdout)")
        #expect(!check.stdout.contains("status-b.outbound.yaml: ok"), "one verdict per file")
        let colliding = try Self.run(cli)
        #expect(colliding.status == 1 && colliding.stdout.contains("held: outbox component-status: Mappings/status-b.outbound.yaml"), "\(colliding.stdout)\(colliding.stderr)")
        #expect(cli.files(in: "Outbox/component-status").isEmpty)
        #expect(!colliding.stdout.contains("held: outbox asset-specifications") && !cli.files(in: "Outbox/asset-specifications").isEmpty, "the other channels go")

        // Named one by one, a file gets the same verdict as in the whole folder.
        let named = try cli.run("mapping", "check", cli.layout.mappings + "/status-b.outbound.yaml")
        #expect(named.status == 2 && named.stdout.contains("status-b.outbound.yaml:1:1: error: writes the same files as status-a.outbound.yaml"), "\(named.stdout)")
        // A draft outside Mappings/ is checked as if copied in: its own clash, or the one it would give a mapping after it by name.
        let drafts = cli.root + "/drafts"
        try FileManager.default.createDirectory(atPath: drafts, withIntermediateDirectories: true)
        let statusB = try String(contentsOfFile: cli.layout.mappings + "/status-b.outbound.yaml", encoding: .utf8)
        try FileManager.default.removeItem(atPath: cli.layout.mappings + "/status-b.outbound.yaml")
        try statusB.write(toFile: drafts + "/z-status.outbound.yaml", atomically: true, encoding: .utf8)
        try statusB.write(toFile: drafts + "/a-status.outbound.yaml", atomically: true, encoding: .utf8)
        let after = try cli.run("mapping", "check", drafts + "/z-status.outbound.yaml")
        #expect(after.status == 2 && after.stdout.contains("z-status.outbound.yaml:1:1: error: writes the same files as status-a.outbound.yaml"), "\(after.stdout)")
        let before = try cli.run("mapping", "check", drafts + "/a-status.outbound.yaml")
        #expect(before.status == 2 && before.stdout.contains("a-status.outbound.yaml: ok")
                && before.stdout.contains("status-a.outbound.yaml:1:1: error: beside \(drafts)/a-status.outbound.yaml, writes the same files as a-status.outbound.yaml"),
                "\(before.stdout)")
        #expect(try cli.run("mapping", "check", cli.layout.mappings + "/status-a.outbound.yaml").status == 0, "alone in Mappings/, it passes")
        // Files of one name, each checked as it is: a draft beside the file it would replace, two drafts of one name.
        try FileManager.default.createDirectory(atPath: drafts + "/other", withIntermediateDirectories: true)
        try "channel: component-status\nfolder: release-certificates\nfiles: batch\n".write(toFile: drafts + "/other/status-a.outbound.yaml", atomically: true, encoding: .utf8)
        try "channel: component-status\nfileName: \"status-{statusId}.json\"\n".write(toFile: drafts + "/other/z-status.outbound.yaml", atomically: true, encoding: .utf8)
        let sameName = try cli.run("mapping", "check", cli.layout.mappings + "/status-a.outbound.yaml", drafts + "/other/status-a.outbound.yaml")
        #expect(sameName.status == 2 && sameName.stdout.contains("\(cli.layout.mappings)/status-a.outbound.yaml: ok")
                && sameName.stdout.contains("\(drafts)/other/status-a.outbound.yaml:1:1: error: writes the same files as the default shape of release-certificates"),
                "\(sameName.stdout)")
        let twoDrafts = try cli.run("mapping", "check", drafts + "/z-status.outbound.yaml", drafts + "/other/z-status.outbound.yaml")
        #expect(twoDrafts.status == 2 && twoDrafts.stdout.contains("\(drafts)/z-status.outbound.yaml:1:1: error: writes the same files as status-a")
                && twoDrafts.stdout.contains("\(drafts)/other/z-status.outbound.yaml: ok"), "\(twoDrafts.stdout)")

        // Into the folder and names of a channel's default shape: its batch files would replace the certificates'.
        try "channel: component-status\nfolder: release-certificates\nfiles: batch\n".write(toFile: cli.layout.mappings + "/status-a.outbound.yaml", atomically: true, encoding: .utf8)
        let intoDefault = try cli.run("mapping", "check")
        #expect(intoDefault.status == 2 && intoDefault.stdout.contains("status-a.outbound.yaml:1:1: error: writes the same files as the default shape of release-certificates"),
                "\(intoDefault.stdout)")
    }

    @Test("a batch's release certificates are one JSON Lines file; killed after its rename, the restart rewrites it, never a second")
    func batchFileCrash() throws {
        let cli = try Self.rootWithReferences()
        // Two released work orders in one file: WO-54321 and a copy under another number.
        let maximo = try Fixtures.text("maximo-workorders.xml")
        try cli.drop(maximo, as: "a.xml", source: "workorders")
        try cli.drop(maximo.replacingOccurrences(of: "WO-54321", with: "WO-54322"), as: "b.xml", source: "workorders")
        let crashed = try cli.run("run", "--once", "--stability-window", "0", "--as-of", "2026-01-10",
                                  environment: ["DPPSYNC_CRASH_AT": "after-emit", "DPPSYNC_CRASH_AFTER": "1"])
        #expect(crashed.killed)
        let written = cli.files(in: "Outbox/release-certificates")
        #expect(written.count == 1, "\(written)")
        let before = try String(contentsOfFile: cli.root + "/Outbox/release-certificates/" + (written.first ?? ""), encoding: .utf8)
        #expect(try Self.run(cli).status == 0)
        #expect(cli.files(in: "Outbox/release-certificates") == written, "the same file, not a second one")
        let after = try String(contentsOfFile: cli.root + "/Outbox/release-certificates/" + (written.first ?? ""), encoding: .utf8)
        #expect(after == before)
        let ids = after.split(separator: "\n").compactMap { try? JSONParser.parseDocument(Array($0.utf8))["certificateId"]?.scalarText }
        #expect(ids == ["CRS-WO-54321", "CRS-WO-54322"])
        #expect(try cli.scalar("SELECT COUNT(*) FROM outbox_queue q JOIN outbox_message m USING (message_id) WHERE m.channel = 'release-certificates' AND q.emitted_at IS NOT NULL AND q.file LIKE '%.jsonl'") == "2")
    }

    @Test("a batch file in several parts: each part in ledger order, every message marked with its part's file")
    func batchFileParts() throws {
        let cli = try Self.rootWithReferences()
        let maximo = try Fixtures.text("maximo-workorders.xml")
        for n in 1...5 { try cli.drop(maximo.replacingOccurrences(of: "WO-54321", with: "WO-5432\(n)"), as: "wo\(n).xml", source: "workorders") }
        #expect(try Self.run(cli).status == 0)
        let folder = cli.root + "/Outbox/release-certificates/"
        let whole = try #require(cli.files(in: "Outbox/release-certificates").first)
        let expected = try String(contentsOfFile: folder + whole, encoding: .utf8).split(separator: "\n")
        #expect(expected.count == 5)
        // Emitted again in parts of two (the next part is read and rendered while one is written).
        try FileManager.default.removeItem(atPath: folder + whole)
        let store = try Store(path: cli.layout.state + "/dppsync.sqlite")
        try store.write { db in try db.execute(sql: "UPDATE outbox_queue SET emitted_at = NULL, file = NULL") }
        var emitter = OutboxEmitter(store: store, layout: cli.layout)
        emitter.partSize = 2
        try emitter.emitPending()
        let parts = cli.files(in: "Outbox/release-certificates")
        #expect(parts == ["001", "002", "003"].map { whole.replacingOccurrences(of: "-001.jsonl", with: "-\($0).jsonl") })
        let lines = try parts.map { try String(contentsOfFile: folder + $0, encoding: .utf8).split(separator: "\n") }
        #expect(lines.map(\.count) == [2, 2, 1])
        #expect(lines.flatMap { $0 } == expected, "the same certificates, in ledger order")
        let marks = try store.read { db in
            try String.fetchAll(db, sql: "SELECT file FROM outbox_queue q JOIN outbox_message m USING (message_id) WHERE m.channel = 'release-certificates' ORDER BY q.ledger_seq")
        }
        #expect(marks == [parts[0], parts[0], parts[1], parts[1], parts[2]].map { folder + $0 })
    }

    @Test("an outbound mapping with files: batch writes one XML document per batch part, a record per message")
    func xmlBatchFile() throws {
        let cli = try CLI.freshRoot()
        try """
            channel: release-certificates
            folder: certificates-xml
            format: xml
            files: batch
            xml: { root: ReleaseCertificates, record: CERTIFICATE }
            fields: { CERTNUM: certificateId, WONUM: workOrderId, LICENCE: licenceNumber }
            """.write(toFile: cli.layout.mappings + "/certificates.outbound.yaml", atomically: true, encoding: .utf8)
        for (file, source) in [("dpp-registry.json", "registry"), ("maintenance-programme.yaml", "programme"),
                               ("technician-certifications.json", "certifications"), ("maximo-workorders.xml", "workorders")] {
            try cli.dropFixture(file, source: source)
        }
        #expect(try Self.run(cli).status == 0)
        #expect(cli.files(in: "Outbox/certificates-xml") == ["batch-000001-001.xml"])
        let xml = try String(contentsOfFile: cli.root + "/Outbox/certificates-xml/batch-000001-001.xml", encoding: .utf8)
        #expect(xml.contains("<ReleaseCertificates>\n  <CERTIFICATE>\n    <CERTNUM>CRS-WO-54321</CERTNUM>"))
        #expect(xml.contains("<LICENCE>ES.66.B1.1234</LICENCE>") && xml.hasSuffix("</ReleaseCertificates>\n"))
        #expect(cli.files(in: "Outbox/release-certificates").isEmpty, "the mapping replaces the default shape")
    }

    @Test("notifications whose ids would read the same keep ids of their own: task ids made safe, and parts joined by '-'")
    func idsThatWouldCollide() throws {
        let cli = try CLI.freshRoot()
        // DPP-H2 with task 001-FCS-INSP-01 reads like DPP-H2-001 with FCS-INSP-01 (same day, same priority);
        // FCS/INSP/01 and FCS_INSP_01 read alike once made safe.
        let registry = try Fixtures.text("dpp-registry.json").replacingOccurrences(of: "\"assets\": [", with: """
            "assets": [
                {"dppId": "DPP-H2", "partNumber": "AMP-TEST-1", "serialNumber": "T1", "installedOn": "EC-AMP", "installedAt": "2025-10-17", "status": "IN_SERVICE"},
            """)
        try cli.drop(registry, as: "reg.json", source: "registry")
        try cli.drop(try Fixtures.text("maintenance-programme.yaml") + """
              - { taskId: 001-FCS-INSP-01, partNumber: AMP-TEST-1, maintenanceType: Scheduled Inspection, interval: { days: 90 } }
              - { taskId: FCS/INSP/01, partNumber: AMP-FCS-100, maintenanceType: Borescope, interval: { days: 90 } }
              - { taskId: FCS_INSP_01, partNumber: AMP-FCS-100, maintenanceType: Leak check, interval: { days: 90 } }

            """, as: "programme.yaml", source: "programme")
        for (file, source) in [("technician-certifications.json", "certifications"), ("utilisation.json", "utilisation")] {
            try cli.dropFixture(file, source: source)
        }
        #expect(try Self.run(cli).status == 0)
        let notices = try cli.query("SELECT message_id, stream FROM outbox_message WHERE channel = 'maintenance-due' AND subject IN ('DPP-H2', 'DPP-H2-001')")
        let streams = Set(notices.map { $0[1] ?? "" })
        #expect(streams == ["maintenance-due/DPP-H2/001-FCS-INSP-01", "maintenance-due/DPP-H2-001/FCS-INSP-01",
                            "maintenance-due/DPP-H2-001/FCS/INSP/01", "maintenance-due/DPP-H2-001/FCS_INSP_01"], "one notification each: \(notices)")
        #expect(Set(notices.map { $0[0] ?? "" }).count == 4, "four ids: \(notices)")
        #expect(cli.files(in: "Outbox/maintenance-due").filter { $0.contains("DPP-H2") && !$0.contains("DPP-H2-002") }.count == 4)
        // Nothing new on the next pass.
        let before = cli.files(in: "Outbox")
        #expect(try Self.run(cli).status == 0)
        #expect(cli.files(in: "Outbox") == before)
    }

    @Test("file names built from data never leave the channel's folder")
    func hostileIds() throws {
        let cli = try CLI.freshRoot()
        let registry = try Fixtures.text("dpp-registry.json").replacingOccurrences(of: "\"DPP-PART-123\"", with: "\"../../../etc/x\"")
            .replacingOccurrences(of: "\"cmmsAssetNum\": null", with: "\"cmmsAssetNum\": \"../x\"")
        try cli.drop(registry, as: "reg.json", source: "registry")
        // The shipped mapping's pattern refuses such an id; a laxer mapping would let it through to the outbox.
        let mapping = cli.layout.mappings + "/registry.mapping.yaml"
        try String(contentsOfFile: mapping, encoding: .utf8).replacingOccurrences(of: ", pattern: \"[A-Za-z0-9][A-Za-z0-9._-]*\"", with: "")
            .write(toFile: mapping, atomically: true, encoding: .utf8)
        #expect(try Self.run(cli).status == 0)
        let names = cli.files(in: "Outbox/component-status")
        #expect(names.count == 3)
        #expect(names.allSatisfy { !$0.contains("/") && !$0.hasPrefix(".") }, "\(names)")
        #expect(!FileSystem.exists(cli.root + "/etc"))
    }

    @Test("a long id keeps its file's extension: the file is named by the id")
    func longIds() throws {
        let cli = try CLI.freshRoot()
        let task = "TASK-" + String(repeating: "X", count: 124)
        try cli.dropFixture("dpp-registry.json", source: "registry")
        try cli.drop(try Fixtures.text("maintenance-programme.yaml").replacingOccurrences(of: "LH2-LEAK-01", with: task),
                     as: "programme.yaml", source: "programme")
        #expect(try Self.run(cli).status == 0)
        let id = try #require(try cli.scalar("SELECT message_id FROM outbox_stream WHERE stream = 'maintenance-due/DPP-H2-002/\(task)'"))
        #expect(id.utf8.count > 140, "\(id)")
        #expect(cli.files(in: "Outbox/maintenance-due").contains(id + ".json"), "\(cli.files(in: "Outbox/maintenance-due"))")
    }

    @Test("a component's status and specification messages are decided again only when its columns change, whatever the streams' kept sources say; words said before go again under an id of their own")
    func componentStreamSources() throws {
        let cli = try Self.rootWithReferences()
        let sourced = "SELECT COUNT(*) FROM outbox_stream WHERE substr(stream, 1, instr(stream, '/')) IN ('component-status/', 'asset-specifications/') AND source IS NOT NULL"
        let streams = try #require(try cli.scalar("SELECT COUNT(*) FROM outbox_stream WHERE substr(stream, 1, instr(stream, '/')) IN ('component-status/', 'asset-specifications/')"))
        #expect(streams == "4")
        #expect(try cli.scalar(sourced) == streams, "each head keeps the source it was built from")
        let head = "SELECT message_id FROM outbox_stream WHERE stream = 'component-status/DPP-H2-001'"
        let first = try #require(try cli.scalar(head))
        let specifications = cli.files(in: "Outbox/asset-specifications")

        // The registry moves one component: its status gets a new message replacing the first; nothing else changes.
        let registry = try Fixtures.text("dpp-registry.json").replacingOccurrences(of: "2025-11-01T02:00:00Z", with: "2025-11-15T02:00:00Z")
        try cli.drop(registry.replacingOccurrences(of: "\"NACELLE-L1\"", with: "\"NACELLE-L2\""), as: "moved.json", source: "registry")
        #expect(try Self.run(cli).status == 0)
        let second = try #require(try cli.scalar(head))
        #expect(second != first)
        let moved = try json(cli, "component-status/\(second).json")
        #expect(moved["position"] == .string("NACELLE-L2") && moved["replaces"] == .string(first))
        #expect(cli.files(in: "Outbox/asset-specifications") == specifications)
        #expect(try cli.scalar(sourced) == streams)

        // Streams without a source (a store from before sources were kept) decide nothing new, and get their sources back.
        // (Such a store has no plan key either: its first pass plans.)
        let outbox = cli.files(in: "Outbox")
        _ = try Store(path: cli.layout.storeFile).write { db in try db.execute(sql: "UPDATE outbox_stream SET source = NULL; \(Self.forgetPlan)") }
        #expect(try Self.run(cli).status == 0)
        #expect(cli.files(in: "Outbox") == outbox)
        #expect(try cli.scalar(sourced) == streams)

        // A source that does not match the asset's columns is not trusted: the message is built, found to be
        // the head already, and the source is put right.
        _ = try Store(path: cli.layout.storeFile).write { db in
            try db.execute(sql: "UPDATE outbox_stream SET source = 'stale' WHERE stream = 'component-status/DPP-H2-001'; \(Self.forgetPlan)")
        }
        #expect(try Self.run(cli).status == 0)
        #expect(cli.files(in: "Outbox") == outbox)
        #expect(try cli.scalar(head) == second)
        #expect(try cli.scalar("SELECT source FROM outbox_stream WHERE stream = 'component-status/DPP-H2-001'")?.contains("NACELLE-L2") == true)

        // Back where it was: the CMMS holds the second status, so the first one's words go again under an id of
        // their own, replacing the second; then nothing new, and the kept source skips it again.
        try cli.drop(registry.replacingOccurrences(of: "2025-11-15T02:00:00Z", with: "2025-11-20T02:00:00Z"), as: "back.json", source: "registry")
        #expect(try Self.run(cli).status == 0)
        let resent = try #require(try cli.scalar(head))
        #expect(resent == first + "-r2")
        let back = try json(cli, "component-status/\(resent).json")
        #expect(back["statusId"] == .string(resent) && back["replaces"] == .string(second) && back["position"] == .string("NACELLE-L1"))
        #expect(cli.files(in: "Outbox/asset-specifications") == specifications)
        let messages = { cli.files(in: "Outbox").filter { !$0.hasPrefix("ledger-checkpoints/") } }
        let before = messages()
        _ = try Store(path: cli.layout.storeFile).write { db in try db.execute(sql: "UPDATE outbox_stream SET source = NULL; \(Self.forgetPlan)") }
        #expect(try Self.run(cli).status == 0)
        #expect(messages() == before, "a resend is its stream's head for the words it repeats")
        #expect(try cli.scalar(head) == resent)
        #expect(try cli.scalar(sourced) == streams)
        #expect(try cli.run("ledger", "verify").status == 0)
    }

    @Test("a certification requirement names the notification in force and the licence the programme asks for: when only those change (Low → Medium as the due date nears; a new programme), the requirement is revised as <id>-r2, -r3, once each")
    func requirementFollowsPriority() throws {
        let cli = try CLI.freshRoot()
        for (file, source) in [("dpp-registry.json", "registry"), ("maintenance-programme.yaml", "programme"),
                               ("technician-certifications.json", "certifications")] {
            try cli.dropFixture(file, source: source)
        }
        // As of 2025-12-20 the 2026-01-15 inspection is 26 days out: within the horizon, Low.
        #expect(try Self.run(cli, asOf: "2025-12-20").status == 0)
        let base = "CRQ-DPP-H2-001-FCS-INSP-01-20260115"
        #expect(try json(cli, "certification-requirements/\(base).json")["notificationId"] == .string("MDN-DPP-H2-001-FCS-INSP-01-20260115-L"))
        // As of 2026-01-10 it is 5 days out: Medium, a new notification; the requirement's words changed with it.
        #expect(try Self.run(cli, asOf: "2026-01-10").status == 0)
        let notification = try json(cli, "maintenance-due/MDN-DPP-H2-001-FCS-INSP-01-20260115-M.json")
        #expect(notification["replaces"] == .string("MDN-DPP-H2-001-FCS-INSP-01-20260115-L"))
        let revised = try json(cli, "certification-requirements/\(base)-r2.json")
        #expect(revised["requirementId"] == .string(base + "-r2") && revised["replaces"] == .string(base))
        #expect(revised["notificationId"] == .string("MDN-DPP-H2-001-FCS-INSP-01-20260115-M"))
        #expect(revised["licenceCategory"] == .string("B1") && revised["dueDate"] == .string("2026-01-15"))
        #expect(try cli.scalar("SELECT message_id FROM outbox_stream WHERE stream = 'certification-requirements/DPP-H2-001/FCS-INSP-01'") == base + "-r2")
        // The same day again: the revision says these words, nothing new.
        let before = cli.files(in: "Outbox")
        #expect(try Self.run(cli, asOf: "2026-01-10").status == 0)
        #expect(cli.files(in: "Outbox") == before)
        // The words each requirement stream keeps with its head: none (a store before them) or wrong ones
        // only mean that the head's body is compared; nothing new, and the words are recorded again.
        let words = "SELECT stream, source FROM outbox_stream WHERE stream LIKE 'certification-requirements/%' ORDER BY 1"
        let kept = try cli.query(words)
        #expect(!kept.isEmpty && kept.allSatisfy { $0[1] != nil })
        for change in ["NULL", "'[\"other\"]'"] {
            _ = try Store(path: cli.layout.storeFile).write { db in
                try db.execute(sql: "UPDATE outbox_stream SET source = \(change) WHERE stream LIKE 'certification-requirements/%'; \(Self.forgetPlan)")
            }
            #expect(try Self.run(cli, asOf: "2026-01-10").status == 0)
            #expect(cli.files(in: "Outbox") == before, "source \(change)")
            #expect(try cli.query(words) == kept)
        }
        // The programme now asks for another licence, same due date: the requirement is revised again, the notification not.
        let programme = try Fixtures.text("maintenance-programme.yaml")
            .replacingOccurrences(of: "requires: { licenceCategory: B1, authorisation: FUEL-CELL", with: "requires: { licenceCategory: B2, authorisation: FUEL-CELL")
        try cli.drop(programme, as: "maintenance-programme-rev2.yaml", source: "programme")
        #expect(try Self.run(cli, asOf: "2026-01-10").status == 0)
        let again = try json(cli, "certification-requirements/\(base)-r3.json")
        #expect(again["licenceCategory"] == .string("B2") && again["replaces"] == .string(base + "-r2"))
        #expect(again["notificationId"] == .string("MDN-DPP-H2-001-FCS-INSP-01-20260115-M"))
        #expect(cli.files(in: "Outbox/maintenance-due") == before.filter { $0.hasPrefix("maintenance-due/") }.map { String($0.dropFirst("maintenance-due/".count)) })
        #expect(try cli.run("ledger", "verify").status == 0)
    }

    @Test("certificates expiring within the horizon get a renewal requirement; priority bands come from dppsync.yaml")
    func renewalAndBands() throws {
        let cli = try CLI.freshRoot()
        let config = try String(contentsOfFile: cli.layout.configFile, encoding: .utf8).replacingOccurrences(of: "mediumWithinDays: 14", with: "mediumWithinDays: 3")
        try config.write(toFile: cli.layout.configFile, atomically: true, encoding: .utf8)
        for (file, source) in [("dpp-registry.json", "registry"), ("maintenance-programme.yaml", "programme")] { try cli.dropFixture(file, source: source) }
        #expect(try Self.run(cli, asOf: "2026-12-10").status == 0)
        let renewal = try json(cli, "certification-requirements/CRR-DPP-H2-002-20261231.json")
        #expect(renewal["kind"] == .string("certificate-renewal") && renewal["reference"] == .string("EF1-2025-000388"))
        #expect(renewal["expired"] == .bool(false))
        // Once the day has passed, the requirement says so (under the next free id: the CMMS holds the first).
        #expect(try Self.run(cli, asOf: "2027-01-02").status == 0)
        let expired = try json(cli, "certification-requirements/CRR-DPP-H2-002-20261231-r2.json")
        #expect(expired["expired"] == .bool(true) && expired["replaces"] == .string("CRR-DPP-H2-002-20261231"), "\(expired)")
        // A validity written as a date-time counts by its day.
        let timed = try CLI.freshRoot("renewalAndBands-timed")
        try timed.drop(try Fixtures.text("dpp-registry.json").replacingOccurrences(of: "\"2026-12-31\"", with: "\"2026-12-31T23:59:59Z\""),
                       as: "dpp-registry.json", source: "registry")
        #expect(try Self.run(timed, asOf: "2026-12-10").status == 0)
        #expect(try json(timed, "certification-requirements/CRR-DPP-H2-002-20261231.json")["validUntil"] == .string("2026-12-31T23:59:59Z"))
        // On the horizon's own day (as of 2026-12-01, 30 days ahead), a date-time validity is within it too.
        let onTheDay = try CLI.freshRoot("renewalAndBands-on-the-day")
        try onTheDay.drop(try Fixtures.text("dpp-registry.json").replacingOccurrences(of: "\"2026-12-31\"", with: "\"2026-12-31T23:59:59Z\""),
                          as: "dpp-registry.json", source: "registry")
        #expect(try Self.run(onTheDay, asOf: "2026-12-01").status == 0)
        #expect(FileSystem.exists(onTheDay.root + "/Outbox/certification-requirements/CRR-DPP-H2-002-20261231.json"))
        // As of 2026-01-10 the 2026-01-15 task is 5 days out: Low with a 3-day Medium band.
        let other = try CLI.freshRoot("renewalAndBands-bands")
        try config.write(toFile: other.layout.configFile, atomically: true, encoding: .utf8)
        for (file, source) in [("dpp-registry.json", "registry"), ("maintenance-programme.yaml", "programme")] { try other.dropFixture(file, source: source) }
        #expect(try Self.run(other).status == 0)
        #expect(FileSystem.exists(other.root + "/Outbox/maintenance-due/MDN-DPP-H2-001-FCS-INSP-01-20260115-L.json"))
    }

    @Test("a CAOS prediction becomes a predictive alert: priority by the time left and the confidence, the recommended task's needs, the first ground window it fits in before the failure; it is replaced as the failure nears and ends with the work that answers it")
    func predictiveAlerts() throws {
        let cli = try Self.rootWithReferences()
        try cli.dropFixture("utilisation.json", source: "utilisation")
        try cli.dropFixture("caos-predictions.json", source: "caos")
        try cli.dropFixture("ground-windows.json", source: "ground-windows")
        // Detected 2025-11-05T17:42:10Z, failure within 220 h: by 2025-11-14T21:42:10Z. As of 2025-11-06 that is
        // 213.7 h away (Medium, confidence 0.87), and the task's 4 hours fit in the 8-hour window of 8–9 November.
        #expect(try Self.run(cli, asOf: "2025-11-06").status == 0)
        let first = try json(cli, "predictive-alerts/PRA-CAOS-20251105-0042-M.json")
        #expect(first["replaces"] == .null && first["priority"] == .string("Medium") && first["overdue"] == .bool(false))
        #expect(first["dppId"] == .string("DPP-H2-001") && first["cmmsAssetNum"] == .string("H2FC-0001") && first["aircraft"] == .string("EC-AMP"))
        #expect(first["predictedFailureBy"] == .string("2025-11-14T21:42:10.000Z"))
        #expect(first["value"] == .number("38.5") && first["confidence"] == .number("0.87"))
        #expect(first["recommendedTaskId"] == .string("FCS-INSP-01") && first["estimatedDuration"] == .string("4 hours") && first["plannedHours"] == .number("4"))
        #expect(first["parentDppId"] == .null && first["parentCmmsAssetNum"] == .null)
        #expect(first["licenceCategory"] == .string("B1") && first["authorisation"] == .string("FUEL-CELL"))
        #expect(first["groundWindow"]?["start"] == .string("2025-11-08T22:00:00.000Z") && first["groundWindow"]?["station"] == .string("LEJ"))
        #expect(try cli.scalar("SELECT kind FROM ledger_entry WHERE subject = 'DPP-H2-001' ORDER BY seq DESC LIMIT 1") == "outbox.decided")

        // The same day again: nothing new.
        let before = cli.files(in: "Outbox/predictive-alerts")
        #expect(try Self.run(cli, asOf: "2025-11-06").status == 0)
        #expect(cli.files(in: "Outbox/predictive-alerts") == before)

        // As of 2025-11-12, 69.7 h are left: High, replacing the Medium alert, in the window of 12–13 November.
        // WO-54321 finished at 13:30Z on the day of the detection, before it: the prediction stays open.
        try cli.dropFixture("maximo-workorders.xml", source: "workorders")
        #expect(try Self.run(cli, asOf: "2025-11-12").status == 0)
        let high = try json(cli, "predictive-alerts/PRA-CAOS-20251105-0042-H.json")
        #expect(high["replaces"] == .string("PRA-CAOS-20251105-0042-M") && high["priority"] == .string("High"))
        #expect(high["groundWindow"]?["start"] == .string("2025-11-12T21:00:00.000Z") && high["groundWindow"]?["end"] == .string("2025-11-13T09:00:00.000Z"))

        // A second prediction, on DPP-H2-002, names no task (4 hours by default) and gives even odds at best (0.4: one band
        // lower): failure within 30 h (High) → Medium; the 12-hour window of 12–13 November ends after the failure, so none fits.
        try cli.drop(#"[{"predictionId": "CAOS-20251112-0007", "dppId": "DPP-H2-002", "detectedAt": "2025-11-12T00:00:00Z", "anomaly": "Boil-off rate rising", "#
                     + #""confidence": 0.4, "predictedFailureWithinHours": 30}]"#, as: "second.json", source: "caos")
        #expect(try Self.run(cli, asOf: "2025-11-12").status == 0)
        let second = try json(cli, "predictive-alerts/PRA-CAOS-20251112-0007-M.json")
        #expect(second["priority"] == .string("Medium") && second["groundWindow"] == .null && second["estimatedDuration"] == .null)
        #expect(second["plannedHours"] == .number("4"))
        #expect(second["recommendedTaskId"] == .null && second["maintenanceType"] == .null && second["threshold"] == .null)

        // Corrective work on DPP-H2-001 after the detection, naming no programme task, answers the first: it gets no more
        // alerts, while the second, once its failure time has passed with no work, says so: High, overdue, replacing the Medium one.
        try cli.drop(#"{"dppId": "DPP-H2-001", "workOrderId": "WO-60001", "completionDate": "2025-11-13", "findings": "Manifold seals replaced", "partsUsed": [], "returnToService": false}"#,
                     as: "corrective.json", source: "workorders")
        #expect(try Self.run(cli, asOf: "2025-11-15").status == 0)
        #expect(cli.files(in: "Outbox/predictive-alerts") == ["PRA-CAOS-20251105-0042-H.json", "PRA-CAOS-20251105-0042-M.json",
                                                               "PRA-CAOS-20251112-0007-H.json", "PRA-CAOS-20251112-0007-M.json"])
        let overdue = try json(cli, "predictive-alerts/PRA-CAOS-20251112-0007-H.json")
        #expect(overdue["replaces"] == .string("PRA-CAOS-20251112-0007-M") && overdue["overdue"] == .bool(true) && overdue["priority"] == .string("High"))
    }

    @Test("a prediction with a confidence above 1 or a failure horizon past the calendar is rejected, naming the field and range; so is a ground window that ends before it starts")
    func predictionRanges() throws {
        let cli = try Self.rootWithReferences()
        try cli.drop(#"[{"predictionId": "P-1", "dppId": "DPP-H2-001", "detectedAt": "2025-11-05T17:42:10Z", "confidence": 1.5, "predictedFailureWithinHours": 10},"#
                     + #" {"predictionId": "P-2", "dppId": "DPP-H2-001", "detectedAt": "2025-11-05T17:42:10Z", "confidence": 0.5, "predictedFailureWithinHours": 1e300}]"#,
                     as: "p.json", source: "caos")
        #expect(try Self.run(cli).status == 1)
        let reasons = try cli.query("SELECT record_key, reason, message FROM record_outcome WHERE kind = 'caosPrediction' ORDER BY record_key")
        #expect(reasons.map { $0[1] } == ["INVALID_FIELD", "INVALID_FIELD"])
        #expect(reasons.first?[2]?.contains("confidence 1.5 is not a confidence (0 to 1)") == true, "\(reasons)")
        #expect(reasons.last?[2]?.contains("predictedFailureWithinHours") == true)
        #expect(cli.files(in: "Outbox/predictive-alerts").isEmpty)
        // A ground window that ends before it starts would never be chosen: rejected, with both times.
        try cli.drop(#"[{"aircraft": "EC-AMP", "station": "LEJ", "start": "2025-11-08T22:00:00Z", "end": "2025-11-08T06:00:00Z"}]"#, as: "w.json", source: "ground-windows")
        #expect(try Self.run(cli).status == 1)
        #expect(try cli.scalar("SELECT reason || ': ' || message FROM record_outcome WHERE kind = 'groundWindow'")?
            .hasPrefix("INVALID_FIELD: end 2025-11-08T06:00:00.000Z is not after start 2025-11-08T22:00:00.000Z") == true)
        #expect(try cli.scalar("SELECT COUNT(*) FROM ground_window") == "0")
    }

    @Test("which predictions get an alert: a fitted component the registry knows (a part names the component it is in), once detected, until it is taken off; detection and completion days compare in the operator's time zone")
    func predictiveAlertScope() throws {
        let cli = try Self.rootWithReferences()
        try cli.dropFixture("maximo-workorders.xml", source: "workorders")  // fits DPP-PART-123 into DPP-H2-001 on 2025-11-05
        let prediction = { (id: String, dppId: String, detected: String) in
            #"{"predictionId": "\#(id)", "dppId": "\#(dppId)", "detectedAt": "\#(detected)", "confidence": 0.9, "predictedFailureWithinHours": 200}"#
        }
        try cli.drop("[" + [prediction("P-UNKNOWN", "DPP-NOPE", "2025-11-06T08:00:00Z"), prediction("P-SEAL", "DPP-PART-123", "2025-11-06T08:00:00Z"),
                            prediction("P-LATER", "DPP-H2-002", "2025-11-09T08:00:00Z")].joined(separator: ", ") + "]", as: "p.json", source: "caos")
        #expect(try Self.run(cli, asOf: "2025-11-07").status == 0)
        // An unknown component waits for the registry; a detection after the as-of day waits for that day.
        #expect(cli.files(in: "Outbox/predictive-alerts") == ["PRA-P-SEAL-M.json"])
        let seal = try json(cli, "predictive-alerts/PRA-P-SEAL-M.json")
        #expect(seal["cmmsAssetNum"] == .null && seal["parentDppId"] == .string("DPP-H2-001") && seal["parentCmmsAssetNum"] == .string("H2FC-0001"))
        #expect(seal["aircraft"] == .string("EC-AMP"))
        // Taking the part off (a removal, naming no task, the same day as its detection and with no status date to place
        // it after the detection) does not answer the prediction, but a part off its aircraft gets no alert.
        try cli.drop(#"{"dppId": "DPP-H2-001", "workOrderId": "WO-70003", "completionDate": "2025-11-06", "returnToService": false, "partsUsed": [{"dppId": "DPP-PART-123", "action": "removed"}]}"#,
                     as: "removal.json", source: "workorders")
        #expect(try Self.run(cli, asOf: "2025-11-10").status == 0)
        #expect(cli.files(in: "Outbox/predictive-alerts") == ["PRA-P-LATER-M.json", "PRA-P-SEAL-M.json"])

        // In +10:00 a detection at 20:00Z falls on the next local day: work completed on that local day (no status date)
        // came before it or after it, so the alert stays. Compared as UTC days, the work had looked a day later.
        let zoned = try Self.rootWithReferences("predictiveAlertScope-zoned")
        let config = zoned.root + "/dppsync.yaml"
        try (try String(contentsOfFile: config, encoding: .utf8)).replacingOccurrences(of: "timeZone: UTC", with: "timeZone: \"+10:00\"")
            .write(toFile: config, atomically: true, encoding: .utf8)
        #expect(try zoned.configuration().timeZone.identifier == "+10:00")
        try zoned.drop("[" + prediction("P-TZ", "DPP-H2-001", "2025-11-05T20:00:00Z") + "]", as: "p.json", source: "caos")
        try zoned.drop(#"{"dppId": "DPP-H2-001", "workOrderId": "WO-70004", "completionDate": "2025-11-06T01:00:00+10:00", "returnToService": false}"#,
                       as: "wo.json", source: "workorders")
        #expect(try Self.run(zoned, asOf: "2025-11-07").status == 0)
        #expect(zoned.files(in: "Outbox/predictive-alerts") == ["PRA-P-TZ-M.json"])
    }

    @Test("a pass with nothing new for the same day and settings skips the outbox plan; a new day, other settings or a change plan again")
    func idlePassSkipsPlan() throws {
        let cli = try Self.rootWithReferences()  // planned as of 2026-01-10
        let skipped = { (asOf: String) throws -> Bool in
            let result = try cli.run("run", "--once", "--stability-window", "0", "--as-of", asOf, "--timings")
            #expect(result.status == 0, "\(result.stderr)")
            return result.stderr.contains(#""plansSkipped":1"#)
        }
        #expect(try skipped("2026-01-10"), "nothing committed since the reference data's plan, same day")
        #expect(try !skipped("2026-01-11"))
        #expect(try skipped("2026-01-11"))
        let messages = try cli.scalar("SELECT COUNT(*) FROM outbox_message")
        // Other settings: a longer horizon brings the tasks due within it.
        let config = try String(contentsOfFile: cli.layout.configFile, encoding: .utf8)
        try config.replacingOccurrences(of: "horizonDays: 30", with: "horizonDays: 365").write(toFile: cli.layout.configFile, atomically: true, encoding: .utf8)
        #expect(try !skipped("2026-01-11"))
        #expect(try cli.scalar("SELECT COUNT(*) FROM outbox_message") != messages, "the longer horizon decided messages")
        #expect(try skipped("2026-01-11"))
        // A change: a completion.
        try cli.dropFixture("work-order-complete.json", source: "workorders")
        #expect(try !skipped("2026-01-11"))
        #expect(try skipped("2026-01-11"))
        #expect(try cli.run("ledger", "verify").status == 0)
    }

    @Test("a certificate in force is withdrawn when its work order no longer releases the component (a newer version with a failed test) and renewed when it releases it on other facts; ids never meet another work order's")
    func certificateWithdrawal() throws {
        let cli = try Self.rootWithReferences()
        try cli.dropFixture("maximo-workorders.xml", source: "workorders")
        #expect(try Self.run(cli).status == 0)
        let version = { (value: String, findings: String, name: String) throws in
            try cli.drop(#"{"dppId": "DPP-H2-001", "workOrderId": "WO-54321", "completionDate": "2025-11-05", "findings": "\#(findings)", "returnToService": true, "tests": [{"name": "Manifold leak test", "value": \#(value), "upperLimit": 1.5}]}"#,
                         as: name, source: "workorders")
            #expect(try Self.run(cli).status == 1)  // other facts under no newer source time: held for review
            let item = try #require(try cli.scalar("SELECT id FROM review_item WHERE status = 'open'"))
            #expect(try cli.run("review", "resolve", item, "--accept", "--by", "qa.lead").status == 0)
        }
        let certificates = { () throws -> [JSONValue] in
            try cli.files(in: "Outbox/release-certificates").flatMap { file in
                try String(contentsOfFile: cli.root + "/Outbox/release-certificates/" + file, encoding: .utf8).split(separator: "\n")
                    .map { try JSONParser.parseDocument(Array($0.utf8)) }
            }
        }
        let replaces = { (id: String) throws in try cli.scalar("SELECT replaces FROM outbox_message WHERE message_id = '\(id)'") }
        #expect(try certificates().map { $0["certificateId"] } == [.string("CRS-WO-54321")])

        // The leak test failed after all: the component is unserviceable, and the CMMS is told the certificate no longer stands.
        try version("3.2", "No issues", "failed.json")
        #expect(try cli.scalar("SELECT status FROM asset WHERE dpp_id = 'DPP-H2-001'") == "UNSERVICEABLE")
        let withdrawal = try #require(try certificates().first { $0["certificateId"] == .string("CRW-WO-54321") })
        #expect(withdrawal["withdraws"] == .string("CRS-WO-54321") && withdrawal["releaseStatus"] == .string("blocked"))
        #expect(withdrawal["reason"]?.scalarText?.contains("failed Manifold leak test") == true)
        #expect(withdrawal["statement"] == nil && withdrawal["licenceNumber"] == nil, "a withdrawal certifies nothing")
        #expect(withdrawal["ledgerEntry"]?.scalarText == (try cli.scalar("SELECT ledger_seq FROM outbox_queue WHERE message_id = 'CRW-WO-54321'")))
        #expect(withdrawal["checkpoint"] != nil)
        #expect(try replaces("CRW-WO-54321") == "CRS-WO-54321")
        let blocked = try JSONParser.parseDocument(Array(try cli.run("report", "compliance", "--from", "2025-11-01", "--to", "2025-11-30").stdout.utf8))
        guard case .array(let blockedReleases)? = blocked["releases"]?["items"] else { Issue.record("no releases"); return }
        #expect(blockedReleases.first?["withdrawal"] == .string("CRW-WO-54321") && blockedReleases.first?["certificateId"] == .null)

        // Retested and passed: released again under a certificate of its own, which follows the withdrawal.
        try version("0.9", "No issues", "passed.json")
        let renewed = try #require(try certificates().first { $0["certificateId"] == .string("CRS2-WO-54321") })
        #expect(renewed["statement"] != nil && renewed["technician"]?["laborCode"] == .string("JSMITH"))
        #expect(try replaces("CRS2-WO-54321") == "CRW-WO-54321")
        #expect(try cli.scalar("SELECT status FROM asset WHERE dpp_id = 'DPP-H2-001'") == "IN_SERVICE")

        // Still released, but on other findings: the certificate in force says what the work order no longer does,
        // so it is withdrawn and the work order certified anew, in the same change.
        try version("0.9", "Seal replaced", "findings.json")
        let third = try #require(try certificates().first { $0["certificateId"] == .string("CRS3-WO-54321") })
        #expect(third["findings"] == .string("Seal replaced"))
        #expect(try replaces("CRS3-WO-54321") == "CRW2-WO-54321")
        #expect(try certificates().first { $0["certificateId"] == .string("CRW2-WO-54321") }?["withdraws"] == .string("CRS2-WO-54321"))
        #expect(try cli.scalar("SELECT COUNT(DISTINCT q.ledger_seq) FROM outbox_queue q WHERE q.message_id IN ('CRW2-WO-54321', 'CRS3-WO-54321')") == "1")

        // The compliance report names the certificate in force.
        let report = try JSONParser.parseDocument(Array(try cli.run("report", "compliance", "--from", "2025-11-01", "--to", "2025-11-30").stdout.utf8))
        guard case .array(let releases)? = report["releases"]?["items"] else { Issue.record("no releases"); return }
        #expect(releases.first?["certificateId"] == .string("CRS3-WO-54321") && releases.first?["withdrawal"] == .null)
        // Another work order whose id ends as a withdrawal's once did ("WO-54321-withdrawn") has certificates of its own.
        try cli.drop(#"{"dppId": "DPP-H2-002", "workOrderId": "WO-54321-withdrawn", "completionDate": "2025-11-06", "returnToService": true, "labor": [{"laborCode": "JSMITH", "hours": 1}]}"#,
                     as: "other.json", source: "workorders")
        #expect(try Self.run(cli).status == 0)
        #expect(try certificates().contains { $0["certificateId"] == .string("CRS-WO-54321-withdrawn") && $0["workOrderId"] == .string("WO-54321-withdrawn") })
        // Nothing more while nothing changes.
        let count = try certificates().count
        #expect(try Self.run(cli).status == 0)
        #expect(try certificates().count == count && count == 6)

        // Not returned to service after all: the certificate is withdrawn, and the compliance report keeps the work order
        // (it asks for no release any more) with that withdrawal, counted as not returned.
        try cli.drop(#"{"dppId": "DPP-H2-001", "workOrderId": "WO-54321", "completionDate": "2025-11-05", "findings": "Seal replaced", "returnToService": false}"#,
                     as: "kept.json", source: "workorders")
        #expect(try Self.run(cli).status == 1)
        let item = try #require(try cli.scalar("SELECT id FROM review_item WHERE status = 'open'"))
        #expect(try cli.run("review", "resolve", item, "--accept", "--by", "qa.lead").status == 0)
        #expect(try certificates().first { $0["certificateId"] == .string("CRW3-WO-54321") }?["releaseStatus"] == .string("not-returned"))
        let kept = try JSONParser.parseDocument(Array(try cli.run("report", "compliance", "--from", "2025-11-01", "--to", "2025-11-30").stdout.utf8))
        guard case .array(let keptReleases)? = kept["releases"]?["items"] else { Issue.record("no releases"); return }
        let row = try #require(keptReleases.first { $0["workOrderId"] == .string("WO-54321") })
        #expect(row["releaseStatus"] == .string("not-returned") && row["withdrawal"] == .string("CRW3-WO-54321") && row["certificateId"] == .null)
        #expect(kept["releases"]?["counts"] == .array([.object([("releaseStatus", .string("not-returned")), ("workOrders", .number("1"))]),
                                                       .object([("releaseStatus", .string("released")), ("workOrders", .number("1"))])]))
        let page = try String(contentsOfFile: cli.root + "/Reports/compliance/compliance-2025-11-01-to-2025-11-30.html", encoding: .utf8)
        #expect(page.contains("CRW3-WO-54321 (withdrawal)"))
    }
}
