#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Named places where a test can make the process die (`kill -9` on itself),
/// to prove that a restart loses, half-applies and doubles nothing.
///
/// Armed only through the environment variable `DPPSYNC_CRASH_AT` (e.g.
/// `in-transaction`), optionally with `DPPSYNC_CRASH_AFTER=N` to die on the
/// N-th time the point is reached (default 1).
public struct CrashPoints: Sendable {
    public enum Point: String, Sendable, CaseIterable {
        /// The file is in `.processing/`, nothing committed.
        case afterClaim = "after-claim"
        /// Records written inside the open transaction, not committed.
        case inTransaction = "in-transaction"
        /// Committed, the file not yet moved to `Archive/` or `Quarantine/`.
        case afterCommit = "after-commit"
        /// An outbox file renamed into place, its emission not yet recorded.
        case afterEmit = "after-emit"
    }

    private let armed: Point?
    private let counter: CrashCounter

    public init(environment: [String: String]) {
        armed = environment["DPPSYNC_CRASH_AT"].flatMap(Point.init(rawValue:))
        counter = CrashCounter(remaining: environment["DPPSYNC_CRASH_AFTER"].flatMap(Int.init) ?? 1)
    }

    public static let none = CrashPoints(environment: [:])

    /// Dies here if this point is armed and its count is reached.
    public func reached(_ point: Point) {
        guard point == armed, counter.decrement() else { return }
        kill(getpid(), SIGKILL)
    }
}

import Synchronization

final class CrashCounter: Sendable {
    private let remaining: Mutex<Int>
    init(remaining: Int) { self.remaining = Mutex(remaining) }
    /// `true` when this was the last allowed pass.
    func decrement() -> Bool {
        remaining.withLock { value in
            value -= 1
            return value <= 0
        }
    }
}
