import Foundation
import GRDB

extension MappingCatalog {
    /// Which mapping takes `fileName` from `source`, or why none does.
    public enum Choice {
        case mapping(Mapping)
        /// The file waits in the inbox, for this reason.
        case waits(String)
    }

    /// The mapping that takes `fileName` from `source`. A rejected record's extract dropped back (named by its
    /// file's fingerprint and its index, or renamed after them) is taken by the mapping that takes the name of the
    /// file its record came in, now: named otherwise than the file, it had been taken by another pattern (`*.xml`,
    /// not `legacy-*.xml`) and archived with no records, the correction lost. (Not the mapping that read the file
    /// then: after a fix by a new mapping, the extract would go round the old one's rejection again.) An extract
    /// dropped into another source's inbox waits, naming the right one.
    public func choose(source: String, fileName: String, store: Store, layout: RootLayout) throws -> Choice {
        var name = fileName
        var seen: Set<String> = []
        // An extract of an extract goes back to the file the record first came in.
        while seen.insert(name).inserted, let extract = RejectedRecordWriter.extractName(name) {
            guard let original = try Self.reasonFile(of: extract, named: name, in: layout.quarantine(source)) ?? Self.fileThatWrote(extract, source: source, store: store) else {
                // (Only a source the mappings still read: one renamed away had kept the extract waiting for ever.)
                if name == fileName, let other = try Self.otherSource(of: extract, than: source, store: store), mappings.contains(where: { $0.source == other }) {
                    return .waits("\(fileName) is the extract of a record of source '\(other)': drop it into Inbox/\(other)/ (NO_MAPPING)")
                }
                break
            }
            name = original
        }
        if let mapping = mapping(source: source, fileName: name) { return .mapping(mapping) }
        let why = noMappingReason(source: source, fileName: name) ?? "no mapping takes \(name) from source '\(source)' (NO_MAPPING)"
        return .waits(name == fileName ? why : "\(fileName) is an extract of \(name), and " + why)
    }

    /// The file the extract's reason, still in the quarantine, names: the decision that wrote the extract (a
    /// reprocess of the same bytes under another name, whose mapping skipped the record, had taken it over). The
    /// reason is the one of the extract's own name and extension, read directly: a scan of the quarantine for it had
    /// cost each waiting extract a listing of the folder (0.7 s with 200,000 files there).
    private static func reasonFile(of extract: (prefix: String, index: Int), named fileName: String, in quarantine: String) -> String? {
        let ext = (fileName as NSString).pathExtension
        let path = quarantine + "/\(extract.prefix)-\(extract.index)" + (ext.isEmpty ? "" : "." + ext) + ".reason.json"
        guard let reason = RejectedRecordWriter.storedReason(at: path), reason.fingerprint?.hasPrefix(extract.prefix) == true,
              reason.recordIndex == extract.index else { return nil }
        return reason.file
    }

    /// The name of the file of `source` whose decision wrote the extract, when its reason is gone: the latest
    /// decision of its bytes in that source (a reprocess writes the extracts again); never a duplicate, which writes
    /// none. The oldest row of the bytes had been taken, which may be the same bytes under another name, read by
    /// another mapping, with no records.
    private static func fileThatWrote(_ extract: (prefix: String, index: Int), source: String, store: Store) throws -> String? {
        try store.read { db in
            try String.fetchOne(db, sql: """
                SELECT name FROM input_file WHERE fingerprint >= ? AND fingerprint < ? AND source = ? AND duplicate_of IS NULL
                ORDER BY id DESC LIMIT 1
                """, arguments: [extract.prefix, extract.prefix + "g", source])
        }
    }

    /// Another source with a file of the extract's fingerprint prefix, if one has.
    private static func otherSource(of extract: (prefix: String, index: Int), than source: String, store: Store) throws -> String? {
        try store.read { db in
            try String.fetchOne(db, sql: "SELECT source FROM input_file WHERE fingerprint >= ? AND fingerprint < ? AND source <> ? AND duplicate_of IS NULL ORDER BY id DESC LIMIT 1",
                                arguments: [extract.prefix, extract.prefix + "g", source])
        }
    }
}
