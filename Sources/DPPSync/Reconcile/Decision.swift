/// What reconciliation decided for one record, and why.
public struct Decision: Sendable {
    public var outcome: Outcome
    public var reason: ReasonCode?
    /// Words an auditor can read: what was compared and what was found.
    public var message: String
    /// The state changes to write when the outcome applies them.
    public var changes: [StateChange]
    /// Personal details to store beside (never in) the ledger: labour code → name, licence.
    public var personal: [(laborCode: String, name: String?, licence: String?)] = []

    public init(outcome: Outcome, reason: ReasonCode?, message: String, changes: [StateChange] = []) {
        self.outcome = outcome; self.reason = reason; self.message = message; self.changes = changes
    }
}
