import ArgumentParser
import DPPSync
import Foundation

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a root: folders, a commented dppsync.yaml and the default mappings.",
        discussion: """
            Safe to run twice: an existing file (an edited config or mapping) is never overwritten.

            Example:
              dppsync init --root /srv/dppsync
            """
    )

    @OptionGroup var options: RootOptions

    func run() throws {
        let existing = FileSystem.exists(options.layout.configFile) ? try options.loadConfiguration() : nil
        let report: RootInitializer.Report
        do {
            report = try RootInitializer(layout: options.layout).run(configuration: existing)
        } catch let error as FileSystemError {
            // A file where the root needs a folder (`Inbox`, `State` …) is the folder's problem, not a failure (exit 2).
            var path = error.path
            while !path.isEmpty, path != "/", !FileSystem.entryExists(path) { path = (path as NSString).deletingLastPathComponent }
            guard FileSystem.entryExists(path), !FileSystem.isDirectory(path) else { throw error }
            throw UsageError(message: "\(path) is in the way: dppsync init needs a folder there")
        }
        for path in report.created { print("created  \(path)") }
        for path in report.kept { print("kept     \(path) (exists)") }
        if let existing, existing.ledgerVerifierKey == nil {
            let signer = try Ledger.loadKey(at: options.layout.state + "/ledger.key")
            print("note: dppsync.yaml pins no ledger verifier key; add under ledger:\n  verifierKey: \"\(signer.verifier)\"")
        }
        print("root ready: \(options.layout.root)")
    }
}
