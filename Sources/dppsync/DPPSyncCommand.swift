import ArgumentParser
import DPPSync
import Foundation

/// `dppsync`: synchronises a legacy CMMS's export files with the DPP registry.
@main
struct DPPSyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dppsync",
        abstract: "Synchronise CMMS export files with the Digital Product Passport registry.",
        discussion: """
            dppsync works on one root folder (default: the current directory): it takes \
            finished files from Inbox/<source>/, maps them through Mappings/*.mapping.yaml, \
            reconciles them against the DPP store in State/, and moves them to Archive/ or \
            Quarantine/. Exit codes: 0 success, 1 something needs attention (new rejected or \
            held records, verification failed), 2 usage or configuration error (a folder that is \
            not a dppsync root included), or the root is locked by another run, 3 the command \
            failed (a full disk, an I/O error).

            Example (nightly cron job):
              dppsync run --root /srv/dppsync --once
            """,
        version: "0.1.0",
        subcommands: [InitCommand.self, RunCommand.self, StatusCommand.self, MappingCommand.self, ReportCommand.self, LedgerCommand.self, ReviewCommand.self, ReprocessCommand.self, TechnicianCommand.self]
    )

    /// Parses, runs, and maps errors to the documented exit codes (usage → 2).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            let message = fullMessage(for: error)
            if !message.isEmpty { FileHandle.standardError.write(Data((message + "\n").utf8)) }
            Foundation.exit(exitStatus(for: error, parserCode: code))
        }
    }
}

extension DPPSyncCommand {
    /// Usage and configuration problems exit 2 (ArgumentParser's own would be 64),
    /// an explicit `ExitCode` keeps its value, a ledger that does not check exits 1, anything else that failed exits 3: a cron job
    /// tells a failed night (a full disk) from one that left records for someone (1).
    static func exitStatus(for error: any Error, parserCode: ExitCode) -> Int32 {
        if error is UsageError { return DPPExit.usage.rawValue }
        if let explicit = error as? ExitCode { return explicit.rawValue }
        // A ledger that does not check is evidence, as `ledger verify` reports it (1): 2 would file it as a typo.
        if error is LedgerIntegrityError { return DPPExit.attention.rawValue }
        return parserCode == .validationFailure ? DPPExit.usage.rawValue : DPPExit.failed.rawValue
    }
}

/// The documented exit codes (DESIGN.md §7).
enum DPPExit {
    /// Something needs attention: new rejected or held records, verification failed.
    static let attention = ExitCode(1)
    /// Usage or configuration error, or the root is locked by another run.
    static let usage = ExitCode(2)
    /// The command failed (a full disk, an I/O error, a store it cannot use): nothing it had not
    /// finished was applied.
    static let failed = ExitCode(3)
}

/// A problem the user must fix before the command can run (exit 2).
struct UsageError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
