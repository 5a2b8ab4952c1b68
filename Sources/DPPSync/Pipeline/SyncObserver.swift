/// What the pipeline tells whoever runs it: the CLI logs and shows progress.
/// Methods have empty defaults, so an observer implements only what it shows.
public protocol SyncObserver: Sendable {
    func fileStarted(_ file: InboxFile)
    /// Called every few thousand records (records are streamed, so no share of the file is known).
    func fileProgress(_ file: InboxFile, recordsDone: Int)
    func fileFinished(_ file: InboxFile, result: FileResult)
    /// A source's files wait because its mapping is broken or absent.
    func sourceHeld(_ source: String, reason: String)
    /// An outbox channel's pending messages wait because its outbound mapping is broken.
    func channelHeld(_ channel: String, reason: String)
}

extension SyncObserver {
    public func fileStarted(_ file: InboxFile) {}
    public func fileProgress(_ file: InboxFile, recordsDone: Int) {}
    public func fileFinished(_ file: InboxFile, result: FileResult) {}
    public func sourceHeld(_ source: String, reason: String) {}
    public func channelHeld(_ channel: String, reason: String) {}
}

/// An observer that shows nothing.
public struct SilentObserver: SyncObserver {
    public init() {}
}
