@testable import DPPSync
import Foundation
import Synchronization
import Testing

@Suite("the decoding thread's feed")
struct RecordFeedTests {
    /// Reads the feed of `path` to its end: the records handed over, whether it failed, and how
    /// often `whenDecoded` ran.
    static func feed(_ path: String) throws -> (records: Int, failed: Bool, whenDecoded: Int) {
        let text = try #require(DefaultMappings.files.first { $0.name == "workorders-json.mapping.yaml" }).text
        let mapping = try Mapping.load(text: text, file: "workorders-json.mapping.yaml")
        let calls = Atomic<Int>(0)
        let feed = RecordFeed(input: .file(path), fileName: "wo.jsonl", mapping: mapping, timeZone: .utc,
                              whenDecoded: { calls.add(1, ordering: .relaxed) })
        var records = 0, failed = false
        do {
            while let chunk = try feed.next() { records += chunk.count }
        } catch {
            failed = true
        }
        _ = feed.close()  // the decoding thread has ended: whatever it was to call, it has called
        return (records, failed, calls.load(ordering: .relaxed))
    }

    @Test("whenDecoded runs once a file is decoded to its end, and not when decoding fails")
    func whenDecoded() throws {
        let path = TemporaryFiles.path("dppsync-feed-", ".jsonl")
        let lines = (1...300).map { #"{"workOrderId": "WO-\#($0)", "dppId": "DPP-C", "completionDate": "2026-01-05"}"# + "\n" }
        try lines.joined().write(toFile: path, atomically: true, encoding: .utf8)
        let whole = try Self.feed(path)
        #expect(whole.records == 300 && !whole.failed)
        #expect(whole.whenDecoded == 1)

        let missing = try Self.feed(TemporaryFiles.path("dppsync-feed-missing-", ".jsonl"))
        #expect(missing.failed)
        #expect(missing.whenDecoded == 0)
    }
}
