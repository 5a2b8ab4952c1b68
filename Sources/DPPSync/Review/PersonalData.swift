import Foundation
import GRDB

/// Where dppsync holds one technician's personal data (name and licence number), for a request to
/// see it or to erase it (DESIGN.md: the person's details live beside the ledger, erasable).
///
/// The store keeps them in `technician_personal`, and in held certification records (the review
/// queue keeps the whole mapped record). The files dppsync keeps carry them as the CMMS wrote them:
/// archived and quarantined exports, rejected records' extracts, and release certificates not yet
/// taken from `Outbox/`. Those are evidence (the archive is the audit trail of what arrived), so
/// they are listed for the operator's retention policy, never rewritten.
public struct PersonalDataHoldings: Sendable {
    public var laborCode: String
    /// `technician_personal`'s row, if there is one.
    public var name: String?
    public var licence: String?
    public var hasStoredDetails: Bool
    /// Whether dppsync knows the labour code at all (a certification, an outcome, details).
    public var isKnown: Bool
    /// The certification's validity end, when one is stored: erasing a valid licence's number leaves
    /// the certificates this person signs without it.
    public var validUntil: String?
    /// Review items whose stored record still carries a name or a licence number.
    public var reviewItems: [Int64]
    /// Files that carry the details, relative to the root: archived or quarantined exports, rejected
    /// records' extracts, release certificates in `Outbox/`.
    public var files: [String]
    /// Earlier erasures of this labour code: when, by whom, why.
    public var erasures: [(at: String, by: String, note: String?)]

    public var jsonValue: JSONValue {
        let text = JSONValue.text
        return .object([
            ("laborCode", .string(laborCode)), ("known", .bool(isKnown)),
            ("stored", hasStoredDetails ? .object([("name", text(name)), ("licence", text(licence))]) : .null),
            ("validUntil", text(validUntil)),
            ("reviewItems", .array(reviewItems.map { .number(String($0)) })),
            ("files", .array(files.map { .string($0) })),
            ("erasures", .array(erasures.map { .object([("at", .string($0.at)), ("by", .string($0.by)), ("note", text($0.note))]) })),
        ])
    }
}

/// Finds and erases a technician's personal data (see `PersonalDataHoldings`).
public struct PersonalData {
    public let store: Store
    public let layout: RootLayout

    public init(store: Store, layout: RootLayout) { self.store = store; self.layout = layout }

    /// The fields of a certification record that are personal data (`ReferenceKind` keeps them apart).
    static let fields = ["name", "licence"]

    /// What dppsync holds of `laborCode`'s personal data, and where.
    public func holdings(of laborCode: String) throws -> PersonalDataHoldings {
        let kind = RecordKind.technicianCertification.rawValue
        var holdings = try store.read { db -> PersonalDataHoldings in
            let details = try Row.fetchOne(db, sql: "SELECT name, licence FROM technician_personal WHERE labor_code = ?", arguments: [laborCode])
            let validUntil = try String.fetchOne(db, sql: "SELECT valid_until FROM technician WHERE labor_code = ?", arguments: [laborCode])
            let reviewItems = try Int64.fetchAll(db, sql: """
                SELECT id FROM review_item WHERE kind = ? AND record_key = ?
                    AND (json_extract(record, '$.fields.name') IS NOT NULL OR json_extract(record, '$.fields.licence') IS NOT NULL)
                ORDER BY id
                """, arguments: [kind, laborCode])
            // The files its certification records came in (and the same bytes dropped again or reprocessed).
            var files: [String] = []
            for row in try Row.fetchAll(db, sql: """
                WITH carrying(id) AS (
                    SELECT file_id FROM record_outcome WHERE kind = ? AND record_key = ?
                    UNION SELECT file_id FROM review_item WHERE kind = ? AND record_key = ?)
                SELECT stored_path FROM input_file
                WHERE (id IN carrying OR duplicate_of IN carrying OR reprocess_of IN carrying) AND stored_path <> ''
                ORDER BY id
                """, arguments: [kind, laborCode, kind, laborCode]) {
                if let path: String = row[0] { files.append(path) }
            }
            // Its rejected records' extracts, named as the run (or a review rejection) named them.
            for row in try Row.fetchAll(db, sql: """
                SELECT f.source, f.name, f.fingerprint, o.record_index FROM record_outcome o JOIN input_file f ON f.id = o.file_id
                WHERE o.kind = ? AND o.record_key = ? AND o.outcome = 'rejected'
                ORDER BY o.id
                """, arguments: [kind, laborCode]) {
                files.append(RejectedRecordWriter(source: row[0], fileName: row[1], fingerprint: row[2], layout: layout).path(of: row[3]))
            }
            // Files quarantined whole were never read record by record: they are searched for the code.
            for path in try String.fetchAll(db, sql: """
                SELECT stored_path FROM input_file WHERE disposition = 'quarantined' AND record_count = 0 AND stored_path <> ''
                """) where Self.file(path, contains: Array(laborCode.utf8)) {
                files.append(path)
            }
            // (A store not yet migrated, opened read-only, has no erasures.)
            let erasures = try !db.tableExists("personal_data_erasure") ? [] : Row.fetchAll(db, sql: "SELECT erased_at, erased_by, note FROM personal_data_erasure WHERE labor_code = ? ORDER BY id",
                                            arguments: [laborCode]).map { (at: $0[0] as String, by: $0[1] as String, note: $0[2] as String?) }
            let known = try details != nil || !files.isEmpty || !reviewItems.isEmpty || !erasures.isEmpty
                || (Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM technician WHERE labor_code = ?)", arguments: [laborCode]) ?? false)
            return PersonalDataHoldings(laborCode: laborCode, name: details?["name"], licence: details?["licence"], hasStoredDetails: details != nil,
                                        isKnown: known, validUntil: validUntil, reviewItems: reviewItems, files: files, erasures: erasures)
        }
        // Release certificates not yet taken carry the licence number the emission joined to them.
        if let licence = holdings.licence, !licence.isEmpty {
            var quoted: [UInt8] = []
            JSONValue.appendQuoted(licence, to: &quoted)
            for channel in FileSystem.entries(of: layout.outbox) where FileSystem.isDirectory(layout.outbox + "/" + channel) {
                let folder = layout.outbox + "/" + channel
                for name in FileSystem.entries(of: folder) where !name.hasPrefix(".") && Self.file(folder + "/" + name, contains: quoted) {
                    holdings.files.append(folder + "/" + name)
                }
            }
        }
        var seen = Set<String>()
        holdings.files = holdings.files.map(layout.storedFile).filter { FileSystem.entryExists($0) && seen.insert($0).inserted }.map(relativeToRoot)
        return holdings
    }

