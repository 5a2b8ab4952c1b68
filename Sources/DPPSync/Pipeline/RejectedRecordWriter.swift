import Foundation
import GRDB

/// Writes a file's rejected records to `Quarantine/<source>/` as they are decided: each record's
/// re-droppable extract and its reason, under deterministic names (a crash and rerun overwrite
/// rather than double them), each whole under its name once it is there.
///
/// Held in memory until the file's end, as they had been, they grew with the number rejected
/// (100,000 work orders rejected: 428 MB peak RSS, and 107 s for an fsync per file). Now a file
/// is written under a temporary name and renamed at once, and `finish()` flushes them all with one
/// `syncfs` before the file's transaction commits.
struct RejectedRecordWriter {
    let folder: String
    private let prefix: String, fileExtension: String
    /// Records whose extract is made in a second pass over the input (`finish`): the reconciler
    /// rejects after the record was mapped, and the mapped record keeps no extract.
    private var unextracted = Set<Int>()
    /// The records whose files this writer made, for `discard` (8 bytes each).
    private var added: [Int] = []
    private var written = false
    /// Whether files of these names may belong to a committed decision (a `reprocess` of the same
    /// bytes): each one found is kept aside before it is written over (`backups`), and `discard` puts it back.
    private let keepsExisting: Bool

    /// - Parameters:
    ///   - prefix: the file's fingerprint's, and `fileExtension`, make each record's name.
    ///   - keepsExisting: see the property.
    init(folder: String, prefix: String, fileExtension: String, keepsExisting: Bool = false) {
        self.folder = folder; self.prefix = prefix; self.fileExtension = fileExtension; self.keepsExisting = keepsExisting
    }

    /// The writer of `file`'s rejected records: in its source's quarantine, named by its fingerprint
    /// and extension (`json` when it has none).
    init(file: InboxFile, fingerprint: String, layout: RootLayout, keepsExisting: Bool = false) {
        self.init(source: file.source, fileName: file.name, fingerprint: fingerprint, layout: layout, keepsExisting: keepsExisting)
    }

    /// The writer of the rejected records of `fileName`, taken from `source`.
    init(source: String, fileName: String, fingerprint: String, layout: RootLayout, keepsExisting: Bool = false) {
        // (An extension longer than any a mapping's pattern names would make names too long: `json` then too.)
        let fileExtension = (fileName as NSString).pathExtension
        self.init(folder: layout.quarantine(source), prefix: String(fingerprint.prefix(12)),
                  fileExtension: fileExtension.isEmpty || fileExtension.utf8.count > 32 ? "json" : fileExtension, keepsExisting: keepsExisting)
    }

    /// A rejection's `.reason.json`: what was decided, about which record of which file, and what to do
    /// (for a whole file, `recordIndex` is `nil`).
    static func reason(code: ReasonCode?, message: String, source: String, fileName: String, fingerprint: String, recordIndex: Int?,
                       line: Int?, key: String?, mappingName: String?, mappingHash: String?, decidedAt: Timestamp) -> JSONValue {
        let text = JSONValue.text
        return .object([
            ("code", text(code?.rawValue)),
            ("message", .string(message)),
            ("source", .string(source)),
            ("file", .string(fileName)),
            ("fingerprint", .string(fingerprint)),
            ("recordIndex", recordIndex.map { .number(String($0)) } ?? .null),
            ("line", line.map { .number(String($0)) } ?? .null),
            ("recordKey", text(key)),
            ("mapping", text(mappingName)),
            ("mappingHash", text(mappingHash)),
            ("decidedAt", .string(decidedAt.description)),
            ("whatToDo", .string(recordIndex == nil
                ? "Fix the file (or the mapping) and drop it into Inbox/\(source)/ again, or run `dppsync reprocess` after a mapping fix."
                : "Correct this extract and drop it into Inbox/\(source)/ again, under this name (it is read under the mapping that takes the name of the file its record came in); the file's other records were processed.")),
        ])
    }

    /// Removes what an interrupted attempt at the same bytes wrote for records that no committed
    /// decision rejected (`committed`: the indices an earlier run of them, or a reprocess, did reject):
    /// the attempt's decisions were never committed, and the one about to be made may differ (a policy
    /// or mapping changed since).
    func removeLeftovers(keeping committed: Set<Int>) {
        for index in existingIndices().subtracting(committed) {
            unlink(path(of: index))
            unlink(path(of: index) + ".reason.json")
        }
    }

    /// Removes what a killed attempt at `file` (of `fingerprint`) wrote for records no committed
    /// decision on the same bytes and source rejected.
    static func removeLeftovers(of file: InboxFile, fingerprint: String, layout: RootLayout, in db: Database) throws {
        let committed = try Set(Int.fetchAll(db, sql: """
            SELECT r.record_index FROM record_outcome r INDEXED BY record_outcome_rejected JOIN input_file f ON f.id = r.file_id
            WHERE r.outcome = 'rejected' AND f.fingerprint = ? AND f.source = ?
            """, arguments: [fingerprint, file.source]))
        RejectedRecordWriter(file: file, fingerprint: fingerprint, layout: layout).removeLeftovers(keeping: committed)
    }

