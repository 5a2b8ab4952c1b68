import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An advisory `flock` on a file, shared or exclusive, released when the value goes (or the
/// process dies: a crash never leaves it held).
public final class FileLock {
    public enum Mode: Sendable { case shared, exclusive }

    /// The locked file's descriptor, open while the lock is held (`RunLock` writes its holder's process id there).
    let fd: Int32

    /// Takes the lock on `path` (made if missing), waiting up to `timeout` seconds, or as long as it
    /// takes when `nil`; `nil` when the time ran out.
    public init?(path: String, mode: Mode, timeout: Double?) throws(FileSystemError) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileSystemError.errno("open", path) }
        let operation = mode == .shared ? LOCK_SH : LOCK_EX
        if let timeout {
            let deadline = Date(timeIntervalSinceNow: timeout)
            while flock(fd, operation | LOCK_NB) != 0 {
                guard errno == EWOULDBLOCK || errno == EINTR, Date() < deadline else { close(fd); return nil }
                usleep(50_000)
            }
        } else {
            while flock(fd, operation) != 0 {
                guard errno == EINTR else { close(fd); throw FileSystemError.errno("lock", path) }
            }
        }
        self.fd = fd
    }

    deinit {
        _ = flock(fd, LOCK_UN)
        close(fd)
    }
}
