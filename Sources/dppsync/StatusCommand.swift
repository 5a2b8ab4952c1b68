import ArgumentParser
import DPPSync
import Foundation

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show sources (late ones flagged), files waiting, the review queue, the outbox, how far the ledger is signed and the last batch.",
        discussion: """
            A source is LATE when its newest file arrived longer ago than its `expectEvery` \
            in dppsync.yaml (or never arrived): a missing nightly export is the most common failure.

            Example:
              dppsync status --json | jq '.sources[] | select(.late)'
            """
    )

    @OptionGroup var options: RootOptions

    @Flag(help: "Print JSON for scripts.")
    var json = false

    func run() throws {
        try options.requireRoot()  // a healthy-looking status of a mistyped --root had exited 0
        let configuration = try options.loadConfiguration()
        let layout = options.layout
        let store = FileSystem.exists(layout.storeFile) ? try Store(path: layout.storeFile) : nil
        let report = try StatusReport.gather(layout: layout, configuration: configuration, store: store, now: .now())
        if json { print(report.jsonValue.jsonText(pretty: true)); return }
        print("root: \(layout.root)")
        print("sources:")
        for s in report.sources {
            var line = "  \(s.name.padding(toLength: 15, withPad: " ", startingAt: 0)) waiting \(s.waiting)"
            if s.inProcessing > 0 { line += ", \(s.inProcessing) being processed" }
            line += ", last file " + (s.lastArrival?.description ?? "never")
            if s.late, let every = s.expectEveryText { line += "  LATE (expected every \(every))" }
            if let held = s.heldBecause { line += "  HELD: \(held)" }
            if let failed = s.failedBecause { line += "  FAILED in the last pass: \(failed)" }
            print(line.terminalSafe)
        }
        for u in report.unconfiguredSources {
            print(("  \(u.source.padding(toLength: 15, withPad: " ", startingAt: 0)) waiting \(u.waiting)  NOT READ: \(u.mappings.joined(separator: ", ")) "
                   + "names source '\(u.source)', which is not under sources: in dppsync.yaml").terminalSafe)
        }
        print("review queue: \(report.openReviewItems) open item(s)")
        let waiting = report.outbox.reduce(0) { $0 + $1.waiting }
        print("outbox: " + (waiting == 0 ? "every message sent" : "\(waiting) message(s) not sent yet"))
        for c in report.outbox {
            print(("  \(c.channel.padding(toLength: 27, withPad: " ", startingAt: 0)) waiting \(c.waiting)" + (c.heldBecause.map { "  HELD: \($0)" } ?? "")).terminalSafe)
        }
        if let ledger = report.ledger {
            var line = "ledger: \(ledger.entries) entries, " + (ledger.latest.map { "signed through \($0.checkpoint.treeSize) at \($0.signedAt)" } ?? "none signed yet")
            if ledger.unsigned > 0, ledger.latest != nil { line += " (\(ledger.unsigned) not signed yet)" }
            if let refusal = ledger.refusal { line += "  SIGNING REFUSED: \(refusal); no outbox file is written until it is settled" }
            print(line.terminalSafe)
        }
        if let batch = report.lastBatch {
            print("last batch: \(batch.id) \(batch.status), started \(batch.startedAt)\(batch.finishedAt.map { ", finished \($0)" } ?? "")")
            for c in report.lastBatchCounts { print("  \(c.outcome)\(c.reason.map { " \($0)" } ?? ""): \(c.count)") }
        } else {
            print("last batch: none yet")
        }
    }
}
