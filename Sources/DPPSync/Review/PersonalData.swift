import Foundation
import GRDB

/// Where dppsync holds one technician's personal data (name and licence number), for a request to
/// see it or to erase it (DESIGN.md: the person's details live beside the ledger, erasable).
///
/// The store keeps them in `technician_personal`, in held certification records (the review queue
/// keeps the whole mapped record), and in the message of a record refused for one of them (a value
/// that failed its rule). The files dppsync keeps carry them as the CMMS wrote them: archived and
/// quarantined exports, rejected records' extracts, and release certificates not yet taken from
/// `Outbox/`. Those are evidence (the archive is the audit trail of what arrived), so they are
/// listed for the operator's retention policy, never rewritten.
public struct PersonalDataHoldings: Sendable {
    public var laborCode: String
    /// `technician_personal`'s row, if there is one.
    public var name: String?
    public var licence: String?
    public var hasStoredDetails: Bool
    /// Whether the store knows the labour code (a certification, a record, details, an erasure).
    public var isKnown: Bool
    /// The certification's validity end, when one is stored: erasing a valid licence's number leaves
    /// the certificates this person signs without it.
    public var validUntil: String?
    /// Review items whose stored record still carries a name or a licence number.
    public var reviewItems: [Int64]
    /// Refusals whose message quotes a name or licence number that failed its rule (`record_outcome`).
    public var refusalMessages: Int
    /// Files that carry the details, relative to the root: archived or quarantined exports, rejected
    /// records' extracts and reasons, release certificates in `Outbox/`.
    public var files: [String]
    /// Earlier erasures of this labour code: when, by whom, why, and the files that still carried
    /// the details then (kept as evidence: the erasure could not say where the licence was after it).
    public var erasures: [(at: String, by: String, note: String?, files: [String])]

    public var jsonValue: JSONValue {
        let text = JSONValue.text
        return .object([
            ("laborCode", .string(laborCode)), ("known", .bool(isKnown)),
            ("stored", hasStoredDetails ? .object([("name", text(name)), ("licence", text(licence))]) : .null),
            ("validUntil", text(validUntil)),
            ("reviewItems", .array(reviewItems.map { .number(String($0)) })),
            ("refusalMessages", .number(String(refusalMessages))),
            ("files", .array(files.map { .string($0) })),
            ("erasures", .array(erasures.map { .object([("at", .string($0.at)), ("by", .string($0.by)), ("note", text($0.note)),
                                                         ("filesLeft", .array($0.files.map { .string($0) }))]) })),
        ])
    }
}

/// Finds and erases a technician's personal data (see `PersonalDataHoldings`).
public struct PersonalData {
    public let store: Store
    public let layout: RootLayout

    public init(store: Store, layout: RootLayout) { self.store = store; self.layout = layout }

    /// A refusal's words about a personal field, up to its value: `field 'licence' fails rule '…' (value "`.
    private static let refusalPattern = #"field '(?:name|licence)' fails rule '[^']*' \(value ""#

    /// What dppsync holds of `laborCode`'s personal data, and where (`knownCode`: in upper case when the
    /// store knows it only so).
    public func holdings(of laborCode: String) throws -> PersonalDataHoldings {
        try withFiles(storeHoldings(of: knownCode(laborCode) ?? laborCode))
    }

    /// `laborCode` as the store knows it (a certification, a record, details, an erasure): as given, or in
    /// upper case, as the shipped mapping writes it; `nil` when it knows neither.
    public func knownCode(_ laborCode: String) throws -> String? {
        try store.read { db in
            try [laborCode, laborCode.uppercased()].first { try Self.isKnown($0, in: db) }
        }
    }

    private static func isKnown(_ laborCode: String, in db: Database) throws -> Bool {
        let erasures = try db.tableExists("personal_data_erasure") ? " OR EXISTS (SELECT 1 FROM personal_data_erasure WHERE labor_code = ?2)" : ""
        return try Bool.fetchOne(db, sql: """
            SELECT EXISTS (SELECT 1 FROM technician_personal WHERE labor_code = ?2) OR EXISTS (SELECT 1 FROM technician WHERE labor_code = ?2)
                OR EXISTS (SELECT 1 FROM record_outcome WHERE kind = ?1 AND record_key = ?2)
                OR EXISTS (SELECT 1 FROM review_item WHERE kind = ?1 AND record_key = ?2)
            """ + erasures, arguments: [RecordKind.technicianCertification.rawValue, laborCode]) ?? false
    }

