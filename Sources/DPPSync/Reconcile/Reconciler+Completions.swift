import GRDB

/// The facts of a work-order completion that duplicates are compared on
/// (DESIGN.md §8): a fact absent on one side is not a difference, and
/// `STATUS`/`STATUSDATE` are not facts.
struct CompletionFacts: Equatable {
    var dppId: String
    var completionDate: String?
    var findings: String?
    var returnToService: Bool?
    /// Parts installed, by dppId, sorted.
    var parts: [String]
    /// `laborCode hours`, sorted.
    var labor: [String]
    /// `name value result`, sorted.
    var tests: [String]

    /// Field-by-field differences where both sides have the fact.
    func differences(from stored: CompletionFacts) -> [String] {
        var out: [String] = []
        func compare(_ name: String, _ old: String?, _ new: String?) {
            if let old, let new, old != new { out.append("\(name): stored \"\(old)\", incoming \"\(new)\"") }
        }
        compare("dppId", stored.dppId, dppId)
        compare("completionDate", stored.completionDate, completionDate)
        compare("findings", stored.findings, findings)
        compare("returnToService", stored.returnToService.map { "\($0)" }, returnToService.map { "\($0)" })
        for (name, old, new) in [("partsUsed", stored.parts, parts), ("labor", stored.labor, labor), ("tests", stored.tests, tests)]
        where !old.isEmpty && !new.isEmpty && old != new {
            out.append("\(name): stored [\(old.joined(separator: ", "))], incoming [\(new.joined(separator: ", "))]")
        }
        return out
    }

    /// Facts this side has that `stored` lacks.
    func additions(over stored: CompletionFacts) -> [String] {
        var out: [String] = []
        if stored.completionDate == nil, completionDate != nil { out.append("completionDate") }
        if stored.findings == nil, findings != nil { out.append("findings") }
        if stored.returnToService == nil, returnToService != nil { out.append("returnToService") }
        if stored.parts.isEmpty, !parts.isEmpty { out.append("partsUsed") }
        if stored.labor.isEmpty, !labor.isEmpty { out.append("labor") }
        if stored.tests.isEmpty, !tests.isEmpty { out.append("tests") }
        return out
    }
}

/// A part line of a completion, resolved.
struct ResolvedPart {
    /// The part's `Reconciler.partColumns`.
    var row: RowValues
    var dppId: String
    /// `installed`, `removed`, or `returned` (a stores return changes nothing).
    var action: String
}

