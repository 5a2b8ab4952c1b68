import DPPSync
import Foundation
import Testing

@Suite("stale temporary files")
struct StaleTemporariesTests {
    @Test("a temporary file goes when its writer is gone, or when it is a day old whoever has the writer's process id now")
    func staleTemporaries() throws {
        let folder = TemporaryFiles.path("stale-temporaries-")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        // Process 1 is always alive: a writer's id another process got since, or a zombie's.
        let names = [".old.json.1.tmp", ".fresh.json.1.tmp", ".dead.json.2147483646.tmp", ".mine.json.\(getpid()).tmp", "report.json"]
        for name in names { try Data("x".utf8).write(to: URL(fileURLWithPath: folder + "/" + name)) }
        let twoDaysAgo = Date(timeIntervalSinceNow: -2 * 86_400)
        for name in [".old.json.1.tmp", ".mine.json.\(getpid()).tmp", "report.json"] {
            try FileManager.default.setAttributes([.modificationDate: twoDaysAgo], ofItemAtPath: folder + "/" + name)
        }
        FileSystem.removeStaleTemporaries(in: folder)
        #expect(FileSystem.entries(of: folder) == [".fresh.json.1.tmp", ".mine.json.\(getpid()).tmp", "report.json"].sorted())
    }
}
