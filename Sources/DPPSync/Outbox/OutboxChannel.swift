/// What the DPP tells the CMMS, a channel per kind of message: each is a folder of `Outbox/`
/// unless an outbound mapping names another, and its messages carry their id in one member.
/// One list for the planner, the emitter and the outbound mappings' check.
public enum OutboxChannel: String, CaseIterable, Sendable {
    case maintenanceDue = "maintenance-due"
    case certificationRequirements = "certification-requirements"
    case componentStatus = "component-status"
    case assetSpecifications = "asset-specifications"
    case releaseCertificates = "release-certificates"
    case predictiveAlerts = "predictive-alerts"

    /// The member holding a message's stable id (and so its file's default name).
    public var idMember: String {
        switch self {
        case .maintenanceDue: "notificationId"
        case .certificationRequirements: "requirementId"
        case .componentStatus: "statusId"
        case .assetSpecifications: "specificationId"
        case .releaseCertificates: "certificateId"
        case .predictiveAlerts: "alertId"
        }
    }
}