extension Reconciler {
    func decideCompletion(_ record: MappedRecord, provenance: Provenance, in db: Database) throws -> Decision {
        let workOrderId = record.key
        // 1. The asset.
        guard let (asset, assetReference) = try asset(of: record, in: db) else {
            return byPolicy(.invalidField, "the record names no asset (neither dppId nor assetNum)")
        }
        guard let asset, let dppId = asset["dpp_id"] ?? nil else {
            return byPolicy(.unknownAsset, "\(assetReference) is not in the DPP registry (yet); the record waits for it")
        }
        // 2. The parts.
        let partLines = record.list("partsUsed")
        var parts: [ResolvedPart] = []
        parts.reserveCapacity(partLines.count)
        for line in partLines {
            guard let reference = PartReference(line) else {
                return byPolicy(.invalidField, "a part used is neither a dppId nor a part number with serial number: \(line.jsonText())")
            }
            if case .unserialised = reference { continue }  // an unserialised consumable is not tracked in the DPP
            var match = try references.part(reference, in: db)
            if case .several(let candidates) = match {
                // The part this work order's stored version names (a re-send must not take another that got the serial
                // since), a removal's part in this component, else the only one not scrapped.
                let linked = try Set(linkedParts(of: workOrderId, in: db))
                let removes = ["removed", "remove"].contains(line["action"]?.scalarText?.lowercased() ?? "")
                guard let chosen = PartMatch.choose(among: candidates, preferring: [
                    { linked.contains(($0["dpp_id"] ?? nil) ?? "") },
                    { removes && ($0["parent_dpp_id"] ?? nil) == dppId },
                ]) else {
                    // Waits as an unknown part does: a registry export that tells them apart decides it again.
                    let ids = candidates.compactMap { $0["dpp_id"] ?? nil }
                    return byPolicy(.unknownPart, "part \(reference.described) is carried by \(ids.count) assets in the DPP registry (\(ids.joined(separator: ", ")))"
                                    + ", so which one was used cannot be told; the record waits until the registry tells them apart, or until its part line names the dppId")
                }
                match = .found(chosen)
            }
            guard case .found(let row) = match, let id = row["dpp_id"] ?? nil else {
                return byPolicy(.unknownPart, "part \(reference.described) is not in the DPP registry (yet); the record waits for it")
            }
            let issueType = line["issueType"]?.scalarText?.uppercased()
            // Another word had installed the part past every check (`"install"`): only these three are actions.
            let action: String
            switch line["action"]?.scalarText?.lowercased() ?? (issueType == "RETURN" ? "returned" : "installed") {
            case "installed", "install": action = "installed"
            case "removed", "remove": action = "removed"
            case "returned", "return": action = "returned"
            case let other:
                return byPolicy(.invalidField, "part \(id): action '\(other)' is not installed, removed or returned")
            }
            parts.append(ResolvedPart(row: row, dppId: id, action: action))
        }
        // 3. The technicians.
        var technicians: [String: RowValues] = [:]
        for line in record.list("labor") {
            guard let code = line["laborCode"]?.scalarText else { continue }
            guard let technician = try references.row(StateSchema.technician, code, in: db) else {
                return byPolicy(.unknownTechnician, "technician \(code) has no certification record (yet); the record waits for it")
            }
            technicians[code] = technician
        }

        var merged = record
        var reason: ReasonCode?
        var prefix = ""
        var previousLines: (labor: Int, tests: Int, parts: [String]) = (0, 0, [])
        /// Parts the stored version installed that an accepted newer version no longer names: their links go.
        var unlinked: [String] = []
        let storedWorkOrder = try references.row(.workOrder, columns: StateSchema.workOrder.columns, sql: StateSchema.workOrder.selectByKeySQL,
                                                  arguments: [workOrderId], in: db)
        if let stored = storedWorkOrder {
            let storedFacts = try facts(ofStored: stored, workOrderId: workOrderId, in: db)
            previousLines = (storedFacts.labor.count, storedFacts.tests.count, try linkedParts(of: workOrderId, in: db))
            // Only a stored work order is compared with: a new one (the usual case) skips building its facts.
            let incoming = facts(of: record, dppId: dppId, parts: parts)
            let differences = incoming.differences(from: storedFacts)
            // An older version is superseded, unless all it does is add facts the stored one lacks (its
            // labour, its tests): those enrich it as they would have, arriving first, so the order of
            // arrival does not decide whether they are kept.
            let (stale, storedTime) = isStale(record.timestamp, stored: stored["source_time"])
            if stale, let storedTime, let time = record.timestamp, !differences.isEmpty || incoming.additions(over: storedFacts).isEmpty {
                return Decision(outcome: configuration.outcome(for: .staleUpdate), reason: .staleUpdate,
                                message: "source time \(time) is older than the stored \(storedTime) of work order \(workOrderId); the newer data stays")
            }
            let newer = record.timestamp.map { time in (stored["source_time"] ?? nil).flatMap { Timestamp(iso: $0) }.map { time > $0 } ?? false } ?? false
            if !differences.isEmpty, !newer, !waived.contains(.divergentDuplicate) {
                return byPolicy(.divergentDuplicate, "work order \(workOrderId) is already stored with other facts: " + differences.joined(separator: "; "))
            }
            if differences.isEmpty {
                let additions = incoming.additions(over: storedFacts)
                merged = try merging(record, into: stored, workOrderId: workOrderId, storedWins: stale, technicians: &technicians, in: db)
                if additions.isEmpty {
                    // Same facts: only a status move (COMP → CLOSE) or nothing at all.
                    let rows = try completionRows(merged, workOrderId: workOrderId, asset: asset, parts: parts, technicians: technicians, previous: previousLines,
                                                  resent: true, in: db)
                    let changed = try rows.rows.filter { try !isStored($0, in: db) }
                    if changed.isEmpty || rows.hold != nil {
                        return Decision(outcome: .duplicate, reason: .duplicateRecord, message: "same facts as the stored work order")
                    }
                    return Decision(outcome: .applied, reason: nil, message: "status updated; same facts",
                                    changes: [StateChange(kind: "workorder.updated", subject: dppId, rows: changed, provenance: provenance)])
                }
                reason = .enriched
                prefix = "enriched with " + additions.joined(separator: ", ") + "; "
            } else {
                // Parts the stored version installed that the newer one no longer names: their moves cannot be undone
                // here (where each part was before is in the ledger's history, not in the state), so the version waits
                // for a person; accepted, it applies with those parts where the stored version put them, unlinked.
                let dropped = incoming.parts.isEmpty ? [] : storedFacts.parts.filter { !incoming.parts.contains($0) }
                if !dropped.isEmpty, !waived.contains(.divergentDuplicate) {
                    return byPolicy(.divergentDuplicate, "work order \(workOrderId) is newer than the stored version but no longer names part(s) "
                                    + dropped.joined(separator: ", ") + " that the stored version installed: their moves cannot be undone safely; "
                                    + "accepted, the newer version applies and leaves them where they are (a registry export can correct their place)")
                }
                unlinked = dropped
                prefix = "newer than the stored version (\(differences.joined(separator: "; "))); "
                // What the newer version leaves out is not a difference (DESIGN §8): it had wiped the
                // stored labour and tests and downgraded the release, its certificate still in force.
                merged = try merging(record, into: stored, workOrderId: workOrderId, storedWins: false, technicians: &technicians, in: db)
            }
        }

        var built = try completionRows(merged, workOrderId: workOrderId, asset: asset, parts: parts, technicians: technicians, previous: previousLines,
                                       resent: storedWorkOrder != nil, in: db)
        for part in unlinked {
            built.rows.append(RowImage(table: StateSchema.workOrderPart, values: ["work_order_id": workOrderId, "part_dpp_id": part], deleted: true))
        }
        if let hold = built.hold {
            let decision = byPolicy(hold.reason, hold.message)
            if decision.outcome != .applied { return decision }
            // A reviewer waived this check: build the rows without it.
            var waivedBuild = try completionRows(merged, workOrderId: workOrderId, asset: asset, parts: parts, technicians: technicians,
                                                 previous: previousLines, resent: storedWorkOrder != nil, waiving: hold.reason, in: db)
            waivedBuild.rows += built.rows.filter { $0.deleted && $0.isOf(StateSchema.workOrderPart) }
            if let other = waivedBuild.hold { return byPolicy(other.reason, other.message) }
            return try finishCompletion(&waivedBuild, dppId: dppId, asset: asset, technicians: technicians, reason: hold.reason,
                                        prefix: "accepted on review (\(hold.reason)): " + prefix, newWorkOrder: storedWorkOrder == nil,
                                        provenance: provenance, in: db)
        }
        return try finishCompletion(&built, dppId: dppId, asset: asset, technicians: technicians, reason: reason, prefix: prefix,
                                    newWorkOrder: storedWorkOrder == nil,
                                    provenance: provenance, in: db)
    }

