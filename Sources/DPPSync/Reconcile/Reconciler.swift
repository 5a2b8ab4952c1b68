import GRDB

/// Decides each mapped record against the DPP state, inside the file's
/// transaction (DESIGN.md §1): it resolves external keys, compares with what is
/// stored, and returns the changes to write. It reads; it never writes.
public struct Reconciler {
    public let configuration: Configuration

    public init(configuration: Configuration) { self.configuration = configuration }

    public func decide(_ record: MappedRecord, provenance: Provenance, in db: Database) throws -> Decision {
        switch record.kind {
        case .asset: return try decideAsset(record, provenance: provenance, in: db)
        case .workOrderCompletion: return try decideCompletion(record, provenance: provenance, in: db)
        default:
            return Decision(outcome: .rejected, reason: .invalidField, message: "record kind '\(record.kind)' cannot be reconciled by this version")
        }
    }

    /// A decision whose outcome comes from the policy for `reason`.
    func byPolicy(_ reason: ReasonCode, _ message: String) -> Decision {
        Decision(outcome: configuration.outcome(for: reason), reason: reason, message: message)
    }

    // MARK: Assets

    func decideAsset(_ record: MappedRecord, provenance: Provenance, in db: Database) throws -> Decision {
        let dppId = record.key
        var values: [String: String?] = [
            "dpp_id": dppId,
            "cmms_asset_num": record.string("cmmsAssetNum"), "part_number": record.string("partNumber"),
            "serial_number": record.string("serialNumber"), "description": record.string("description"),
            "manufacturer": record.string("manufacturer"), "installed_on": record.string("installedOn"),
            "parent_dpp_id": record.string("parentDppId"), "position": record.string("position"),
            "installed_at": record.string("installedAt"), "status": record.string("status"),
            "criticality": record.string("criticality"),
            "certification": record.fields["certification"].map { $0.jsonText(sortedKeys: true) },
            "specifications": record.fields["specifications"].map { $0.jsonText(sortedKeys: true) },
            "source_time": record.timestamp?.description,
        ]
        guard let stored = try StateWriter.row(StateSchema.asset, key: [dppId], in: db) else {
            let change = StateChange(kind: "asset.registered", subject: dppId,
                                     rows: [RowImage(table: StateSchema.asset, values: values)], provenance: provenance)
            return Decision(outcome: .applied, reason: nil, message: "new component registered", changes: [change])
        }
        if let incoming = record.timestamp, let storedText = stored["source_time"] ?? nil,
           let storedTime = Timestamp(iso: storedText), incoming < storedTime {
            return Decision(outcome: configuration.outcome(for: .staleUpdate), reason: .staleUpdate,
                            message: "source time \(incoming) is older than the stored \(storedTime); the newer values stay")
        }
        let differences = StateSchema.asset.columns.filter { $0 != "source_time" && (stored[$0] ?? nil) != (values[$0] ?? nil) }
        if differences.isEmpty {
            return Decision(outcome: .duplicate, reason: .duplicateRecord, message: "identical to the stored component")
        }
        // The source time moves forward only.
        if record.timestamp == nil { values["source_time"] = stored["source_time"] ?? nil }
        let change = StateChange(kind: "asset.updated", subject: dppId,
                                 rows: [RowImage(table: StateSchema.asset, values: values)], provenance: provenance)
        return Decision(outcome: .applied, reason: nil, message: "updated: " + differences.joined(separator: ", "), changes: [change])
    }

    // MARK: Work-order completions

