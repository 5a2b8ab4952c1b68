/// What happened to a record or file (DESIGN.md §5). Stable strings: reports,
/// scripts and policies in `dppsync.yaml` use them.
public struct Outcome: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// Changed DPP state.
    public static let applied = Outcome(rawValue: "applied")
    /// Identical to what was already applied.
    public static let duplicate = Outcome(rawValue: "duplicate")
    /// Older than the state held.
    public static let superseded = Outcome(rawValue: "superseded")
    /// Waits for a human or a reference, in the review queue.
    public static let held = Outcome(rawValue: "held")
    /// Invalid or refused by policy; an extract is in `Quarantine/`.
    public static let rejected = Outcome(rawValue: "rejected")
    /// Filtered out by the mapping's `when:`.
    public static let skipped = Outcome(rawValue: "skipped")

    public static let all: [Outcome] = [.applied, .duplicate, .superseded, .held, .rejected, .skipped]

    public var description: String { rawValue }

    /// Outcomes that make `run` exit 1: someone has to look.
    public var needsAttention: Bool { self == .held || self == .rejected }

    /// Counts as people read them, in outcome order, the outcomes with none left out: "2 applied, 1 held".
    public static func summary(of counts: [Outcome: Int]) -> String {
        all.compactMap { outcome in counts[outcome].map { "\($0) \(outcome)" } }.joined(separator: ", ")
    }
}

/// Why a record or file got its outcome (DESIGN.md §5).
///
/// Matchable like GRDB's `ResultCode`: `case .unknownAsset = reason`.
public struct ReasonCode: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let duplicateFile = ReasonCode(rawValue: "DUPLICATE_FILE")
    public static let notParseable = ReasonCode(rawValue: "NOT_PARSEABLE")
    /// A file written to while dppsync read it (not a DESIGN.md code): quarantined whole, and the same
    /// bytes dropped again are decided afresh, not taken for a duplicate of it.
    public static let fileChanged = ReasonCode(rawValue: "FILE_CHANGED")
    public static let noMapping = ReasonCode(rawValue: "NO_MAPPING")
    public static let invalidField = ReasonCode(rawValue: "INVALID_FIELD")
    public static let unknownAsset = ReasonCode(rawValue: "UNKNOWN_ASSET")
    public static let unknownPart = ReasonCode(rawValue: "UNKNOWN_PART")
    public static let unknownTechnician = ReasonCode(rawValue: "UNKNOWN_TECHNICIAN")
    public static let divergentDuplicate = ReasonCode(rawValue: "DIVERGENT_DUPLICATE")
    public static let staleUpdate = ReasonCode(rawValue: "STALE_UPDATE")
    public static let enriched = ReasonCode(rawValue: "ENRICHED")
    public static let fieldOwnedByDPP = ReasonCode(rawValue: "FIELD_OWNED_BY_DPP")
    /// A registry asset with the part and serial number of another asset that is not scrapped (not a
    /// DESIGN.md code): applied by default, so the registry stays the registry's, and flagged, because
    /// a work order naming that part by its serial may then not tell which one it used.
    public static let sharedSerial = ReasonCode(rawValue: "SHARED_SERIAL")
    public static let partInstalledElsewhere = ReasonCode(rawValue: "PART_INSTALLED_ELSEWHERE")
    public static let partNotCertified = ReasonCode(rawValue: "PART_NOT_CERTIFIED")
    public static let certExpired = ReasonCode(rawValue: "CERT_EXPIRED")
    public static let certInsufficient = ReasonCode(rawValue: "CERT_INSUFFICIENT")
    public static let testFailed = ReasonCode(rawValue: "TEST_FAILED")
    public static let noCertifyingStaff = ReasonCode(rawValue: "NO_CERTIFYING_STAFF")
    public static let filtered = ReasonCode(rawValue: "FILTERED")
    /// A record identical to one already stored (not a DESIGN.md code of its
    /// own: the outcome `duplicate` with this reason).
    public static let duplicateRecord = ReasonCode(rawValue: "DUPLICATE")

    /// Default outcome per code, changeable in `dppsync.yaml` under `policies:`.
    public static let defaultOutcomes: [ReasonCode: Outcome] = [
        .duplicateFile: .duplicate, .notParseable: .rejected, .fileChanged: .rejected, .noMapping: .held,
        .invalidField: .rejected, .unknownAsset: .held, .unknownPart: .held, .unknownTechnician: .held,
        .divergentDuplicate: .held, .staleUpdate: .superseded, .enriched: .applied,
        .fieldOwnedByDPP: .applied, .sharedSerial: .applied, .partInstalledElsewhere: .held, .partNotCertified: .held,
        .certExpired: .held, .certInsufficient: .held, .testFailed: .applied, .noCertifyingStaff: .applied,
        .filtered: .skipped, .duplicateRecord: .duplicate,
    ]

    /// Codes whose outcome an operator may change by policy, and to what.
    public static let configurable: [ReasonCode: [Outcome]] = [
        .unknownAsset: [.held, .rejected], .unknownPart: [.held, .rejected], .unknownTechnician: [.held, .rejected],
        .divergentDuplicate: [.held, .rejected], .partInstalledElsewhere: [.held, .rejected],
        .partNotCertified: [.held, .rejected], .certExpired: [.held, .rejected], .certInsufficient: [.held, .rejected],
        .sharedSerial: [.applied, .held],
    ]

    public var description: String { rawValue }

    public static func ~= (pattern: ReasonCode, value: ReasonCode) -> Bool { pattern == value }
}
