/// The folders of one dppsync root (DESIGN.md §2). Every path dppsync builds
/// comes from here, so no path is built from data elsewhere.
public struct RootLayout: Sendable, Hashable {
    public let root: String

    public init(root: String) {
        var root = root
        while root.count > 1, root.hasSuffix("/") { root.removeLast() }
        self.root = root.isEmpty ? "." : root
    }

    /// Where a file dppsync stored is now. `input_file.stored_path` was written under the root as the run
    /// named it (relative to where it ran, or a cron job's absolute path): its `Archive/…` or `Quarantine/…`
    /// part under this root when something is there (a root moved, or named another way; the stored path
    /// may name another root's copy), else the path as stored.
    public func storedFile(_ path: String) -> String {
        let last = ["/Archive/", "/Quarantine/"].compactMap { ("/" + path).range(of: $0, options: .backwards) }.max { $0.lowerBound < $1.lowerBound }
        if let last {
            let here = root + ("/" + path)[last.lowerBound...]
            if FileSystem.entryExists(here) { return here }
        }
        return path
    }

    public var configFile: String { root + "/dppsync.yaml" }
    public var inbox: String { root + "/Inbox" }
    public var outbox: String { root + "/Outbox" }
    public var mappings: String { root + "/Mappings" }
    public var archive: String { root + "/Archive" }
    public var quarantine: String { root + "/Quarantine" }
    public var reports: String { root + "/Reports" }
    public var state: String { root + "/State" }
    public var storeFile: String { state + "/dppsync.sqlite" }
    /// The sources whose part of the last pass failed, with why and when (`status` shows them).
    public var sourceFailures: String { state + "/source-failures.json" }
    public var lockFile: String { state + "/run.lock" }
    /// Held shared while the outbox is emitted, exclusively while a technician's personal data is
    /// erased: no release certificate is written with a licence number read before the erasure.
    public var emissionLock: String { state + "/emission.lock" }

    public func inbox(_ source: String) -> String { inbox + "/" + source }
    public func processing(_ source: String) -> String { inbox(source) + "/.processing" }
    public func archive(_ source: String, day: CivilDate) -> String { archive + "/" + source + "/" + day.description }
    public func quarantine(_ source: String) -> String { quarantine + "/" + source }
    public var reconciliationReports: String { reports + "/reconciliation" }
    public var complianceReports: String { reports + "/compliance" }
    public var predictiveReports: String { reports + "/predictive" }
}
