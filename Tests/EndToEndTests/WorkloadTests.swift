import DPPSync
import Foundation
import Testing

/// The benchmark's generator (`dppsync-workload`), run as the benchmark runs it.
@Suite("benchmark workload generator")
struct WorkloadTests {
    /// The `dppsync-workload` executable beside `dppsync`.
    static let binary = (CLI.binary as NSString).deletingLastPathComponent + "/dppsync-workload"

    /// Generates a JSON Lines workload into `cli`'s inbox; returns the export's lines.
    func generate(into cli: CLI, _ options: String...) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["--root", cli.root, "--components", "20", "--work-orders", "60", "--format", "jsonl"] + options
        process.standardOutput = Pipe()
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let export = try String(contentsOfFile: cli.layout.inbox("workorders") + "/export.jsonl", encoding: .utf8)
        return export.split(separator: "\n").map(String.init)
    }

    /// The parts each line installs, in order.
    func parts(of lines: [String]) throws -> [String] {
        try lines.flatMap { line -> [String] in
            guard case .array(let parts)? = try JSONParser.parseDocument(Array(line.utf8))["partsUsed"] else { return [] }
            return parts.compactMap(\.scalarText)
        }
    }

    @Test("work orders take the registry's parts in a seeded shuffled order (or in registry order), each part once, and all apply")
    func partOrder() throws {
        let shuffled = try CLI.freshRoot()
        let shuffledLines = try generate(into: shuffled)
        let again = try generate(into: try CLI.freshRoot())
        let sequentialLines = try generate(into: try CLI.freshRoot(), "--part-order", "sequential")

        #expect(again == shuffledLines, "same seed, same workload")
        let inRegistryOrder = try parts(of: sequentialLines)
        let drawn = try parts(of: shuffledLines)
        #expect(inRegistryOrder.count >= 120)
        #expect(inRegistryOrder == inRegistryOrder.sorted())
        #expect(drawn != inRegistryOrder)
        #expect(drawn.sorted() == inRegistryOrder, "every registered part is used once, whatever the order")
        // Only the parts move: the rest of each work order is the same in either order.
        func withoutParts(_ line: String) -> String { line.replacingOccurrences(of: #""partsUsed": \[[^\]]*\]"#, with: "", options: .regularExpression) }
        #expect(shuffledLines.map(withoutParts) == sequentialLines.map(withoutParts))

        let run = try shuffled.run("run", "--once", "--stability-window", "0", "--as-of", "2026-01-10")
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(try shuffled.scalar("SELECT COUNT(*) FROM work_order") == "60")
        #expect(try shuffled.scalar("SELECT COUNT(*) FROM record_outcome WHERE kind = 'workOrderCompletion' AND outcome = 'applied'") == "60")
        #expect(try shuffled.scalar("SELECT COUNT(*) FROM asset WHERE dpp_id LIKE 'DPP-P-%' AND status = 'INSTALLED'") == String(drawn.count))
    }
}
