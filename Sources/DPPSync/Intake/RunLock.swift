#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One `run` per root: an exclusive `FileLock` on `State/run.lock`, released by the kernel when the
/// process dies, so a crash never leaves a stale lock. The file holds the holder's process id.
public final class RunLock {
    private let lock: FileLock

    /// Takes the lock or throws `RunLockError.held` naming the holder.
    public init(path: String) throws(RunLockError) {
        let taken: FileLock?
        do { taken = try FileLock(path: path, mode: .exclusive, timeout: 0) } catch {
            throw .unavailable(path: path, reason: error.reason)
        }
        guard let taken else {
            let holder = (try? FileSystem.readBytes(path)).map { String(decoding: $0.prefix(32), as: UTF8.self) } ?? ""
            let pid = holder.trimmingCharacters(in: .whitespacesAndNewlines)
            throw .held(path: path, pid: pid.isEmpty ? "?" : pid)
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(taken.fd, 0)
        _ = pwrite(taken.fd, pid, pid.count, 0)
        lock = taken
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
