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
    public func choose(source: String, fileName: String, store: Store) throws -> Choice {
        var name = fileName
        var seen: Set<String> = []
        // An extract of an extract goes back to the file the record first came in.
        while seen.insert(name).inserted, let extract = RejectedRecordWriter.extractName(name) {
            guard let original = try Self.fileThatWrote(extract, source: source, store: store) else {
                if name == fileName, let other = try Self.otherSource(of: extract, than: source, store: store) {
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

    /// The name of the file of `source` whose decision wrote the extract: the latest decision of its bytes that was
    /// not a duplicate (a reprocess writes the extracts again). The oldest row of the bytes had been taken, which
    /// may be the same bytes under another name, read by another mapping, with no records.
    private static func fileThatWrote(_ extract: (prefix: String, index: Int), source: String, store: Store) throws -> String? {
        try store.read { db in
            try String.fetchOne(db, sql: """
                SELECT name FROM input_file WHERE fingerprint >= ? AND fingerprint < ? AND source = ?
                ORDER BY duplicate_of IS NULL DESC, id DESC LIMIT 1
                """, arguments: [extract.prefix, extract.prefix + "g", source])
        }
    }

    /// Another source with a file of the extract's fingerprint prefix, if one has.
    private static func otherSource(of extract: (prefix: String, index: Int), than source: String, store: Store) throws -> String? {
        try store.read { db in
            try String.fetchOne(db, sql: "SELECT source FROM input_file WHERE fingerprint >= ? AND fingerprint < ? AND source <> ? ORDER BY id DESC LIMIT 1",
                                arguments: [extract.prefix, extract.prefix + "g", source])
        }
    }
}
