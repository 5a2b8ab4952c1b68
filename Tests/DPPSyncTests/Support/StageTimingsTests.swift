@testable import DPPSync
import Testing

@Suite("Stage timings")
struct StageTimingsTests {
    @Test("every stage keeps its own total, reported under its own name")
    func stagesKeepTheirOwnTotals() throws {
        let timings = StageTimings()
        for (index, stage) in StageTimings.Stage.allCases.enumerated() {
            #expect(stage.position == index, "\(stage) is stored at another stage's place")
            timings.add(stage, Double(index + 1))
            timings.add(stage, 0.5)
        }
        for (index, stage) in StageTimings.Stage.allCases.enumerated() {
            #expect(timings.seconds(stage) == Double(index + 1) + 0.5)
        }
        guard case .object(let members) = timings.jsonValue else {
            Issue.record("timings are not a JSON object")
            return
        }
        let decode = members.first { $0.0 == "decodeSeconds" }?.1
        #expect(decode == .number("2.5000"))
    }
}
