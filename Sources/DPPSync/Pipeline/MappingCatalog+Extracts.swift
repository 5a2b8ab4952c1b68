import GRDB

extension MappingCatalog {
    /// Which mapping takes `fileName` from `source`, or why none does.
    public enum Choice {
        case mapping(Mapping)
        /// The file waits in the inbox, for this reason.
        case waits(String)
    }

    /// The mapping that takes `fileName` from `source`. A rejected record's extract dropped back (named by its
    /// file's fingerprint and its index) is read under the mapping that read its file: named otherwise than the
    /// file, it had been taken by another pattern (`*.xml`, not `legacy-*.xml`) and archived with no records, the
    /// correction lost. When that mapping is no longer in Mappings/ for the source, the extract waits, saying so.
    public func choose(source: String, fileName: String, store: Store) throws -> Choice {
        if let prefix = RejectedRecordWriter.fingerprintPrefix(ofExtract: fileName),
           let name = try store.read({ db in
               try String.fetchOne(db, sql: """
                   SELECT mapping_name FROM input_file WHERE fingerprint >= ? AND fingerprint < ? AND source = ? AND mapping_name IS NOT NULL
                   ORDER BY id DESC LIMIT 1
                   """, arguments: [prefix, prefix + "g", source])
           }) {
            if let mapping = mappings.first(where: { $0.name == name && $0.source == source }) { return .mapping(mapping) }
            return .waits("\(fileName) is the extract of a record read under \(name), which is no longer a mapping of source '\(source)' (NO_MAPPING): "
                          + "put it back, or give the extract a name the mapping that replaced it takes")
        }
        if let mapping = mapping(source: source, fileName: fileName) { return .mapping(mapping) }
        return .waits(noMappingReason(source: source, fileName: fileName) ?? "no mapping takes \(fileName) from source '\(source)' (NO_MAPPING)")
    }
}
