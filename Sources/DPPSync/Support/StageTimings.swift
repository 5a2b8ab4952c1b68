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
    }

    private var seconds: [Stage: Double] = [:]
    public private(set) var records = 0
    public private(set) var bytes: Int64 = 0
    /// Part lookups the reconciler took from the decoding thread's read-ahead (`PartPrefetcher`)
    /// rather than reading them itself.
    public private(set) var partsReadAhead = 0

    public init() {}

    public static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    public func add(_ stage: Stage, _ duration: Double) { seconds[stage, default: 0] += duration }
    public func count(records: Int, bytes: Int64) { self.records += records; self.bytes += bytes }
    public func count(partsReadAhead: Int) { self.partsReadAhead += partsReadAhead }

    public func seconds(_ stage: Stage) -> Double { seconds[stage] ?? 0 }

    public var jsonValue: JSONValue {
        .object([("records", .number(String(records))), ("bytes", .number(String(bytes))), ("partsReadAhead", .number(String(partsReadAhead)))]
            + Stage.allCases.map { ($0.rawValue + "Seconds", .number(String(format: "%.4f", seconds($0)))) })
    }
}

import Foundation
