import GRDB

extension MappingCatalog {
    /// Which mapping takes `fileName` from `source`, or why none does.
    public enum Choice {
        case mapping(Mapping)
        /// The file waits in the inbox, for this reason.
        case waits(String)
    }

    /// The mapping that takes `fileName` from `source`. A rejected record's extract dropped back (named by its
    /// file's fingerprint and its index, or renamed after them) is taken by the mapping that takes its original
    /// file's name now: named otherwise than the file, it had been taken by another pattern (`*.xml`, not
    /// `legacy-*.xml`) and archived with no records, the correction lost. (Not the mapping that read the file
    /// then: after a fix by a new mapping, the extract would go round the old one's rejection again.)
    public func choose(source: String, fileName: String, store: Store) throws -> Choice {
        var name = fileName
        // An extract of an extract goes back to the file the record first came in.
        for _ in 0..<8 {
            guard let prefix = RejectedRecordWriter.fingerprintPrefix(ofExtract: name),
                  let original = try store.read({ db in
                      try String.fetchOne(db, sql: "SELECT name FROM input_file WHERE fingerprint >= ? AND fingerprint < ? AND source = ? ORDER BY id LIMIT 1",
                                          arguments: [prefix, prefix + "g", source])
                  }), original != name else { break }
            name = original
        }
        if let mapping = mapping(source: source, fileName: name) { return .mapping(mapping) }
        let why = noMappingReason(source: source, fileName: name) ?? "no mapping takes \(name) from source '\(source)' (NO_MAPPING)"
        return .waits(name == fileName ? why : "\(fileName) is an extract of \(name), and " + why)
    }
}
