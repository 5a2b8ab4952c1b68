import ArgumentParser
import DPPSync
import Foundation

struct ReprocessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reprocess",
        abstract: "Run archived or quarantined input again on purpose (after a mapping fix).",
        discussion: """
            The fingerprint would otherwise make a re-dropped file a no-op. What the run changes is \
            reported and ledgered like any batch; records applied before are duplicates now. The \
            archived copy stays where it is. Takes the run lock (exit 2 while a run is active).

            Examples:
              dppsync reprocess Quarantine/workorders/maximo-2025-11-05.xml
              dppsync reprocess --batch 12
            """
    )

    @OptionGroup var options: RootOptions
    @Argument(help: "Archived or quarantined files.") var files: [String] = []
    @Option(help: "Reprocess every file of this batch.") var batch: Int64?

    /// A relative path is taken under the root when it exists there, else under the current folder.
    func resolve(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        let underRoot = options.layout.root + "/" + path
        return FileSystem.exists(underRoot) ? underRoot : FileManager.default.currentDirectoryPath + "/" + path
    }

    func validate() throws {
        if files.isEmpty == (batch == nil) { throw ValidationError("give FILE… or --batch ID") }
    }

    func run() throws {
        let configuration = try options.loadConfiguration()
        let synchronizer = try options.openSynchronizer(configuration: configuration)
        synchronizer.crashPoints = CrashPoints(environment: ProcessInfo.processInfo.environment)
        synchronizer.observer = TerminalObserver(logger: options.makeLogger(label: "dppsync.reprocess"), showProgress: isatty(STDERR_FILENO) == 1)
        let paths = try batch.map { try synchronizer.storedFiles(ofBatch: $0) } ?? files.map(resolve)
        if paths.isEmpty { throw UsageError(message: "batch \(batch ?? 0) has no stored files to reprocess") }
        let summary: PassSummary
        do {
            summary = try synchronizer.reprocess(paths: paths)
        } catch let error as Synchronizer.ReprocessError {
            throw UsageError(message: error.message)
        }
        print(RunSummaryText(passes: [summary], layout: options.layout).text)
        if summary.needsAttention { throw DPPExit.attention }
    }
}
