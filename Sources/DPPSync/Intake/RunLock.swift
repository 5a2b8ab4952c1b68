#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One `run` per root: an exclusive `flock` on `State/run.lock`, released by
/// the kernel when the process dies, so a crash never leaves a stale lock.
public final class RunLock {
    private let fd: Int32

    /// Takes the lock or throws `RunLockError.held` naming the holder.
    public init(path: String) throws(RunLockError) {
        let fd = open(path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else { throw .unavailable(path: path, reason: String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buffer, 32, 0)
            close(fd)
            let pid = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            throw .held(path: path, pid: pid)
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, pid, pid.count, 0)
        self.fd = fd
    }

    deinit {
        _ = flock(fd, LOCK_UN)
        close(fd)
    }
}

/// Why the run lock could not be taken.
public enum RunLockError: Error, Sendable, CustomStringConvertible {
    case held(path: String, pid: String)
    case unavailable(path: String, reason: String)

    public var description: String {
        switch self {
        case .held(let path, let pid): return "another dppsync run (process \(pid)) holds the lock \(path); try again when it has finished"
        case .unavailable(let path, let reason): return "cannot open the lock \(path): \(reason)"
        }
    }
}

import Foundation
