@testable import DPPSync
import Foundation
import Testing

@Suite("rejected records to the quarantine")
struct RejectedRecordWriterTests {
    /// Held until the file's end, 100,000 rejected work orders had taken 428 MB: each is on disk once added.
    @Test("a rejected record is on disk, whole, as soon as it is added; extracts made after the fact come in one more pass")
    func writtenAsDecided() throws {
        let folder = TemporaryFiles.path("dppsync-quarantine-")
        let mapping = try Mapping.load(text: try #require(DefaultMappings.files.first { $0.name == "workorders-json.mapping.yaml" }).text,
                                       file: "workorders-json.mapping.yaml")
        let lines = (0..<4).map { #"{"workOrderId": "WO-\#($0)", "dppId": "DPP-C", "completionDate": "2026-01-05"}"# + "\n" }.joined()
        var writer = RejectedRecordWriter(folder: folder, prefix: "abc", fileExtension: "jsonl")
        func names() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: folder).sorted() }
        func text(_ name: String) throws -> String { try String(contentsOfFile: folder + "/" + name, encoding: .utf8) }

        try writer.add(index: 0, extract: "made when mapped\n", reason: .object([("code", .string("INVALID_FIELD"))]))
        #expect(try names() == ["abc-0.jsonl", "abc-0.jsonl.reason.json"], "no temporary left beside them")
        #expect(try text("abc-0.jsonl") == "made when mapped\n")
        #expect(try text("abc-0.jsonl.reason.json").contains("\"code\": \"INVALID_FIELD\""))

        try writer.add(index: 2, extract: nil, reason: .object([("code", .string("UNKNOWN_ASSET"))]))
        try writer.add(index: 9, extract: nil, reason: .object([("code", .string("UNKNOWN_ASSET"))]))
        #expect(try names() == ["abc-0.jsonl", "abc-0.jsonl.reason.json", "abc-2.jsonl.reason.json", "abc-9.jsonl.reason.json"])
        try writer.finish(input: .bytes(Array(lines.utf8)), fileName: "wo.jsonl", mapping: mapping)
        #expect(try names() == ["abc-0.jsonl", "abc-0.jsonl.reason.json", "abc-2.jsonl", "abc-2.jsonl.reason.json", "abc-9.jsonl", "abc-9.jsonl.reason.json"])
        #expect(try text("abc-2.jsonl").contains("\"WO-2\""), "record 2 of the input")
        #expect(try text("abc-9.jsonl") == "", "a record the input no longer holds")
    }

    /// The pass after the file reads it again: changed since its fingerprint, it would extract other records.
    @Test("extracts made after the file are made only from the bytes that were decided")
    func sameBytesOrNothing() throws {
        let folder = TemporaryFiles.path("dppsync-quarantine-"), path = TemporaryFiles.path("dppsync-input-", ".jsonl")
        let mapping = try Mapping.load(text: try #require(DefaultMappings.files.first { $0.name == "workorders-json.mapping.yaml" }).text,
                                       file: "workorders-json.mapping.yaml")
        try (0..<3).map { #"{"workOrderId": "WO-\#($0)", "dppId": "DPP-C", "completionDate": "2026-01-05"}"# + "\n" }.joined()
            .write(toFile: path, atomically: true, encoding: .utf8)
        let (fingerprint, _) = try Fingerprint.sha256Hex(file: path)
        var writer = RejectedRecordWriter(folder: folder, prefix: "abc", fileExtension: "jsonl")
        try writer.add(index: 1, extract: nil, reason: .object([("code", .string("UNKNOWN_ASSET"))]))
        #expect { try writer.finish(input: .file(path), fileName: "wo.jsonl", mapping: mapping, fingerprint: String(repeating: "0", count: 64)) } throws: { error in
            (error as? FileProcessor.FileLevelFailure)?.message.contains("changed while dppsync read it") == true
        }
        try writer.finish(input: .file(path), fileName: "wo.jsonl", mapping: mapping, fingerprint: fingerprint)
        #expect(try String(contentsOfFile: folder + "/abc-1.jsonl", encoding: .utf8).contains("\"WO-1\""))
    }
}
