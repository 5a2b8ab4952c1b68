import Foundation

/// Work started on a thread of its own, whose result (or error) the caller collects
/// with `wait()`: for independent stages that can use the second core.
final class BackgroundWork<Value: Sendable>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<Value, any Error>?

    /// Who waits for the work: how soon it should run when the cores are busy.
    enum Urgency {
        /// Someone waits for it soon (the ledger's next batch, the next part of a file).
        case needed
        /// Nobody waits for it until the pass ends (the report, the WAL copy): it runs on
        /// a thread of the lowest priority (`SCHED_IDLE`), in the time the others leave. With
        /// two cores and three busy threads, the deciding thread had otherwise got only
        /// two thirds of a core while it decided the outbox (perf, 100k work orders).
        case whenIdle
        /// Needed like `.needed`, but waits for `.needed` work of its own (the batch files
        /// written beside the per-message files): it gets a thread of its own, at normal
        /// priority, so that it never holds one of the pool's few threads while it waits.
        case waitsForOthers
    }

    /// `.needed` work runs on libdispatch's pool: its threads are reused, where a thread
    /// per piece of work (the ledger hands over a batch every 512 entries) had each new
    /// thread take malloc memory of its own that stayed with the process. `.whenIdle` and
    /// `.waitsForOthers` work (a few pieces per pass) gets a thread of its own; `.whenIdle`
    /// lowers that thread's priority for good.
    init(_ urgency: Urgency = .needed, _ body: @escaping @Sendable () throws -> Value) {
        switch urgency {
        case .needed:
            DispatchQueue.global(qos: .userInitiated).async { [self] in
                result = Result(catching: body)
                done.signal()
            }
        case .whenIdle, .waitsForOthers:
            let thread = Thread { [self] in
                if urgency == .whenIdle { Self.lowerPriority() }
                result = Result(catching: body)
                done.signal()
            }
            thread.start()
        }
    }

    /// The work's value, once it has finished; rethrows its error.
    func wait() throws -> Value {
        done.wait()
        done.signal()
        guard let result else { preconditionFailure("BackgroundWork finished without a result") }
        return try result.get()
    }

    /// Linux's `SCHED_IDLE` (`<sched.h>` declares it only under `_GNU_SOURCE`).
    private static var schedIdle: Int32 { 5 }

    private static func lowerPriority() {
        #if os(Linux)
        // SCHED_IDLE: the thread runs only on a core nothing else wants. Failure leaves it as it was.
        var parameters = sched_param()
        _ = pthread_setschedparam(pthread_self(), Self.schedIdle, &parameters)
        #endif
    }
}

/// A value handed to another thread and back, so that each side can let go of its part
/// where it was allocated. One side uses it at a time: the hand-over and `BackgroundWork.wait()`
/// order their accesses.
final class HandedOver<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}
