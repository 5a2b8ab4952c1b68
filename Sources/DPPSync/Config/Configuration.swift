import Foundation

/// The settings in `dppsync.yaml`.
public struct Configuration: Sendable {
    /// Sources in processing order.
    public var sources: [SourceConfiguration]
    /// The operator's time zone: date-only values are whole days in it.
    public var timeZone: OperatorTimeZone
    /// Outcome per reason code (DESIGN.md §5 defaults, overridden by `policies:`).
    public var policies: [ReasonCode: Outcome]
    /// The ledger's origin line (C2SP checkpoint), also the signing key's name.
    public var ledgerOrigin: String
    /// The pinned verifier key (`<name>+<hex id>+<base64 key>`): `ledger verify`
    /// trusts checkpoints signed by this key only.
    public var ledgerVerifierKey: LedgerVerifierKey?
    /// Sources the DPP itself speaks through: only they may set DPP-owned fields
    /// (specifications, certification). Others get `FIELD_OWNED_BY_DPP`.
    public var dppSources: [String] = ["registry", "programme"]
    /// Horizon and priority bands of maintenance-due notifications.
    public var scheduling = SchedulingPolicy()

    public init(sources: [SourceConfiguration] = SourceConfiguration.defaultOrder.map { SourceConfiguration(name: $0) },
                timeZone: OperatorTimeZone = .utc,
                policies: [ReasonCode: Outcome] = ReasonCode.defaultOutcomes,
                ledgerOrigin: String = "dppsync.local/ampel360") {
        self.sources = sources; self.timeZone = timeZone; self.policies = policies; self.ledgerOrigin = ledgerOrigin
    }

    public func source(named name: String) -> SourceConfiguration? { sources.first { $0.name == name } }

    /// The outcome a reason code leads to under this configuration.
    public func outcome(for reason: ReasonCode) -> Outcome {
        policies[reason] ?? ReasonCode.defaultOutcomes[reason] ?? .rejected
    }
}

/// A time zone for turning instants into the operator's calendar days.
public struct OperatorTimeZone: Sendable, Hashable {
    public let identifier: String
    private let fixedOffsetMinutes: Int?

    public static let utc = OperatorTimeZone(identifier: "UTC", fixedOffsetMinutes: 0)

    private init(identifier: String, fixedOffsetMinutes: Int?) {
        self.identifier = identifier; self.fixedOffsetMinutes = fixedOffsetMinutes
    }

    /// `UTC`, a fixed offset such as `+01:00`, or an IANA name such as `Europe/Berlin`.
    public init?(_ text: String) {
        if text == "UTC" || text == "Z" { self = .utc; return }
        if let first = text.first, first == "+" || first == "-",
           let t = Timestamp(iso: "1970-01-01T00:00" + text) {
            self.init(identifier: text, fixedOffsetMinutes: Int(-t.millisecondsSinceEpoch / 60_000)); return
        }
        guard TimeZone(identifier: text) != nil else { return nil }
        self.init(identifier: text, fixedOffsetMinutes: nil)
    }

    /// Minutes ahead of UTC at `instant` (IANA zones follow daylight saving).
    public func offsetMinutes(at instant: Timestamp) -> Int {
        if let fixedOffsetMinutes { return fixedOffsetMinutes }
        guard let zone = TimeZone(identifier: identifier) else { return 0 }
        let date = Date(timeIntervalSince1970: Double(instant.millisecondsSinceEpoch) / 1000)
        return zone.secondsFromGMT(for: date) / 60
    }

    /// The operator's calendar day of `instant`.
    public func civilDate(of instant: Timestamp) -> CivilDate {
        instant.civilDate(offsetMinutes: offsetMinutes(at: instant))
    }

    /// The instant the operator's `day` begins (a date read as a date-time, the first moment of a day asked about).
    public func start(of day: CivilDate) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: (Int64(day.daysSinceEpoch) * 1440 - Int64(offsetForLocalTime(onDay: day))) * 60_000)
    }

    /// Offset to assume for a date-time written without one.
    public func offsetForLocalTime(onDay day: CivilDate) -> Int {
        offsetMinutes(at: Timestamp(millisecondsSinceEpoch: Int64(day.daysSinceEpoch) * 86_400_000 + 43_200_000))
    }
}
