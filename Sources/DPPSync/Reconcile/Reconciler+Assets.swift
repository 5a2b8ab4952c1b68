import GRDB

extension Reconciler {
    /// Fields of an asset the DPP owns: a value for them from a CMMS source is
    /// not applied (`FIELD_OWNED_BY_DPP`).
    static let dppOwnedAssetColumns: [String: String] = ["specifications": "specifications", "certification": "certification"]

    /// A new installation period when the component is (newly) on an aircraft.
    func installationRows(_ values: RowValues, previous: RowValues?) -> [RowImage] {
        guard let dppId = values["dpp_id"] ?? nil else { return [] }
        return installationRow(dppId: dppId, aircraft: values["installed_on"] ?? nil, day: values["installed_at"] ?? nil, previous: previous)
            .map { [$0] } ?? []
    }

    /// The installation period that begins when `dppId` is installed on `aircraft` on `day`;
    /// `nil` when either is unknown or `previous` (its stored row) already says so.
    func installationRow(dppId: String, aircraft: String?, day: String?, previous: RowValues?) -> RowImage? {
        guard let aircraft, let day else { return nil }
        if let previous, (previous["installed_on"] ?? nil) == aircraft, (previous["installed_at"] ?? nil) == day { return nil }
        return .installation(dppId: dppId, day: day, aircraft: aircraft)
    }

    func decideAsset(_ record: MappedRecord, provenance: Provenance, source: String, in db: Database) throws -> Decision {
        let dppId = record.key
        var values: RowValues = [
            "dpp_id": dppId,
            "cmms_asset_num": record.string("cmmsAssetNum"), "part_number": record.string("partNumber"),
            "serial_number": record.string("serialNumber"), "description": record.string("description"),
            "manufacturer": record.string("manufacturer"), "installed_on": record.string("installedOn"),
            "parent_dpp_id": record.string("parentDppId"), "position": record.string("position"),
            "installed_at": record.string("installedAt"), "status": record.string("status"),
            "criticality": record.string("criticality"),
            "certification": Self.text(record.fields["certification"]),
            "specifications": Self.text(record.fields["specifications"]),
            "source_time": record.timestamp?.description,
        ]
        let stored = references.current(try StateWriter.row(StateSchema.asset, key: [dppId], in: db))
        // Ownership: only DPP sources set DPP-owned fields.
        var notApplied: [String] = []
        if !configuration.dppSources.contains(source) {
            for (field, column) in Self.dppOwnedAssetColumns where values[column] != nil && (values[column] ?? nil) != nil {
                if (values[column] ?? nil) != (stored?[column] ?? nil) { notApplied.append(field) }
                values[column] = stored?[column] ?? nil
            }
        }
        let ownership = notApplied.isEmpty ? "" : "; not applied (owned by the DPP): " + notApplied.sorted().joined(separator: ", ")
        var reason: ReasonCode? = notApplied.isEmpty ? nil : .fieldOwnedByDPP
        guard let stored else {
            let change = StateChange(kind: "asset.registered", subject: dppId,
                                     rows: [RowImage(table: StateSchema.asset, values: values)] + installationRows(values, previous: nil), provenance: provenance)
            let shared = try sharedSerial(values, previous: nil, in: db)
            if let hold = hold(dppId, sharing: shared) { return hold }
            return Decision(outcome: .applied, reason: shared == nil ? reason : .sharedSerial,
                            message: "new component registered" + ownership + (shared.map { "; " + $0 } ?? ""), changes: [change])
        }
        let (stale, storedTime) = isStale(record.timestamp, stored: stored["source_time"])
        if stale, let storedTime, let incoming = record.timestamp {
            return Decision(outcome: configuration.outcome(for: .staleUpdate), reason: .staleUpdate,
                            message: "source time \(incoming) is older than the stored \(storedTime); the newer values stay")
        }
        // What the work orders decided (where it is, its status) stays unless the registry's export is
        // from a day after the last work on it: a re-export with an unrelated edit had put a released
        // component back IN_SERVICE and an installed part back IN_STOCK.
        var kept = ""
        if Self.placeColumns.contains(where: { (stored[$0] ?? nil) != (values[$0] ?? nil) }),
           let lastWork = try lastWorkDay(on: dppId, in: db),
           record.timestamp.map({ $0.description.prefix(10) <= lastWork }) ?? true {
            for column in Self.placeColumns { values[column] = stored[column] ?? nil }
            kept = "; where it is and its status stay as the work of \(lastWork) left them (the export is not from a later day)"
        }
        let differences = StateSchema.asset.columns.filter { $0 != "source_time" && (stored[$0] ?? nil) != (values[$0] ?? nil) }
        if differences.isEmpty {
            return Decision(outcome: .duplicate, reason: reason ?? .duplicateRecord, message: "identical to the stored component" + ownership + kept)
        }
        if let divergent = sameTimeDivergence(record.timestamp, stored: stored["source_time"] ?? nil, differences: differences, what: "component \(dppId)") {
            return divergent
        }
        if record.timestamp == nil { values["source_time"] = stored["source_time"] ?? nil }
        var rows = [RowImage(table: StateSchema.asset, values: values)] + installationRows(values, previous: stored)
        // Taken off its aircraft by the registry: the period on it ends on the export's day, so the
        // component accrues no more of that aircraft's hours.
        if (stored["installed_on"] ?? nil) != nil, (values["installed_on"] ?? nil) == nil, let day = record.timestamp?.description.prefix(10) {
            rows.append(.installation(dppId: dppId, day: String(day), aircraft: nil))
        }
        let change = StateChange(kind: "asset.updated", subject: dppId, rows: rows, provenance: provenance)
        var message = "updated: " + differences.joined(separator: ", ") + ownership + kept
        if let shared = try sharedSerial(values, previous: stored, in: db) {
            if let hold = hold(dppId, sharing: shared) { return hold }
            reason = .sharedSerial
            message += "; " + shared
        }
        return Decision(outcome: .applied, reason: reason, message: message, changes: [change])
    }