    /// One ledger entry per completion: the work order, its lines, the parts it moved
    /// (each part's history finds it through the ledger's subject index) and, when the
    /// component is released, the release certificate the CMMS is sent.
    /// - Parameter built: its rows are taken (the certificate is then added to them in place,
    ///   in the room `completionRows` left, rather than to a copy of all of them).
    private func finishCompletion(_ built: inout (rows: [RowImage], reason: ReasonCode?, message: String, hold: (reason: ReasonCode, message: String)?),
                                  dppId: String, asset: RowValues, technicians: [String: RowValues], reason: ReasonCode?,
                                  prefix: String, newWorkOrder: Bool, provenance: Provenance, in db: Database) throws -> Decision {
        var rows: [RowImage] = []
        swap(&rows, &built.rows)
        let workOrder = rows.first(where: { $0.isOf(StateSchema.workOrder) })
        // Rows of a new work order are all new, except those about other components (status, part
        // installation), which may already read so: compare only those. For a new work order every
        // row is new or changed by construction (rows of other components are only built when they
        // change); an existing one is compared row by row.
        if !newWorkOrder { rows = try rows.filter { try !isStored($0, in: db) } }
        if let workOrder {
            let category = (workOrder.values["certifying_staff"] ?? nil).flatMap { technicians[$0] }.flatMap { $0["category"] ?? nil }
            if newWorkOrder {
                if let certificate = ReleaseCertificate.row(workOrder: workOrder.values, asset: asset, category: category, decidedOn: decisionDate) {
                    rows.append(certificate)
                }
            } else if let workOrderId = workOrder.values["work_order_id"] ?? nil {
                // A work order sent again: a certificate in force stays while it releases its component with the same words,
                // and is withdrawn once it no longer does (a newer version with a failed test, or not returned to service);
                // one released again, or on other facts (another technician, other findings), is certified anew as
                // `CRS2-<wo>` (… `CRS3-`), following the withdrawal.
                let history = try ReleaseCertificate.history(of: workOrderId, in: db)
                let inForce = history.withdrawn ? nil : history.latest
                if (workOrder.values["release_status"] ?? nil) == "released",
                   let certificate = ReleaseCertificate.row(workOrder: workOrder.values, asset: asset, category: category, decidedOn: decisionDate,
                                                            issue: .init(id: inForce ?? history.next, replaces: history.latest == nil ? nil : history.withdrawal)) {
                    let body = certificate.values["body"] ?? nil
                    if let inForce, let withdrawal = history.withdrawal, try ReleaseCertificate.body(of: inForce, in: db) != body,
                       let withdrawn = ReleaseCertificate.withdrawal(of: inForce, as: withdrawal, workOrder: workOrder.values,
                                                                     reason: "certified anew as \(history.next): the work order now says other facts", decidedOn: decisionDate),
                       let renewed = ReleaseCertificate.row(workOrder: workOrder.values, asset: asset, category: category, decidedOn: decisionDate,
                                                            issue: .init(id: history.next, replaces: withdrawal)) {
                        rows += [withdrawn, renewed]
                    } else if inForce == nil {
                        rows.append(certificate)
                    }
                } else if let inForce, let withdrawal = history.withdrawal,
                          let withdrawn = ReleaseCertificate.withdrawal(of: inForce, as: withdrawal, workOrder: workOrder.values, reason: built.message,
                                                                        decidedOn: decisionDate) {
                    rows.append(withdrawn)
                }
            }
        }
        let change = StateChange(kind: reason == .enriched ? "workorder.enriched" : "workorder.completed", subject: dppId,
                                 rows: rows, provenance: provenance)
        // A failed test is what the report must say, also when it came with an enrichment (ENRICHED had hidden it).
        let said = built.reason == .testFailed ? .testFailed : (reason ?? built.reason)
        return Decision(outcome: .applied, reason: said, message: prefix + built.message, changes: rows.isEmpty ? [] : [change])
    }

