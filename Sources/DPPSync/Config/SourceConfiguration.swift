/// One inbox folder and how its files are judged finished.
public struct SourceConfiguration: Sendable, Hashable {
    /// Folder name under `Inbox/`, also the source name in reports.
    public var name: String
    /// Seconds a file's size and mtime must stay unchanged, as dppsync observes them.
    public var stabilityWindow: Double
    /// When set, a file is taken only once `<file name>.done` exists.
    public var markers: Bool
    /// Expected arrival interval in seconds; `status` flags the source as late past it.
    public var expectEvery: Double?

    public init(name: String, stabilityWindow: Double = 5, markers: Bool = false, expectEvery: Double? = nil) {
        self.name = name; self.stabilityWindow = stabilityWindow; self.markers = markers; self.expectEvery = expectEvery
    }

    /// The default sources in processing order: what a record refers to is
    /// known before the record (DESIGN.md §2).
    public static let defaultOrder = ["registry", "programme", "certifications", "utilisation", "workorders", "caos", "ground-windows"]
}
