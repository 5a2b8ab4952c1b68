import Synchronization

/// Set by SIGINT/SIGTERM: the run finishes the current file, commits and exits.
public final class StopSignal: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public func request() { flag.store(true, ordering: .relaxed) }
    public var isRequested: Bool { flag.load(ordering: .relaxed) }

    /// Sleeps up to `seconds`, waking early when a stop is requested.
    public func sleep(seconds: Double) {
        var left = seconds
        while left > 0, !isRequested {
            let step = min(left, 0.1)
            usleep(useconds_t(step * 1_000_000))
            left -= step
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
