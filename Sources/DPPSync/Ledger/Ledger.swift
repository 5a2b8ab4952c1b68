import Foundation
import GRDB

/// A signed checkpoint as stored, with the time it was signed (the C2SP body has none).
public struct StoredCheckpoint: Sendable, Hashable {
    public var checkpoint: Checkpoint
    public var note: String
    public var signedAt: String
}

/// The tamper-evident log over every DPP change: signing checkpoints, proofs, history.
public struct Ledger {
    public let store: Store
    public let layout: RootLayout
    public let origin: String

    public init(store: Store, layout: RootLayout, origin: String) {
        self.store = store; self.layout = layout; self.origin = origin
    }

    public var keyFile: String { layout.state + "/ledger.key" }
    public var checkpointFolder: String { layout.outbox + "/ledger-checkpoints" }

    /// Creates the signing key (mode 0600) if there is none; returns the signer.
    public static func ensureKey(at path: String, origin: String) throws -> LedgerSigner {
        if let existing = try? loadKey(at: path) { return existing }
        let signer = LedgerSigner(name: origin)
        try FileSystem.writeAtomically(signer.encoded + "\n", to: path, mode: 0o600)
        return signer
    }

    public static func loadKey(at path: String) throws -> LedgerSigner {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StoreError(message: "no ledger signing key at \(path): run `dppsync init`")
        }
        guard let signer = LedgerSigner(encoded: String(decoding: data, as: UTF8.self)) else {
            throw StoreError(message: "\(path) is not a ledger signing key")
        }
        return signer
    }

    /// The stored leaf hashes of the entries in `range` (0-based leaf indexes: entry `seq` is leaf `seq - 1`).
    static func leafHashes(_ range: Range<Int>, in db: Database) throws -> [Hash] {
        var hashes: [Hash] = []
        hashes.reserveCapacity(range.count)
        let cursor = try Row.fetchCursor(db.cachedStatement(sql: "SELECT leaf_hash FROM ledger_entry WHERE seq > ? AND seq <= ? ORDER BY seq"),
                                         arguments: [range.lowerBound, range.upperBound])
        while let row = try cursor.next() { hashes.append([UInt8](row[0] as Data)) }
        guard hashes.count == range.count else {
            throw LedgerIntegrityError(message: "ledger entries \(range.lowerBound + 1)…\(range.upperBound) are not all there (run `dppsync ledger verify`)")
        }
        return hashes
    }

    /// MTH(D[range]) of the log: perfect subtrees from `ledger_subtree`, the rest from the leaves.
    static func subtreeHash(_ range: Range<Int>, in db: Database) throws -> Hash {
        try MerkleTree.subtreeHash(range, perfect: { range in
            // Kept by height and index: only an aligned range is one (every range a proof asks for is).
            guard range.lowerBound & (range.count - 1) == 0 else { return nil }
            let height = range.count.trailingZeroBitCount
            return try Data.fetchOne(db.cachedStatement(sql: "SELECT hash FROM ledger_subtree WHERE height = ? AND idx = ?"),
                                     arguments: [height, range.lowerBound >> height]).map { [UInt8]($0) }
        }, leaves: { try leafHashes($0, in: db) })
    }

    /// Keeps the hashes of every perfect subtree of the first `size` entries (a store from before they were kept).
    static func keepSubtrees(through size: Int, in db: Database) throws {
        var frontier = MerkleTree.Frontier()
        let leaves = try Row.fetchCursor(db, sql: "SELECT leaf_hash FROM ledger_entry WHERE seq <= ? ORDER BY seq", arguments: [size])
        while let row = try leaves.next() { try frontier.append([UInt8](row[0] as Data)) { try keepSubtree($0, $1, in: db) } }
    }

    /// Keeps the hash of a perfect subtree the log completed, if it is one a proof reads
    /// (`MerkleTree.storedSubtreeHeight` and up). One kept already with another hash means the entries it
    /// covers changed since (a log cut and grown again): nothing is signed over them. (It had been replaced,
    /// and the check against the published checkpoint, which reads kept hashes, passed.)
    static func keepSubtree(_ range: Range<Int>, _ hash: Hash, in db: Database) throws {
        let height = range.count.trailingZeroBitCount
        guard height >= MerkleTree.storedSubtreeHeight else { return }
        let index = range.lowerBound >> height
        if let kept = try Data.fetchOne(db.cachedStatement(sql: "SELECT hash FROM ledger_subtree WHERE height = ? AND idx = ?"), arguments: [height, index]) {
            guard [UInt8](kept) == hash else {
                throw LedgerIntegrityError(message: "entries \(range.lowerBound + 1)…\(range.upperBound) no longer have the hash kept when they were signed: the ledger was cut or rewritten (run `dppsync ledger verify`)")
            }
            return
        }
        try db.cachedStatement(sql: "INSERT INTO ledger_subtree (height, idx, hash) VALUES (?, ?, ?)")
            .execute(arguments: [height, index, Data(hash)])
    }

    public func latestCheckpoint() throws -> StoredCheckpoint? {
        try store.read { db in try Self.checkpoints(db, latestOnly: true).first }
    }

    public func allCheckpoints() throws -> [StoredCheckpoint] {
        try store.read { db in try Self.checkpoints(db, latestOnly: false) }
    }

    static func checkpoints(_ db: Database, latestOnly: Bool) throws -> [StoredCheckpoint] {
        try Row.fetchAll(db, sql: "SELECT tree_size, root_hash, note, signed_at FROM checkpoint ORDER BY tree_size" + (latestOnly ? " DESC LIMIT 1" : "")).map {
            StoredCheckpoint(checkpoint: Checkpoint(origin: "", treeSize: $0["tree_size"], rootHash: [UInt8]($0["root_hash"] as Data)),
                             note: $0["note"], signedAt: $0["signed_at"])
        }.map { stored in
            var s = stored
            if let note = SignedNote(stored.note), let parsed = Checkpoint(body: note.body) { s.checkpoint.origin = parsed.origin }
            return s
        }
    }

    /// Signs a checkpoint over entries not yet covered (if any), stores it, and
    /// drops it into `Outbox/ledger-checkpoints/` (atomically, named by size).
    /// Returns the latest checkpoint either way.
    @discardableResult
    public func checkpoint(now: Timestamp = .now()) throws -> StoredCheckpoint? {
        let signer = try Self.loadKey(at: keyFile)
        let published = latestPublished(signedBy: signer.verifier)
        let stored: StoredCheckpoint? = try store.write { db in
            let last = try Int.fetchOne(db, sql: "SELECT MAX(seq) FROM ledger_entry") ?? 0
            let latest = try Self.checkpoints(db, latestOnly: true).first
            try Self.checkSignable(logSize: last, latest: latest, published: published, in: db)
            if let latest, latest.checkpoint.treeSize >= last { return latest }
            if latest == nil, last == 0 { return nil }
            // The tree's right edge is kept with each checkpoint, so signing reads only the
            // entries since the last one (a check of its root guards the shortcut).
            var frontier = MerkleTree.Frontier()
            if let latest, let kept = try Data.fetchOne(db, sql: "SELECT frontier FROM checkpoint WHERE tree_size = ?", arguments: [latest.checkpoint.treeSize]),
               let restored = MerkleTree.Frontier(size: latest.checkpoint.treeSize, hashes: [UInt8](kept)), restored.root == latest.checkpoint.rootHash {
                frontier = restored
            }
            let cursor = try Row.fetchCursor(db, sql: "SELECT leaf_hash FROM ledger_entry WHERE seq > ? ORDER BY seq", arguments: [frontier.size])
            // The perfect subtrees completed on the way are kept: proofs read them instead of every leaf.
            while let row = try cursor.next() { try frontier.append([UInt8](row[0] as Data)) { try Self.keepSubtree($0, $1, in: db) } }
            let size = frontier.size
            let checkpoint = Checkpoint(origin: origin, treeSize: size, rootHash: frontier.root)
            let note = try signer.sign(body: checkpoint.body)
            try db.execute(sql: "INSERT INTO checkpoint (tree_size, root_hash, note, signed_at, frontier) VALUES (?, ?, ?, ?, ?)",
                           arguments: [size, Data(checkpoint.rootHash), note, now.description, Data(frontier.hashes)])
            return StoredCheckpoint(checkpoint: checkpoint, note: note, signedAt: now.description)
        }
        if let stored {
            try FileSystem.createDirectory(checkpointFolder)
            let path = checkpointFolder + "/\(stored.checkpoint.treeSize).checkpoint"
            if !FileSystem.exists(path) { try FileSystem.writeAtomically(stored.note, to: path) }
        }
        return stored
    }

    /// Whether more may be signed over a log of `logSize` entries: not over a log shorter than a checkpoint the store
    /// keeps, nor over one whose first entries no longer have the root of the latest checkpoint published in Outbox/,
    /// which witnesses the log too (a log cut with the store's checkpoints after the cut, or rewritten).
    private static func checkSignable(logSize last: Int, latest: StoredCheckpoint?, published: Checkpoint?, in db: Database) throws {
        try checkNotShorter(last, than: latest?.checkpoint.treeSize ?? 0)
        guard let published else { return }
        guard last >= published.treeSize else {
            throw LedgerIntegrityError(message: "Outbox/ledger-checkpoints/\(published.treeSize).checkpoint signed \(published.treeSize) entries, but the ledger has \(last): entries were removed, or the store was restored from an older backup (run `dppsync ledger verify`; after a restore, set aside every published checkpoint above \(last))")
        }
        guard try subtreeHash(0..<published.treeSize, in: db) == published.rootHash else {
            throw LedgerIntegrityError(message: "the ledger's first \(published.treeSize) entries no longer have the root Outbox/ledger-checkpoints/\(published.treeSize).checkpoint signed: the ledger was cut or rewritten (run `dppsync ledger verify`)")
        }
    }

    /// How far the ledger is signed, for `status`.
    public struct SigningState: Sendable {
        /// Entries in the log.
        public var entries: Int
        /// The latest checkpoint, if one was signed.
        public var latest: StoredCheckpoint?
        /// Why the next signing would be refused (the run's outbox files then wait), if it would.
        public var refusal: String?
        /// Entries no checkpoint covers yet (a run in progress signs its own at its end).
        public var unsigned: Int { max(0, entries - (latest?.checkpoint.treeSize ?? 0)) }
    }

    /// The ledger's size, its latest checkpoint and whether signing would be refused, read without signing: a
    /// night whose signing was refused had left only "messages not sent yet" in `status`, with no reason.
    /// (The kept subtree hashes of entries not signed yet are checked only as they are signed.)
    public func signingState() throws -> SigningState {
        let published: Result<Checkpoint?, any Error> = Result { latestPublished(signedBy: try Self.loadKey(at: keyFile).verifier) }
        return try store.read { db in
            let last = try Int.fetchOne(db, sql: "SELECT MAX(seq) FROM ledger_entry") ?? 0
            let latest = try Self.checkpoints(db, latestOnly: true).first
            var state = SigningState(entries: last, latest: latest)
            do {
                try Self.checkSignable(logSize: last, latest: latest, published: try published.get(), in: db)
            } catch {
                state.refusal = "\(error)"
            }
            return state
        }
    }

    /// The checkpoint of the largest tree in `Outbox/ledger-checkpoints/` that `key` signed. A file is taken by
    /// what it says, not by its name, and one that is not a checkpoint this root signed (a stray file, another
    /// root's) is passed over: it had stopped every run. Files are tried from the largest number in their name
    /// down, so a pass verifies one signature, however many the folder keeps.
    private func latestPublished(signedBy key: LedgerVerifierKey) -> Checkpoint? {
        let candidates = FileSystem.entries(of: checkpointFolder).compactMap { name -> (Int, String)? in
            guard name.hasSuffix(".checkpoint"), let size = Int(name.dropLast(".checkpoint".count)) else { return nil }
            return (size, checkpointFolder + "/" + name)
        }.sorted { $0.0 > $1.0 }
        for (size, path) in candidates {
            // (Its size taken first: a 1 GB file of that name had been read whole on every pass.) A checkpoint under
            // another size's name (a copy) is passed over: taken first, it would hide the latest.
            guard let signature = FileSystem.signature(of: path), signature.size < 64 * 1024, let bytes = try? FileSystem.readBytes(path),
                  let note = SignedNote(String(decoding: bytes, as: UTF8.self)), key.verifies(note: note),
                  let checkpoint = Checkpoint(body: note.body), checkpoint.treeSize == size else { continue }
            return checkpoint
        }
        return nil
    }

    /// A log shorter than a checkpoint signed is evidence (entries removed), not an entry asked for that is not there.
    private static func checkNotShorter(_ logSize: Int, than signedSize: Int) throws {
        guard logSize >= signedSize else {
            throw LedgerIntegrityError(message: "a checkpoint signed \(signedSize) entries, but the ledger has \(logSize): entries were removed (run `dppsync ledger verify`)")
        }
    }

    /// An inclusion proof of entry `sequence` (1-based) against the latest checkpoint.
    public func inclusionProof(sequence: Int) throws -> JSONValue {
        let logSize = try store.read { db in try Int.fetchOne(db, sql: "SELECT MAX(seq) FROM ledger_entry") ?? 0 }
        let latest = try latestCheckpoint()
        try Self.checkNotShorter(logSize, than: latest?.checkpoint.treeSize ?? 0)
        guard sequence >= 1, sequence <= logSize else {
            throw StoreError(message: logSize == 0 ? "the ledger is empty: there is no entry to prove"
                             : "there is no entry \(sequence): the ledger's entries are numbered 1 to \(logSize)")
        }
        guard let latest else { throw StoreError(message: "no checkpoint yet: run `dppsync ledger checkpoint`") }
        let size = latest.checkpoint.treeSize
        guard sequence <= size else {
            throw StoreError(message: "entry \(sequence) is not covered by the latest checkpoint (tree size \(size)): run `dppsync ledger checkpoint`")
        }
        guard let signedRoot = Self.signedRoot(of: latest.note) else {
            throw LedgerIntegrityError(message: "the latest checkpoint's note cannot be read (run `dppsync ledger verify`)")
        }
        return try store.read { db in
            let proof = try MerkleTree.inclusionProof(index: sequence - 1, size: size) { try Self.subtreeHash($0, in: db) }
            let leaf = try Self.leafHashes((sequence - 1)..<sequence, in: db)[0]
            // Built from the store, checked against the signed root: an edited entry or kept hash gives no proof.
            guard MerkleTree.verifyInclusion(leafHash: leaf, index: sequence - 1, treeSize: size, proof: proof, root: signedRoot) else {
                throw LedgerIntegrityError(message: "entry \(sequence)'s proof does not check against the latest checkpoint (tree size \(size)): the store's entries or kept hashes were edited (run `dppsync ledger verify`)")
            }
            return .object([
                ("leafIndex", .number(String(sequence - 1))),
                ("treeSize", .number(String(size))),
                ("leafHash", .string(Fingerprint.hex(leaf))),
                ("rootHash", .string(Fingerprint.hex(signedRoot))),
                ("hashes", .array(proof.map { .string(Fingerprint.hex($0)) })),
                ("checkpoint", .string(latest.note)),
            ])
        }
    }

    /// A consistency proof between two tree sizes (each must be a stored checkpoint's, or ≤ the log).
    public func consistencyProof(oldSize: Int, newSize: Int) throws -> JSONValue {
        try store.read { db in
            let logSize = try Int.fetchOne(db, sql: "SELECT MAX(seq) FROM ledger_entry") ?? 0
            try Self.checkNotShorter(logSize, than: Int.fetchOne(db, sql: "SELECT MAX(tree_size) FROM checkpoint") ?? 0)
            guard oldSize >= 0, oldSize <= newSize, newSize <= logSize else {
                throw StoreError(message: "sizes must satisfy 0 ≤ OLD ≤ NEW ≤ \(logSize) (the log's size)")
            }
            let proof = try MerkleTree.consistencyProof(oldSize: oldSize, newSize: newSize) { try Self.subtreeHash($0, in: db) }
            let oldRoot = try Self.subtreeHash(0..<oldSize, in: db), newRoot = try Self.subtreeHash(0..<newSize, in: db)
            // The roots come from the store too: where a checkpoint signed one, it must be that one.
            for (size, root) in [(oldSize, oldRoot), (newSize, newRoot)] {
                guard let note = try String.fetchOne(db, sql: "SELECT note FROM checkpoint WHERE tree_size = ?", arguments: [size]) else { continue }
                guard Self.signedRoot(of: note) == root else {
                    throw LedgerIntegrityError(message: "the tree of \(size) entries does not have the root its checkpoint signed: the store's entries or kept hashes were edited (run `dppsync ledger verify`)")
                }
            }
            guard MerkleTree.verifyConsistency(oldSize: oldSize, newSize: newSize, oldRoot: oldRoot, newRoot: newRoot, proof: proof) else {
                throw LedgerIntegrityError(message: "the consistency proof from \(oldSize) to \(newSize) entries does not check (run `dppsync ledger verify`)")
            }
            return .object([
                ("oldSize", .number(String(oldSize))),
                ("newSize", .number(String(newSize))),
                ("oldRoot", .string(Fingerprint.hex(oldRoot))),
                ("newRoot", .string(Fingerprint.hex(newRoot))),
                ("hashes", .array(proof.map { .string(Fingerprint.hex($0)) })),
            ])
        }
    }

    /// The root hash a checkpoint's note states (what its signature covers; the `root_hash` column beside
    /// it is not signed), or `nil` when the note cannot be read.
    static func signedRoot(of note: String) -> Hash? {
        SignedNote(note).flatMap { Checkpoint(body: $0.body) }?.rootHash
    }

    /// The entries about one component, in order: those it is the subject of, and
    /// those that moved it as a part of another component's work. An entry that cannot be
    /// read is an error, never left out: a history with a gap would read as complete.
    public func history(subject: String) throws -> [LedgerEntry] {
        try store.read { db in
            try Row.fetchAll(db, sql: """
                SELECT seq, body, body_size FROM ledger_entry WHERE seq IN (
                    SELECT seq FROM ledger_entry WHERE subject = ?1 UNION SELECT seq FROM ledger_subject WHERE subject = ?1
                ) ORDER BY seq
                """, arguments: [subject])
                .map { row in
                    guard let entry = (try? StoredBody.decode([UInt8](row["body"] as Data), size: row["body_size"])).flatMap(LedgerEntry.init(canonicalBytes:)) else {
                        throw LedgerIntegrityError(message: "ledger entry \(row["seq"] as Int64) of \(subject)'s history cannot be read: the ledger was edited (run `dppsync ledger verify`)")
                    }
                    return entry
                }
        }
    }
}

/// The ledger in the store does not check against what was signed (an entry, a kept hash or a
/// checkpoint edited): evidence for `ledger verify`, not a mistake in the command (exit 1, not 2).
public struct LedgerIntegrityError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    public init(message: String) { self.message = message }
}
