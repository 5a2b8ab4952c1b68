@testable import DPPSync
import Testing

@Suite("outbox planner: message ids")
struct OutboxPlannerTests {
    @Test("a stream's head says what a message says when it is that message or a resend of it, nothing looser")
    func headSaysMessage() {
        let id = "CST-DPP-H2-001-c30dfbc6"
        #expect(OutboxPlanner.resend(2, of: id) == id + "-r2")
        #expect(OutboxPlanner.says(id, id))
        #expect(OutboxPlanner.says(id + "-r2", id) && OutboxPlanner.says(id + "-r17", id))
        for other in [id + "-r", id + "-rx", id + "-r2x", id + "-2", id + "0", "CST-DPP-H2-001-c30dfbc", "CST-DPP-H2-002-c30dfbc6"] {
            #expect(!OutboxPlanner.says(other, id), "\(other)")
        }
    }
}