    /// The fingerprint prefix and record index in an extract's name (`<prefix>-<index>.<ext>`, or anything after
    /// the index: an extract renamed `…-0-fixed.xml`), when `name` is one's.
    static func extractName(_ name: String) -> (prefix: String, index: Int)? {
        let parts = name.split(separator: "-", maxSplits: 1)
        guard parts.count == 2, parts[0].count == 12, parts[0].allSatisfy({ $0.isHexDigit && !$0.isUppercase }),
              let index = Int(parts[1].prefix { $0.isASCII && $0.isNumber }), !name.hasSuffix(".reason.json") else { return nil }
        return (String(parts[0]), index)
    }

    /// The name of record `index`'s extract (its reason is the same name + `.reason.json`).
    func name(of index: Int) -> String { "\(prefix)-\(index).\(fileExtension)" }
    /// Where record `index`'s extract is, or would be.
    func path(of index: Int) -> String { folder + "/" + name(of: index) }

    // MARK: Backups of a committed decision's files

    /// Where a reprocess keeps the committed decision's files it writes over, until it commits or fails: a failing reprocess of the same bytes had left its own reasons (its
    /// mapping, its time) in place of those of the decision that stands. Hidden, so that nothing taking
    /// files from the quarantine sees it.
    var backups: String { folder + "/.kept-" + prefix }

    /// Writes `bytes` to `name`, first keeping aside (a hard link) what a committed decision wrote there.
    private func write(_ bytes: [UInt8], as name: String) throws(FileSystemError) {
        if keepsExisting, FileSystem.exists(folder + "/" + name), !FileSystem.exists(backups + "/" + name) {
            try FileSystem.createDirectory(backups)
            guard link(folder + "/" + name, backups + "/" + name) == 0 else { throw FileSystemError.errno("link", backups + "/" + name) }
        }
        try FileSystem.place(bytes, at: folder + "/" + name)
    }

    /// Puts back what was written over: the writer's decision did not commit (it failed, or was killed first).
    func restoreBackups() {
        for name in FileSystem.entries(of: backups) { rename(backups + "/" + name, folder + "/" + name) }
        rmdir(backups)
    }

    /// Drops the backups once the writer's decision committed: its files are the decision that stands. An extract
    /// written over with other bytes had been edited where it lay (the same record's extract is the same bytes): it
    /// is kept beside, as `<name>.edited.<ext>`, rather than lost.
    func dropBackups() {
        for name in FileSystem.entries(of: backups) {
            let backup = backups + "/" + name
            if !name.hasSuffix(".reason.json"), let kept = try? FileSystem.readBytes(backup),
               (try? FileSystem.readBytes(folder + "/" + name)).map(Self.withoutMark) != Self.withoutMark(kept) {
                rename(backup, Self.editedName(of: name, in: folder))
            } else {
                unlink(backup)
            }
        }
        rmdir(backups)
    }

    /// An extract's bytes without a leading byte-order mark (one a mapping's `encoding:` added is no edit).
    private static func withoutMark(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? bytes.dropFirst(3) : bytes[...]
    }

    /// Removes the extracts and reasons of records the decision just committed took in (`settled`: applied, held,
    /// already there): they asked for a correction that was made. (A record skipped, by a reprocess under another
    /// mapping, was not corrected.) An extract modified after its reason was written was being corrected where it
    /// lay: it is kept, as `<name>.edited.<ext>`.
    func removeSettled(_ settled: Set<Int>) {
        for index in existingIndices().intersection(settled) {
            let extract = path(of: index), reason = extract + ".reason.json"
            let edited = FileSystem.signature(of: extract).flatMap { e in FileSystem.signature(of: reason).map { e.modifiedNanoseconds > $0.modifiedNanoseconds + 2_000_000_000 } } ?? false
            if edited { rename(extract, Self.editedName(of: name(of: index), in: folder)) } else { unlink(extract) }
            unlink(reason)
        }
    }

    /// Gives record `index`'s reason the time its extract was written (an extract is made after its reason, at
    /// the file's end for most): an extract modified after its reason was then edited (`removeSettled`).
    private func touchReason(of index: Int) {
        utimensat(AT_FDCWD, path(of: index) + ".reason.json", nil, 0)
    }

    /// The record indices of this file's extracts and reasons in the folder. A file of that name whose reason is
    /// another's (a corrected extract dropped back and quarantined whole lands under the extract's free name) is
    /// not one: it had been removed with the extracts, its row left naming nothing.
    private func existingIndices() -> Set<Int> {
        let start = prefix + "-"
        let named = Set(FileSystem.entries(of: folder).compactMap { name -> Int? in
            guard name.hasPrefix(start) else { return nil }
            let tail = name.dropFirst(start.count)
            let digits = tail.prefix { $0.isASCII && $0.isNumber }, rest = tail.dropFirst(digits.count)
            guard rest == "." + fileExtension || rest == "." + fileExtension + ".reason.json" else { return nil }
            return Int(digits)
        })
        // (Each reason read once, though its extract names the index too.)
        return named.filter { index in
            Self.storedReason(at: path(of: index) + ".reason.json").map { $0.fingerprint?.hasPrefix(prefix) == true && $0.recordIndex == index } ?? true
        }
    }

