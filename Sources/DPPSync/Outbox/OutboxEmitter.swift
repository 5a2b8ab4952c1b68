import Foundation
import GRDB

/// Writes decided messages into `Outbox/<folder>/` after their transaction
/// committed (DESIGN.md invariant 5): temporary file, fsync, rename, fsync the
/// folder; named by the message id, so a re-emission after a crash overwrites
/// the same file rather than doubling it. Delivery is at least once, idempotent by id.
public struct OutboxEmitter: Sendable {
    public let store: Store
    public let layout: RootLayout
    public let crash: CrashPoints
    /// Messages per part of a batch file (tests make it small to see several parts).
    var partSize = OutboundMapping.batchFileSize

    public init(store: Store, layout: RootLayout, crash: CrashPoints = .none) {
        self.store = store; self.layout = layout; self.crash = crash
    }

    /// An outbound mapping that fails its check, and the channel it names if that much can be read.
    public struct BrokenMapping: Sendable {
        public var file: String
        public var channel: String?
        public var errors: ConfigurationErrors
    }

    /// Loads `Mappings/*.outbound.yaml`; channels without one use the default JSON shape. A file that
    /// cannot be read is broken for every channel (it may be any one's). So is a mapping whose files
    /// are another's (by folder and `fileName`): that of a mapping before it by name, or a channel's
    /// default shape that it leaves in use; its file would replace the other's, or its rename find
    /// the other's temporary gone and stop every channel's files.
    /// - Parameter drafts: files (by name, with their text) taken as if they were in `directory`, in place
    ///   of any of the same name there: what `mapping check` says of a mapping before it is copied in.
    public static func mappings(in directory: String, drafts: [String: String] = [:]) -> (mappings: [String: [OutboundMapping]], broken: [BrokenMapping]) {
        var loaded: [(name: String, mapping: OutboundMapping)] = []
        var broken: [BrokenMapping] = []
        func fail(_ name: String, _ channel: String?, _ message: String) {
            broken.append(BrokenMapping(file: name, channel: channel,
                                        errors: ConfigurationErrors(issues: [ConfigurationIssue(file: name, line: 1, column: 1, message: message)])))
        }
        let names = Set(FileSystem.entries(of: directory).filter { $0.hasSuffix(OutboundMapping.suffix) }).union(drafts.keys)
        for name in names.sorted() {
            guard let text = drafts[name] ?? FileManager.default.contents(atPath: directory + "/" + name).map({ YAMLText.decoding($0) }) else {
                fail(name, nil, "the outbound mapping file cannot be read"); continue
            }
            do {
                loaded.append((name, try OutboundMapping.load(text: text, file: name)))
            } catch {
                broken.append(BrokenMapping(file: name, channel: OutboundMapping.channel(in: text), errors: error))
            }
        }
        // Who writes where: the default shapes still in use first, then the files by name.
        let configured = Set(loaded.map(\.mapping.channel))
        var writers: [String: String] = [:]
        for channel in OutboundMapping.channels where !configured.contains(channel) {
            let shape = OutboundMapping.defaultMapping(for: channel)
            writers[shape.folder + "/" + shape.fileName] = "the default shape of \(channel)"
        }
        var result: [String: [OutboundMapping]] = [:]
        for (name, mapping) in loaded {
            if let other = writers.updateValue(name, forKey: mapping.folder + "/" + mapping.fileName) {
                fail(name, mapping.channel, "writes the same files as \(other) (Outbox/\(mapping.folder)/\(mapping.fileName)): give it another folder or fileName")
                continue
            }
            result[mapping.channel, default: []].append(mapping)
        }
        return (result, broken)
    }

    /// The latest `limit` messages decided for `channel` (for `mapping check` to compare an outbound
    /// mapping's fields with what the channel's messages hold).
    public static func latestMessages(of channel: String, limit: Int, in store: Store) throws -> [JSONValue] {
        try store.read { db in
            try String.fetchAll(db, sql: "SELECT body FROM outbox_message WHERE channel = ? ORDER BY decided_at DESC LIMIT ?", arguments: [channel, limit])
                .compactMap { try? JSONParser.parseDocument(Array($0.utf8)) }
        }
    }