    /// The component a completion is about: by dppId, or by the CMMS asset number
    /// through the registry's crosswalk. `nil` when the record names neither; the
    /// row is `nil` when the named asset is not known (yet).
    func asset(of record: MappedRecord, in db: Database) throws -> (row: RowValues?, reference: String)? {
        if let dppId = record.string("dppId") {
            return (try references.component(dppId, in: db), "dppId \(dppId)")
        }
        guard let assetNum = record.string("assetNum") else { return nil }
        return (try references.component(cmmsNumber: assetNum, in: db), "CMMS asset \(assetNum)")
    }

    static let assetByCMMSNumberSQL = StateSchema.asset.selectSQL(where: "cmms_asset_num = ? ORDER BY dpp_id LIMIT 1")
    /// Every component with a CMMS number, by a scan of the table in key order (`NOT INDEXED`:
    /// through the number's index each row would be a random read of the table).
    static let componentsWithCMMSNumberSQL = "SELECT " + StateSchema.asset.columns.joined(separator: ", ")
        + " FROM asset NOT INDEXED WHERE cmms_asset_num IS NOT NULL ORDER BY dpp_id"
    /// What a completion reads of a part and may change (where it is, its release certificate);
    /// not its description and specifications, fetched for every part line for nothing.
    /// The part's update image is built from these columns alone (`RowImage(table:updating:to:)`).
    static let partColumns = ["dpp_id", "parent_dpp_id", "installed_on", "installed_at", "position", "status", "certification"]
    static let partByIdSQL = StateSchema.asset.selectSQL(partColumns, where: "dpp_id = ?")
    /// Every asset that carries a part and serial number (one, unless the registry reused a serial), in DPP id order.
    static let partsByNumberSQL = StateSchema.asset.selectSQL(partColumns, where: "part_number = ? AND serial_number = ?")

    // MARK: Rows