    private func storeHoldings(of laborCode: String) throws -> PersonalDataHoldings {
        let kind = RecordKind.technicianCertification.rawValue
        return try store.read { db -> PersonalDataHoldings in
            let details = try Row.fetchOne(db, sql: "SELECT name, licence FROM technician_personal WHERE labor_code = ?", arguments: [laborCode])
            let technician = try Row.fetchOne(db, sql: "SELECT valid_until FROM technician WHERE labor_code = ?", arguments: [laborCode])
            let reviewItems = try Int64.fetchAll(db, sql: """
                SELECT id FROM review_item WHERE kind = ? AND record_key = ?
                    AND (json_extract(record, '$.fields.name') IS NOT NULL OR json_extract(record, '$.fields.licence') IS NOT NULL)
                ORDER BY id
                """, arguments: [kind, laborCode])
            let refusals = try Self.refusals(of: laborCode, in: db).count
            // The files its certification records came in (and the same bytes dropped again or reprocessed).
            var files = try String.fetchAll(db, sql: """
                WITH carrying(id) AS (
                    SELECT file_id FROM record_outcome WHERE kind = ? AND record_key = ?
                    UNION SELECT file_id FROM review_item WHERE kind = ? AND record_key = ?)
                SELECT stored_path FROM input_file
                WHERE (id IN carrying OR duplicate_of IN carrying OR reprocess_of IN carrying) AND stored_path <> ''
                ORDER BY id
                """, arguments: [kind, laborCode, kind, laborCode])
            // Its rejected records' extracts and reasons, named as the run (or a review rejection) named them.
            for row in try Row.fetchAll(db, sql: """
                SELECT f.source, f.name, f.fingerprint, o.record_index FROM record_outcome o JOIN input_file f ON f.id = o.file_id
                WHERE o.kind = ? AND o.record_key = ? AND o.outcome = 'rejected'
                ORDER BY o.id
                """, arguments: [kind, laborCode]) {
                let writer = RejectedRecordWriter(source: row[0], fileName: row[1], fingerprint: row[2], layout: layout)
                let extract = writer.path(of: row[3])
                // (And the copies kept of it edited where it lay, `<name>.edited.<ext>`.)
                files += [extract, extract + ".reason.json"] + writer.editedCopies(of: row[3])
            }
            // Files quarantined whole were never read record by record: they are searched for the code.
            files += try String.fetchAll(db, sql: """
                SELECT stored_path FROM input_file WHERE disposition = 'quarantined' AND record_count = 0 AND stored_path <> ''
                """).filter { Self.file(layout.storedFile($0), containsWord: laborCode) }
            // (A store not yet migrated, opened read-only, has no erasures.)
            let erasures = try !db.tableExists("personal_data_erasure") ? [] : Row.fetchAll(db, sql: """
                SELECT erased_at, erased_by, note, files_left FROM personal_data_erasure WHERE labor_code = ? ORDER BY id
                """, arguments: [laborCode]).map { row -> (at: String, by: String, note: String?, files: [String]) in
                var files: [String] = []
                if case .array(let list)? = try? JSONParser.parseDocument(Array((row[3] as String? ?? "[]").utf8)) { files = list.compactMap(\.scalarText) }
                return (at: row[0] as String, by: row[1] as String, note: row[2] as String?, files: files)
            }
            let (name, licence): (String?, String?) = (details?["name"], details?["licence"])
            return PersonalDataHoldings(laborCode: laborCode, name: name, licence: licence, hasStoredDetails: name != nil || licence != nil,
                                        isKnown: try Self.isKnown(laborCode, in: db),
                                        validUntil: technician?["valid_until"], reviewItems: reviewItems, refusalMessages: refusals,
                                        files: files, erasures: erasures)
        }
    }

