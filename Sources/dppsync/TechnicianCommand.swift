import ArgumentParser
import DPPSync
import Foundation

/// `dppsync technician`: a technician's personal data, for a request to see or erase it.
struct TechnicianCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "technician",
        abstract: "Show or erase what dppsync holds of a technician's personal data (name, licence number).",
        discussion: """
            The ledger carries labour codes only: names and licence numbers live beside it, in a \
            table that can be erased without breaking the ledger, and in held certification records. \
            The files dppsync keeps (archived and quarantined exports, rejected records' extracts, \
            release certificates not yet taken from Outbox/) carry them as the CMMS wrote them: both \
            commands list them, for your retention policy; dppsync never rewrites the evidence.
            """,
        subcommands: [Show.self, Erase.self]
    )

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the personal data held for a labour code, and where (a subject access request).",
            discussion: """
                Example:
                  dppsync technician show JSMITH --json
                """
        )
        @OptionGroup var options: RootOptions
        @Argument(help: "The technician's labour code.") var laborCode: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let holdings = try PersonalData(store: try options.openStore(readOnly: true), layout: options.layout).holdings(of: laborCode)
            guard holdings.isKnown else { throw UsageError(message: "no technician with labour code \(laborCode) is known to this root") }
            if json { Swift.print(holdings.jsonValue.jsonText(pretty: true)); return }
            TechnicianCommand.print(holdings, root: options.layout.root)
        }
    }

    struct Erase: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Erase a technician's name and licence number from the store (the ledger keeps working).",
            discussion: """
                Deletes the stored details and removes them from held certification records, in one \
                transaction, and keeps a record of the erasure (labour code, when, who, why). \
                Release certificates emitted afterwards carry no licence number for this technician. \
                A later export that carries the details stores them again: have the CMMS stop sending them.

                Example:
                  dppsync technician erase JSMITH --by dpo --note "erasure request 2026-114"
                """
        )
        @OptionGroup var options: RootOptions
        @Argument(help: "The technician's labour code.") var laborCode: String
        @Option(help: "Who erases (kept with the erasure).") var by: String?
        @Option(help: "Why (kept with the erasure: a request's reference).") var note: String?
        @Option(help: "How long to wait, in seconds, for a running pass to let the store go.") var wait: Int = 900

        func validate() throws {
            if !(0...86_400).contains(wait) { throw ValidationError("--wait takes a number of seconds from 0 to 86400") }
        }

        func run() throws {
            let environment = ProcessInfo.processInfo.environment
            let who = by ?? environment["DPPSYNC_USER"] ?? environment["USER"] ?? "unknown"
            let personal = PersonalData(store: try options.openStore(busyTimeout: TimeInterval(wait)), layout: options.layout)
            let erasure: PersonalData.Erasure
            do {
                erasure = try personal.erase(laborCode, by: who, note: note, now: .now(), wait: Double(wait))
            } catch let unknown as PersonalData.UnknownTechnician {
                throw UsageError(message: unknown.description)
            } catch let busy as PersonalData.EmissionBusy {
                throw UsageError(message: busy.description)
            } catch where Store.isBusy(error) {
                throw UsageError(message: "another dppsync process (a run writing a file, most likely) kept the store busy for more than \(wait) s; nothing was erased (try again, or give a longer --wait)")
            }
            let code = erasure.before.laborCode
            var done = [erasure.erasedDetails ? "erased the name and licence number of \(code)" : "no name or licence number of \(code) was stored"]
            if erasure.redactedReviewItems > 0 { done.append("removed them from \(erasure.redactedReviewItems) held record(s) in the review queue") }
            if erasure.redactedRefusals > 0 {
                done.append("from \(erasure.redactedRefusals) refusal message(s), whose reconciliation reports are written again (\(erasure.rewrittenReports.map { $0 + ".{html,json,csv}" }.joined(separator: ", ")))")
            }
            Swift.print((done.joined(separator: "; ") + "; the erasure is recorded (by \(who))").terminalSafe)
            if let until = erasure.before.validUntil, until >= Timestamp.now().civilDate().description, erasure.erasedDetails {
                Swift.print("note: the certification is valid until \(until): release certificates emitted from now on carry no licence number for \(code)")
            }
            if !erasure.walCleared {
                Swift.print("note: another process reads the store: the erased bytes stay in State/dppsync.sqlite until the next checkpoint (the next run's)")
            }
            if !erasure.before.files.isEmpty {
                Swift.print("files that still carry the details, kept as evidence (delete or redact them under your retention policy; `technician show` lists them):")
                for file in erasure.before.files { Swift.print("  \(file)".terminalSafe) }
            }
            Swift.print("a later export that carries the details stores them again: have the CMMS stop sending them")
        }
    }

    static func print(_ holdings: PersonalDataHoldings, root: String) {
        Swift.print("technician \(holdings.laborCode)".terminalSafe)
        if holdings.hasStoredDetails {
            Swift.print("  stored: name \(holdings.name ?? "(none)"), licence number \(holdings.licence ?? "(none)")".terminalSafe)
        } else {
            Swift.print("  stored: no name or licence number")
        }
        if let until = holdings.validUntil { Swift.print("  certification valid until \(until)") }
        if !holdings.reviewItems.isEmpty {
            Swift.print("  held records carrying them: review item(s) " + holdings.reviewItems.map { "#\($0)" }.joined(separator: ", "))
        }
        Swift.print(holdings.files.isEmpty ? "  files: none carry them" : "  files that carry them:")
        for file in holdings.files { Swift.print("    \(file)".terminalSafe) }
        if holdings.refusalMessages > 0 { Swift.print("  refusal messages quoting them: \(holdings.refusalMessages)") }
        for erasure in holdings.erasures {
            Swift.print("  erased \(erasure.at) by \(erasure.by)\(erasure.note.map { ": \($0)" } ?? "")".terminalSafe)
            let left = erasure.files.filter { FileSystem.entryExists($0.hasPrefix("/") ? $0 : root + "/" + $0) }
            if !left.isEmpty { Swift.print("    files that carried them then, still there:") }
            for file in left { Swift.print("      \(file)".terminalSafe) }
        }
    }
}
