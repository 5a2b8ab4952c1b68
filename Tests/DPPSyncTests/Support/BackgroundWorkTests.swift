@testable import DPPSync
import Foundation
import Testing

@Suite("work on a thread of its own")
struct BackgroundWorkTests {
    struct Failure: Error, Equatable {}

    @Test("both urgencies hand back the value or the error, to any number of waits")
    func resultsAndErrors() throws {
        for urgency in [BackgroundWork<Int>.Urgency.needed, .whenIdle] {
            let work = BackgroundWork(urgency) { (1...1000).reduce(0, +) }
            #expect(try work.wait() == 500_500)
            #expect(try work.wait() == 500_500, "a second wait returns at once")
            let failing = BackgroundWork<Int>(urgency) { throw Failure() }
            #expect(throws: Failure.self) { try failing.wait() }
        }
    }

    #if os(Linux)
    /// The scheduling policy of the calling thread.
    static func policy() -> Int32 {
        var parameters = sched_param()
        var policy: Int32 = -1
        _ = pthread_getschedparam(pthread_self(), &policy, &parameters)
        return policy
    }

    @Test("work that nobody waits for soon runs at idle priority, on a thread of its own")
    func idlePriority() throws {
        #expect(try BackgroundWork(.whenIdle) { Self.policy() }.wait() == 5, "SCHED_IDLE")
        #expect(try BackgroundWork { Self.policy() }.wait() == 0, "SCHED_OTHER: the pool's threads keep their priority")
    }
    #endif
}
