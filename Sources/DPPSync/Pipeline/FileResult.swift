/// What became of one input file.
public struct FileResult: Sendable {
    public enum Disposition: String, Sendable { case archived, quarantined }

    public var source: String
    public var name: String
    public var fingerprint: String
    public var disposition: Disposition
    /// File-level reason (`DUPLICATE_FILE`, `NOT_PARSEABLE` …), `nil` when its records were decided.
    public var reason: ReasonCode?
    public var message: String
    /// Record outcomes of this file (including re-decided held records).
    public var counts: [Outcome: Int]
    /// Where the file went.
    public var destination: String

    /// `true` when someone should look: rejected or held records, or a quarantined file.
    public var needsAttention: Bool {
        disposition == .quarantined || counts.contains { $0.key.needsAttention && $0.value > 0 }
    }
}

/// What one pass did.
public struct PassSummary: Sendable {
    /// The batch the pass opened, `nil` when it took no file.
    public var batchId: Int64?
    public var files: [FileResult] = []
    /// Sources whose files wait (a broken or missing mapping, a failed source before them, names that
    /// cannot be taken …), with the reason.
    public var heldSources: [String: String] = [:]
    /// Outbox channels whose pending messages wait (a broken outbound mapping), with the reason.
    public var heldChannels: [String: String] = [:]
    /// Sources whose part of the pass failed (a file that cannot be moved, a full disk), with why: the
    /// sources after one wait (`heldSources`), and what they had not finished is taken again by the next pass.
    public var failedSources: [String: String] = [:]
    /// Files seen but not finished yet (still changing or awaiting a marker).
    public var settling = 0
    /// The latest signed checkpoint after the pass.
    public var checkpoint: StoredCheckpoint?

    public var counts: [Outcome: Int] {
        files.reduce(into: [:]) { total, file in for (k, v) in file.counts { total[k, default: 0] += v } }
    }

    /// A quarantined file, a record held or rejected, a file no mapping can take (broken or missing),
    /// or a message no outbound mapping can send: each waits for someone.
    public var needsAttention: Bool {
        files.contains { $0.needsAttention } || !heldSources.isEmpty || !heldChannels.isEmpty || !failedSources.isEmpty
    }
}