    /// The channels whose messages wait in the queue, with why: an outbound mapping of theirs fails
    /// its check (every channel's, when a broken mapping's channel cannot be read). Sent in the
    /// default shape instead, they would reach a consumer that reads another shape, or another folder.
    public static func heldChannels(_ broken: [BrokenMapping]) -> [String: String] {
        var held: [String: String] = [:]
        for mapping in broken {
            for channel in mapping.channel.map({ [$0] }) ?? OutboundMapping.channels where held[channel] == nil {
                let why = mapping.errors.issues.first.map { " (\($0.line > 1 ? "line \($0.line), column \($0.column): " : "")\($0.message))" } ?? ""
                held[channel] = "Mappings/\(mapping.file) fails its check\(why); the channel's messages wait in the queue (run `dppsync mapping check`)"
            }
        }
        return held
    }

    /// The held channels (`heldChannels`) that have messages waiting: what a command that emitted
    /// says needs attention.
    public static func heldChannelsWaiting(layout: RootLayout, store: Store) throws -> [String: String] {
        let held = heldChannels(mappings(in: layout.mappings).broken)
        guard !held.isEmpty else { return [:] }
        let waiting = try store.read(waitingMessages)
        return held.filter { waiting[$0.key] != nil }
    }

    /// Messages not sent yet, per channel (from the index of pending messages).
    public static func waitingMessages(in db: Database) throws -> [String: Int] {
        var waiting: [String: Int] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT channel, COUNT(*) FROM outbox_queue INDEXED BY outbox_queue_pending WHERE emitted_at IS NULL GROUP BY channel") {
            waiting[row[0]] = row[1]
        }
        return waiting
    }

    /// Emits every pending message whose ledger entry a signed checkpoint covers
    /// (release certificates cite that checkpoint); returns the files written.
    @discardableResult
    public func emitPending(now: Timestamp = .now()) throws -> [String] {
        let (configured, broken) = Self.mappings(in: layout.mappings)
        let held = Self.heldChannels(broken)
        let mappings = Dictionary(uniqueKeysWithValues: OutboundMapping.channels.filter { held[$0] == nil }.map {
            ($0, configured[$0] ?? [OutboundMapping.defaultMapping(for: $0)])
        })
        for folder in FileSystem.entries(of: layout.outbox) { FileSystem.removeStaleTemporaries(in: layout.outbox + "/" + folder) }
        // From reading the licence numbers to placing the last file: an erasure waits, and then sees every file written.
        let emitting = try FileLock(path: layout.emissionLock, mode: .shared, timeout: nil)
        defer { withExtendedLifetime(emitting) {} }
        let checkpoint = try Ledger(store: store, layout: layout, origin: "").latestCheckpoint().map { stored in
            CertificateAdditions(stored, licences: try store.read { try CertificateAdditions.licences(in: $0) })
        }
        // 1. Files per batch: every part that holds a pending message is written whole. A channel
        //    that has files per message too hands its batch files' names to step 2, so it goes
        //    first; channels with batch files only are written on a second thread beside step 2
        //    (the per-message files had been written with that core idle), whose files are placed
        //    only once they are: files appear in the same order as when one thread wrote them all.
        let batchChannels = mappings.filter { $0.value.contains { $0.files == .batch } }
        let batchOnly = batchChannels.filter { !$0.value.contains { $0.files == .message } }.map(\.key).sorted()
        var batchFiles: [String: String] = [:]
        var written: [String] = []
        for (channel, channelMappings) in batchChannels.sorted(by: { $0.key < $1.key }) where !batchOnly.contains(channel) {
            written += try emitBatchFiles(of: channel, mappings: channelMappings, checkpoint: checkpoint, markEmitted: false, now: now, paths: &batchFiles)
        }
        let alongside = BackgroundWork(.waitsForOthers) { [self] in
            var written: [String] = [], unused: [String: String] = [:]
            for channel in batchOnly {
                written += try emitBatchFiles(of: channel, mappings: batchChannels[channel] ?? [], checkpoint: checkpoint, markEmitted: true,
                                              now: now, paths: &unused)
            }
            return written
        }
        // 2. Files per message, in pages so that memory stays flat however many are due;
        //    a message is marked emitted once all its files are in place.
        let notHere = batchOnly + held.keys.sorted()
        let skipped = notHere.isEmpty ? "" : " AND q.channel NOT IN (" + notHere.map { _ in "?" }.joined(separator: ", ") + ")"
        var after: Int64 = 0
        var batchOnlyWritten: [String]?
        func waitForBatchFiles() throws {
            if batchOnlyWritten == nil { batchOnlyWritten = try alongside.wait() }
        }
        var perMessage: [String] = []
        do {
            while true {
                let pending = try store.read { db in
                    try Row.fetchAll(db, sql: Self.messageQuery + " WHERE q.emitted_at IS NULL AND q.ledger_seq > ?" + skipped + " ORDER BY q.ledger_seq LIMIT 5000",
                                     arguments: StatementArguments([after.databaseValue] + notHere.map(\.databaseValue)))
                }
                guard let last = pending.last else { break }
                after = last[Column.ledgerSeq]
                perMessage += try emit(pending, mappings: mappings, checkpoint: checkpoint, batchFiles: batchFiles, now: now,
                                       beforePlacing: waitForBatchFiles)
            }
            try waitForBatchFiles()
        } catch {
            _ = try? alongside.wait()  // never leave the other thread writing behind a failure
            throw error
        }
        return written + (batchOnlyWritten ?? []) + perMessage
    }

    /// Writes the files of every batch that has a pending message of `channel`.
    private func emitBatchFiles(of channel: String, mappings channelMappings: [OutboundMapping], checkpoint: CertificateAdditions?, markEmitted: Bool,
                                now: Timestamp, paths: inout [String: String]) throws -> [String] {
        let batches = try store.read { db in try Int64.fetchAll(db, sql: Self.pendingBatchesSQL, arguments: [channel]) }
        var written: [String] = []
        for batch in batches {
            written += try emitBatchFiles(channel: channel, batch: batch, mappings: channelMappings.filter { $0.files == .batch },
                                          checkpoint: checkpoint, markEmitted: markEmitted, now: now, paths: &paths)
        }
        return written
    }

    /// The batches that hold a pending message of a channel, from the index of pending messages
    /// alone: SQLite had chosen the batch index and read every message ever queued, on every run.
    static let pendingBatchesSQL = """
        SELECT DISTINCT batch_id FROM outbox_queue INDEXED BY outbox_queue_pending
        WHERE emitted_at IS NULL AND channel = ?
        """

    /// Messages and their place in the queue. Conditions on the queue's channel: those on the
    /// message's read its row, which the index of pending messages (ledger order, channel) spares
    /// for every message of a channel not asked for.
    private static let messageQuery = """
        SELECT q.message_id, q.ledger_seq, q.emitted_at, q.channel, m.body
        FROM outbox_queue q JOIN outbox_message m ON m.message_id = q.message_id
        """

    /// What a release certificate's file adds to its stored body: the latest signed checkpoint,
    /// with its note quoted once for every certificate that cites it, and the certifying
    /// technicians' licence numbers (personal data, never in the ledger).
    private struct CertificateAdditions {
        var treeSize: Int
        var quotedNote: [UInt8]
        /// Licence numbers by labour code, read once: joined in the query, each certificate's
        /// labour code had been found by `json_extract` (~7,500 instructions a certificate).
        var licences: [String: String]

        init(_ stored: StoredCheckpoint, licences: [String: String]) {
            treeSize = stored.checkpoint.treeSize
            quotedNote = []
            JSONValue.appendQuoted(stored.note, to: &quotedNote)
            self.licences = licences
        }

        static func licences(in db: Database) throws -> [String: String] {
            var licences: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT labor_code, licence FROM technician_personal WHERE licence IS NOT NULL") {
                licences[row[0]] = row[1]
            }
            return licences
        }
    }

    /// The certificate's fixed wording as JSON members, written once.
    private static let fixedWording: [UInt8] = {
        var bytes = Array(#","work":"#.utf8)
        JSONValue.appendQuoted(ReleaseCertificate.work, to: &bytes)
        bytes += Array(#","statement":"#.utf8)
        JSONValue.appendQuoted(ReleaseCertificate.statement, to: &bytes)
        return bytes
    }()

    /// Positions of `messageQuery`'s columns: rows are read by position (a lookup by name
    /// compares column names, several times per message).
    private enum Column {
        static let messageId = 0, ledgerSeq = 1, emittedAt = 2, channel = 3, body = 4
    }

    /// The message as its files carry it (compact JSON), or `nil` while no signed
    /// checkpoint covers it. A release certificate (but a withdrawal) gains its fixed wording, the certifying technician's
    /// licence number (personal data joins the file here, never the ledger: `CertificateAdditions`), its ledger
    /// entry and the checkpoint that covers it, appended to the stored body as is.
    private static func messageBytes(of row: Row, checkpoint: CertificateAdditions?) -> [UInt8]? {
        let seq: Int64 = row[Column.ledgerSeq]
        var bytes = Array((row[Column.body] as String).utf8)
        guard (row[Column.channel] as String) == ReleaseCertificate.channel, bytes.last == UInt8(ascii: "}") else { return bytes }
        guard let checkpoint, checkpoint.treeSize >= Int(seq) else { return nil }
        bytes.removeLast()
        // A withdrawal certifies nothing: it carries no wording and no licence, only its proof.
        if !ReleaseCertificate.isWithdrawal(body: bytes) {
            let licence = ReleaseCertificate.laborCode(inBody: bytes).flatMap { checkpoint.licences[$0] }
            bytes += fixedWording
            bytes.append(literal: #","licenceNumber":"#)
            bytes.append(quoted: licence)
        }
        bytes.append(literal: #","ledgerEntry":"#)
        bytes += String(seq).utf8
        bytes.append(literal: #","checkpoint":"#)
        bytes += checkpoint.quotedNote
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    private func message(of row: Row, checkpoint: CertificateAdditions?) -> JSONValue? {
        Self.messageBytes(of: row, checkpoint: checkpoint).flatMap { try? JSONParser.parseDocument($0) }
    }

    /// One part of a batch file, read and rendered.
    private struct PreparedPart: Sendable {
        var number: Int
        /// The ledger sequence of its last message: the next part starts after it.
        var lastSequence: Int64
        /// Its messages not emitted yet.
        var pending: [String]
        /// `nil` when it has nothing pending, or holds a message no signed checkpoint covers yet.
        var files: [(name: String, content: [UInt8])]?
    }

    /// Reads and renders part `number` of `batch`'s file of `channel`: the messages after
    /// ledger sequence `after`. `nil` past the last part.
    private static func preparePart(_ number: Int, after: Int64, channel: String, batch: Int64, mappings: [OutboundMapping],
                                    checkpoint: CertificateAdditions?, size: Int, store: Store) throws -> PreparedPart? {
        // A cursor, not an array of rows: two parts are in memory at once, and their rows
        // would double what each holds.
        let (read, compact, complete) = try store.read { db in
            let rows = try Row.fetchCursor(db, sql: messageQuery + " WHERE q.batch_id = ? AND q.ledger_seq > ? AND q.channel = ? ORDER BY q.ledger_seq LIMIT ?",
                                           arguments: [batch, after, channel, size])
            var part = PreparedPart(number: number, lastSequence: after, pending: [], files: nil)
            var compact: [[UInt8]] = []
            var complete = true
            while let row = try rows.next() {
                part.lastSequence = row[Column.ledgerSeq]
                if (row[Column.emittedAt] as String?) == nil { part.pending.append(row[Column.messageId]) }
                if let bytes = messageBytes(of: row, checkpoint: checkpoint) { compact.append(bytes) } else { complete = false }
            }
            return (part, compact, complete)
        }
        guard read.lastSequence > after else { return nil }
        var part = read
        if !part.pending.isEmpty, complete {
            part.files = mappings.map { $0.render(batch: batch, part: number, compactMessages: compact) }
        }
        return part
    }

    /// Writes the parts of `batch`'s file of `channel` that hold a pending message. A part
    /// is always its batch's messages number `part × size …` in ledger order, so a part
    /// written again after a crash has the same name and the same content.
    ///
    /// The next part is read and rendered on the second core while this one is written
    /// under its temporary name. Then all parts are flushed together (one `syncfs`), placed
    /// in order, and marked in one transaction: a file per part of 5,000 had been a flush
    /// and a commit each (20 of each per 100k work orders).
    private func emitBatchFiles(channel: String, batch: Int64, mappings: [OutboundMapping], checkpoint: CertificateAdditions?,
                                markEmitted: Bool, now: Timestamp, paths: inout [String: String]) throws -> [String] {
        let (store, size) = (store, partSize)
        func prepare(_ number: Int, after: Int64) -> BackgroundWork<PreparedPart?> {
            BackgroundWork {
                try Self.preparePart(number, after: after, channel: channel, batch: batch, mappings: mappings, checkpoint: checkpoint, size: size, store: store)
            }
        }
        var staged: [Staged] = []
        defer { discard(staged) }
        let buffer = DirectFileWriter.Buffer()  // the parts' files go past the page cache, one after another
        /// A part's messages are its batch's and channel's in the ledger range (after, last].
        var marks: [(after: Int64, last: Int64, files: String)] = []
        var after: Int64 = 0
        var next = prepare(1, after: 0)
        while let part = try next.wait() {
            next = prepare(part.number + 1, after: part.lastSequence)
            defer { after = part.lastSequence }
            guard let files = part.files else { continue }
            try stage(files, into: &staged, buffer: buffer)
            let joined = files.map { layout.outbox + "/" + $0.name }.joined(separator: "\n")
            if markEmitted {
                marks.append((after, part.lastSequence, joined))
            } else {
                for id in part.pending { paths[id] = joined }
            }
        }
        let written = try publish(staged)
        staged.removeAll()
        if !marks.isEmpty {
            try store.write { db in
                let mark = try db.cachedStatement(sql: Self.markPartSQL)
                for part in marks {
                    try mark.execute(arguments: [now.description, part.files, batch, part.after, part.last, channel])
                }
            }
        }
        return written
    }

    /// Marks a placed part's messages emitted: the part's ledger range of its batch and channel
    /// (memory holds a range per part, not the ids of a million certificates).
    private static let markPartSQL = """
        UPDATE outbox_queue SET emitted_at = ?, file = ?
        WHERE batch_id = ? AND ledger_seq > ? AND ledger_seq <= ? AND emitted_at IS NULL AND channel = ?
        """

    /// - Parameter beforePlacing: runs once the files are written under their temporary names,
    ///   before the first is placed (it waits for the batch files written alongside).
    private func emit(_ pending: [Row], mappings: [String: [OutboundMapping]], checkpoint: CertificateAdditions?,
                      batchFiles: [String: String], now: Timestamp, beforePlacing: () throws -> Void = {}) throws -> [String] {
        var files: [(name: String, content: [UInt8])] = []
        var paths: [String: [String]] = [:]
        for row in pending {
            let id: String = row[Column.messageId]
            let channel: String = row[Column.channel]
            guard let message = message(of: row, checkpoint: checkpoint) else { continue }
            let perMessage = (mappings[channel] ?? []).filter { $0.files == .message }
            if let batchFile = batchFiles[id] {
                paths[id, default: []].append(batchFile)
            } else if perMessage.isEmpty {
                continue  // its batch file was not written (not yet covered by a checkpoint)
            }
            for mapping in perMessage {
                let (name, content) = mapping.render(message)
                files.append((mapping.folder + "/" + name, Array(content.utf8)))
                paths[id, default: []].append(layout.outbox + "/" + mapping.folder + "/" + name)
            }
        }
        let written = try place(files, beforePlacing: beforePlacing)
        try store.write { db in
            // Bound through the C API: GRDB's generic arguments had cost more than the update.
            let mark = try DirectStatement(db, sql: "UPDATE outbox_queue SET emitted_at = ?, file = ? WHERE message_id = ?")
            let time = now.description
            for (messageId, files) in paths {
                try mark.step(texts: [time, files.joined(separator: "\n"), messageId], from: 1, in: db)
            }
        }
        return written
    }

    /// A file written under its temporary name in its folder, not visible yet.
    private struct Staged {
        var temporary: String
        var final: String
        var folder: String
    }

    /// Writes every file under a temporary name, flushes them to disk together (one
    /// syncfs instead of one fsync per file), then renames each into place and fsyncs
    /// each folder once: a file appears under its final name only when complete.
    private func place(_ files: [(name: String, content: [UInt8])], beforePlacing: () throws -> Void) throws -> [String] {
        var staged: [Staged] = []
        defer { discard(staged) }
        try stage(files, into: &staged)
        try beforePlacing()
        let written = try publish(staged)
        staged.removeAll()  // placed: nothing left to discard (one `access` call per file saved)
        return written
    }

    /// Writes each file under a temporary name beside its final one (not flushed yet); a large one
    /// through `buffer` (`FileSystem.writeUnsynced`).
    private func stage(_ files: [(name: String, content: [UInt8])], into staged: inout [Staged],
                       buffer: DirectFileWriter.Buffer? = nil) throws {
        var folders = Set<String>()
        let pid = getpid()
        for file in files {
            let final = layout.outbox + "/" + file.name
            // Split at the last "/" (not by NSString's path methods: ~40,000 instructions each, per file).
            let slash = final.lastIndex(of: "/")
            let folder = slash.map { String(final[..<$0]) } ?? "."
            let base = slash.map { final[final.index(after: $0)...] } ?? final[...]
            if folders.insert(folder).inserted { try FileSystem.createDirectory(folder) }
            // (Names made from data are bounded well within a file name's length, `.`, pid and `.tmp` included.)
            let temporary = folder + "/." + base + ".\(pid).tmp"
            try FileSystem.writeUnsynced(file.content, to: temporary, buffer: buffer)
            staged.append(Staged(temporary: temporary, final: final, folder: folder))
        }
    }

    /// Flushes the staged files to disk together, then renames them into place in order
    /// and fsyncs each folder once.
    private func publish(_ staged: [Staged]) throws -> [String] {
        guard !staged.isEmpty else { return [] }
        try FileSystem.syncFileSystem(containing: layout.outbox)
        var written: [String] = []
        for file in staged {
            guard rename(file.temporary, file.final) == 0 else { throw FileSystemError(operation: "rename", path: file.temporary, reason: String(cString: strerror(errno))) }
            written.append(file.final)
            crash.reached(.afterEmit)
        }
        for folder in Set(staged.map(\.folder)) { try FileSystem.syncDirectory(folder) }
        return written
    }

    /// Removes the temporaries of files that were not placed (an error before or while placing).
    private func discard(_ staged: [Staged]) {
        for file in staged where FileSystem.exists(file.temporary) { unlink(file.temporary) }
    }
}

#if canImport(Glibc)
import Glibc
#endif