    /// The outgoing files in `Outbox/` that name the technician or carry the stored licence number (release
    /// certificates, in whatever format an outbound mapping writes them, with the licence they had when written;
    /// a killed emission's temporaries too) and the files in `Mappings/` that do, and every path made relative to
    /// the root (once, where it exists).
    private func withFiles(_ found: PersonalDataHoldings) throws -> PersonalDataHoldings {
        var holdings = found
        let words = [holdings.laborCode] + [holdings.licence ?? ""].filter { !$0.isEmpty }
        for channel in FileSystem.entries(of: layout.outbox) where FileSystem.isDirectory(layout.outbox + "/" + channel) {
            let folder = layout.outbox + "/" + channel
            for name in FileSystem.entries(of: folder) where words.contains(where: { Self.file(folder + "/" + name, containsWord: $0) }) {
                holdings.files.append(folder + "/" + name)
            }
        }
        // Mappings' test cases and value tables, which an administrator may have made from a real export (they
        // had not been searched). Two levels: Mappings/ and its folders (tests/, examples/).
        for name in FileSystem.entries(of: layout.mappings) {
            let path = layout.mappings + "/" + name
            let files = FileSystem.isDirectory(path) && FileSystem.specialKind(of: path) == nil
                ? FileSystem.entries(of: path).map { path + "/" + $0 } : [path]
            holdings.files += files.filter { file in words.contains { Self.file(file, containsWord: $0) } }
        }
        var seen = Set<String>()
        holdings.files = holdings.files.map(layout.storedFile).filter { FileSystem.entryExists($0) && seen.insert($0).inserted }.map(relativeToRoot)
        return holdings
    }

    /// The refusals of `laborCode`'s certification records whose message quotes a personal field's value.
    private static func refusals(of laborCode: String, in db: Database) throws -> [(id: Int64, message: String)] {
        let pattern = try NSRegularExpression(pattern: refusalPattern)
        return try Row.fetchAll(db, sql: "SELECT id, message FROM record_outcome WHERE kind = ? AND record_key = ? AND message LIKE '%(value \"%'",
                                arguments: [RecordKind.technicianCertification.rawValue, laborCode]).compactMap { row in
            let message: String = row[1]
            return pattern.firstMatch(in: message, range: NSRange(message.startIndex..., in: message)) == nil ? nil : (row[0], message)
        }
    }

    /// `message` with the value quoted after each refusal of a personal field replaced by `[erased]`.
    static func redacted(_ message: String) -> String {
        var text = message
        var from = text.startIndex
        while let start = text.range(of: refusalPattern, options: .regularExpression, range: from..<text.endIndex),
              let end = text.range(of: "\"): ", range: start.upperBound..<text.endIndex) {
            text.replaceSubrange(start.upperBound..<end.lowerBound, with: "[erased]")
            from = text.index(start.upperBound, offsetBy: "[erased]".count)
        }
        return text
    }

    /// What `erase` did.
    public struct Erasure: Sendable {
        /// The holdings found just before (under the emission lock): the files still carry what they carried.
        public var before: PersonalDataHoldings
        public var erasedDetails: Bool
        public var redactedReviewItems: Int
        public var redactedRefusals: Int
        /// Reconciliation reports written again without the refusals' values.
        public var rewrittenReports: [String]
        /// Whether the store's files were cleared of the erased bytes (a checkpoint that truncated the WAL;
        /// not while another process reads the store).
        public var walCleared: Bool
    }

    /// A labour code the store does not know (`knownCode`): nothing was erased.
    public struct UnknownTechnician: Error, Sendable, CustomStringConvertible {
        public var laborCode: String
        public var description: String { "no technician with labour code \(laborCode) is known to this root; nothing erased" }
    }

    /// Another dppsync process kept the outbox emitting past the wait: nothing was erased.
    public struct EmissionBusy: Error, Sendable, CustomStringConvertible {
        public var seconds: Double
        public var description: String {
            "another dppsync process kept writing outbox files for more than \(Int(seconds)) s; nothing was erased (try again, or give a longer --wait)"
        }
    }

