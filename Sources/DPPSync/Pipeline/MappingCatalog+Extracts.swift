import GRDB

extension MappingCatalog {
    /// The mapping that takes `fileName` from `source`. A rejected record's extract dropped back (named by its
    /// file's fingerprint and its index) is read under the mapping that read its file, while that one is there:
    /// named otherwise than the file, it had been taken by another pattern (`*.xml`, not `legacy-*.xml`) and
    /// archived with no records, the correction lost.
    public func mapping(source: String, fileName: String, store: Store) throws -> Mapping? {
        if let prefix = RejectedRecordWriter.fingerprintPrefix(ofExtract: fileName),
           let name = try store.read({ db in
               try String.fetchOne(db, sql: """
                   SELECT mapping_name FROM input_file WHERE fingerprint >= ? AND fingerprint < ? AND source = ? AND mapping_name IS NOT NULL
                   ORDER BY id DESC LIMIT 1
                   """, arguments: [prefix, prefix + "g", source])
           }), let mapping = mappings.first(where: { $0.name == name && $0.source == source }) {
            return mapping
        }
        return mapping(source: source, fileName: fileName)
    }
}
