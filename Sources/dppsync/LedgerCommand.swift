import ArgumentParser
import DPPSync
import Foundation

struct LedgerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Verify, prove and read the tamper-evident ledger of DPP changes.",
        subcommands: [Verify.self, Key.self, Show.self, Proof.self, CheckpointCommand.self]
    )

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the log, check every checkpoint and witness copy, replay the state.",
            discussion: """
                Recomputes every leaf and the Merkle tree from the stored entries, checks each stored \
                checkpoint's signature against the pinned verifier key and its root, checks the \
                checkpoints in Outbox/ledger-checkpoints/ and in --witness folders (a truncated log \
                re-signed with another key is caught there), and replays the entries to rebuild the \
                state tables and compares them row by row. Exit 1 on any finding.

                Example:
                  dppsync ledger verify --witness /mnt/auditor/checkpoints --json
                """
        )
        @OptionGroup var options: RootOptions
        @Option(help: "A folder of checkpoints a second party kept (repeatable).") var witness: [String] = []
        @Flag(help: "Print the report as JSON.") var json = false

        func validate() throws {
            // A mistyped folder would otherwise hold no checkpoints, and the log would pass unwitnessed.
            for folder in witness {
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue,
                      FileManager.default.isReadableFile(atPath: folder) else {
                    throw ValidationError("--witness \(folder) is not a folder this user can read")
                }
                // An empty folder (the wrong one) had given "ledger OK" with nothing compared.
                guard FileSystem.entries(of: folder).contains(where: { $0.hasSuffix(".checkpoint") }) else {
                    throw ValidationError("--witness \(folder) holds no checkpoint (*.checkpoint): nothing to compare the ledger with; is it the witness's folder?")
                }
            }
        }

        func run() throws {
            let configuration = try options.loadConfiguration()
            let store = try options.openStore()
            let ledger = Ledger(store: store, layout: options.layout, origin: configuration.ledgerOrigin)
            let report = try LedgerVerifier(ledger: ledger, pinnedKey: configuration.ledgerVerifierKey,
                                            witnessFolders: [ledger.checkpointFolder] + witness).verify()
            if json {
                print(JSONValue.object([
                    ("ok", .bool(report.ok)), ("entries", .number(String(report.entries))),
                    ("checkpoints", .number(String(report.checkpointsChecked))),
                    ("witnessCheckpoints", .number(String(report.witnessCheckpointsChecked))),
                    ("stateRowsCompared", .number(String(report.rowsCompared))),
                    ("findings", .array(report.findings.map(\.jsonValue))),
                ]).jsonText(pretty: true))
            } else {
                print("entries: \(report.entries), checkpoints: \(report.checkpointsChecked) stored + \(report.witnessCheckpointsChecked) kept outside, state rows compared: \(report.rowsCompared)")
                for finding in report.findings { print("FAIL \(finding)") }
                print(report.ok ? "ledger OK" : "ledger FAILED: \(report.findings.count) finding(s)")
            }
            if !report.ok { throw DPPExit.attention }
        }
    }

    struct Key: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the ledger's verifier key (to pin in dppsync.yaml and give to witnesses).",
            discussion: "Example:\n  dppsync ledger key"
        )
        @OptionGroup var options: RootOptions
        func run() throws {
            try options.requireRoot()
            print(try Ledger.loadKey(at: options.layout.state + "/ledger.key").verifier)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The history of one component, entry by entry, with provenance.",
            discussion: "Example:\n  dppsync ledger show --asset DPP-H2-001"
        )
        @OptionGroup var options: RootOptions
        @Option(help: "The component's dppId (or its CMMS asset number).") var asset: String
        @Flag(help: "Print the entries' canonical JSON, one per line.") var json = false

        func run() throws {
            let store = try options.openStore()
            // A CMMS asset number names its component's history too (entries are kept by dppId).
            let names = try store.read { db in try ReviewQueue.assetNames(asset, in: db) }
            let ledger = Ledger(store: store, layout: options.layout, origin: "")
            var entries = try ledger.history(subject: asset)
            if entries.isEmpty {
                // (A CMMS number the registry gave two components names both histories, in ledger order.)
                var seen = Set<Int64>()
                entries = try names.dropFirst().flatMap { try ledger.history(subject: $0) }.sorted { $0.sequence < $1.sequence }
                    .filter { seen.insert($0.sequence).inserted }
            }
            if entries.isEmpty { throw UsageError(message: "no ledger entry concerns \(asset)") }
            for entry in entries {
                if json { print(entry.canonicalJSON.jsonText(sortedKeys: true)); continue }
                let p = entry.change.provenance
                print(("#\(entry.sequence) \(entry.time) \(entry.change.kind) batch \(entry.batchId.map(String.init) ?? "-")").terminalSafe)
                print(("    from \(p.fileName ?? "-") record \(p.recordIndex.map(String.init) ?? "-") (file sha256 \(p.fileFingerprint?.prefix(12) ?? "-"), mapping \(p.mappingName ?? "-") \(p.mappingHash?.prefix(12) ?? ""))").terminalSafe)
                for row in entry.change.rows {
                    let values = row.values.sorted { $0.key < $1.key }.compactMap { k, v in v.map { "\(k)=\($0)" } }
                    print(("    \(row.deleted ? "delete" : "write") \(row.table): " + values.joined(separator: ", ")).terminalSafe)
                }
            }
        }
    }

    struct Proof: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "An inclusion proof for an entry, or a consistency proof between two tree sizes, as JSON.",
            discussion: """
                Hashes are lower-case hex. An inclusion proof carries the signed checkpoint it is checked \
                against (a root alone does not pin a tree size). Scripts/verify-proof.py checks both \
                kinds without dppsync.

                Examples:
                  dppsync ledger proof 42
                  dppsync ledger proof --consistency 10 42
                """
        )
        @OptionGroup var options: RootOptions
        @Argument(help: "The entry's sequence number (1-based).") var entry: Int?
        @Option(parsing: .upToNextOption, help: "OLD NEW tree sizes.") var consistency: [Int] = []

        func validate() throws {
            if consistency.isEmpty, entry == nil { throw ValidationError("give an ENTRY or --consistency OLD NEW") }
            if !consistency.isEmpty, consistency.count != 2 { throw ValidationError("--consistency takes two sizes: OLD NEW") }
        }

        func run() throws {
            let store = try options.openStore()
            let ledger = Ledger(store: store, layout: options.layout, origin: try options.loadConfiguration().ledgerOrigin)
            do {
                let proof = consistency.count == 2
                    ? try ledger.consistencyProof(oldSize: consistency[0], newSize: consistency[1])
                    : try ledger.inclusionProof(sequence: entry ?? 0)
                print(proof.jsonText(pretty: true))
            } catch let error as StoreError {
                throw UsageError(message: error.message)
            }
        }
    }

    struct CheckpointCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "checkpoint",
            abstract: "Sign a checkpoint over entries not yet covered and print the latest one.",
            discussion: "Example:\n  dppsync ledger checkpoint"
        )
        @OptionGroup var options: RootOptions
        func run() throws {
            let store = try options.openStore()
            let ledger = Ledger(store: store, layout: options.layout, origin: try options.loadConfiguration().ledgerOrigin)
            guard let latest = try ledger.checkpoint() else { print("the ledger is empty: nothing to sign"); return }
            print(latest.note, terminator: "")
        }
    }
}