    /// Every row a completion implies (after-images), and what it means for return to service.
    func completionRows(_ record: MappedRecord, workOrderId: String, asset: RowValues, parts: [ResolvedPart],
                        technicians: [String: RowValues], previous: (labor: Int, tests: Int, parts: [String]),
                        resent: Bool = false, waiving: ReasonCode? = nil, in db: Database) throws -> (rows: [RowImage], reason: ReasonCode?, message: String, hold: (reason: ReasonCode, message: String)?) {
        guard let dppId = asset["dpp_id"] ?? nil else { return ([], nil, "", nil) }
        let completionDate = record.string("completionDate")
        let returnToService = record.bool("returnToService")
        let taskId = record.string("taskId")
        let labor = record.list("labor"), tests = record.list("tests")
        // The work order, the component's status, per part its move, installation and link, the
        // lines, and the release certificate `finishCompletion` adds: made once at full size.
        var rows: [RowImage] = []
        rows.reserveCapacity(3 + 3 * parts.count + max(labor.count, previous.labor) + max(tests.count, previous.tests))
        var reason: ReasonCode?
        var message = "completion recorded"
        var releaseStatus: String? = returnToService == true ? "released" : (returnToService == false ? "not-returned" : nil)
        var certifyingStaff: String?

        // Parts: installed into this component (aircraft from the parent); a return changes nothing.
        for part in parts where part.action != "returned" {
            // A re-sent work order (a status move, a newer version) does not move again the parts its
            // first send moved: what later work orders did with them since stands (a COMP → CLOSE
            // re-send had taken a part back out of the component a later work order fitted it to).
            if resent, previous.parts.contains(part.dppId) {
                rows.append(RowImage(table: StateSchema.workOrderPart, inColumnOrder: [workOrderId, part.dppId, part.action]))
                continue
            }
            let parent = part.row["parent_dpp_id"] ?? nil
            let status = part.row["status"] ?? nil
            if part.action == "installed" {
                // In another component whatever its status says (a registry lists fitted parts IN_SERVICE too),
                // unless it was taken out.
                if let parent, parent != dppId, status != "REMOVED", status != "IN_STOCK", !previous.parts.contains(part.dppId),
                   waiving != .partInstalledElsewhere {
                    return ([], nil, "", (.partInstalledElsewhere, "part \(part.dppId) is installed in \(parent); it cannot also be installed in \(dppId)"))
                }
                if !previous.parts.contains(part.dppId), waiving != .partNotCertified,
                   let problem = status == "SCRAPPED" ? "it is scrapped" : certificationProblem(part.row, on: completionDate) {
                    return ([], nil, "", (.partNotCertified, "part \(part.dppId): \(problem)"))
                }
            } else if parent != dppId, !previous.parts.contains(part.dppId), waiving != .partInstalledElsewhere {
                // A removal takes out a part this component holds: one in another component, or in none, is not its to remove.
                return ([], nil, "", (.partInstalledElsewhere, "part \(part.dppId) is " + (parent.map { "installed in \($0)" } ?? "not installed")
                                      + "; \(dppId) cannot remove it"))
            }
            // The part's new place, as the partial image of its row: the key and the columns that change,
            // in the asset table's column order (which the write binds them in).
            let installedOn = asset["installed_on"] ?? nil
            let removed = part.action == "removed"
            let move = UnwrittenAssetColumns.placeImage(of: part.dppId) { slot in
                let column = UnwrittenAssetColumns.columns[slot]
                let value: String?
                switch column {
                case "installed_on": value = removed ? nil : installedOn
                case "parent_dpp_id": value = removed ? nil : dppId
                case "position" where removed: value = nil
                case "installed_at" where !removed: value = completionDate
                case "status": value = removed ? "REMOVED" : "INSTALLED"
                default: return nil  // not moved by this action
                }
                return (part.row[column] ?? nil) != value ? .some(value) : nil
            }
            if let move { rows.append(move) }
            if !removed, let installation = installationRow(dppId: part.dppId, aircraft: installedOn, day: completionDate, previous: part.row) {
                rows.append(installation)
            } else if removed, (part.row["installed_on"] ?? nil) != nil, let completionDate {
                // The period on its aircraft ends: from this day the part is on none, and accrues no
                // aircraft's hours while it waits on a shelf (a period with no aircraft).
                rows.append(.installation(dppId: part.dppId, day: completionDate, aircraft: nil))
            }
            // work_order_id, part_dpp_id, action
            rows.append(RowImage(table: StateSchema.workOrderPart, inColumnOrder: [workOrderId, part.dppId, part.action]))
        }
        // Labour and tests.
        for (i, line) in labor.enumerated() {
            // work_order_id, line, labor_code, hours, craft, start_date
            rows.append(RowImage(table: StateSchema.workOrderLabor, inColumnOrder: [
                workOrderId, String(i + 1), line["laborCode"]?.scalarText, line["hours"]?.scalarText, line["craft"]?.scalarText,
                line["startDate"]?.scalarText,
            ]))
        }
        for i in stride(from: labor.count, to: previous.labor, by: 1) {
            rows.append(RowImage(table: StateSchema.workOrderLabor, values: ["work_order_id": workOrderId, "line": String(i + 1)], deleted: true))
        }
        var failed: [String] = []
        for (i, test) in tests.enumerated() {
            let result = test["result"]?.scalarText ?? verdict(test)
            if result == "FAIL" { failed.append(test["name"]?.scalarText ?? "test \(i + 1)") }
            // work_order_id, line, name, value, unit, lower_limit, upper_limit, result
            rows.append(RowImage(table: StateSchema.workOrderTest, inColumnOrder: [
                workOrderId, String(i + 1), test["name"]?.scalarText, test["value"]?.scalarText, test["unit"]?.scalarText,
                test["lowerLimit"]?.scalarText, test["upperLimit"]?.scalarText, result,
            ]))
        }
        for i in stride(from: tests.count, to: previous.tests, by: 1) {
            rows.append(RowImage(table: StateSchema.workOrderTest, values: ["work_order_id": workOrderId, "line": String(i + 1)], deleted: true))
        }
        // Return to service: tests, then certifying staff.
        if returnToService == true {
            if !failed.isEmpty {
                reason = .testFailed
                releaseStatus = "blocked"
                message = "work recorded; return to service blocked: failed " + failed.joined(separator: ", ")
            } else if labor.isEmpty {
                reason = .noCertifyingStaff
                releaseStatus = "awaiting-certifying-staff"
                message = "completion recorded with return to service; no certifying technician is named yet, so no release certificate"
            } else {
                let tasks = try requirementTasks(taskId: taskId, asset: asset, in: db)
                switch certifier(labor: labor, technicians: technicians, tasks: tasks, on: completionDate) {
                case .success(let code):
                    certifyingStaff = code
                    message = "completion recorded; released to service by \(code)"
                case .failure(let failure) where waiving == failure.reason:
                    certifyingStaff = labor.first?["laborCode"]?.scalarText
                    message = "completion recorded; released to service by \(certifyingStaff ?? "-") on review, despite: \(failure.message)"
                case .failure(let failure):
                    return ([], nil, "", (failure.reason, failure.message))
                }
            }
        } else if returnToService == false {
            message = "completion recorded; not returned to service"
        }
        let status: String? = switch releaseStatus {
        case "released"?, "awaiting-certifying-staff"?: "IN_SERVICE"
        case "blocked"?, "not-returned"?: "UNSERVICEABLE"
        default: asset["status"] ?? nil
        }
        // Nor does it set the component's status over a later completion's (its release had been undone).
        if status != (asset["status"] ?? nil), !(resent ? try laterCompletion(on: dppId, than: completionDate, besides: workOrderId, in: db) : false) {
            var updated = asset
            updated["status"] = status
            rows.insert(RowImage(table: StateSchema.asset, updating: asset, to: updated), at: 0)
        }
        // work_order_id, dpp_id, site_id, task_id, completion_date, status, status_date, findings, return_to_service,
        // release_status, certifying_staff, source_time
        rows.insert(RowImage(table: StateSchema.workOrder, inColumnOrder: [
            workOrderId, dppId, record.string("siteId"), taskId, completionDate, record.string("status"), record.string("statusDate"),
            record.string("findings"), returnToService.map { $0 ? "1" : "0" }, releaseStatus, certifyingStaff, record.timestamp?.description,
        ]), at: 0)
        return (rows, reason, message, nil)
    }

