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
/// pages at 19 GB/s, and with `O_DIRECT` at 1.6 GB/s. A buffered file also waits in the cache
/// for its flush; a direct one's data is on the device once `write` returns (the caller's
/// `fsync` or `syncfs` then commits the metadata and the device's cache, as before).
///
/// Where the file system refuses `O_DIRECT` (tmpfs, some network file systems), at the open or
/// at a write, the file is written through the page cache instead; its content is the same.
final class DirectFileWriter {
    /// Alignment of the buffer, offsets and lengths of direct writes: 4 KiB suits devices of
    /// 512-byte and of 4 KiB logical blocks.
    static let alignment = 4096
    /// Bytes per write: a direct write returns once the device has the data, so each must be
    /// large enough that the device's latency does not bound the throughput (`dd` with
    /// `oflag=direct` here: 1.7 GB/s in blocks of 256 KiB, 2.3 GB/s in 512 KiB).
    static let chunkSize = 1 << 18
    /// Below this size a file is written through the page cache (`FileSystem.writeUnsynced`):
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

    /// The aligned memory a writer copies into, one chunk. A caller that writes many files (a
    /// batch file's parts) makes one and passes it from file to file: made afresh for each part,
    /// the 1M work-order run's peak RSS had risen by 4–5 MB (what glibc keeps of blocks it aligns).
    final class Buffer {
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: DirectFileWriter.chunkSize, alignment: DirectFileWriter.alignment)
        init() {}
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
            if used == buffer.count { try writeBuffer() }
        }
    }

    func append(_ bytes: [UInt8]) throws(FileSystemError) {
        let result = bytes.withUnsafeBytes { bytes in Result { () throws(FileSystemError) in try append(bytes) } }
        try result.get()
    }

    /// Writes what is left. A direct file's last block is written whole, zero-padded, and
    /// the file then cut to its length (a crash in between leaves a temporary, never a final file).
    func finish() throws(FileSystemError) {
        guard used > 0 else { return }
        let padded = isDirect ? (used + Self.alignment - 1) / Self.alignment * Self.alignment : used
        let padding = padded - used
        UnsafeMutableRawBufferPointer(rebasing: buffer[used..<padded]).initializeMemory(as: UInt8.self, repeating: 0)
        used = padded
        try writeBuffer()
        if padding > 0 {
            guard ftruncate(fd, off_t(length)) == 0 else { throw FileSystemError.errno("truncate", path) }
        }
    }

    /// Writes the buffer's `used` bytes; a direct write the file system refuses is done again
    /// through the page cache, and so is the rest of the file.
    private func writeBuffer() throws(FileSystemError) {
        var written = 0
        while written < used {
            let n = write(fd, buffer.baseAddress! + written, used - written)
            if n >= 0 { written += n; continue }
            if errno == EINTR { continue }
            if errno == EINVAL, isDirect, stopWritingDirectly() { continue }
            throw FileSystemError.errno("write", path)
        }
        used = 0
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
