import GRDB

extension ReviewQueue {
    /// A record rejected on review, ready for its source's quarantine, as a run writes the records it
    /// rejects: an extract to correct and drop again, beside its reason. Whoever corrects the CMMS's
    /// data then finds every rejected record in one place, however it came to be rejected.
    struct Rejection {
        /// The record as its file has it, or why there is none.
        var extract: Result<String, ExtractUnavailable>
        var mappingName: String?
    }

    /// Why a rejected record has no extract.
    struct ExtractUnavailable: Error {
        var message: String
    }

    /// Reads the record of item `id` from its archived file, before the resolution's transaction: the
    /// archive does not change, and a large file read inside it had kept a running pass waiting.
    func rejection(ofItem id: Int64) throws -> Rejection? {
        let found = try store.read { db -> (ReviewItem, [String], String?, String?, String?)? in
            guard let row = try Row.fetchOne(db, sql: Self.selectSQL + " WHERE r.id = ?", arguments: [id]) else { return nil }
            let item = Self.item(row)
            let erased = item.kind == RecordKind.technicianCertification.rawValue ? try PersonalData.erasedAt(item.key, since: item.createdAt, in: db) : nil
            let file = try Row.fetchOne(db, sql: """
                SELECT f.mapping_name, m.text FROM input_file f LEFT JOIN mapping_text m ON m.hash = f.mapping_hash WHERE f.id = ?
                """, arguments: [row["file_id"] as Int64])
            // Every archived copy of the same bytes will do: the file's own first, then duplicates' or reprocesses'.
            let stored = try String.fetchAll(db, sql: """
                SELECT stored_path FROM input_file WHERE fingerprint = ? AND stored_path IS NOT NULL ORDER BY id = ? DESC, id
                """, arguments: [item.fileFingerprint, row["file_id"] as Int64])
            return (item, stored, file?["text"], file?["mapping_name"], erased)
        }
        guard let (item, stored, mappingText, mappingName, erased) = found else { return nil }
        // Read again from the archive, the extract would bring an erased name and licence back into the quarantine.
        if let erased {
            return Rejection(extract: .failure(ExtractUnavailable(message: "the technician's personal data was erased on \(erased): no extract is written")),
                             mappingName: mappingName)
        }
        return Rejection(extract: archivedExtract(of: item, storedPaths: stored, mappingText: mappingText, mappingName: mappingName),
                         mappingName: mappingName)
    }

    /// Writes the rejected record's reason and extract once the rejection has committed: a kill before the
    /// commit then leaves no file that contradicts the store (written inside the transaction, they had stayed
    /// for a rejection that never happened), and one after it leaves the rejection without them, which the
    /// command says. Files of an earlier decision on the same record are written over: this one stands.
    /// - Returns: the reason file's path, and the extract's when there is one.
    func quarantine(_ item: ReviewItem, _ rejection: Rejection, decision: Decision, now: Timestamp) throws -> (reason: String, extract: String?) {
        var message = decision.message
        if case .failure(let why) = rejection.extract { message += " (no extract: \(why.message))" }
        let reason = RejectedRecordWriter.reason(code: item.reason, message: message, source: item.source, fileName: item.fileName,
                                                 fingerprint: item.fileFingerprint, recordIndex: item.recordIndex, line: item.line, key: item.key,
                                                 mappingName: rejection.mappingName, mappingHash: item.mappingHash, decidedAt: now)
        var writer = RejectedRecordWriter(source: item.source, fileName: item.fileName, fingerprint: item.fileFingerprint, layout: layout)
        let path = writer.folder + "/" + writer.name(of: item.recordIndex)
        switch rejection.extract {
        case .success(let extract): try writer.add(index: item.recordIndex, extract: extract, reason: reason)
        case .failure: try writer.addReason(index: item.recordIndex, reason: reason)
        }
        try writer.flush()
        if case .success = rejection.extract { return (path + ".reason.json", path) }
        return (path + ".reason.json", nil)
    }

    /// Writes the quarantine files of an item rejected on review whose files are missing (the command was
    /// killed after its commit, or could not write them): `nil` when the item is not rejected, its files are
    /// there, or its record was decided again since.
    public func quarantineAgain(_ id: Int64) throws -> (reason: String, extract: String?)? {
        guard let item = try item(id), item.status == "rejected", let rejection = try rejection(ofItem: id) else { return nil }
        // Decided again since (its corrected extract dropped back, or its file reprocessed): the files would ask for a
        // correction already made.
        let decidedSince = try store.read { db in
            // (A scan of the outcomes, on this rare path only: those of other outcomes are not indexed by key.)
            try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM record_outcome WHERE record_key = ?1 AND kind = ?2 AND outcome <> 'rejected'
                               AND id > (SELECT MAX(id) FROM record_outcome WHERE record_key = ?1 AND kind = ?2 AND outcome = 'rejected'))
                """, arguments: [item.key, item.kind]) ?? false
        }
        guard !decidedSince else { return nil }
        let names = RejectedRecordWriter(source: item.source, fileName: item.fileName, fingerprint: item.fileFingerprint, layout: layout)
        let path = names.folder + "/" + names.name(of: item.recordIndex)
        let extractMissing = if case .success = rejection.extract { FileSystem.signature(of: path) == nil } else { false }
        guard !FileSystem.exists(path + ".reason.json") || extractMissing else { return nil }
        return try quarantine(item, rejection, decision: Self.rejection(item, by: item.resolvedBy ?? "unknown", note: item.note),
                              now: item.resolvedAt.flatMap { Timestamp(iso: $0) } ?? .now())
    }

    /// Record `item.recordIndex` of the first of `storedPaths` that is still the bytes decided, read with
    /// the mapping that decided it. A path of a root since moved is looked for under this root's `Archive/`.
    private func archivedExtract(of item: ReviewItem, storedPaths: [String], mappingText: String?,
                                 mappingName: String?) -> Result<String, ExtractUnavailable> {
        let candidates = storedPaths.map(layout.storedFile)
        guard let path = candidates.first(where: { FileSystem.signature(of: $0) != nil }) else {
            return .failure(ExtractUnavailable(message: "its file is no longer in the archive\(storedPaths.first.map { " (\($0))" } ?? "")"))
        }
        guard let whole = candidates.first(where: { (try? Fingerprint.sha256Hex(file: $0).0) == item.fileFingerprint }) else {
            return .failure(ExtractUnavailable(message: "\(path) is no longer the bytes that were decided"))
        }
        guard let mappingText, let mapping = try? Mapping.load(text: mappingText, file: mappingName ?? "mapping", directory: layout.mappings) else {
            return .failure(ExtractUnavailable(message: "the mapping that decided it is not stored, or no longer loads"))
        }
        /// Stops the decoder once the record is found.
        struct Found: Error { var extract: String }
        do {
            try RecordDecoder.source(for: .file(whole), fileName: item.fileName, mapping: mapping).forEach(context: { _ in }) { record in
                if record.position.index == item.recordIndex { throw Found(extract: record.extract()) }
            }
        } catch let found as Found {
            return .success(found.extract)
        } catch {
            return .failure(ExtractUnavailable(message: "\(whole) cannot be read again: \(error)"))
        }
        return .failure(ExtractUnavailable(message: "\(whole) has no record \(item.recordIndex)"))
    }
}