    struct ComplianceFailure: Error { var reason: ReasonCode; var message: String }

    /// Whether a work order other than `workOrderId` completed on `dppId` after `date`.
    func laterCompletion(on dppId: String, than date: String?, besides workOrderId: String, in db: Database) throws -> Bool {
        guard let date else { return false }
        return try Bool.fetchOne(db.cachedStatement(sql: """
            SELECT EXISTS (SELECT 1 FROM work_order WHERE dpp_id = ? AND completion_date > ? AND work_order_id <> ?)
            """), arguments: [dppId, date, workOrderId]) ?? false
    }

    /// The technician who may certify the return to service: licence valid on the
    /// completion day, with the category and authorisation each of `tasks` requires (categories
    /// and authorisations compared without regard to letter case).
    func certifier(labor: [JSONValue], technicians: [String: RowValues], tasks: [RowValues],
                   on date: String?) -> Result<String, ComplianceFailure> {
        var problems: [(ReasonCode, String)] = []
        technicians: for line in labor {
            guard let code = line["laborCode"]?.scalarText, let technician = technicians[code] else { continue }
            let from = technician["valid_from"] ?? nil, until = technician["valid_until"] ?? nil
            if let date, let until, date > until {
                problems.append((.certExpired, "\(code)'s licence expired on \(until), before the completion on \(date)")); continue
            }
            if let date, let from, date < from {
                problems.append((.certExpired, "\(code)'s licence is valid only from \(from), after the completion on \(date)")); continue
            }
            for task in tasks {
                let taskId = (task["task_id"] ?? nil) ?? ""
                if let category = task["required_category"] ?? nil, !Self.sameLetters(technician["category"] ?? nil, category) {
                    problems.append((.certInsufficient, "\(code) holds category \((technician["category"] ?? nil) ?? "none"); task \(taskId) requires \(category)"))
                    continue technicians
                }
                if let authorisation = task["required_authorisation"] ?? nil {
                    let held = (technician["authorisations"] ?? nil).map(references.authorisations(in:)) ?? []
                    if !held.contains(where: { Self.sameLetters($0, authorisation) }) {
                        problems.append((.certInsufficient, "\(code) lacks authorisation \(authorisation), which task \(taskId) requires"))
                        continue technicians
                    }
                }
            }
            return .success(code)
        }
        let reason = problems.contains { $0.0 == .certInsufficient } ? ReasonCode.certInsufficient : .certExpired
        return .failure(ComplianceFailure(reason: reason, message: "return to service not allowed: " + problems.map(\.1).joined(separator: "; ")))
    }

    /// The programme tasks whose requirements the certifier must meet: the work order's own, else
    /// every task the programme has for the component's part number. A task the programme does not
    /// know, or none named where a part number has several, had left no requirement at all (a B2
    /// avionics technician released a fuel-cell stack).
    func requirementTasks(taskId: String?, asset: RowValues, in db: Database) throws -> [RowValues] {
        if let taskId, let task = try references.row(StateSchema.maintenanceTask, taskId, in: db) { return [task] }
        guard let partNumber = asset["part_number"] ?? nil else { return [] }
        return try references.tasks(ofPartNumber: partNumber, in: db)
    }

    /// ASCII letters compared without case (licence categories and authorisations: "b1" is B1).
    static func sameLetters(_ a: String?, _ b: String) -> Bool {
        guard let a else { return false }
        return a.utf8.count == b.utf8.count && zip(a.utf8, b.utf8).allSatisfy { x, y in
            x == y || (x | 0x20 == y | 0x20 && (x | 0x20) >= UInt8(ascii: "a") && (x | 0x20) <= UInt8(ascii: "z"))
        }
    }

    static let certificateMembers = FlatJSONObject(names: ["reference", "validUntil"])

    /// Why a part's release certificate is not valid on `date`, or `nil`.
    func certificationProblem(_ part: RowValues, on date: String?) -> String? {
        var reference: String?, validUntil: String?
        if let text = part["certification"] ?? nil {
            if let members = Self.certificateMembers.strings(in: text) {
                (reference, validUntil) = (members[0], members[1])
            } else if let cert = try? JSONParser.parseDocument(Array(text.utf8)) {
                (reference, validUntil) = (cert["reference"]?.scalarText, cert["validUntil"]?.scalarText)
            }
        }
        guard let reference, !reference.isEmpty else {
            return "no authorised release certificate (EASA Form 1 / FAA 8130-3) is recorded"
        }
        if let until = validUntil, let date, until < date {
            return "its release certificate \(reference) expired on \(until)"
        }
        return nil
    }

