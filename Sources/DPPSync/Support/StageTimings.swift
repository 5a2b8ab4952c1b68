#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock time per pipeline stage, for `run --timings` and the benchmark.
/// Stages are interleaved per record, so each is the sum of its slices.
public final class StageTimings {
    public enum Stage: String, CaseIterable, Sendable {
        case read, decode, map, reconcile, commit, emit, report
        /// Reconciliation's part lookups, made ahead on the decoding thread (beside decode and map).
        case prefetch
        /// Part of `commit`: serialising, hashing and inserting ledger entries.
        case ledger
        /// Part of `commit`: writing the state rows of the changes.
        case rows
        /// Part of `commit`: recording each record's outcome (and held records, personal data).
        case outcomes
        /// Part of `commit`: the transaction's commit, which makes it durable (WAL fsync).
        case durable
        /// Part of `emit`: deciding the outbox messages the state calls for (due dates, status).
        case plan
        /// Part of `emit`: signing the checkpoint.
        case sign
        /// Time the deciding thread waited for the decoding thread (decode and map
        /// run beside reconcile and commit, so the stages overlap).
        case waiting

        /// The stage's index in `allCases` (declaration order), found with no hashing.
        var position: Int {
            switch self {
            case .read: 0
            case .decode: 1
            case .map: 2
            case .reconcile: 3
            case .commit: 4
            case .emit: 5
            case .report: 6
            case .prefetch: 7
            case .ledger: 8
            case .rows: 9
            case .outcomes: 10
            case .durable: 11
            case .plan: 12
            case .sign: 13
            case .waiting: 14
            }
        }
    }

    /// Seconds by stage, at each stage's place in `Stage.allCases`: `add` runs a few times for every
    /// record, and a dictionary keyed by the stage had hashed its name each time (~1 % of the
    /// deciding thread's samples in a 100k run with `--timings`, which the benchmark always passes).
    private var seconds = [Double](repeating: 0, count: Stage.allCases.count)
    public private(set) var records = 0
    public private(set) var bytes: Int64 = 0
    /// Part lookups the reconciler took from the decoding thread's read-ahead (`PartPrefetcher`)
    /// rather than reading them itself.
    public private(set) var partsReadAhead = 0
    /// Outbox plans skipped: nothing changed since the last one, for the same day and settings.
    public private(set) var plansSkipped = 0

    public init() {}

    public static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    public func add(_ stage: Stage, _ duration: Double) { seconds[stage.position] += duration }
    public func count(records: Int, bytes: Int64) { self.records += records; self.bytes += bytes }
    public func count(partsReadAhead: Int) { self.partsReadAhead += partsReadAhead }
    public func countSkippedPlan() { plansSkipped += 1 }

    public func seconds(_ stage: Stage) -> Double { seconds[stage.position] }

    public var jsonValue: JSONValue {
        .object([("records", .number(String(records))), ("bytes", .number(String(bytes))), ("partsReadAhead", .number(String(partsReadAhead))),
                 ("plansSkipped", .number(String(plansSkipped)))]
            + Stage.allCases.map { ($0.rawValue + "Seconds", .number(String(format: "%.4f", seconds($0)))) })
    }
}

import Foundation
