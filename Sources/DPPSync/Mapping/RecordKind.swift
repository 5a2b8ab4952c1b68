/// A kind of DPP record a mapping can produce, with the fields it knows.
public struct RecordKind: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// A serialised component's passport entry, from the DPP registry.
    public static let asset = RecordKind(rawValue: "asset")
    /// A completed CMMS work order: findings, parts used, return to service.
    public static let workOrderCompletion = RecordKind(rawValue: "workOrderCompletion")

    /// A technician's licence and authorisations (personal details kept apart from the ledger).
    public static let technicianCertification = RecordKind(rawValue: "technicianCertification")
    /// A task of the maintenance programme: intervals, tolerance, requirements.
    public static let maintenanceTask = RecordKind(rawValue: "maintenanceTask")
    /// Flight hours and cycles of one aircraft on one day.
    public static let utilisation = RecordKind(rawValue: "utilisation")
    /// A CAOS anomaly / health prediction for a component.
    public static let caosPrediction = RecordKind(rawValue: "caosPrediction")
    /// A planned period when an aircraft is available for maintenance.
    public static let groundWindow = RecordKind(rawValue: "groundWindow")

    public static let all: [RecordKind] = [.asset, .workOrderCompletion, .technicianCertification, .maintenanceTask,
                                           .utilisation, .caosPrediction, .groundWindow]

    public var description: String { rawValue }

    /// The fields this kind accepts, with their type and whether a mapping must set them.
    public var fields: [FieldSpec] {
        switch self {
        case .asset:
            return [
                FieldSpec("dppId", .string, required: true), FieldSpec("cmmsAssetNum", .string),
                FieldSpec("partNumber", .string), FieldSpec("serialNumber", .string),
                FieldSpec("description", .string), FieldSpec("manufacturer", .string),
                FieldSpec("installedOn", .string), FieldSpec("parentDppId", .string), FieldSpec("position", .string),
                FieldSpec("installedAt", .date), FieldSpec("status", .string), FieldSpec("criticality", .string),
                FieldSpec("certification", .object), FieldSpec("specifications", .object),
            ]
        case .workOrderCompletion:
            return [
                FieldSpec("workOrderId", .string, required: true), FieldSpec("siteId", .string),
                FieldSpec("dppId", .string), FieldSpec("assetNum", .string),
                FieldSpec("completionDate", .date, required: true), FieldSpec("status", .string),
                FieldSpec("statusDate", .dateTime), FieldSpec("taskId", .string),
                FieldSpec("findings", .string), FieldSpec("returnToService", .boolean),
                // Lists of strings (dppIds) or objects: {dppId | partNumber + serialNumber, quantity, issueType}.
                FieldSpec("partsUsed", .list),
                // Objects: {laborCode, hours, craft, startDate}.
                FieldSpec("labor", .list),
                // Objects: {name, value, unit, lowerLimit, upperLimit, result}.
                FieldSpec("tests", .list),
            ]
        case .technicianCertification:
            return [
                FieldSpec("laborCode", .string, required: true), FieldSpec("name", .string), FieldSpec("licence", .string),
                FieldSpec("category", .string), FieldSpec("authorisations", .list),
                FieldSpec("validFrom", .date), FieldSpec("validUntil", .date),
            ]
        case .maintenanceTask:
            return [
                FieldSpec("taskId", .string, required: true), FieldSpec("partNumber", .string, required: true),
                FieldSpec("maintenanceType", .string), FieldSpec("intervalDays", .integer),
                FieldSpec("intervalFlightHours", .decimal), FieldSpec("intervalCycles", .integer),
                FieldSpec("toleranceDays", .integer), FieldSpec("estimatedDuration", .string),
                FieldSpec("requiredCategory", .string), FieldSpec("requiredAuthorisation", .string),
                FieldSpec("releaseCertificate", .string),
            ]
        case .utilisation:
            return [
                FieldSpec("aircraft", .string, required: true), FieldSpec("date", .date, required: true),
                FieldSpec("flightHours", .decimal, required: true), FieldSpec("cycles", .integer, required: true),
            ]
        case .caosPrediction:
            return [
                FieldSpec("predictionId", .string, required: true), FieldSpec("dppId", .string, required: true),
                FieldSpec("detectedAt", .dateTime), FieldSpec("anomaly", .string), FieldSpec("indicator", .string),
                FieldSpec("value", .decimal), FieldSpec("threshold", .decimal), FieldSpec("confidence", .decimal),
                FieldSpec("predictedFailureWithinHours", .decimal), FieldSpec("recommendedAction", .string),
                FieldSpec("recommendedTaskId", .string),
            ]
        case .groundWindow:
            return [
                FieldSpec("aircraft", .string, required: true), FieldSpec("station", .string),
                FieldSpec("start", .dateTime, required: true), FieldSpec("end", .dateTime, required: true),
            ]
        default:
            return []
        }
    }

    public func field(named name: String) -> FieldSpec? { fields.first { $0.name == name } }
}

/// One field of a record kind.
public struct FieldSpec: Sendable, Hashable {
    public var name: String
    public var type: FieldType
    public var required: Bool
    public init(_ name: String, _ type: FieldType, required: Bool = false) {
        self.name = name; self.type = type; self.required = required
    }
}

/// The value types a field rule converts to.
public enum FieldType: String, Sendable, Hashable, CaseIterable {
    case string, integer, decimal, boolean, date
    case dateTime = "date-time"
    case list, object
}
