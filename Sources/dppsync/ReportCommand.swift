import ArgumentParser
import Foundation
import DPPSync

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write and print reports for auditors.",
        subcommands: [Reconciliation.self, Compliance.self, Predictive.self]
    )

    struct Reconciliation: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Regenerate a batch's reconciliation report from the store (default: the latest batch).",
            discussion: """
                Writes Reports/reconciliation/batch-<id>.html, .json and .csv and prints the chosen format. \
                The HTML is one self-contained page for people (counts, files, every record not simply \
                applied, capped with a pointer to the CSV); the CSV opens in a spreadsheet; the JSON \
                follows the schema "dppsync.reconciliation/1" described in the README.

                Example:
                  dppsync report reconciliation --batch 3 --format csv > batch-3.csv
                """
        )

        @OptionGroup var options: RootOptions
        @Option(help: "Batch id (default: the latest).") var batch: Int64?
        @Option(help: "Format printed on standard output: html, json or csv.") var format: String = "json"

        func run() throws {
            // (A ValidationError thrown from run() had printed the top command's usage.)
            guard let chosen = ReconciliationReport.Format(rawValue: format) else { throw UsageError(message: "--format must be html, json or csv") }
            let store = try options.openStore()
            let report = ReconciliationReport(store: store, layout: options.layout)
            guard let id = try batch ?? report.latestBatch() else { throw UsageError(message: "no batch yet: run `dppsync run --once` first") }
            guard try store.read({ db in try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM batch WHERE id = ?)", arguments: [id]) }) == true else {
                throw UsageError(message: "no batch \(id) (the latest is \(try report.latestBatch().map(String.init) ?? "none"))")
            }
            try report.write(batchId: id)
            try report.render(batchId: id, format: chosen) { print($0, terminator: "") }
        }
    }

    struct Compliance: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the compliance report of a period for auditors (default: the 30 days to today).",
            discussion: """
                Writes Reports/compliance/compliance-<from>-to-<to>.html, .json and .csv and prints the chosen \
                format: every release to service of the period (by completion day) and whether it was \
                certified (technician, certificate, ledger entry), every record held or rejected for a \
                compliance reason (by the day it was decided) and what review made of it, the maintenance \
                overdue on the last day and the component certificates expired by then. The JSON follows \
                the schema "dppsync.compliance/1" described in the README.

                Example:
                  dppsync report compliance --from 2025-11-01 --to 2025-11-30 --format csv > november.csv
                """
        )

        @OptionGroup var options: RootOptions
        @Option(help: "First day of the period (yyyy-MM-dd; default: 29 days before --to).") var from: String?
        @Option(help: "Last day of the period (yyyy-MM-dd; default: today in the configured time zone).") var to: String?
        @Option(help: "Format printed on standard output: html, json or csv.") var format: String = "json"

        func run() throws {
            try ReportCommand.checkFormat(format)
            let configuration = try options.loadConfiguration()
            let last = try ReportCommand.day(to, option: "--to") ?? configuration.timeZone.civilDate(of: .now())
            let first = try ReportCommand.day(from, option: "--from") ?? last.adding(days: -29)
            guard first <= last else { throw UsageError(message: "--from \(first) is after --to \(last)") }
            let store = try options.openStore()
            let report = ComplianceReport(store: store, layout: options.layout, policy: configuration.scheduling, timeZone: configuration.timeZone)
            try ReportCommand.printFile(try report.write(from: first, to: last) + "." + format)
        }
    }

    struct Predictive: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write what became of every CAOS prediction as of a day (default: today).",
            discussion: """
                Writes Reports/predictive/predictive-<day>.html, .json and .csv and prints the chosen format: \
                each stored prediction, open (priority, predicted failure, ground window, the alert the CMMS \
                holds), answered (by the work order named), or why it has no alert (unknown component, off its \
                aircraft, detected after the day). The JSON follows the schema "dppsync.predictive/1".

                Example:
                  dppsync report predictive --as-of 2025-11-12 --format csv > predictions.csv
                """
        )

        @OptionGroup var options: RootOptions
        @Option(help: "The day (yyyy-MM-dd; default: today in the configured time zone).") var asOf: String?
        @Option(help: "Format printed on standard output: html, json or csv.") var format: String = "json"

        func run() throws {
            try ReportCommand.checkFormat(format)
            let configuration = try options.loadConfiguration()
            let day = try ReportCommand.day(asOf, option: "--as-of") ?? configuration.timeZone.civilDate(of: .now())
            let store = try options.openStore()
            let base = try PredictiveReport(store: store, layout: options.layout, policy: configuration.scheduling, timeZone: configuration.timeZone)
                .write(asOf: day)
            try ReportCommand.printFile(base + "." + format)
        }
    }

    /// A report's output format, as its files are named.
    static func checkFormat(_ format: String) throws {
        guard ["html", "json", "csv"].contains(format) else { throw UsageError(message: "--format must be html, json or csv") }
    }

    /// The day an option names (`nil` when it is not given); anything but a day is a usage error.
    static func day(_ text: String?, option: String) throws -> CivilDate? {
        guard let text else { return nil }
        guard let day = CivilDate(iso: text) else { throw UsageError(message: "\(option) must be a date such as 2025-11-30, not '\(text)'") }
        return day
    }

    /// Copies a report file to standard output a piece at a time: a month's compliance report runs to
    /// hundreds of megabytes, which a string of the whole would hold twice.
    static func printFile(_ path: String) throws {
        guard let input = FileHandle(forReadingAtPath: path) else { throw UsageError(message: "cannot read \(path)") }
        defer { try? input.close() }
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
            FileHandle.standardOutput.write(chunk)
        }
    }
}