    /// A `.reason.json` as read back: its file's fingerprint, its record's index (`nil` for a file quarantined
    /// whole) and the file's name.
    struct StoredReason {
        var fingerprint: String?
        var recordIndex: Int?
        var file: String?
    }

    /// The reason at `path`, when it is one dppsync could have written: a regular file under 1 MB that is JSON. It
    /// is never read otherwise (a 1.5 GB file of that name had been read whole at every move, and a pipe would be
    /// waited on for good); the three places that read reasons back had each read them their own way.
    static func storedReason(at path: String) -> StoredReason? {
        guard let size = FileSystem.signature(of: path)?.size, size < 1 << 20, let bytes = try? FileSystem.readBytes(path),
              let reason = try? JSONParser.parseDocument(bytes) else { return nil }
        return StoredReason(fingerprint: reason["fingerprint"]?.scalarText, recordIndex: reason["recordIndex"]?.scalarText.flatMap { Int($0) },
                            file: reason["file"]?.scalarText)
    }

    /// The copies kept of record `index`'s extract, edited where it lay (`<name>.edited.<ext>`, `<name>.edited-1.<ext>` …).
    func editedCopies(of index: Int) -> [String] {
        let stem = prefix + "-" + String(index) + ".edited"
        return FileSystem.entries(of: folder).filter { $0.hasPrefix(stem) && $0.hasSuffix("." + fileExtension) }.map { folder + "/" + $0 }
    }

    /// A free `<stem>.edited.<ext>` beside `name` in `folder` (not an extract's name: nothing removes it).
    private static func editedName(of name: String, in folder: String) -> String {
        let ext = (name as NSString).pathExtension
        return FileSystem.freeName(for: (name as NSString).deletingPathExtension + ".edited" + (ext.isEmpty ? "" : "." + ext), in: folder)
    }

    /// Writes record `index`'s reason, and its extract if it is made (else in `finish`).
    mutating func add(index: Int, extract: String?, reason: JSONValue) throws(FileSystemError) {
        try addReason(index: index, reason: reason)
        if let extract {
            try write(Array(extract.utf8), as: name(of: index))
            touchReason(of: index)
        } else {
            unextracted.insert(index)
        }
    }

    /// Writes record `index`'s reason alone: there is no extract to make (a record rejected on review
    /// whose file is no longer in the archive).
    mutating func addReason(index: Int, reason: JSONValue) throws(FileSystemError) {
        if !written {
            try FileSystem.createDirectory(folder)
            FileSystem.removeStaleTemporaries(in: folder)  // of a process killed mid-write
            written = true
        }
        if !keepsExisting || !FileSystem.exists(folder + "/" + name(of: index) + ".reason.json") { added.append(index) }
        try write(Array((reason.jsonText(pretty: true) + "\n").utf8), as: name(of: index) + ".reason.json")
    }

    /// Writes the extracts not made yet, in one more pass over `input`, then flushes every file
    /// written to disk. A file read again must still be the bytes of `fingerprint`.
    mutating func finish(input: RecordInput, fileName: String, mapping: Mapping, fingerprint: String? = nil) throws {
        guard written else { return }
        if !unextracted.isEmpty {
            // Changed since it was fingerprinted (an exporter still writing through a descriptor it kept past
            // the claim), the file would give these records' places to others: an extract of one record
            // beside the reason of another.
            if case .file(let path) = input, let fingerprint, (try? Fingerprint.sha256Hex(file: path).0) != fingerprint {
                throw FileProcessor.FileLevelFailure.changedWhileRead
            }
            var left = unextracted
            try RecordDecoder.source(for: input, fileName: fileName, mapping: mapping).forEach(context: { _ in }, record: { item in
                guard left.remove(item.position.index) != nil else { return }
                try write(Array(item.extract().utf8), as: name(of: item.position.index))
                touchReason(of: item.position.index)
            })
            for index in left { try write([], as: name(of: index)) }  // not in the input read again
            unextracted = []
        }
        try flush()
    }

    /// Flushes every file written to disk, with the folder's entries.
    func flush() throws(FileSystemError) {
        guard written else { return }
        try FileSystem.syncFileSystem(containing: folder)
        try FileSystem.syncDirectory(folder)
    }

    /// Removes what was written: the file failed as a whole after some of its records were rejected
    /// (it goes to the quarantine whole, and its records' outcomes are rolled back).
    func discard() {
        for index in added {
            unlink(folder + "/" + name(of: index))
            unlink(folder + "/" + name(of: index) + ".reason.json")
        }
        restoreBackups()
    }
}