    func verdict(_ test: JSONValue) -> String? {
        guard let value = test["value"]?.scalarText.flatMap(Double.init) else { return nil }
        if let lower = test["lowerLimit"]?.scalarText.flatMap(Double.init), value < lower { return "FAIL" }
        if let upper = test["upperLimit"]?.scalarText.flatMap(Double.init), value > upper { return "FAIL" }
        return "PASS"
    }

    // MARK: Facts

    func facts(of record: MappedRecord, dppId: String, parts: [ResolvedPart]) -> CompletionFacts {
        CompletionFacts(
            dppId: dppId, completionDate: record.string("completionDate"), findings: record.string("findings"),
            returnToService: record.bool("returnToService"),
            // Once each: a part named twice is one part fitted (the store links it once).
            parts: Set(parts.filter { $0.action == "installed" }.map(\.dppId)).sorted(),
            labor: record.list("labor").map { "\($0["laborCode"]?.scalarText ?? "") \(Self.number($0["hours"]?.scalarText))" }.sorted(),
            tests: record.list("tests").map { "\($0["name"]?.scalarText ?? "") \(Self.number($0["value"]?.scalarText)) \($0["result"]?.scalarText ?? verdict($0) ?? "")" }.sorted())
    }

    func facts(ofStored row: RowValues, workOrderId: String, in db: Database) throws -> CompletionFacts {
        // Statements kept prepared and columns read by position: every re-sent work order reads these
        // (GRDB authorises a statement it prepares anew table by table, ~2 % of a night with one in six re-sent).
        let parts = try String.fetchAll(db.cachedStatement(sql: "SELECT part_dpp_id FROM work_order_part WHERE work_order_id = ? AND action = 'installed' ORDER BY 1"),
                                        arguments: [workOrderId])
        let labor = try Row.fetchAll(db.cachedStatement(sql: "SELECT labor_code, hours FROM work_order_labor WHERE work_order_id = ?"), arguments: [workOrderId])
            .map { "\(($0[0] as String?) ?? "") \(Self.number($0[1]))" }.sorted()
        let tests = try Row.fetchAll(db.cachedStatement(sql: "SELECT name, value, result FROM work_order_test WHERE work_order_id = ?"), arguments: [workOrderId])
            .map { "\(($0[0] as String?) ?? "") \(Self.number($0[1])) \(($0[2] as String?) ?? "")" }.sorted()
        return CompletionFacts(dppId: (row["dpp_id"] ?? nil) ?? "", completionDate: row["completion_date"] ?? nil, findings: row["findings"] ?? nil,
                               returnToService: (row["return_to_service"] ?? nil).map { $0 == "1" }, parts: parts, labor: labor, tests: tests)
    }

    /// The parts the stored version of a work order links, whatever their action.
    func linkedParts(of workOrderId: String, in db: Database) throws -> [String] {
        try String.fetchAll(db.cachedStatement(sql: "SELECT part_dpp_id FROM work_order_part WHERE work_order_id = ?"), arguments: [workOrderId])
    }

    /// Numbers compared by value: `4.25` and `4.250` are the same hours.
    static func number(_ text: String?) -> String {
        guard let text, let d = Double(text) else { return text ?? "" }
        return d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
    }

    /// The stored labour and tests, as record lists (for a merge).
    func storedDetails(_ row: RowValues, workOrderId: String, in db: Database) throws -> (labor: [JSONValue], tests: [JSONValue]) {
        func text(_ s: String?) -> JSONValue? { s.map(JSONValue.string) }
        let labor = try Row.fetchAll(db.cachedStatement(sql: "SELECT labor_code, hours, craft, start_date FROM work_order_labor WHERE work_order_id = ? ORDER BY CAST(line AS INTEGER)"),
                                     arguments: [workOrderId]).map { r in
            JSONValue.object([("laborCode", text(r[0])), ("hours", text(r[1])), ("craft", text(r[2])), ("startDate", text(r[3]))].compactMap { k, v in v.map { (k, $0) } })
        }
        let tests = try Row.fetchAll(db.cachedStatement(sql: "SELECT name, value, unit, lower_limit, upper_limit, result FROM work_order_test WHERE work_order_id = ? ORDER BY CAST(line AS INTEGER)"),
                                     arguments: [workOrderId]).map { r in
            JSONValue.object([("name", text(r[0])), ("value", text(r[1])), ("unit", text(r[2])), ("lowerLimit", text(r[3])),
                              ("upperLimit", text(r[4])), ("result", text(r[5]))].compactMap { k, v in v.map { (k, $0) } })
        }
        return (labor, tests)
    }

