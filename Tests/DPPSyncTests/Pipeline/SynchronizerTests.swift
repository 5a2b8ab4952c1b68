@testable import DPPSync
import Foundation
import Synchronization
import Testing

@Suite("a pass over the sources")
struct SynchronizerTests {
    @Test("each source's files are observed at the time of its own scan, not the pass's start")
    func observedWhenScanned() throws {
        let layout = RootLayout(root: TemporaryFiles.path("dppsync-synchronizer-"))
        _ = try RootInitializer(layout: layout).run()
        try "[]".write(toFile: layout.inbox("registry") + "/a.json", atomically: true, encoding: .utf8)
        try "[]".write(toFile: layout.inbox("workorders") + "/b.json", atomically: true, encoding: .utf8)
        var configuration = Configuration()
        configuration.sources = [SourceConfiguration(name: "registry", stabilityWindow: 600), SourceConfiguration(name: "workorders", stabilityWindow: 600)]
        let synchronizer = try Synchronizer(layout: layout, configuration: configuration)
        // A clock that moves a minute each time it is read, as a pass that spends time on each source.
        let minutes = Mutex<Int64>(0)
        synchronizer.clock = { minutes.withLock { $0 += 1; return Timestamp(millisecondsSinceEpoch: $0 * 60_000) } }
        _ = try synchronizer.pass()
        let store = try Store(path: layout.storeFile)
        let seen = try store.read { db in try Double.fetchAll(db, sql: "SELECT first_seen_at FROM intake_observation ORDER BY source") }
        #expect(seen.count == 2 && seen[0] < seen[1], "\(seen)")
    }

    /// Does something to the file it is shown once 2,000 of its records are decided: an exporter still
    /// writing it, or someone clearing `.processing/` by hand.
    private struct MeddlingObserver: SyncObserver {
        var meddle: @Sendable (String) -> Void
        func fileProgress(_ file: InboxFile, recordsDone: Int) {
            if recordsDone == 2000 { meddle(file.path) }
        }

        /// Appends `bytes`, as an exporter that keeps writing through a descriptor opened before the claim.
        static func appending(_ bytes: String) -> MeddlingObserver {
            MeddlingObserver { path in
                guard let handle = FileHandle(forWritingAtPath: path) else { return }
                handle.seekToEndOfFile()
                handle.write(Data(bytes.utf8))
                handle.closeFile()
            }
        }
    }

