import ArgumentParser
import DPPSync
import Dispatch
import Foundation
import Logging

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Poll the inbox folders and synchronise what is ready.",
        discussion: """
            Takes finished files from Inbox/<source>/ (sources in dependency order), maps, \
            reconciles and commits each in one transaction, then archives or quarantines it \
            and writes the batch's report to Reports/reconciliation/. Without --once it polls \
            every --interval seconds until SIGINT/SIGTERM, which finish the current file first.
            Exit 1 when this run produced new rejected or held records; 2 when another run holds the root; \
            3 when the run failed (a full disk, an I/O error: what it had not finished is taken again by the \
            next run). A watcher logs a failed pass and tries again after a pause.

            Examples:
              dppsync run --once                       # nightly cron job
              dppsync run --once --stability-window 0  # files known to be complete
              dppsync run --interval 60                # keep watching
            """
    )

    @OptionGroup var options: RootOptions

    @Flag(help: "One pass (plus one re-observation of files first seen), then exit.")
    var once = false

    @Option(help: "Seconds between passes when watching.")
    var interval: Double = 30

    @Option(help: "Override every source's stability window (seconds; 0 takes files at once).")
    var stabilityWindow: Double?

    @Option(help: "Compute due dates as of this day (yyyy-MM-dd) instead of today: for tests and reruns.")
    var asOf: String?

    @Flag(help: "Print per-stage timings (read, decode, map, reconcile, commit, emit, report) as JSON on standard error.")
    var timings = false

    @Flag(help: "Print the run summary as JSON on standard output.")
    var json = false

    func validate() throws {
        guard interval > 0 else { throw ValidationError("--interval must be positive") }
        if let w = stabilityWindow, w < 0 { throw ValidationError("--stability-window cannot be negative") }
        if let asOf, CivilDate(iso: asOf) == nil { throw ValidationError("--as-of must be a date such as 2026-01-10") }
    }

    func run() throws {
        let logger = options.makeLogger(label: "dppsync.run")
        let configuration = try options.loadConfiguration()
        let synchronizer = try options.openSynchronizer(configuration: configuration)
        synchronizer.stabilityWindow = stabilityWindow
        synchronizer.asOf = asOf.flatMap { CivilDate(iso: $0) }
        let stageTimings = timings ? StageTimings() : nil
        synchronizer.timings = stageTimings
        synchronizer.crashPoints = CrashPoints(environment: ProcessInfo.processInfo.environment)
        synchronizer.observer = TerminalObserver(logger: logger, showProgress: isatty(STDERR_FILENO) == 1)
        let signals = installStopHandlers(synchronizer.stop, logger: logger)
        defer { signals.forEach { $0.cancel() } }

        var passes: [PassSummary] = []
        if once {
            passes = try synchronizer.runOnce()
        } else {
            logger.info("watching \(options.layout.inbox) every \(interval) s; SIGINT or SIGTERM to stop")
            // Each pass says what needs attention as it ends; a watcher stopped by SIGINT or SIGTERM
            // exits 0 (README), and keeps no pass's results (memory would grow with its uptime).
            // A full disk or an I/O error ends the pass (or a source's part of it), not the watcher: what it had
            // not finished is taken again once the pause is over, the pause doubling while passes keep failing.
            var failures = 0
            func pauseAfterFailure(_ what: String) {
                failures += 1
                let pause = min(interval * Double(1 << min(failures - 1, 10)), max(interval, Self.longestPause))
                logger.error("\(what.terminalSafe); files not finished are taken again in \(Int(pause.rounded(.up))) s")
                synchronizer.stop.sleep(seconds: pause)
            }
            while !synchronizer.stop.isRequested {
                do {
                    let summary = try synchronizer.pass()
                    if summary.batchId != nil { print(RunSummaryText(passes: [summary], layout: options.layout).text) }
                    if summary.failedSources.isEmpty {
                        failures = 0
                        synchronizer.stop.sleep(seconds: interval)
                    } else {
                        pauseAfterFailure("the pass failed for source(s) " + summary.failedSources.keys.sorted().joined(separator: ", "))
                    }
                } catch {
                    pauseAfterFailure("the pass failed: \(error)")
                }
            }
            logger.info("stopped on request")
        }
        let summary = RunSummaryText(passes: once ? passes : [], layout: options.layout)
        if json { print(summary.json.jsonText(pretty: true)) } else if once { print(summary.text) }
        if let stageTimings { FileHandle.standardError.write(Data(("timings " + stageTimings.jsonValue.jsonText() + "\n").utf8)) }
        if passes.contains(where: { !$0.failedSources.isEmpty }) { throw DPPExit.failed }
        if passes.contains(where: \.needsAttention) { throw DPPExit.attention }
    }

    /// The longest pause of a watcher whose passes keep failing (unless `--interval` is longer).
    static let longestPause: Double = 900

    /// SIGINT/SIGTERM request a stop; the current file finishes and commits first.
    private func installStopHandlers(_ stop: StopSignal, logger: Logger) -> [any DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                logger.notice("stop requested (signal \(number)); finishing the current file")
                stop.request()
            }
            source.resume()
            return source
        }
    }
}