    func decideCompletion(_ record: MappedRecord, provenance: Provenance, in db: Database) throws -> Decision {
        let workOrderId = record.key
        // Resolve the asset: by dppId, or by the CMMS asset number through the registry's crosswalk.
        var asset: [String: String?]?
        var assetReference = ""
        if let dppId = record.string("dppId") {
            assetReference = "dppId \(dppId)"
            asset = try StateWriter.row(StateSchema.asset, key: [dppId], in: db)
        } else if let assetNum = record.string("assetNum") {
            assetReference = "CMMS asset \(assetNum)"
            if let dppId = try String.fetchOne(db.cachedStatement(sql: "SELECT dpp_id FROM asset WHERE cmms_asset_num = ?"), arguments: [assetNum]) {
                asset = try StateWriter.row(StateSchema.asset, key: [dppId], in: db)
            }
        } else {
            return Decision(outcome: configuration.outcome(for: .invalidField), reason: .invalidField,
                            message: "the record names no asset (neither dppId nor assetNum)")
        }
        guard let asset, let dppIdValue = asset["dpp_id"], let dppId = dppIdValue else {
            return byPolicy(.unknownAsset, "\(assetReference) is not in the DPP registry (yet); the record waits for it")
        }
        // Resolve the parts used.
        var parts: [[String: String?]] = []
        for reference in record.list("partsUsed") {
            let found: [String: String?]?
            let described: String
            if let partId = reference.scalarText {
                described = partId
                found = try StateWriter.row(StateSchema.asset, key: [partId], in: db)
            } else if let partId = reference["dppId"]?.scalarText {
                described = partId
                found = try StateWriter.row(StateSchema.asset, key: [partId], in: db)
            } else if let pn = reference["partNumber"]?.scalarText, let sn = reference["serialNumber"]?.scalarText {
                described = "\(pn) s/n \(sn)"
                let id = try String.fetchOne(db.cachedStatement(sql: "SELECT dpp_id FROM asset WHERE part_number = ? AND serial_number = ?"), arguments: [pn, sn])
                found = try id.flatMap { try StateWriter.row(StateSchema.asset, key: [$0], in: db) }
            } else {
                return Decision(outcome: configuration.outcome(for: .invalidField), reason: .invalidField,
                                message: "a part used is neither a dppId nor a part number with serial number: \(reference.jsonText())")
            }
            guard let found else { return byPolicy(.unknownPart, "part \(described) is not in the DPP registry (yet); the record waits for it") }
            parts.append(found)
        }
        let partIds = parts.compactMap { $0["dpp_id"] ?? nil }.sorted()
        let returnToService = record.bool("returnToService")
        let completionDate = record.string("completionDate")

        if let stored = try StateWriter.row(StateSchema.workOrder, key: [workOrderId], in: db) {
            let storedParts = try String.fetchAll(db.cachedStatement(sql: "SELECT part_dpp_id FROM work_order_part WHERE work_order_id = ? ORDER BY part_dpp_id"), arguments: [workOrderId])
            var differences: [String] = []
            func compare(_ name: String, _ old: String?, _ new: String?) {
                if let old, let new, old != new { differences.append("\(name): stored \"\(old)\", incoming \"\(new)\"") }
            }
            compare("dppId", stored["dpp_id"] ?? nil, dppId)
            compare("completionDate", stored["completion_date"] ?? nil, completionDate)
            compare("findings", stored["findings"] ?? nil, record.string("findings"))
            compare("returnToService", stored["return_to_service"] ?? nil, returnToService.map { $0 ? "1" : "0" })
            if !record.list("partsUsed").isEmpty, !storedParts.isEmpty, storedParts != partIds {
                differences.append("partsUsed: stored [\(storedParts.joined(separator: ", "))], incoming [\(partIds.joined(separator: ", "))]")
            }
            if differences.isEmpty {
                return Decision(outcome: .duplicate, reason: .duplicateRecord, message: "same facts as the stored work order")
            }
            return byPolicy(.divergentDuplicate, "work order \(workOrderId) is already stored with other facts: " + differences.joined(separator: "; "))
        }

        var changes: [StateChange] = []
        let workOrderRow = RowImage(table: StateSchema.workOrder, values: [
            "work_order_id": workOrderId, "dpp_id": dppId, "site_id": record.string("siteId"), "task_id": record.string("taskId"),
            "completion_date": completionDate, "status": record.string("status"), "status_date": record.string("statusDate"),
            "findings": record.string("findings"), "return_to_service": returnToService.map { $0 ? "1" : "0" },
            "certifying_staff": nil, "source_time": record.timestamp?.description,
        ])
        let event = RowImage(table: StateSchema.lifecycleEvent, values: [
            "event_id": "WO:" + workOrderId, "dpp_id": dppId, "event_date": completionDate, "event_kind": "maintenance",
            "work_order_id": workOrderId, "summary": record.string("findings"),
        ])
        var componentRows = [workOrderRow, event]
        componentRows += partIds.map { RowImage(table: StateSchema.workOrderPart, values: ["work_order_id": workOrderId, "part_dpp_id": $0, "action": "installed"]) }
        if let returnToService {
            var updated = asset
            updated["status"] = returnToService ? "IN_SERVICE" : "UNSERVICEABLE"
            if updated != asset { componentRows.append(RowImage(table: StateSchema.asset, values: updated)) }
        }
        changes.append(StateChange(kind: "workorder.completed", subject: dppId, rows: componentRows, provenance: provenance))
        // Each part used is installed into the component (its parent; aircraft from the parent).
        for part in parts {
            guard let partIdValue = part["dpp_id"], let partId = partIdValue else { continue }
            var installed = part
            installed["parent_dpp_id"] = dppId
            installed["installed_on"] = asset["installed_on"] ?? nil
            installed["installed_at"] = completionDate
            installed["status"] = "INSTALLED"
            let partEvent = RowImage(table: StateSchema.lifecycleEvent, values: [
                "event_id": "WO:" + workOrderId + ":" + partId, "dpp_id": partId, "event_date": completionDate,
                "event_kind": "installed", "work_order_id": workOrderId, "summary": "installed into \(dppId)",
            ])
            changes.append(StateChange(kind: "part.installed", subject: partId,
                                       rows: [RowImage(table: StateSchema.asset, values: installed), partEvent], provenance: provenance))
        }
        if returnToService == true {
            return Decision(outcome: .applied, reason: .noCertifyingStaff,
                            message: "completion recorded with return to service; no certifying technician is named yet, so no release certificate",
                            changes: changes)
        }
        return Decision(outcome: .applied, reason: nil, message: "completion recorded", changes: changes)
    }
}
