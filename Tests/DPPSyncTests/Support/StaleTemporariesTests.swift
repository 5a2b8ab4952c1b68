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

    @Test("names made from a long name fit the file system: shortened with a hash of the whole, keeping the extension")
    func fittingNames() throws {
        let long = String(repeating: "é", count: 120) + "-export.json"  // 252 bytes
        #expect(FileSystem.fitting(long) == long, "fits as it is")
        let shortened = FileSystem.fitting(long, reserving: 12)
        #expect(shortened.utf8.count <= 243 && shortened.hasSuffix(".json") && shortened.contains("~"), "\(shortened)")
        #expect(FileSystem.fitting(long, reserving: 12) == shortened, "the same name each time")
        #expect(FileSystem.fitting(long + "x", reserving: 12) != FileSystem.fitting(long + "y", reserving: 12), "two names, two results")

        let folder = TemporaryFiles.path("fitting-names-")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let name = String(repeating: "w", count: 250) + ".json"
        for _ in 0..<3 { try FileSystem.writeAtomically(Array("x".utf8), to: FileSystem.freeName(for: name, in: folder, reserving: 12)) }
        let written = FileSystem.entries(of: folder)
        #expect(written.count == 3 && written.allSatisfy { $0.utf8.count + 12 <= 255 && $0.hasSuffix(".json") }, "\(written)")
    }

    @Test("a copy is whole under its name, chunk boundaries crossed, with no temporary left; a failed one leaves nothing")
    func streamedCopy() throws {
        let folder = TemporaryFiles.path("copy-")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var bytes = [UInt8](repeating: 0, count: 3 * (1 << 20) + 17)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &* 2654435761 >> 13) }
        try Data(bytes).write(to: URL(fileURLWithPath: folder + "/source.xml"))
        try FileSystem.copy(folder + "/source.xml", to: folder + "/copy.xml")
        #expect(try FileSystem.readBytes(folder + "/copy.xml") == bytes)
        #expect(FileSystem.entries(of: folder).sorted() == ["copy.xml", "source.xml"], "no temporary left")
        #expect(throws: FileSystemError.self) { try FileSystem.copy(folder + "/missing.xml", to: folder + "/other.xml") }
        #expect(!FileSystem.entryExists(folder + "/other.xml"))
    }
}
