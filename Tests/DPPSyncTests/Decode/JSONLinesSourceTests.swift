@testable import DPPSync
import Foundation
import Testing

@Suite("JSON Lines read in chunks")
struct JSONLinesSourceTests {
    @Test("lines longer than a chunk, and lines across the chunks' edges, come whole, each with its line number")
    func linesAcrossChunks() throws {
        // A 2.5 MB line (three chunks of 1 MiB), then short lines of odd lengths that keep falling
        // across chunk edges, a blank line and a broken one.
        let long = #"{"workOrderId": "WO-LONG", "findings": ""# + String(repeating: "x", count: 2_500_000) + #""}"#
        var lines = [long]
        for n in 0..<40_000 { lines.append(#"{"workOrderId": "WO-\#(n)", "pad": "\#(String(repeating: "y", count: n % 97))"}"#) }
        lines.insert("", at: 2)
        lines.insert("{broken", at: 5)
        let path = TemporaryFiles.path("dppsync-jsonl-chunks-", ".jsonl")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))

        var keys: [String] = [], lineNumbers: [Int] = [], failures: [Int] = []
        try JSONLinesSource(input: .file(path), encoding: nil).forEach(context: { _ in }) { item in
            guard let accessor = item.accessor else { failures.append(item.position.line ?? 0); return }
            keys.append(accessor.value(at: FieldPath("workOrderId", json: RecordPath("workOrderId")))?.scalarText ?? "?")
            lineNumbers.append(item.position.line ?? 0)
        }
        #expect(keys.count == 40_001)
        #expect(keys.first == "WO-LONG" && keys[1] == "WO-0" && keys.last == "WO-39999")
        #expect(failures == [6], "the broken line, counted with the blank one before it")
        #expect(lineNumbers[1] == 2 && lineNumbers[2] == 4 && lineNumbers.last == 40_003)
    }
}