    /// A new root whose one source, `workorders`, takes files at once; and 5,000 JSON Lines work orders for an unknown asset.
    private func workordersRoot() throws -> (RootLayout, Configuration, lines: String) {
        let layout = RootLayout(root: TemporaryFiles.path("dppsync-synchronizer-"))
        _ = try RootInitializer(layout: layout).run()
        var configuration = Configuration()
        configuration.sources = [SourceConfiguration(name: "workorders", stabilityWindow: 0)]
        let lines = (0..<5000).map { #"{"workOrderId": "WO-\#($0)", "dppId": "DPP-UNKNOWN", "completionDate": "2026-01-05"}"# + "\n" }.joined()
        return (layout, configuration, lines)
    }

    /// The fingerprint and the records come from two reads of the file: written to in between, they
    /// would not be of the same bytes, nor would the archived file be the bytes its fingerprint names.
    @Test("a file written to while it is decided fails whole, with nothing applied")
    func fileChangedWhileDecided() throws {
        let (layout, configuration, lines) = try workordersRoot()
        for (appended, expected) in [("", FileResult.Disposition.archived), (#"{"workOrderId": "WO-late"}"# + "\n", .quarantined)] {
            try lines.replacingOccurrences(of: "WO-", with: "WO-\(expected.rawValue)-").write(toFile: layout.inbox("workorders") + "/export.jsonl", atomically: true, encoding: .utf8)
            let synchronizer = try Synchronizer(layout: layout, configuration: configuration)
            synchronizer.observer = MeddlingObserver.appending(appended)
            let summary = try synchronizer.pass()
            let file = try #require(summary.files.first)
            #expect(file.disposition == expected, "\(file.message)")
            if expected == .quarantined {
                #expect(file.reason == .fileChanged && file.message.contains("the file changed while dppsync read it"), "\(file.message)")
                let outcomes = try synchronizer.store.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM record_outcome WHERE batch_id = ?", arguments: [summary.batchId]) }
                #expect(outcomes == 0, "nothing of it kept")
            }
        }
        // Dropped again once whole, as its reason says, the same bytes are decided, not taken for a duplicate of the refused drop.
        for attempt in 1...2 {
            try lines.replacingOccurrences(of: "WO-", with: "WO-quarantined-").write(toFile: layout.inbox("workorders") + "/again.jsonl", atomically: true, encoding: .utf8)
            let synchronizer = try Synchronizer(layout: layout, configuration: configuration)
            let file = try #require(try synchronizer.pass().files.first)
            #expect(file.disposition == .archived && file.reason == (attempt == 1 ? nil : .duplicateFile), "\(file.message)")
            #expect(attempt == 2 || file.message == "decided again (the first drop changed while it was read): 5000 held", "\(file.message)")
        }
    }

    @Test("a file taken away from .processing/ while it is decided is quarantined in the store, and the pass goes on")
    func fileTakenAwayWhileDecided() throws {
        let (layout, configuration, lines) = try workordersRoot()
        try lines.write(toFile: layout.inbox("workorders") + "/a.jsonl", atomically: true, encoding: .utf8)
        try lines.replacingOccurrences(of: "WO-", with: "WO-b").write(toFile: layout.inbox("workorders") + "/b.jsonl", atomically: true, encoding: .utf8)
        let synchronizer = try Synchronizer(layout: layout, configuration: configuration)
        synchronizer.observer = MeddlingObserver { unlink($0) }  // someone clearing .processing/ by hand
        let files = try synchronizer.pass().files
        #expect(files.count == 2 && files.allSatisfy { $0.reason == .fileChanged && $0.message.contains("taken away from .processing/") }, "\(files.map(\.message))")
        let rows = try synchronizer.store.read { db in try String.fetchAll(db, sql: "SELECT disposition || ' ' || COALESCE(stored_path, '-') FROM input_file") }
        #expect(rows == ["quarantined ", "quarantined "], "stored nowhere, and not waiting for a move: \(rows)")
        #expect(try synchronizer.store.read { db in try String.fetchOne(db, sql: "SELECT status FROM batch") } == "completed")
        // Dropped again and claimed by a run killed right after: the restart decides it, rather than taking the
        // taken-away verdict for the move an interrupted run left to do.
        try lines.write(toFile: layout.processing("workorders") + "/a.jsonl", atomically: true, encoding: .utf8)
        synchronizer.observer = SilentObserver()
        let again = try #require(try synchronizer.pass().files.first)
        #expect(again.disposition == .archived && again.counts[.held] == 5000, "\(again.message)")
    }

    @Test("a file cut short while it is decided says it changed, not that its XML is broken")
    func fileCutShortWhileDecided() throws {
        let (layout, configuration, _) = try workordersRoot()
        let record = "<WORKORDER><WONUM>WO-N</WONUM><ASSETNUM>UNKNOWN</ASSETNUM><STATUS>COMP</STATUS><STATUSDATE>2025-11-05T16:10:00+01:00</STATUSDATE></WORKORDER>\n"
        let records = (0..<60_000).map { record.replacingOccurrences(of: "WO-N", with: "WO-\($0)") }.joined()
        try (#"<?xml version="1.0" encoding="UTF-8"?><PublishMXWO xmlns="http://www.ibm.com/maximo"><MXWOSet>"# + "\n" + records + "</MXWOSet></PublishMXWO>\n")
            .write(toFile: layout.inbox("workorders") + "/cut.xml", atomically: true, encoding: .utf8)
        let synchronizer = try Synchronizer(layout: layout, configuration: configuration)
        synchronizer.observer = MeddlingObserver { truncate($0, 100_000) }  // an exporter rewriting it
        let file = try #require(try synchronizer.pass().files.first)
        #expect(file.disposition == .quarantined && file.reason == .fileChanged, "\(file.reason?.rawValue ?? "-"): \(file.message)")
    }
}
