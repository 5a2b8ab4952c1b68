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
}
