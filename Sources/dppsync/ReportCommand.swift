import ArgumentParser
import DPPSync

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write and print reports for auditors.",
        subcommands: [Reconciliation.self]
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
            guard let chosen = ReconciliationReport.Format(rawValue: format) else { throw ValidationError("--format must be html, json or csv") }
            let store = try Store(path: options.layout.storeFile)
            let report = ReconciliationReport(store: store, layout: options.layout)
            guard let id = try batch ?? report.latestBatch() else { throw UsageError(message: "no batch yet: run `dppsync run --once` first") }
            try report.write(batchId: id)
            try report.render(batchId: id, format: chosen) { print($0, terminator: "") }
        }
    }
}
