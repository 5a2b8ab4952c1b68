import Foundation

/// Text `dppsync init` writes; compiled in so an installed binary works away
/// from its build folder (DESIGN.md §6).
public enum ConfigTemplate {
    public static let text = #"""
    # dppsync configuration. Edit freely: `dppsync init` never overwrites this file.

    # The operator's time zone: date-only values (completion, due dates) are whole
    # days in it. UTC, a fixed offset such as +01:00, or an IANA name (Europe/Berlin).
    timeZone: UTC

    # Seconds a file's size and modification time must stay unchanged, as dppsync
    # observes them, before it is taken. Per source below; `run --stability-window S`
    # overrides it for one run (0: the operator knows the files are complete).
    stabilityWindow: 5

    # One folder per source under Inbox/, processed in this order so that what a
    # record refers to is known before the record.
    #   expectEvery: `dppsync status` flags the source when its newest file is older
    #                (a missing nightly export is the most common real failure).
    #   markers:     true to take a file only when `<file name>.done` exists.
    sources:
      registry:
        expectEvery: 7d
      programme: {}
      certifications: {}
      utilisation:
        expectEvery: 24h
      workorders:
        expectEvery: 24h
        stabilityWindow: 10
      caos: {}
      ground-windows: {}

    # Outcome per reason code where policy may choose (held or rejected;
    # SHARED_SERIAL: applied (and flagged) or held).
    policies:
      UNKNOWN_ASSET: held
      UNKNOWN_PART: held
      DIVERGENT_DUPLICATE: held
      SHARED_SERIAL: applied

    # Maintenance-due notifications: tasks due within `horizonDays` (overdue ones
    # always) are notified; priority: overdue → High, due within `mediumWithinDays`
    # → Medium, later → Low.
    # Predictive alerts (CAOS): High when the predicted failure is within
    # `alertHighWithinHours`, Medium within `mediumWithinDays`, else Low (a
    # confidence below 0.5 one band lower); work with no estimated duration in the
    # programme is planned at `defaultWorkHours`.
    scheduling:
      horizonDays: 30
      mediumWithinDays: 14
      alertHighWithinHours: 72
      defaultWorkHours: 4

    ledger:
      # The checkpoint origin line: name this log uniquely. It is also the key's name.
      origin: dppsync.local/ampel360
      # The verifier key `ledger verify` trusts (written by `init`; `dppsync ledger key`
      # prints it). Give it to whoever keeps copies of Outbox/ledger-checkpoints/.
      verifierKey: "{{VERIFIER_KEY}}"
    """# + "\n"

    /// The template with the verifier key filled in.
    public static func text(verifierKey: LedgerVerifierKey) -> String {
        text.replacingOccurrences(of: "{{VERIFIER_KEY}}", with: verifierKey.description)
    }
}
