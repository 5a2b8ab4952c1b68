@testable import DPPSync
import Foundation
import Testing

@Suite("large files written past the page cache")
struct DirectFileWriterTests {
    /// `count` bytes that differ from block to block, so a misplaced block shows.
    static func bytes(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
    }

    @Test("a file holds exactly what was appended, at every length around a block and a chunk",
          arguments: [0, 1, 4095, 4096, 4097, DirectFileWriter.chunkSize - 1, DirectFileWriter.chunkSize,
                      DirectFileWriter.chunkSize + 4097, 3 * DirectFileWriter.chunkSize + 123])
    func exactContent(length: Int) throws {
        let content = Self.bytes(length, seed: UInt64(length) + 1)
        let path = TemporaryFiles.path("direct-", ".bin")
        let file = try DirectFileWriter(path: path)
        // Pieces of uneven sizes, as a report's rows are.
        var offset = 0, piece = 1
        while offset < content.count {
            let end = min(content.count, offset + piece)
            try file.append(Array(content[offset..<end]))
            offset = end
            piece = piece * 7 % 100_003 + 1
        }
        try file.finish()
        #expect(file.length == length)
        #expect(try FileSystem.readBytes(path) == content)
    }

    @Test("a large staged file and a report's atomic file read back whole")
    func throughFileSystem() throws {
        let large = Self.bytes(DirectFileWriter.threshold + 5_000)
        let staged = TemporaryFiles.path("staged-", ".jsonl")
        try FileSystem.writeUnsynced(large, to: staged)
        #expect(try FileSystem.readBytes(staged) == large)
        // One buffer from file to file, as a batch file's parts are written.
        let buffer = DirectFileWriter.Buffer()
        for seed in 2...4 {
            let part = Self.bytes(DirectFileWriter.threshold + seed * 3_001, seed: UInt64(seed))
            let path = TemporaryFiles.path("part-\(seed)-", ".jsonl")
            try FileSystem.writeUnsynced(part, to: path, buffer: buffer)
            #expect(try FileSystem.readBytes(path) == part)
        }

        let report = TemporaryFiles.path("report-", ".csv")
        let writer = try AtomicFileWriter(path: report)
        try writer.write("id,outcome\n")
        try writer.write(large)
        try writer.commit()
        #expect(try FileSystem.readBytes(report) == Array("id,outcome\n".utf8) + large)
        #expect(!FileSystem.exists((report as NSString).deletingLastPathComponent + "/." + (report as NSString).lastPathComponent + ".\(getpid()).tmp"))
    }

    @Test("a direct write refused in the middle of a file (EINVAL): the rest goes through the page cache, the file whole")
    func refusedMidFile() throws {
        let content = Self.bytes(3 * DirectFileWriter.chunkSize + 999)
        let path = TemporaryFiles.path("refused-", ".bin")
        let file = try DirectFileWriter(path: path)
        guard file.isDirect else { return }  // no O_DIRECT here (tmpfs before Linux 6.6, macOS): nothing to refuse
        var calls = 0
        file.systemWrite = { fd, bytes, count in
            calls += 1
            if calls == 2 { errno = EINVAL; return -1 }  // the second chunk is refused
            return write(fd, bytes, count)
        }
        try file.append(content)
        try file.finish()
        #expect(try FileSystem.readBytes(path) == content)
        #expect(!file.isDirect)
        #expect(calls >= 4, "the refused chunk is written again, then the rest")
    }

    #if os(Linux)
    /// Linux before 6.6 refuses O_DIRECT on tmpfs at the open (the page cache is used instead);
    /// 6.6 and later take it. Either way the file reads back whole.
    @Test("on tmpfs a file reads back whole, whether or not the kernel takes O_DIRECT there")
    func refusedFallsBack() throws {
        guard FileSystem.isDirectory("/dev/shm"), access("/dev/shm", W_OK) == 0 else { return }
        let path = "/dev/shm/dppsync-direct-\(getpid())-\(UUID().uuidString)"
        defer { unlink(path) }
        let content = Self.bytes(DirectFileWriter.chunkSize + 777)
        let file = try DirectFileWriter(path: path)
        try file.append(content)
        try file.finish()
        #expect(try FileSystem.readBytes(path) == content)
    }

    /// How many of the file's pages are in the page cache (`mincore`).
    static func cachedPages(_ path: String) throws -> Int {
        let fd = open(path, O_RDONLY)
        #expect(fd >= 0)
        defer { close(fd) }
        let size = Int(try #require(FileSystem.signature(of: path)).size)
        guard let map = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), map != MAP_FAILED else { return -1 }
        defer { munmap(map, size) }
        let pages = (size + 4095) / 4096
        var vector = [UInt8](repeating: 0, count: pages)
        #expect(mincore(map, size, &vector) == 0)
        return vector.filter { $0 & 1 != 0 }.count
    }

    @Test("where the file system takes O_DIRECT past its page cache, the data leaves no pages there")
    func pastThePageCache() throws {
        #if arch(x86_64) || arch(arm64)
        #expect(DirectFileWriter.directFlag != nil)
        #endif
        // Whether this file system writes direct blocks past its cache: ext4 does; tmpfs refuses
        // O_DIRECT at the open before Linux 6.6 and keeps the pages cached from 6.6 on.
        guard let flag = DirectFileWriter.directFlag else { return }
        let probePath = TemporaryFiles.path("probe-", ".bin")
        defer { unlink(probePath) }
        let probe = open(probePath, O_WRONLY | O_CREAT | flag, 0o644)
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 4096)
        defer { block.deallocate() }
        block.initializeMemory(as: UInt8.self, repeating: 1)
        let written = probe >= 0 ? write(probe, block.baseAddress, 4096) : -1
        if probe >= 0 { close(probe) }
        guard written == 4096, try Self.cachedPages(probePath) == 0 else { return }

        let path = TemporaryFiles.path("uncached-", ".bin")
        let file = try DirectFileWriter(path: path)
        try file.append(Self.bytes(2 * DirectFileWriter.chunkSize + 100))
        try file.finish()
        #expect(try Self.cachedPages(path) <= 1, "at most the last block, written through the cache")
        #expect(!file.isDirect, "O_DIRECT is cleared for the last partial block")
    }
    #endif
}