    /// The hold of an asset that shares its serial, when `policies:` holds such assets and no reviewer
    /// accepted this one; `nil` when it is applied, flagged.
    func hold(_ dppId: String, sharing shared: String?) -> Decision? {
        guard let shared, configuration.outcome(for: .sharedSerial) != .applied, !waived.contains(.sharedSerial) else { return nil }
        return byPolicy(.sharedSerial, "component \(dppId): " + shared)
    }

    /// Why the asset `values` describe shares its part and serial number with another asset that is not
    /// scrapped, or `nil`. Asked when the asset is registered, when an update changes its part or serial
    /// number, and when a scrapped one comes back: a pair flagged (or accepted) at registration is not
    /// flagged again at each change of its status or place.
    func sharedSerial(_ values: RowValues, previous: RowValues?, in db: Database) throws -> String? {
        guard let partNumber = values["part_number"] ?? nil, let serial = values["serial_number"] ?? nil,
              let dppId = values["dpp_id"] ?? nil, (values["status"] ?? nil) != "SCRAPPED" else { return nil }
        if let previous, (previous["part_number"] ?? nil) == partNumber, (previous["serial_number"] ?? nil) == serial,
           (previous["status"] ?? nil) != "SCRAPPED" { return nil }
        let others = try String.fetchAll(db.cachedStatement(sql: """
            SELECT dpp_id FROM asset WHERE part_number = ? AND serial_number = ? AND dpp_id != ?
            AND COALESCE(status, '') != 'SCRAPPED' ORDER BY dpp_id LIMIT 5
            """), arguments: [partNumber, serial, dppId])
        guard !others.isEmpty else { return nil }
        return "it carries part \(partNumber) s/n \(serial), as \(others.count == 5 ? "at least 5 others" : others.joined(separator: ", ")) "
            + "(not scrapped) already \(others.count == 1 ? "does" : "do"): a work order that names the part by its serial may not tell "
            + "which one it used, and then waits (UNKNOWN_PART) until the registry tells them apart"
    }

    /// Other facts under the same source time: neither can be the newer, so the record waits for a
    /// person (DIVERGENT_DUPLICATE), as a work order's do; the last file had won, so the order files
    /// came in decided the state. Accepted on review, the record is the update it would have been (`nil`):
    /// the waiver had been an applied decision with no change, so an accepted version changed nothing.
    func sameTimeDivergence(_ incoming: Timestamp?, stored: String?, differences: [String], what: String) -> Decision? {
        guard let incoming, let stored, let storedTime = Timestamp(iso: stored), storedTime == incoming, !differences.isEmpty,
              !waived.contains(.divergentDuplicate) else { return nil }
        return byPolicy(.divergentDuplicate, "\(what) is already stored with other facts under the same source time \(incoming): " + differences.joined(separator: ", "))
    }

    /// The asset columns completions decide: where a component or part is, and its status.
    static let placeColumns = ["installed_on", "parent_dpp_id", "position", "installed_at", "status"]

    /// The day of the latest work on `dppId`: a completion on it as the component (`work_order_dpp`),
    /// or a move of it as a part (the day its installation period began or ended). The day the work
    /// was done, as the export's time is the day it was made: when dppsync decided it says nothing of
    /// what the registry knew (a later export processed in the same run had lost to it).
    func lastWorkDay(on dppId: String, in db: Database) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: """
            SELECT MAX(day) FROM (SELECT MAX(completion_date) AS day FROM work_order WHERE dpp_id = ?1
                                  UNION ALL SELECT MAX(start_day) FROM installation WHERE dpp_id = ?1)
            """), arguments: [dppId])
    }
}