/// Logs each file; on a terminal, shows progress for large files.
struct TerminalObserver: SyncObserver {
    let logger: Logger
    let showProgress: Bool
    static let progressThreshold: Int64 = 4 << 20

    func fileStarted(_ file: InboxFile) {
        logger.info("processing \(file.source)/\(file.name)", metadata: ["bytes": "\(file.size)"])
    }

    func fileProgress(_ file: InboxFile, recordsDone: Int) {
        guard showProgress, file.size >= Self.progressThreshold else { return }
        FileHandle.standardError.write(Data("\r  \(file.name.terminalSafe): \(recordsDone) records\u{1B}[K".utf8))
    }

    func fileFinished(_ file: InboxFile, result: FileResult) {
        if showProgress, file.size >= Self.progressThreshold { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        let level: Logger.Level = result.needsAttention ? .warning : .info
        logger.log(level: level, "\(result.source)/\(result.name): \(result.disposition.rawValue)\(result.reason.map { " \($0)" } ?? ""): \(result.message)")
    }

    func sourceHeld(_ source: String, reason: String) {
        logger.warning("source \(source) held: \(reason)")
    }

    func channelHeld(_ channel: String, reason: String) {
        logger.warning("outbox channel \(channel) held: \(reason)")
    }
}

/// The outcome summary `run` prints: what happened and where the files went.
struct RunSummaryText {
    let passes: [PassSummary]
    let layout: RootLayout

    var text: String {
        var lines: [String] = []
        let files = passes.flatMap(\.files)
        if files.isEmpty, failedSources.isEmpty {
            lines.append("nothing to do: no finished file in \(layout.inbox)/")
        }
        for pass in passes {
            guard let batch = pass.batchId else { continue }
            lines.append("batch \(batch): \(pass.files.count) file(s)")
            for file in pass.files {
                let counts = Outcome.summary(of: file.counts)
                let what = file.reason.map { "\($0): \(file.message)" } ?? (counts.isEmpty ? file.message : counts)
                lines.append("  \(file.source)/\(file.name) → \(relative(file.destination))  [\(what)]")
            }
            lines.append("  report: \(relative(layout.reconciliationReports))/batch-\(batch).html (.json, .csv)")
        }
        var totals: [Outcome: Int] = [:]
        for pass in passes { for (k, v) in pass.counts { totals[k, default: 0] += v } }
        let duplicates = files.filter { $0.reason == .duplicateFile }.count
        let quarantined = files.filter { $0.disposition == .quarantined }.count
        if !files.isEmpty {
            lines.append("records: " + Outcome.all.map { "\(totals[$0] ?? 0) \($0)" }.joined(separator: ", "))
            lines.append("files: \(files.count - quarantined) archived (\(duplicates) duplicate), \(quarantined) quarantined")
        }
        for (source, reason) in passes.last?.heldSources.sorted(by: { $0.key < $1.key }) ?? [] {
            lines.append("held: \(source): \(reason)")
        }
        for (channel, reason) in passes.last?.heldChannels.sorted(by: { $0.key < $1.key }) ?? [] {
            lines.append("held: outbox \(channel): \(reason)")
        }
        for (source, reason) in failedSources.sorted(by: { $0.key < $1.key }) {
            lines.append("failed: \(source): \(reason)")
        }
        if let settling = passes.last?.settling, settling > 0 {
            lines.append("waiting: \(settling) file(s) still settling or awaiting a .done marker")
        }
        return lines.map(\.terminalSafe).joined(separator: "\n")
    }

    /// The sources whose part of a pass failed, with the latest reason.
    private var failedSources: [String: String] {
        passes.reduce(into: [:]) { all, pass in all.merge(pass.failedSources) { $1 } }
    }

    var json: JSONValue {
        .object([
            ("batches", .array(passes.compactMap { pass in pass.batchId.map { id in .object([
                ("id", .number(String(id))),
                ("files", .array(pass.files.map { f in .object([
                    ("source", .string(f.source)), ("file", .string(f.name)), ("fingerprint", .string(f.fingerprint)),
                    ("disposition", .string(f.disposition.rawValue)), ("reason", f.reason.map { .string($0.rawValue) } ?? .null),
                    ("message", .string(f.message)), ("destination", .string(relative(f.destination))),
                    ("counts", .object(Outcome.all.map { ($0.rawValue, .number(String(f.counts[$0] ?? 0))) })),
                ]) })),
            ]) } })),
            ("heldSources", .object((passes.last?.heldSources ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            ("heldChannels", .object((passes.last?.heldChannels ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
            ("failedSources", .object(failedSources.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
        ])
    }

    private func relative(_ path: String) -> String {
        let prefix = layout.root + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }
}