    /// The stored work order `workOrderId` in a completion record's fields: what `review show` sets beside a
    /// held version (a field of the record with no stored column had been shown as stored empty).
    func storedCompletionFields(_ row: RowValues, workOrderId: String, in db: Database) throws -> [String: JSONValue] {
        var fields: [String: JSONValue] = ["workOrderId": .string(workOrderId)]
        for (field, column) in Self.mergedColumns { if let value = row[column] ?? nil { fields[field] = .string(value) } }
        if let rts = row["return_to_service"] ?? nil { fields["returnToService"] = .bool(rts == "1") }
        if let dppId = row["dpp_id"] ?? nil {
            fields["dppId"] = .string(dppId)
            if let number = try StateWriter.row(StateSchema.asset, key: [dppId], in: db)?["cmms_asset_num"] ?? nil { fields["assetNum"] = .string(number) }
        }
        let details = try storedDetails(row, workOrderId: workOrderId, in: db)
        if !details.labor.isEmpty { fields["labor"] = .array(details.labor) }
        if !details.tests.isEmpty { fields["tests"] = .array(details.tests) }
        // A part as a part line names it: its dppId when installed (the usual line), with its action otherwise.
        let parts: [JSONValue] = try Row.fetchAll(db, sql: "SELECT part_dpp_id, action FROM work_order_part WHERE work_order_id = ? ORDER BY part_dpp_id",
                                                  arguments: [workOrderId]).map { part in
            let (dppId, action): (String, String) = (part[0], part[1])
            return action == "installed" ? .string(dppId) : .object([("dppId", .string(dppId)), ("action", .string(action))])
        }
        if !parts.isEmpty { fields["partsUsed"] = .array(parts) }
        return fields
    }

    /// `record` completed with the stored work order's facts it lacks, and the technicians of the
    /// merged labour looked up: they are certified too (a second source without labour had been
    /// held CERT_EXPIRED with no reason given, its technicians looked up from its own lines alone).
    /// - Parameter storedWins: the record is older than the stored version: of the fields both have
    ///   (its task, site, status), the stored ones stay; it only adds what the stored one lacks.
    func merging(_ record: MappedRecord, into stored: RowValues, workOrderId: String, storedWins: Bool, technicians: inout [String: RowValues],
                 in db: Database) throws -> MappedRecord {
        let merged = mergedRecord(record, stored: stored, details: try storedDetails(stored, workOrderId: workOrderId, in: db), storedWins: storedWins)
        for line in merged.list("labor") {
            guard let code = line["laborCode"]?.scalarText, technicians[code] == nil else { continue }
            if let technician = try references.row(StateSchema.technician, code, in: db) { technicians[code] = technician }
        }
        return merged
    }

    /// A work order's scalar fields and their columns, as `mergedRecord` completes them.
    static let mergedColumns = ["siteId": "site_id", "taskId": "task_id", "completionDate": "completion_date", "findings": "findings",
                                "status": "status", "statusDate": "status_date"]

    /// The incoming record completed with what the stored work order has and it lacks,
    /// so that either arrival order ends in the same rows.
    /// - Parameter storedWins: the stored values stay where both have one (`merging(_:into:…)`).
    func mergedRecord(_ record: MappedRecord, stored: RowValues, details: (labor: [JSONValue], tests: [JSONValue]), storedWins: Bool = false) -> MappedRecord {
        var merged = record
        for (field, column) in Self.mergedColumns where storedWins || merged.fields[field] == nil {
            if let value = stored[column] ?? nil { merged.fields[field] = .string(value) }
        }
        // Status moves forward only: the newer status date wins.
        if let storedDate = stored["status_date"] ?? nil, let incomingDate = record.string("statusDate"), storedDate > incomingDate {
            merged.fields["status"] = (stored["status"] ?? nil).map(JSONValue.string)
            merged.fields["statusDate"] = .string(storedDate)
        }
        if storedWins || merged.fields["returnToService"] == nil, let rts = stored["return_to_service"] ?? nil { merged.fields["returnToService"] = .bool(rts == "1") }
        if merged.list("labor").isEmpty, !details.labor.isEmpty { merged.fields["labor"] = .array(details.labor) }
        if merged.list("tests").isEmpty, !details.tests.isEmpty { merged.fields["tests"] = .array(details.tests) }
        let storedTime = (stored["source_time"] ?? nil).flatMap { Timestamp(iso: $0) }
        if let storedTime, merged.timestamp.map({ $0 < storedTime }) ?? true { merged.timestamp = storedTime }
        return merged
    }

    /// `true` when the row is already stored exactly so (or, for a delete, already
    /// absent); with `keyOnly`, when a row with its key is stored at all.
    ///
    /// As this file's decisions left it, not as the store has it: an asset is compared with its
    /// waiting columns laid over (a re-sent work order's rows are built against those), and an
    /// installation of an asset the file may have changed counts as not stored, since the writer
    /// may hold one of its key that is not written yet (writing it again changes nothing, and a
    /// part's installation is only built with a move that differs anyway).
    func isStored(_ row: RowImage, in db: Database, keyOnly: Bool = false) throws -> Bool {
        guard let table = StateSchema.table(named: row.table) else { return false }
        if table === StateSchema.installation, let waiting = references.unwrittenAssets,
           waiting.mayHaveChanged((row.values["dpp_id"] ?? nil) ?? "") { return false }
        var current = try StateWriter.row(table, key: table.keyColumns.map { (row.values[$0] ?? nil) ?? "" }, in: db)
        if table === StateSchema.asset { current = references.current(current) }
        if row.deleted { return current == nil }
        guard let current, !keyOnly else { return current != nil }
        return row.values.allSatisfy { column, value in (current[column] ?? nil) == value }
    }
}
