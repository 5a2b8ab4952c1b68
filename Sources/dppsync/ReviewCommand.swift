import ArgumentParser
import DPPSync
import Foundation

struct ReviewCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "The review queue: records that need a human or wait for a reference.",
        subcommands: [List.self, Show.self, Resolve.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List open review items (--all: resolved ones too).",
            discussion: """
                Example:
                  dppsync review list --reason CERT_EXPIRED --older-than 3 --json
                """
        )
        @OptionGroup var options: RootOptions
        @Flag(help: "Include resolved items.") var all = false
        @Option(help: "Only this reason code.") var reason: String?
        @Option(help: "Only records about this asset, by dppId or CMMS asset number (either finds records that name the other).") var asset: String?
        @Option(help: "Only items older than this many days.") var olderThan: Int?
        @Flag(help: "Print JSON: a list of items, each with its id.") var json = false

        func run() throws {
            let queue = ReviewQueue(store: try options.openStore(), configuration: try options.loadConfiguration(), layout: options.layout)
            let items = try queue.list(ReviewQueue.Filter(all: all, reason: reason, asset: asset, olderThanDays: olderThan))
            if json { print(JSONValue.array(items.map(\.jsonValue)).jsonText(pretty: true)); return }
            if items.isEmpty { print(all ? "the review queue is empty" : "no open review items"); return }
            for item in items {
                print(("#\(item.id)  \(item.status.padding(toLength: 9, withPad: " ", startingAt: 0)) \(item.reason.rawValue.padding(toLength: 26, withPad: " ", startingAt: 0)) \(item.kind) \(item.key)  (\(item.source)/\(item.fileName), since \(item.createdAt.prefix(10)))").terminalSafe)
                print(("      \(item.message)").terminalSafe)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one item: stored and incoming values side by side, source file and line, mapping.",
            discussion: "Example:\n  dppsync review show 3"
        )
        @OptionGroup var options: RootOptions
        @Argument(help: "The item's id.") var id: Int64
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let queue = ReviewQueue(store: try options.openStore(), configuration: try options.loadConfiguration(), layout: options.layout)
            guard let item = try queue.item(id) else { throw UsageError(message: "no review item \(id)") }
            if json {
                guard case .object(var members) = item.jsonValue else { return }
                members.append(("stored", try queue.storedFields(of: item).map { .object($0.sorted { $0.key < $1.key }) } ?? .null))
                print(JSONValue.object(members).jsonText(pretty: true))
                return
            }
            print(("review item #\(item.id): \(item.status)").terminalSafe)
            print(("reason:   \(item.reason.rawValue): \(item.message)").terminalSafe)
            print(("record:   \(item.kind) \(item.key), record \(item.recordIndex)\(item.line.map { ", line \($0)" } ?? "") of \(item.source)/\(item.fileName)").terminalSafe)
            print("file:     sha256 \(item.fileFingerprint)")
            print("mapping:  sha256 \(item.mappingHash ?? "-")")
            if let by = item.resolvedBy { print(("resolved: \(item.resolvedAt ?? "") by \(by)\(item.note.map { ": \($0)" } ?? "")").terminalSafe) }
            let stored = try queue.storedFields(of: item)
            guard case .object(let incoming)? = item.record["fields"] else { return }
            let fields = Dictionary(incoming, uniquingKeysWith: { first, _ in first })
            let names = Set(fields.keys).union(stored?.keys ?? [:].keys).sorted()
            let width = max(18, (names.map(\.count).max() ?? 0) + 2)
            print("\n" + "field".padding(toLength: width, withPad: " ", startingAt: 0) + "stored".padding(toLength: 34, withPad: " ", startingAt: 0) + "incoming")
            for name in names {
                let storedText = stored == nil ? "(none)" : Self.text(stored?[name])
                // Absent from a work order, a field keeps its stored value (the versions merge); absent from a registry
                // or reference record, accepting it clears the value.
                let absent = item.kind == RecordKind.workOrderCompletion.rawValue ? "(not given: the stored value stays)" : "(empty)"
                let incomingText = fields[name] == nil ? absent : Self.text(fields[name])
                // A list (labour, tests, parts) does not fit a column: each side on a line of its own.
                if storedText.count > 32 {
                    for line in [name, "  stored    " + storedText, "  incoming  " + incomingText] { print(line.terminalSafe) }
                } else {
                    print((name.padding(toLength: width, withPad: " ", startingAt: 0) + storedText.padding(toLength: 34, withPad: " ", startingAt: 0) + incomingText).terminalSafe)
                }
            }
        }

        /// A value as the two sides can be compared by eye: a list's objects with their keys in order, a number
        /// read from the export written as the store keeps it, as text (`4.25` and `"4.25"`), and the measures the
        /// reconciler compares by value written by value (`4.250` hours, a limit of `1.50`). Other text is never
        /// changed: `00123` and `123` are the difference an item may be held for.
        static func text(_ value: JSONValue?) -> String {
            let measures: Set<String> = ["hours", "value", "lowerLimit", "upperLimit", "quantity"]
            func byValue(_ text: String) -> String {
                guard let number = Double(text), number.isFinite, text.allSatisfy({ $0.isNumber || $0 == "." || $0 == "-" }) else { return text }
                return number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
            }
            func normalized(_ value: JSONValue, key: String? = nil) -> JSONValue {
                switch value {
                case .object(let members): return .object(members.map { ($0.0, normalized($0.1, key: $0.0)) }.sorted { $0.0 < $1.0 })
                case .array(let items): return .array(items.map { normalized($0) })
                case .number(let text), .string(let text):
                    if case .string = value, key.map(measures.contains) != true { return value }
                    return .string(key.map(measures.contains) == true ? byValue(text) : text)
                default: return value
                }
            }
            guard let value else { return "" }
            switch value {
            case .array, .object: return normalized(value).jsonText()
            default: return value.scalarText ?? value.jsonText()
            }
        }
    }

    struct Resolve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Accept or reject a held record; applied and ledgered like any record.",
            discussion: """
                Accepting waives the check that held the record (a divergent duplicate: the \
                incoming version wins; a licence or part check: the work is recorded as the \
                reviewer confirms). Records waiting for an unknown asset, part or technician \
                cannot be accepted: they are re-decided when the reference arrives. Who resolved \
                it comes from --by, else $DPPSYNC_USER, else $USER.

                Example:
                  dppsync review resolve 3 --accept --note "licence renewal confirmed by QA" --by qa.lead
                """
        )
        @OptionGroup var options: RootOptions
        @Argument(help: "The item's id.") var id: Int64
        @Flag(help: "Accept the record.") var accept = false
        @Flag(help: "Reject the record.") var reject = false
        @Option(help: "Why (kept with the resolution and in the ledger).") var note: String?
        @Option(help: "Who resolves it.") var by: String?
        @Option(help: "How long to wait, in seconds, for a running pass: for the file it writes (one transaction; ~90 s for a million work orders), then for the end of the pass.")
        var wait: Int = 900

        func validate() throws {
            if accept == reject { throw ValidationError("give exactly one of --accept or --reject") }
            if !(0...86_400).contains(wait) { throw ValidationError("--wait takes a number of seconds from 0 to 86400") }
        }

        func run() throws {
            let configuration = try options.loadConfiguration()
            let environment = ProcessInfo.processInfo.environment
            let who = by ?? environment["DPPSYNC_USER"] ?? environment["USER"] ?? "unknown"
            let deadline = Date(timeIntervalSinceNow: TimeInterval(wait))
            let store: Store
            let resolved: ReviewQueue.Resolved
            do {
                store = try options.openStore(busyTimeout: TimeInterval(wait))
                var queue = ReviewQueue(store: store, configuration: configuration, layout: options.layout)
                queue.crashPoints = CrashPoints(environment: environment)
                resolved = try queue.resolve(id, accept ? .accept : .reject, note: note, by: who)
            } catch let error as ReviewQueue.ResolutionError {
                // Rejected already by a command killed after its commit (or that could not write them): its files now.
                let queue = ReviewQueue(store: try options.openStore(), configuration: configuration, layout: options.layout)
                let again: (reason: String, extract: String?)?
                do { again = reject ? try queue.quarantineAgain(id) : nil } catch {
                    throw QuarantineNotWritten(id: id, cause: error)
                }
                if let written = again {
                    print("review item #\(id) was rejected already; its quarantine files were missing and are written now: \(written.extract ?? written.reason)".terminalSafe)
                    return
                }
                throw UsageError(message: error.message)
            } catch where Store.isBusy(error) {
                throw UsageError(message: "another dppsync process (a run writing a file, most likely) kept the store busy for more than \(wait) s; nothing was resolved (try again, or give a longer --wait)")
            } catch let error as UsageError {
                throw error
            } catch {
                // The store failed (a full disk): the transaction rolled back whole.
                throw NotResolved(id: id, cause: error)
            }
            print("review item #\(id): \(resolved.decision.outcome) — \(resolved.decision.message)")
            if let reason = resolved.quarantinedReason {
                print((resolved.quarantinedExtract.map { "quarantined: \($0), to correct and drop again (why: \(reason))" }
                       ?? "quarantined: \(reason) (no extract: its message says why)").terminalSafe)
            }
            if let failure = resolved.quarantineError {
                print("the rejection stands, but its files could not be written to Quarantine/: \(failure) (run the command again to write them)".terminalSafe)
            }
            if !resolved.redecided.isEmpty {
                print("records that waited for it, decided again: " + Outcome.summary(of: resolved.redecided))
            }
            // Its batch's report, as every batch has (README, "Auditor's guide").
            try ReconciliationReport(store: store, layout: options.layout).write(batchId: resolved.batchId)
            // A resolution leaves ledger entries and may make outbox files due: sign and emit before exiting (DESIGN.md §3),
            // under the run lock, so that no pass signs or emits beside it.
            let ledger = Ledger(store: store, layout: options.layout, origin: configuration.ledgerOrigin)
            if let runLock = try waitForRunLock(until: deadline, orFinalizedUpTo: Int(resolved.lastEntry), in: ledger) {
                let asOf = configuration.timeZone.civilDate(of: .now())
                try withExtendedLifetime(runLock) {
                    do {
                        if let checkpoint = try Finalizer(store: store, layout: options.layout, configuration: configuration).run(batchId: nil, asOf: asOf) {
                            print("ledger checkpoint: \(checkpoint.checkpoint.treeSize) entries")
                        }
                    } catch where Store.isBusy(error) {
                        print("resolved; another dppsync process kept the store busy, so the next run signs this resolution and emits its outbox files")
                    } catch let refused as LedgerIntegrityError {
                        // Said with the resolution: the error alone had read as if nothing was resolved.
                        throw LedgerIntegrityError(message: "review item #\(id) is resolved and stays so, but nothing was signed and its outbox files wait: \(refused.message)")
                    } catch {
                        throw ResolvedNotEmitted(id: id, cause: error)
                    }
                }
            }
            // Messages a broken outbound mapping holds, as `run` says them.
            let held = try OutboxEmitter.heldChannelsWaiting(layout: options.layout, store: store)
            for (channel, reason) in held.sorted(by: { $0.key < $1.key }) { print("held: outbox \(channel): \(reason)".terminalSafe) }
            // Decided again into a new hold (or a rejection): someone has to look, as after a run.
            if resolved.quarantineError != nil { throw DPPExit.failed }
            if resolved.redecided.keys.contains(where: \.needsAttention) || !held.isEmpty { throw DPPExit.attention }
        }

        /// A rejection that stands, whose quarantine files could not be written (exit 3).
        struct QuarantineNotWritten: Error, CustomStringConvertible {
            var id: Int64
            var cause: any Error
            var description: String { "review item #\(id) is rejected, but its quarantine files could not be written: \(cause)" }
        }

        /// A resolution committed whose signing or outbox files failed after it (exit 3): the next pass does them.
        struct ResolvedNotEmitted: Error, CustomStringConvertible {
            var id: Int64
            var cause: any Error
            var description: String {
                "review item #\(id) is resolved and stays so, but signing the ledger or writing its outbox files failed (the next run does them): \(cause)"
            }
        }

        /// A resolution that failed (exit 3): it changed nothing.
        struct NotResolved: Error, CustomStringConvertible {
            var id: Int64
            var cause: any Error
            var description: String { "review item #\(id) was not resolved, and nothing changed: \(cause)" }
        }

        /// The run lock, once no run holds it; `nil` when a running pass has meanwhile finished with
        /// the resolution (`Finalizer.finished`: it planned the outbox from it and signed it, and
        /// emits the files next), or when `deadline` passed first.
        private func waitForRunLock(until deadline: Date, orFinalizedUpTo size: Int, in ledger: Ledger) throws -> RunLock? {
            var announced = false
            while true {
                do {
                    return try RunLock(path: options.layout.lockFile)
                } catch {
                    guard case .held(_, let pid) = error else { throw error }
                    if let signed = try Finalizer.finished(through: size, in: ledger) {
                        print("ledger checkpoint: \(signed.checkpoint.treeSize) entries: the run (process \(pid)) has decided the outbox from this resolution and signed it, and emits the files next")
                        return nil
                    }
                    if Date() >= deadline {
                        print("a run (process \(pid)) still holds the run lock: that run's next pass (or the next run) signs this resolution and emits its outbox files")
                        return nil
                    }
                    if !announced {
                        print("waiting for the run (process \(pid)) to end its pass, at most until --wait runs out")
                        announced = true
                    }
                    Thread.sleep(forTimeInterval: 0.2)
                }
            }
        }
    }
}
