import GRDB

extension ReviewQueue {
    /// Writes a record rejected on review to its source's quarantine, as a run writes the records it
    /// rejects: an extract to correct and drop again, beside its reason. Whoever corrects the CMMS's
    /// data then finds every rejected record in one place, however it came to be rejected.
    ///
    /// The extract is read from the archived file the record came from. When that file is gone, or is
    /// no longer the bytes that were decided, the reason says so and there is no extract.
    /// - Returns: the reason file's path, and the files written that were not there before (to remove
    ///   if the resolution does not commit).
    func quarantine(_ item: ReviewItem, fileId: Int64, decision: Decision, now: Timestamp, db: Database) throws -> (reason: String, new: [String]) {
        let file = try Row.fetchOne(db, sql: """
            SELECT f.stored_path, f.mapping_name, m.text FROM input_file f LEFT JOIN mapping_text m ON m.hash = f.mapping_hash WHERE f.id = ?
            """, arguments: [fileId])
        let mappingName: String? = file?["mapping_name"]
        var message = decision.message
        let extract: String?
        switch archivedExtract(of: item, storedPath: file?["stored_path"], mappingText: file?["text"], mappingName: mappingName) {
        case .success(let text): extract = text
        case .failure(let why): extract = nil; message += " (no extract: \(why.message))"
        }
        let names = RejectedRecordWriter(source: item.source, fileName: item.fileName, fingerprint: item.fileFingerprint, layout: layout)
        let path = names.folder + "/" + names.name(of: item.recordIndex)
        let reason = RejectedRecordWriter.reason(code: item.reason, message: message, source: item.source, fileName: item.fileName,
                                                 fingerprint: item.fileFingerprint, recordIndex: item.recordIndex, line: item.line, key: item.key,
                                                 mappingName: mappingName, mappingHash: item.mappingHash, decidedAt: now)
        try FileSystem.createDirectory(names.folder)
        var written: [String] = []
        for (target, bytes) in [(path + ".reason.json", Array((reason.jsonText(pretty: true) + "\n").utf8)), (path, extract.map { Array($0.utf8) })] {
            guard let bytes else { continue }
            if !FileSystem.exists(target) { written.append(target) }
            try FileSystem.writeAtomically(bytes, to: target)
        }
        return (path + ".reason.json", written)
    }

    /// Why a rejected record has no extract.
    struct ExtractUnavailable: Error {
        var message: String
    }

    /// Record `item.recordIndex` of the archived file, read with the mapping that decided it.
    private func archivedExtract(of item: ReviewItem, storedPath: String?, mappingText: String?,
                                 mappingName: String?) -> Result<String, ExtractUnavailable> {
        guard let storedPath, FileSystem.signature(of: storedPath) != nil else {
            return .failure(ExtractUnavailable(message: "its file is no longer in the archive\(storedPath.map { " (\($0))" } ?? "")"))
        }
        guard (try? Fingerprint.sha256Hex(file: storedPath).0) == item.fileFingerprint else {
            return .failure(ExtractUnavailable(message: "\(storedPath) is no longer the bytes that were decided"))
        }
        guard let mappingText, let mapping = try? Mapping.load(text: mappingText, file: mappingName ?? "mapping", directory: layout.mappings) else {
            return .failure(ExtractUnavailable(message: "the mapping that decided it is not stored, or no longer loads"))
        }
        /// Stops the decoder once the record is found.
        struct Found: Error { var extract: String }
        do {
            try RecordDecoder.source(for: .file(storedPath), fileName: item.fileName, mapping: mapping).forEach(context: { _ in }) { record in
                if record.position.index == item.recordIndex { throw Found(extract: record.extract()) }
            }
        } catch let found as Found {
            return .success(found.extract)
        } catch {
            return .failure(ExtractUnavailable(message: "\(storedPath) cannot be read again: \(error)"))
        }
        return .failure(ExtractUnavailable(message: "\(storedPath) has no record \(item.recordIndex)"))
    }
}