    /// Erases `laborCode`'s name and licence number from the store, in one transaction: its
    /// `technician_personal` row, those fields of its held records (re-decided, they store no
    /// details), and their values in refusal messages (the batches' reports are written again). The
    /// erasure itself is kept (`personal_data_erasure`: the code, when, who, why, the files left), so
    /// an auditor sees why a certificate's licence number is missing. The ledger never held them.
    ///
    /// It holds the emission lock: an emission that read the licence before the erasure finishes
    /// first, and its files are among those listed; the next one reads no licence.
    public func erase(_ laborCode: String, by: String, note: String?, now: Timestamp, wait: Double) throws -> Erasure {
        guard let code = try knownCode(laborCode) else { throw UnknownTechnician(laborCode: laborCode) }
        guard let emission = try FileLock(path: layout.emissionLock, mode: .exclusive, timeout: wait) else { throw EmissionBusy(seconds: wait) }
        defer { withExtendedLifetime(emission) {} }
        let before = try withFiles(storeHoldings(of: code))
        let kind = RecordKind.technicianCertification.rawValue
        let (erased, redacted, refusals) = try store.write { db -> (Bool, Int, [Int64]) in
            // Deleted bytes are overwritten in their pages, not left in free space.
            try db.execute(sql: "PRAGMA secure_delete = ON")
            try db.execute(sql: "DELETE FROM technician_personal WHERE labor_code = ?", arguments: [code])
            let erased = db.changesCount > 0
            try db.execute(sql: """
                UPDATE review_item SET record = json_remove(record, '$.fields.name', '$.fields.licence')
                WHERE kind = ? AND record_key = ?
                    AND (json_extract(record, '$.fields.name') IS NOT NULL OR json_extract(record, '$.fields.licence') IS NOT NULL)
                """, arguments: [kind, code])
            let redacted = db.changesCount
            let refusals = try Self.refusals(of: code, in: db)
            for refusal in refusals {
                try db.execute(sql: "UPDATE record_outcome SET message = ? WHERE id = ?", arguments: [Self.redacted(refusal.message), refusal.id])
            }
            try db.execute(sql: """
                INSERT INTO personal_data_erasure (labor_code, erased_at, erased_by, note, details_erased, review_items_redacted, files_left)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [code, now.description, by, note, erased, redacted, JSONValue.array(before.files.map(JSONValue.string)).jsonText()])
            return (erased, redacted, refusals.map(\.id))
        }
        // The reports that quoted a refused value, written again from the redacted store.
        var reports: [String] = []
        let batches = try store.read { db in
            try Set(refusals.map { try Int64.fetchOne(db, sql: "SELECT batch_id FROM record_outcome WHERE id = ?", arguments: [$0]) ?? 0 }).sorted()
        }
        for batch in batches { reports.append(relativeToRoot(try ReconciliationReport(store: store, layout: layout).write(batchId: batch))) }
        // The WAL still holds the pages as they were: copied into the database and cut to nothing, unless someone reads.
        let cleared = store.clearWAL()
        return Erasure(before: before, erasedDetails: erased, redactedReviewItems: redacted, redactedRefusals: refusals.count,
                       rewrittenReports: reports, walCleared: cleared)
    }

    /// When `laborCode`'s personal data was last erased, if it was after `since`: a review rejection of a record
    /// held before then writes no extract (the archived file would bring the details back into the quarantine).
    static func erasedAt(_ laborCode: String, since: String, in db: Database) throws -> String? {
        guard try db.tableExists("personal_data_erasure") else { return nil }
        return try String.fetchOne(db, sql: "SELECT MAX(erased_at) FROM personal_data_erasure WHERE labor_code = ? AND erased_at >= ?",
                                   arguments: [laborCode, since])
    }

    private func relativeToRoot(_ path: String) -> String {
        let root = FileSystem.canonicalFolder(layout.root) + "/", absolute = FileSystem.canonicalPath(path)
        return absolute.hasPrefix(root) ? String(absolute.dropFirst(root.count)) : path
    }

    /// Whether the file at `path` contains `word` as a word (not within a longer code: `JSMITH` is not in
    /// `JSMITHSON`, `1234` not in the licence `ES.66.B1.1234`), ASCII letters in either case (a mapping may
    /// change a code's case; other letters, `Ñ`, as they are).
    static func file(_ path: String, containsWord word: String) -> Bool {
        let needle = word.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
        func isCodeByte(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F || byte == 0x2D || byte == 0x2E || byte == 0x2F
                || byte >= 0x80
        }
        // Only a regular file is read: a quarantined named pipe would block an open for good, a link would be
        // read where it points.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return false }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var st = stat()
        guard !needle.isEmpty, fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return false }
        // Read in blocks, ASCII letters folded to lower case. The last `needle.count + 1` bytes of a block are
        // read again with the next: a match that ends a block is judged once its next byte is known (or the file
        // ends), and one at the start of a carried-over window was judged whole in the block before.
        var window: [UInt8] = []
        var carried = 0
        var utf16: UTF16Text?
        var first = true
        while true {
            var block = [UInt8]((try? handle.read(upToCount: 1 << 20)) ?? Data())
            let atEnd = block.isEmpty
            // A file in UTF-16 (its byte-order mark says so: a CMMS on Windows may export so, and such a file is
            // quarantined whole) is searched as the text it holds; its code had not been found.
            if first { utf16 = UTF16Text(bom: block); first = false }
            if let transcoder = utf16 { block = transcoder.utf8(of: block) }
            window += block
            for i in carried..<window.count where window[i] >= 0x41 && window[i] <= 0x5A { window[i] |= 0x20 }
            // (A window shorter than what is carried is the file from its start.)
            for at in positions(of: needle, in: window) where at > 0 || carried <= needle.count {
                let before = at == 0 || !isCodeByte(window[at - 1])
                let after = at + needle.count < window.count ? !isCodeByte(window[at + needle.count]) : atEnd
                if before && after { return true }
            }
            if atEnd { return false }
            window = Array(window.suffix(needle.count + 1))
            carried = window.count
        }
    }

    /// The UTF-8 of a UTF-16 file's text, block after block (a byte of a code unit cut by a block's end waits for
    /// the next block; a surrogate pair cut so decodes as two replacement characters, which, as any letter outside
    /// ASCII, count as part of a code).
    private final class UTF16Text {
        let bigEndian: Bool
        private var pending: [UInt8] = []
        private var skipBOM = true

        init?(bom: [UInt8]) {
            guard bom.count >= 2 else { return nil }
            switch (bom[0], bom[1]) {
            case (0xFF, 0xFE): bigEndian = false
            case (0xFE, 0xFF): bigEndian = true
            default: return nil
            }
        }

        func utf8(of block: [UInt8]) -> [UInt8] {
            var bytes = pending + block
            if skipBOM { bytes.removeFirst(min(2, bytes.count)); skipBOM = false }
            var units = [UInt16]()
            units.reserveCapacity(bytes.count / 2)
            var i = 0
            while i + 1 < bytes.count {
                units.append(bigEndian ? UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1]) : UInt16(bytes[i + 1]) << 8 | UInt16(bytes[i]))
                i += 2
            }
            pending = Array(bytes[i...])
            return Array(String(decoding: units, as: UTF16.self).utf8)
        }
    }

    /// Where `needle` starts in `haystack` (`memchr` for its first byte, then a comparison).
    private static func positions(of needle: [UInt8], in haystack: [UInt8]) -> [Int] {
        haystack.withUnsafeBytes { hay in
            needle.withUnsafeBytes { pin in
                guard let base = hay.baseAddress, let pinBase = pin.baseAddress, let first = pin.first, hay.count >= pin.count else { return [] }
                var found: [Int] = []
                var offset = 0
                while offset <= hay.count - pin.count, let hit = memchr(base + offset, Int32(first), hay.count - pin.count + 1 - offset) {
                    let at = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + at, pinBase, pin.count) == 0 { found.append(at) }
                    offset = at + 1
                }
                return found
            }
        }
    }
}

