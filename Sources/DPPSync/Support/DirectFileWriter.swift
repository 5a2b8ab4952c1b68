#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a new file in large aligned blocks straight to the device (Linux `O_DIRECT`), past
/// the page cache: for the large files a pass writes (reports, release-certificate batch files).
///
/// On this VM class a page the page cache takes fresh is slow to touch the first time: `dd`
/// wrote a new 400 MB file at 400–660 MB/s through the page cache, over the same file's cached
/// pages at 19 GB/s, and with `O_DIRECT` at 1.6 GB/s. A direct write has handed its data to the
/// device when it returns; durability is unchanged: the caller's `fsync` or `syncfs` still makes
/// the data (in the device's cache until then), the file's extents and its name durable.
///
/// The aligned part of a file goes direct; its last partial block (or a whole file under 4 KiB)
/// goes through the page cache, `O_DIRECT` cleared first, so nothing is padded or cut. Where the
/// file system refuses `O_DIRECT` at the open (tmpfs before Linux 6.6, some network file systems)
/// or at a write, the rest of the file goes through the page cache; its content is the same.
final class DirectFileWriter {
    /// Alignment of the buffer, offsets and lengths of direct writes: 4 KiB suits devices of
    /// 512-byte and of 4 KiB logical blocks.
    static let alignment = 4096
    /// Bytes per write: a direct write returns once the device has the data, so each must be
    /// large enough that the device's latency does not bound the throughput (`dd` with
    /// `oflag=direct` here: 1.7 GB/s in blocks of 256 KiB, 2.3 GB/s in 512 KiB).
    static let chunkSize = 1 << 18
    /// Below this size a staged file is written through the page cache (`FileSystem.writeUnsynced`):
    /// a direct write of a small file waits for the device, a buffered one does not.
    static let threshold = 1 << 20

    let fd: Int32
    let path: String
    /// Whether writes still go past the page cache.
    private(set) var isDirect: Bool
    /// Kept by the caller when it writes file after file (`Buffer`).
    private let memory: Buffer
    private var buffer: UnsafeMutableRawBufferPointer { memory.bytes }
    private var used = 0
    /// The bytes appended so far: the file's length once finished.
    private(set) var length = 0
    /// `write(2)`; tests put a file system that refuses a direct write in the middle of a file here.
    var systemWrite: (Int32, UnsafeRawPointer, Int) -> Int = { fd, bytes, count in write(fd, bytes, count) }

    /// The aligned memory a writer copies into, one chunk. A caller that writes many files (a
    /// batch file's parts) makes one and passes it from file to file: made afresh for each part,
    /// the 1M work-order run's peak RSS had risen by 4–5 MB (what glibc keeps of blocks it aligns).
    /// A file known to be small gets a buffer of its size (in whole blocks), not a chunk.
    final class Buffer {
        let bytes: UnsafeMutableRawBufferPointer
        init(for size: Int = DirectFileWriter.chunkSize) {
            let blocks = (min(max(size, 1), DirectFileWriter.chunkSize) + DirectFileWriter.alignment - 1) / DirectFileWriter.alignment
            bytes = .allocate(byteCount: blocks * DirectFileWriter.alignment, alignment: DirectFileWriter.alignment)
        }
        deinit { bytes.deallocate() }
    }

    /// Creates (or truncates) `path` for writing, copying through `buffer` (used by one writer at a time).
    init(path: String, mode: mode_t = 0o644, buffer: Buffer = Buffer()) throws(FileSystemError) {
        self.path = path
        var fd: Int32 = -1
        if let direct = Self.directFlag {
            fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | direct, mode)
        }
        isDirect = fd >= 0
        if fd < 0 { fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode) }
        guard fd >= 0 else { throw FileSystemError.errno("create", path) }
        self.fd = fd
        memory = buffer
    }

    deinit { close(fd) }

    /// Appends `bytes`; full chunks are written as they fill.
    func append(_ bytes: UnsafeRawBufferPointer) throws(FileSystemError) {
        var rest = bytes
        while !rest.isEmpty {
            let n = min(rest.count, buffer.count - used)
            UnsafeMutableRawBufferPointer(rebasing: buffer[used..<used + n]).copyMemory(from: UnsafeRawBufferPointer(rebasing: rest[..<n]))
            used += n
            length += n
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if used == buffer.count {
                try writeOut(upTo: used)
                used = 0
            }
        }
    }

    func append(_ bytes: [UInt8]) throws(FileSystemError) {
        let result = bytes.withUnsafeBytes { bytes in Result { () throws(FileSystemError) in try append(bytes) } }
        try result.get()
    }

    /// Writes what is left: the aligned part direct, the last partial block through the page cache
    /// (a direct write must be whole blocks).
    func finish() throws(FileSystemError) {
        let aligned = isDirect ? used / Self.alignment * Self.alignment : used
        try writeOut(upTo: aligned)
        if used > aligned {
            guard stopWritingDirectly() else { throw FileSystemError.errno("write", path) }
            try writeOut(from: aligned, upTo: used)
        }
        used = 0
    }

    /// Writes `buffer[start..<end]`; a direct write the file system refuses is done again through
    /// the page cache, and so is the rest of the file.
    private func writeOut(from start: Int = 0, upTo end: Int) throws(FileSystemError) {
        var written = start
        while written < end {
            let n = systemWrite(fd, buffer.baseAddress! + written, end - written)
            if n >= 0 { written += n; continue }
            if errno == EINTR { continue }
            if errno == EINVAL, isDirect, stopWritingDirectly() { continue }
            throw FileSystemError.errno("write", path)
        }
    }

    /// Turns `O_DIRECT` off on the open file; `false` when that fails too.
    private func stopWritingDirectly() -> Bool {
        guard let direct = Self.directFlag else { return false }
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags & ~direct) == 0 else { return false }
        isDirect = false
        return true
    }

    /// Linux's `O_DIRECT`, which Glibc's module map hides behind `_GNU_SOURCE`; its value
    /// depends on the architecture. `nil` where it is not known (the page cache is used).
    static var directFlag: Int32? {
        #if os(Linux) && (arch(x86_64) || arch(i386))
        return 0o40000
        #elseif os(Linux) && (arch(arm64) || arch(arm))
        return 0o200000
        #else
        return nil
        #endif
    }
}
