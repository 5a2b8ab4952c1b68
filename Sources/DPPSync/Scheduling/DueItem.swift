/// The next due point of one programme task on one installed component.
public struct DueItem: Sendable, Hashable {
    public var dppId: String
    public var taskId: String
    public var maintenanceType: String?
    public var estimatedDuration: String?
    /// The last accomplishment: latest completion of the task, else the installation day.
    public var accomplished: CivilDate
    public var accomplishedBy: String
    public var dueDate: CivilDate
    /// Which limit decided the date (`calendar`, `flightHours`, `cycles`) and whether it was projected.
    public var basis: Basis
    public var flightHoursSince: Double
    public var cyclesSince: Int
    public var toleranceDays: Int
    public var overdue: Bool
    public var priority: String
    /// Requirements of the work, from the programme task.
    public var requiredCategory: String?
    public var requiredAuthorisation: String?
    public var releaseCertificate: String?

    public struct Basis: Sendable, Hashable {
        public var limit: String
        public var projected: Bool
        public var detail: String
    }
}

/// The priority bands (`dppsync.yaml` `scheduling:`): overdue → High, due within
/// `mediumWithinDays` → Medium, later → Low.
public struct SchedulingPolicy: Sendable, Hashable {
    public var horizonDays = 30
    public var mediumWithinDays = 14
    /// How many reported days before the last report the projection averages over.
    public var projectionWindowDays = 30
    /// A predictive alert is High when its predicted failure is at most this many hours after the start of the day.
    public var alertHighWithinHours = 72
    /// Hours of work planned for a predictive alert whose recommended task gives no estimated duration.
    public var defaultWorkHours = 4.0
    public init() {}

    public func priority(due: CivilDate, overdue: Bool, asOf: CivilDate) -> String {
        if overdue { return "High" }
        return due.daysSinceEpoch - asOf.daysSinceEpoch <= mediumWithinDays ? "Medium" : "Low"
    }

    /// A CAOS prediction's risk as a priority: its failure passed or within `alertHighWithinHours` → High,
    /// within `mediumWithinDays` → Medium, later → Low, no failure horizon → Medium. A prediction CAOS
    /// is less than even about (confidence below 0.5) is one band lower, unless its time has passed.
    public func alertPriority(hoursLeft: Double?, confidence: Double?) -> String {
        let bands = ["Low", "Medium", "High"]
        var band: Int
        switch hoursLeft {
        case let hours? where hours <= 0: return "High"
        case let hours? where hours <= Double(alertHighWithinHours): band = 2
        case let hours? where hours <= Double(mediumWithinDays) * 24: band = 1
        case nil: band = 1
        default: band = 0
        }
        if let confidence, confidence < 0.5 { band = max(0, band - 1) }
        return bands[band]
    }
}
