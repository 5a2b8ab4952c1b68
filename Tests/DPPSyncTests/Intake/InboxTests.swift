@testable import DPPSync
import Foundation
import Testing

@Suite("intake stability")
struct InboxTests {
    func makeInbox() throws -> (Inbox, String) {
        let root = TemporaryFiles.path("dppsync-inbox-")
        let layout = RootLayout(root: root)
        try FileSystem.createDirectory(layout.inbox("registry"))
        try FileSystem.createDirectory(layout.state)
        return (Inbox(layout: layout, store: try Store(path: layout.storeFile)), layout.inbox("registry"))
    }

    @Test("a file is ready only after two unchanged observations a window apart")
    func stability() throws {
        let (inbox, folder) = try makeInbox()
        let source = SourceConfiguration(name: "registry", stabilityWindow: 5)
        try "partial".write(toFile: folder + "/a.json", atomically: false, encoding: .utf8)
        #expect(try inbox.scan(source, now: 1000).settling.count == 1, "first sight: never ready, whatever the mtime")
        #expect(try inbox.scan(source, now: 1003).ready.isEmpty, "unchanged but the window has not passed")
        try "partial, grown".write(toFile: folder + "/a.json", atomically: false, encoding: .utf8)
        #expect(try inbox.scan(source, now: 1006).ready.isEmpty, "it changed: the window starts again")
        #expect(try inbox.scan(source, now: 1010).ready.isEmpty)
        #expect(try inbox.scan(source, now: 1011).ready.map(\.name) == ["a.json"])
    }

    @Test("ready files come in first-seen order, then by name")
    func order() throws {
        let (inbox, folder) = try makeInbox()
        let source = SourceConfiguration(name: "registry", stabilityWindow: 0)
        try "1".write(toFile: folder + "/z.json", atomically: false, encoding: .utf8)
        _ = try inbox.scan(SourceConfiguration(name: "registry", stabilityWindow: 60), now: 100)
        try "2".write(toFile: folder + "/b.json", atomically: false, encoding: .utf8)
        try "3".write(toFile: folder + "/a.json", atomically: false, encoding: .utf8)
        #expect(try inbox.scan(source, now: 200).ready.map(\.name) == ["z.json", "a.json", "b.json"])
    }

    @Test("claiming renames into .processing and a name collision in the archive gets a suffix")
    func claimAndCollision() throws {
        let (inbox, folder) = try makeInbox()
        try "x".write(toFile: folder + "/wo.json", atomically: false, encoding: .utf8)
        let file = try #require(try inbox.scan(SourceConfiguration(name: "registry", stabilityWindow: 0), now: 1).ready.first)
        let claimed = try #require(try inbox.claim(file))
        #expect(claimed.path.hasSuffix("/registry/.processing/wo.json"))
        #expect(!FileSystem.exists(folder + "/wo.json"))
        let archive = folder + "/../archive-test"
        try FileSystem.createDirectory(archive)
        try "old".write(toFile: archive + "/wo.json", atomically: false, encoding: .utf8)
        let moved = try FileSystem.move(claimed.path, into: archive)
        #expect(moved.hasSuffix("/wo-1.json"))
        #expect(try String(contentsOfFile: archive + "/wo.json", encoding: .utf8) == "old")
    }

    @Test("a file taken away after the scan is not claimed, and its marker stays in the inbox")
    func goneSinceTheScan() throws {
        let (inbox, folder) = try makeInbox()
        try "x".write(toFile: folder + "/wo.json", atomically: false, encoding: .utf8)
        try "".write(toFile: folder + "/wo.json.done", atomically: false, encoding: .utf8)
        let file = try #require(try inbox.scan(SourceConfiguration(name: "registry", stabilityWindow: 0, markers: true), now: 1).ready.first)
        try FileManager.default.removeItem(atPath: folder + "/wo.json")
        #expect(try inbox.claim(file) == nil)
        #expect(FileSystem.exists(folder + "/wo.json.done"))
    }
}