    /// What `erase` did.
    public struct Erasure: Sendable {
        /// The holdings found just before: the files still carry what they carried.
        public var before: PersonalDataHoldings
        public var erasedDetails: Bool
        public var redactedReviewItems: Int
    }

    /// Erases `laborCode`'s name and licence number from the store, in one transaction: its
    /// `technician_personal` row, and those fields of its held records (re-decided, they store no
    /// details). The erasure itself is kept (`personal_data_erasure`: the code, when, who, why),
    /// so an auditor sees why a certificate's licence number is missing. The ledger never held them.
    public func erase(_ laborCode: String, by: String, note: String?, now: Timestamp) throws -> Erasure {
        let before = try holdings(of: laborCode)
        let kind = RecordKind.technicianCertification.rawValue
        let (erased, redacted) = try store.write { db -> (Bool, Int) in
            try db.execute(sql: "DELETE FROM technician_personal WHERE labor_code = ?", arguments: [laborCode])
            let erased = db.changesCount > 0
            try db.execute(sql: """
                UPDATE review_item SET record = json_remove(record, '$.fields.name', '$.fields.licence')
                WHERE kind = ? AND record_key = ?
                    AND (json_extract(record, '$.fields.name') IS NOT NULL OR json_extract(record, '$.fields.licence') IS NOT NULL)
                """, arguments: [kind, laborCode])
            let redacted = db.changesCount
            try db.execute(sql: """
                INSERT INTO personal_data_erasure (labor_code, erased_at, erased_by, note, details_erased, review_items_redacted)
                VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [laborCode, now.description, by, note, erased, redacted])
            return (erased, redacted)
        }
        return Erasure(before: before, erasedDetails: erased, redactedReviewItems: redacted)
    }

    private func relativeToRoot(_ path: String) -> String {
        let root = FileSystem.canonicalPath(layout.root) + "/", absolute = FileSystem.canonicalPath(path)
        return absolute.hasPrefix(root) ? String(absolute.dropFirst(root.count)) : path
    }

    /// Whether the file at `path` contains `needle`, read in blocks (an archived export may be large).
    static func file(_ path: String, contains needle: [UInt8]) -> Bool {
        // Only a regular file is read: a quarantined named pipe would block an open for good, a link
        // would be read where it points.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return false }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var st = stat()
        guard !needle.isEmpty, fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return false }
        var carried: [UInt8] = []
        while let block = try? handle.read(upToCount: 1 << 20), !block.isEmpty {
            let window = carried + block
            if Self.find(needle, in: window) { return true }
            carried = Array(window.suffix(needle.count - 1))
        }
        return false
    }

    /// Whether `needle` occurs in `haystack` (`memchr` for its first byte, then a comparison).
    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Bool {
        haystack.withUnsafeBytes { hay in
            needle.withUnsafeBytes { pin in
                guard let base = hay.baseAddress, let pinBase = pin.baseAddress, let first = pin.first, hay.count >= pin.count else { return false }
                var offset = 0
                while offset <= hay.count - pin.count, let hit = memchr(base + offset, Int32(first), hay.count - pin.count + 1 - offset) {
                    let at = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + at, pinBase, pin.count) == 0 { return true }
                    offset = at + 1
                }
                return false
            }
        }
    }
}
