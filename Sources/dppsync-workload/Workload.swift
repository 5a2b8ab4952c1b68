import ArgumentParser
import Foundation

/// Writes reproducible (seeded) benchmark workloads in the reference formats
/// into a dppsync root's inbox: a registry of components plus every serialised
/// part the work orders use, the programme, certifications for every labour
/// code used (valid and matching, so the happy path is what is timed), and a
/// Maximo-style XML export and/or a JSON Lines export of completions; on request, CAOS
/// predictions and the aircraft's ground windows (a predictive-alert workload).
@main
struct Workload: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dppsync-workload",
        abstract: "Generate a seeded benchmark workload into a dppsync root's Inbox/.",
        discussion: """
            Example (100,000 work orders against 20,000 components):
              dppsync-workload --root /tmp/bench --components 20000 --work-orders 100000 --format xml
            """
    )

    @Option(help: "The dppsync root (its Inbox/ gets the files).") var root: String
    @Option(help: "Tracked components in the registry.") var components = 20_000
    @Option(help: "Work-order completions in the export.") var workOrders = 100_000
    @Option(help: "xml, jsonl, both or none (no export: the reference data alone).") var format = "xml"
    @Option(help: "CAOS predictions on the components, with ground windows for their aircraft.") var predictions = 0
    @Option(help: "Random seed.") var seed: UInt64 = 42
    @Option(help: "Share of repeated identical work orders (duplicates).") var duplicates = 0.0
    @Option(help: "Share of repeated work orders with an older STATUSDATE (stale updates).") var stale = 0.0
    @Option(help: "Share of repeated work orders with other findings (conflicts).") var conflicts = 0.0
    @Option(help: "Share of invalid records (a completion date that is not a date).") var invalid = 0.0
    @Option(help: "Which registered parts the work orders install, in turn: 'shuffled' (any part in stores, as a night's work draws them) or 'sequential' (in registry order, each work order the next ones).")
    var partOrder: PartOrder = .shuffled

    /// The order in which the work orders use the registry's parts. In registry (key) order, every
    /// part lookup, move and installation lands beside the previous one in its B-tree, which no
    /// real night does: that flattered the store's page cache.
    enum PartOrder: String, ExpressibleByArgument, CaseIterable { case shuffled, sequential }

    static let partNumbers = ["AMP-FCS-100", "AMP-LH2-TANK-A", "AMP-LH2-PUMP-3", "AMP-HX-220", "AMP-BOP-CTRL-9", "AMP-VALVE-B7"]
    static let partKits = ["AMP-SEAL-KIT-7", "AMP-GASKET-12", "AMP-FILTER-H2", "AMP-SENSOR-P4"]
    static let findings = ["No issues", "Minor corrosion on manifold flange, cleaned and treated", "Seal weeping at inlet, seal replaced",
                           "Sensor reading drift within limits, recalibrated", "Connector pins inspected, contact resistance nominal"]

    func validate() throws {
        guard ["xml", "jsonl", "both", "none"].contains(format) else { throw ValidationError("--format is xml, jsonl, both or none, not '\(format)'") }
        guard predictions >= 0, workOrders >= 0, components >= 0 else { throw ValidationError("counts cannot be negative") }
    }

    func run() throws {
        var random = SplitMix64(seed: seed)
        let inbox = root + "/Inbox"
        for source in ["registry", "programme", "certifications", "workorders"] {
            try FileManager.default.createDirectory(atPath: inbox + "/" + source, withIntermediateDirectories: true)
        }
        let laborCodes = (0..<max(10, workOrders / 500)).map { String(format: "TECH%05d", $0) }
        // Programme: one task per part number, B1 + FUEL-CELL.
        var programme = "tasks:\n"
        for (i, pn) in Self.partNumbers.enumerated() {
            programme += "  - taskId: TASK-\(i)\n    partNumber: \(pn)\n    maintenanceType: Scheduled Inspection\n    interval: { days: \(90 + 30 * i), flightHours: 600, cycles: 400 }\n    tolerance: { days: 7 }\n    estimatedDuration: 4 hours\n    requires: { licenceCategory: B1, authorisation: FUEL-CELL, releaseCertificate: EASA Form 1 }\n"
        }
        try programme.write(toFile: inbox + "/programme/programme.yaml", atomically: true, encoding: .utf8)
        let certifications = "[\n" + laborCodes.map {
            "  { \"laborCode\": \"\($0)\", \"name\": \"Technician \($0)\", \"licence\": \"ES.66.B1.\($0)\", \"category\": \"B1\", \"authorisations\": [\"H2-PROPULSION\", \"FUEL-CELL\"], \"validFrom\": \"2024-01-01\", \"validUntil\": \"2030-12-31\" }"
        }.joined(separator: ",\n") + "\n]\n"
        try certifications.write(toFile: inbox + "/certifications/certifications.json", atomically: true, encoding: .utf8)

        // Registry: components, then the parts the work orders will use (2-3 each).
        let registry = try Writer(path: inbox + "/registry/registry.json")
        registry.write("{\n  \"exportedAt\": \"2025-11-01T02:00:00Z\",\n  \"assets\": [\n")
        var first = true
        func asset(_ id: String, cmms: String?, pn: String, sn: String, aircraft: String?, installedAt: String?, status: String, description: String) {
            registry.write((first ? "" : ",\n") + "    { \"dppId\": \"\(id)\", \"cmmsAssetNum\": \(cmms.map { "\"\($0)\"" } ?? "null"), \"partNumber\": \"\(pn)\", \"serialNumber\": \"\(sn)\", \"description\": \"\(description)\", \"manufacturer\": \"AMPEL360 Propulsion\", \"installedOn\": \(aircraft.map { "\"\($0)\"" } ?? "null"), \"parentDppId\": null, \"position\": \(aircraft == nil ? "null" : "\"POS-\(id.suffix(2))\""), \"installedAt\": \(installedAt.map { "\"\($0)\"" } ?? "null"), \"status\": \"\(status)\", \"criticality\": \"high\", \"certification\": { \"type\": \"EASA Form 1\", \"reference\": \"EF1-\(sn)\", \"validUntil\": \"2029-12-31\" }, \"specifications\": { \"ratedPowerKW\": 250 } }")
            first = false
        }
        for c in 0..<components {
            asset(String(format: "DPP-C-%06d", c), cmms: String(format: "CMMS-%06d", c), pn: Self.partNumbers[c % Self.partNumbers.count],
                  sn: String(format: "SN-%06d", c), aircraft: String(format: "EC-%03d", c % 200), installedAt: "2025-0\(1 + c % 9)-1\(c % 9)",
                  status: "IN_SERVICE", description: "Hydrogen propulsion component \(c % 97)")
        }
        var partCounts: [Int] = []
        var nextPart = 0
        for _ in 0..<workOrders {
            let n = 2 + Int(random.next() % 2)
            partCounts.append(n)
            for _ in 0..<n {
                asset(String(format: "DPP-P-%07d", nextPart), cmms: nil, pn: Self.partKits[nextPart % Self.partKits.count], sn: String(format: "PS-%07d", nextPart),
                      aircraft: nil, installedAt: nil, status: "IN_STOCK", description: "Replaceable seal and gasket kit")
                nextPart += 1
            }
        }
        registry.write("\n  ]\n}\n")
        try registry.close()
        // The parts in the order the work orders take them: a seeded permutation drawn from a
        // generator of its own, so the rest of the workload is the same in either order.
        var partSequence = Array(0..<nextPart)
        if partOrder == .shuffled {
            // Fisher–Yates spelled out: the standard library's `shuffle(using:)` may draw differently in another release.
            var shuffling = SplitMix64(seed: seed ^ 0x5041_5254_5348_5546)
            for i in stride(from: partSequence.count - 1, to: 0, by: -1) {
                partSequence.swapAt(i, Int(shuffling.next() % UInt64(i + 1)))
            }
        }

        // Work orders.
        if predictions > 0 { try writePredictions(inbox: inbox) }
        let xml = format == "xml" || format == "both" ? try Writer(path: inbox + "/workorders/export.xml") : nil
        let jsonl = format == "jsonl" || format == "both" ? try Writer(path: inbox + "/workorders/export.jsonl") : nil
        xml?.write("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PublishMXWO xmlns=\"http://www.ibm.com/maximo\" creationDateTime=\"2025-11-05T23:00:04+01:00\" transLanguage=\"EN\" baseLanguage=\"EN\" messageID=\"\(seed)\" maximoVersion=\"7 6 20190514-1348 V7611-365\" event=\"0\">\n  <MXWOSet xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n")
        var part = 0
        var emitted: [WorkOrder] = []
        for w in 0..<workOrders {
            let c = Int(random.next() % UInt64(max(1, components)))
            let day = 1 + Int(random.next() % 28)
            var order = WorkOrder(number: String(format: "WO-%07d", w), asset: String(format: "CMMS-%06d", c), dppId: String(format: "DPP-C-%06d", c),
                                  task: "TASK-\(c % Self.partNumbers.count)", day: String(format: "2025-10-%02d", day), hour: 8 + Int(random.next() % 8),
                                  findings: Self.findings[Int(random.next() % UInt64(Self.findings.count))],
                                  parts: partSequence[part..<(part + partCounts[w])].map { p in (Self.partKits[p % Self.partKits.count], String(format: "PS-%07d", p), String(format: "DPP-P-%07d", p)) },
                                  labor: (0..<(1 + Int(random.next() % 2))).map { _ in laborCodes[Int(random.next() % UInt64(laborCodes.count))] },
                                  testValue: Double(random.next() % 140) / 100)
            part += partCounts[w]
            let roll = Double(random.next() % 10_000) / 10_000
            if roll < invalid { order.day = "not-a-date" }
            write(order, xml: xml, jsonl: jsonl)
            emitted.append(order)
            // Repeats of earlier work orders: identical, older, or conflicting.
            let repeatRoll = Double(random.next() % 10_000) / 10_000
            if repeatRoll < duplicates + stale + conflicts, let earlier = emitted.randomElement(using: &random), earlier.day != "not-a-date" {
                var again = earlier
                if repeatRoll >= duplicates && repeatRoll < duplicates + stale { again.hour -= 1 }
                else if repeatRoll >= duplicates + stale { again.findings = "Different finding reported later" }
                write(again, xml: xml, jsonl: jsonl)
            }
        }
        xml?.write("  </MXWOSet>\n</PublishMXWO>\n")
        try xml?.close()
        try jsonl?.close()
        print("workload: \(components) components + \(nextPart) parts, \(workOrders) work orders (\(format)), \(laborCodes.count) technicians, "
              + "\(predictions) predictions, seed \(seed)")
    }

    /// CAOS predictions on components drawn at random, detected over the 70 days before the benchmark's as-of
    /// day (2026-01-10), each recommending its component's programme task; and every aircraft's ground windows,
    /// one night in four (22:00–06:00 UTC) from 2025-11-01 to 2026-03-31. A generator of its own, so the rest of
    /// the workload is the same with or without them.
    func writePredictions(inbox: String) throws {
        var random = SplitMix64(seed: seed ^ 0x4341_4F53_5052_4544)
        for source in ["caos", "ground-windows"] {
            try FileManager.default.createDirectory(atPath: inbox + "/" + source, withIntermediateDirectories: true)
        }
        let iso = ISO8601DateFormatter()
        let firstDay = 1_761_955_200.0  // 2025-11-01T00:00:00Z
        let caos = try Writer(path: inbox + "/caos/predictions.json")
        caos.write("[\n")
        for i in 0..<predictions {
            let c = Int(random.next() % UInt64(max(1, components)))
            let detected = iso.string(from: Date(timeIntervalSince1970: firstDay + Double(random.next() % (70 * 86_400))))
            let value = Double(300 + random.next() % 200) / 10, confidence = Double(30 + random.next() % 70) / 100
            caos.write((i == 0 ? "" : ",\n") + "  { \"predictionId\": \"\(String(format: "CAOS-BENCH-%07d", i))\", \"dppId\": \"\(String(format: "DPP-C-%06d", c))\", "
                       + "\"detectedAt\": \"\(detected)\", \"anomaly\": \"Cell voltage spread rising\", \"indicator\": \"cellVoltageSpreadMv\", \"value\": \(value), "
                       + "\"threshold\": 30.0, \"confidence\": \(confidence), \"predictedFailureWithinHours\": \(24 + random.next() % 1_976), "
                       + "\"recommendedAction\": \"Inspect stack manifold seals\", \"recommendedTaskId\": \"TASK-\(c % Self.partNumbers.count)\" }")
        }
        caos.write("\n]\n")
        try caos.close()
        let windows = try Writer(path: inbox + "/ground-windows/windows.json")
        windows.write("[\n")
        var first = true
        for aircraft in 0..<min(200, max(1, components)) {
            for night in stride(from: aircraft % 4, to: 151, by: 4) {
                let start = firstDay + Double(night * 86_400 + 22 * 3_600)
                windows.write((first ? "" : ",\n") + "  { \"aircraft\": \"\(String(format: "EC-%03d", aircraft))\", \"station\": \"LEJ\", "
                              + "\"start\": \"\(iso.string(from: Date(timeIntervalSince1970: start)))\", \"end\": \"\(iso.string(from: Date(timeIntervalSince1970: start + 8 * 3_600)))\" }")
                first = false
            }
        }
        windows.write("\n]\n")
        try windows.close()
    }

    struct WorkOrder {
        var number: String, asset: String, dppId: String, task: String, day: String, hour: Int, findings: String
        var parts: [(pn: String, sn: String, dppId: String)]
        var labor: [String]
        var testValue: Double
    }

    func write(_ w: WorkOrder, xml: Writer?, jsonl: Writer?) {
        let hh = String(format: "%02d", w.hour)
        if let xml {
            var s = "    <WORKORDER action=\"Replace\">\n      <WONUM>\(w.number)</WONUM>\n      <SITEID>LEJ</SITEID>\n      <ASSETNUM>\(w.asset)</ASSETNUM>\n      <WORKTYPE>PM</WORKTYPE>\n      <STATUS>COMP</STATUS>\n      <STATUSDATE>\(w.day)T\(hh):10:00+01:00</STATUSDATE>\n      <DESCRIPTION>Scheduled inspection of hydrogen propulsion component</DESCRIPTION>\n      <ACTSTART>\(w.day)T08:05:00+01:00</ACTSTART>\n      <ACTFINISH>\(w.day)T\(hh):00:00+01:00</ACTFINISH>\n      <PMNUM>\(w.task)</PMNUM>\n      <AMP_RTS>1</AMP_RTS>\n"
            s += "      <WORKLOG>\n        <LOGTYPE>FINDING</LOGTYPE>\n        <DESCRIPTION>\(w.findings)</DESCRIPTION>\n        <DESCRIPTION_LONGDESCRIPTION>Inspection carried out per AMM task \(w.task). Visual inspection of stack manifold, seals, connectors and sensors; torque values checked and recorded; no leaks detected during functional test at nominal pressure. Work area cleaned, tooling accounted for.</DESCRIPTION_LONGDESCRIPTION>\n      </WORKLOG>\n"
            for p in w.parts {
                s += "      <MATUSETRANS>\n        <ITEMNUM>\(p.pn)</ITEMNUM>\n        <ROTASSETNUM/>\n        <AMP_SERIALNUM>\(p.sn)</AMP_SERIALNUM>\n        <QUANTITY>-1.0</QUANTITY>\n        <ISSUETYPE>ISSUE</ISSUETYPE>\n        <TRANSDATE>\(w.day)T11:20:00+01:00</TRANSDATE>\n      </MATUSETRANS>\n"
            }
            for code in w.labor {
                s += "      <LABTRANS>\n        <LABORCODE>\(code)</LABORCODE>\n        <STARTDATE>\(w.day)T08:05:00+01:00</STARTDATE>\n        <REGULARHRS>4.25</REGULARHRS>\n        <CRAFT>B1</CRAFT>\n      </LABTRANS>\n"
            }
            s += "      <AMP_TESTRESULT>\n        <TESTNAME>Manifold leak test</TESTNAME>\n        <MEASURED>\(w.testValue)</MEASURED>\n        <UNIT>mbar/min</UNIT>\n        <UPPERLIMIT>1.5</UPPERLIMIT>\n        <RESULT>PASS</RESULT>\n      </AMP_TESTRESULT>\n    </WORKORDER>\n"
            xml.write(s)
        }
        if let jsonl {
            let parts = w.parts.map { "\"\($0.dppId)\"" }.joined(separator: ", ")
            let labor = w.labor.map { "{\"laborCode\": \"\($0)\", \"hours\": 4.25}" }.joined(separator: ", ")
            jsonl.write("{\"dppId\": \"\(w.dppId)\", \"workOrderId\": \"\(w.number)\", \"completionDate\": \"\(w.day)\", \"findings\": \"\(w.findings)\", \"partsUsed\": [\(parts)], \"returnToService\": true, \"labor\": [\(labor)], \"tests\": [{\"name\": \"Manifold leak test\", \"value\": \(w.testValue), \"unit\": \"mbar/min\", \"upperLimit\": 1.5, \"result\": \"PASS\"}]}\n")
        }
    }
}

/// Buffered file writing, so generating a 1 GB export needs little memory.
final class Writer {
    let handle: FileHandle
    var buffer = Data()
    init(path: String) throws {
        FileManager.default.createFile(atPath: path + ".part", contents: nil)
        guard let handle = FileHandle(forWritingAtPath: path + ".part") else { throw ValidationError("cannot write \(path)") }
        self.handle = handle
        self.path = path
    }
    let path: String
    func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count > 1 << 20 { handle.write(buffer); buffer.removeAll(keepingCapacity: true) }
    }
    /// Written as `.part` (never taken by intake) and renamed when complete.
    func close() throws {
        handle.write(buffer)
        try handle.close()
        try FileManager.default.moveItem(atPath: path + ".part", toPath: path)
    }
}

/// A small, fast, seedable generator (SplitMix64): same seed, same workload.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
