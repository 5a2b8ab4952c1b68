import Foundation

/// Work started on a thread of its own, whose result (or error) the caller collects
/// with `wait()`: for independent stages that can use the second core.
final class BackgroundWork<Value: Sendable>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<Value, any Error>?

    /// Runs on libdispatch's pool: its threads are reused, where a thread per piece of
    /// work (the ledger hands over a batch every 512 entries) had each new thread
    /// take malloc memory of its own that stayed with the process.
    init(_ body: @escaping @Sendable () throws -> Value) {
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            result = Result(catching: body)
            done.signal()
        }
    }

    /// The work's value, once it has finished; rethrows its error.
    func wait() throws -> Value {
        done.wait()
        done.signal()
        guard let result else { preconditionFailure("BackgroundWork finished without a result") }
        return try result.get()
    }
}
