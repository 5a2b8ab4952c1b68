import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file-system operation that failed, with the path and the system's words.
public struct FileSystemError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var reason: String
    public var description: String { "cannot \(operation) \(path): \(reason)" }

    static func errno(_ operation: String, _ path: String) -> FileSystemError {
        FileSystemError(operation: operation, path: path, reason: String(cString: strerror(Glibc.errno)))
    }
}

/// The few durable file operations dppsync's invariants rest on (DESIGN.md §4):
/// atomic writes, renames that survive power loss, moves that never overwrite.
public enum FileSystem {
    /// Size and modification time as the file system reports them.
    public struct Signature: Sendable, Hashable {
        public var size: Int64
        public var modifiedNanoseconds: Int64
    }

    public static func signature(of path: String) -> Signature? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Signature(size: Int64(st.st_size),
                         modifiedNanoseconds: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec))
    }

    /// An entry that is neither a regular file nor a folder; its description says what it is, for people.
    public enum SpecialEntry: String, Sendable, CustomStringConvertible {
        case symbolicLink = "a symbolic link", namedPipe = "a named pipe", socket = "a socket", device = "a device"
        public var description: String { rawValue }
    }

    /// What an entry is when something other than a regular file or a folder (not followed: a symbolic
    /// link is one, whatever it points to); `nil` for a regular file, a folder, or nothing there.
    public static func specialKind(of path: String) -> SpecialEntry? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        switch st.st_mode & S_IFMT {
        case S_IFREG, S_IFDIR: return nil
        case S_IFLNK: return .symbolicLink
        case S_IFIFO: return .namedPipe
        case S_IFSOCK: return .socket
        default: return .device
        }
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Whether anything is at `path`, a dangling symbolic link included (`exists` follows links).
    public static func entryExists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// `path` made absolute (against the working folder), its folder's `.`, `..` and symbolic links resolved
    /// where it exists (`canonicalFolder`), so that two spellings of one file compare equal (`--root .` and the
    /// absolute path a cron job gave). Its last component is kept as it is: a link is not followed to where it
    /// points. (NSString's `standardizingPath` resolves a link in the last component too, on Linux: not used.)
    public static func canonicalPath(_ path: String) -> String {
        var components = absolute(path).split(separator: "/").map(String.init)
        guard let name = components.popLast(), name != ".", name != ".." else { return canonicalFolder(path) }
        let base = canonicalFolder("/" + components.joined(separator: "/"))
        return (base == "/" ? "" : base) + "/" + name
    }

    /// A folder's path as `canonicalPath` gives those of the files in it: made absolute, every link in
    /// it resolved, the last component too (a root reached through a link is the folder it links to).
    public static func canonicalFolder(_ path: String) -> String {
        let absolute = absolute(path)
        guard let real = realpath(absolute, nil) else { return (absolute as NSString).standardizingPath }
        defer { free(real) }
        return String(cString: real)
    }

    /// `path` against the working folder, when relative.
    private static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    public static func createDirectory(_ path: String) throws(FileSystemError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw FileSystemError(operation: "create directory", path: path, reason: "\(error.localizedDescription)")
        }
    }

    /// Names in a directory, sorted; an absent directory has none.
    public static func entries(of directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    /// The names in `directory` that begin with a dot (but `.` and `..`), unsorted. Read with `readdir`, so
    /// that the other entries cost no string: every pass looks for stale temporary files in each outbox
    /// folder, and one can hold 100,000 files the CMMS has not taken yet.
    public static func hiddenEntries(of directory: String) -> [String] {
        guard let stream = opendir(directory) else { return [] }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name: String? = withUnsafeBytes(of: &entry.pointee.d_name) { bytes in
                guard bytes.first == UInt8(ascii: ".") else { return nil }
                return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            if let name, name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    public static func readBytes(_ path: String) throws(FileSystemError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FileSystemError.errno("read", path)
        }
        return [UInt8](data)
    }

    /// Makes a directory's entries (a rename, a new file) durable.
    public static func syncDirectory(_ path: String) throws(FileSystemError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw FileSystemError.errno("open directory", path) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw FileSystemError.errno("fsync directory", path) }
    }

    /// Writes `bytes` so that `path` holds either its old content or all of the
    /// new one: temporary file in the same folder, fsync, rename, fsync the folder.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws(FileSystemError) {
        let writer = try AtomicFileWriter(path: path, mode: mode, size: bytes.count)
        try writer.write(bytes)
        try writer.commit()
    }

    public static func writeAtomically(_ text: String, to path: String, mode: mode_t = 0o644) throws(FileSystemError) {
        try writeAtomically(Array(text.utf8), to: path, mode: mode)
    }

    /// Renames `source` into `directory`, keeping its name unless another file
    /// has it already (then `name-1.ext`, `name-2.ext` …); fsyncs both folders.
    /// Returns the new path.
    @discardableResult
    public static func move(_ source: String, into directory: String) throws(FileSystemError) -> String {
        try createDirectory(directory)
        let target = freeName(for: (source as NSString).lastPathComponent, in: directory)
        try move(source, to: target)
        return target
    }

    /// Renames `source` to `target` (a name `freeName` gave); fsyncs both folders. Across file systems
    /// (an inbox folder linked to a share) it copies instead (`copyAcross`).
    public static func move(_ source: String, to target: String) throws(FileSystemError) {
        if rename(source, target) != 0 {
            guard errno == EXDEV else { throw FileSystemError.errno("move", source) }
            try copyAcross(source, to: target)
        }
        try syncDirectory((target as NSString).deletingLastPathComponent)
        try syncDirectory((source as NSString).deletingLastPathComponent)
    }

    /// A move to another file system: the file copied whole under a temporary name, flushed and renamed
    /// into place, then the original removed (a symbolic link, or a named pipe, is made again). A kill
    /// between the two leaves both: the restart keeps the copy (`FileProcessor.finish`).
    private static func copyAcross(_ source: String, to target: String) throws(FileSystemError) {
        let folder = (target as NSString).deletingLastPathComponent
        let kind = specialKind(of: source)
        if kind == .symbolicLink {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let length = readlink(source, &buffer, buffer.count - 1)
            guard length >= 0, symlink(String(cString: Array(buffer[0..<length]) + [0]), target) == 0 else { throw FileSystemError.errno("move", source) }
        } else if kind == .namedPipe {
            guard mkfifo(target, 0o644) == 0 else { throw FileSystemError.errno("move", source) }
        } else {
            // A copy a killed process left half-written under its temporary name.
            removeStaleTemporaries(in: folder)
            guard signature(of: source) != nil else { throw FileSystemError(operation: "move", path: source, reason: "only a file, a link or a named pipe can move to another file system") }
            try copy(source, to: target)
        }
        // The copy's name durable before the original goes: the two folders are on different disks.
        try syncDirectory(folder)
        guard unlink(source) == 0 else { throw FileSystemError.errno("remove", source) }
    }

    /// Copies the file `source` to `target` a megabyte at a time (memory stays flat whatever its size),
    /// under a temporary name, flushed, then renamed into place: `target` is whole or absent.
    public static func copy(_ source: String, to target: String) throws(FileSystemError) {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw FileSystemError.errno("open", source) }
        defer { close(input) }
        let temporary = temporaryPath(for: target)
        let output = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw FileSystemError.errno("create", temporary) }
        do throws(FileSystemError) {
            defer { close(output) }
            var chunk = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
                if n < 0 { if errno == EINTR { continue }; throw FileSystemError.errno("read", source) }
                if n == 0 { break }
                try writeAll(Array(chunk[0..<n]), to: output, path: temporary)
            }
            guard fsync(output) == 0 else { throw FileSystemError.errno("fsync", temporary) }
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, target) == 0 else {
            unlink(temporary)
            throw FileSystemError.errno("rename", target)
        }
    }

    /// Writes `bytes` to `path` without fsync: for files staged under a temporary
    /// name and flushed together with `syncFileSystem` before their rename. A large file
    /// (a batch file's part) goes past the page cache (`DirectFileWriter`), through `buffer`
    /// when the caller keeps one for the files it writes one after another.
    static func writeUnsynced(_ bytes: [UInt8], to path: String, buffer: DirectFileWriter.Buffer? = nil) throws(FileSystemError) {
        do throws(FileSystemError) {
            if bytes.count >= DirectFileWriter.threshold {
                let file = try DirectFileWriter(path: path, buffer: buffer ?? DirectFileWriter.Buffer())
                try file.append(bytes)
                try file.finish()
            } else {
                let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                guard fd >= 0 else { throw FileSystemError.errno("create", path) }
                defer { close(fd) }
                try writeAll(bytes, to: fd, path: path)
            }
        } catch {
            unlink(path)  // the caller stages only what was written whole
            throw error
        }
    }

    /// Writes `bytes` under a temporary name and renames it to `path`, without fsync: whole under its
    /// name whatever kills the process, on disk once the caller flushes the file system and the folder
    /// (`syncFileSystem`, `syncDirectory`), as the caller of many small files does once for all.
    static func place(_ bytes: [UInt8], at path: String) throws(FileSystemError) {
        let temporary = temporaryPath(for: path)
        try writeUnsynced(bytes, to: temporary)
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw FileSystemError.errno("rename", path)
        }
    }

    /// Writes all of `bytes` to `fd`, retrying short and interrupted writes.
    static func writeAll(_ bytes: [UInt8], to fd: Int32, path: String) throws(FileSystemError) {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileSystemError.errno("write", path)
            }
            written += n
        }
    }

    /// Starts the kernel's write-out of `path`'s dirty pages (Linux `sync_file_range` with
    /// `SYNC_FILE_RANGE_WRITE`) without waiting for it to end, so that a later `fsync` finds
    /// less to write. Only a hint: nothing happens elsewhere, or when the file cannot be opened.
    static func startWritingOut(_ path: String) {
        #if os(Linux)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let write: UInt32 = 2  // SYNC_FILE_RANGE_WRITE
        _ = linuxSyncFileRange(fd, 0, 0, write)
        #endif
    }

    /// Flushes every dirty file of the file system that holds `path` (Linux `syncfs`).
    public static func syncFileSystem(containing path: String) throws(FileSystemError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw FileSystemError.errno("open", path) }
        defer { close(fd) }
        #if os(Linux)
        guard linuxSyncfs(fd) == 0 else { throw FileSystemError.errno("syncfs", path) }
        #else
        sync()
        #endif
    }

    /// Removes `.<name>.<pid>.tmp` files left by a process that died mid-write
    /// (kill -9): they never appeared under a final name, and nobody finishes them. A process of
    /// that id that is alive may be another one that got the id since (or a zombie), so a temporary
    /// file untouched for `staleAfter` seconds goes too: no write of dppsync's lasts that long.
    public static func removeStaleTemporaries(in folder: String, staleAfter: TimeInterval = 86_400, now: Date = Date()) {
        for name in hiddenEntries(of: folder) where name.hasSuffix(".tmp") {
            let parts = name.dropLast(4).split(separator: ".")
            guard let pid = parts.last.flatMap({ Int32($0) }), pid != getpid() else { continue }
            let path = folder + "/" + name
            if kill(pid, 0) != 0 && errno == ESRCH {
                unlink(path)
            } else if let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
                      now.timeIntervalSince(modified) > staleAfter {
                unlink(path)
            }
        }
    }

    /// `directory/name`, or the first `stem-N.ext` not taken; each shortened (`fitting`) so that it, and
    /// it with `reserving` more bytes (a `.reason.json` beside it), is a name the file system takes.
    /// - Parameter alsoTaken: what else takes a name (for the quarantine: another file's reason beside it).
    public static func freeName(for name: String, in directory: String, reserving: Int = 0, alsoTaken: (String) -> Bool = { _ in false }) -> String {
        // (Taken by anything, a dangling link too: a rename would replace it.)
        candidates(for: name, in: directory, reserving: reserving).first { !entryExists($0) && !alsoTaken($0) } ?? directory + "/" + name
    }

    /// The names `freeName` passes over as taken, in its order (those before the free one).
    static func takenNames(for name: String, in directory: String, reserving: Int = 0, alsoTaken: (String) -> Bool = { _ in false }) -> [String] {
        Array(candidates(for: name, in: directory, reserving: reserving).prefix { entryExists($0) || alsoTaken($0) })
    }

    /// `directory/name`, then `stem-1.ext`, `stem-2.ext` …, each shortened (`fitting`): the names `freeName` tries.
    private static func candidates(for name: String, in directory: String, reserving: Int) -> some Sequence<String> {
        let ext = (name as NSString).pathExtension
        let stem = ext.isEmpty ? name : String(name.dropLast(ext.count + 1))
        return (0...).lazy.map { n in
            directory + "/" + fitting(n == 0 ? name : stem + "-\(n)" + (ext.isEmpty ? "" : "." + ext), reserving: reserving)
        }
    }

    /// The longest file name most file systems take, in bytes (`NAME_MAX`).
    static let longestName = 255

    /// `name`, or, when it and `reserving` more bytes would be longer than a file name may be, its start,
    /// `~`, 8 hex digits of its SHA-256 and its extension: a CMMS that sends a 250-byte name had stopped every
    /// run at the reason, archive or temporary name made from it (`ENAMETOOLONG`).
    public static func fitting(_ name: String, reserving: Int = 0) -> String {
        let room = longestName - reserving
        guard name.utf8.count > room else { return name }
        let ext = (name as NSString).pathExtension
        let kept = ext.isEmpty || ext.utf8.count > 16 ? "" : "." + ext
        let tag = "~" + String(Fingerprint.sha256Hex(Array(name.utf8)).prefix(8)) + kept
        var stem = Substring(name.utf8.count > kept.utf8.count ? String(name.dropLast(kept.count)) : name)
        while stem.utf8.count + tag.utf8.count > room, !stem.isEmpty { stem = stem.dropLast() }
        return String(stem) + tag
    }

    /// A hidden name beside `path` for writing it before a rename, ending `.<pid>.tmp` so that a later
    /// process knows it for a dead one's (`removeStaleTemporaries`).
    static func temporaryPath(for path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[...$0]) } ?? ""
        let name = String(slash.map { path[path.index(after: $0)...] } ?? path[...])
        let suffix = ".\(getpid()).tmp"
        return folder + "." + fitting(name, reserving: 1 + suffix.utf8.count) + suffix
    }
}

#if os(Linux)
/// glibc's `syncfs(2)`, which Glibc's module map hides behind `_GNU_SOURCE`.
@_silgen_name("syncfs")
private func linuxSyncfs(_ fd: Int32) -> Int32
/// glibc's `sync_file_range(2)`, hidden behind `_GNU_SOURCE` like `syncfs`; a count of 0 means to the end.
@_silgen_name("sync_file_range")
private func linuxSyncFileRange(_ fd: Int32, _ offset: Int64, _ count: Int64, _ flags: UInt32) -> Int32
#endif

/// Writes a file piece by piece (flat memory at any size) and makes it appear
/// under its final name only when complete: temporary file in the same folder,
/// fsync, rename, fsync the folder.
public final class AtomicFileWriter {
    private let path: String
    private let temporary: String
    /// Past the page cache where the file system allows: a report runs to tens of megabytes.
    private let file: DirectFileWriter
    private var finished = false

    /// - Parameter size: the file's size when known (a small file then takes a small buffer).
    public init(path: String, mode: mode_t = 0o644, size: Int? = nil) throws(FileSystemError) {
        self.path = path
        temporary = FileSystem.temporaryPath(for: path)
        file = try DirectFileWriter(path: temporary, mode: mode, buffer: DirectFileWriter.Buffer(for: size ?? DirectFileWriter.chunkSize))
    }

    public func write(_ text: String) throws(FileSystemError) {
        var text = text
        let result = text.withUTF8 { bytes in Result { () throws(FileSystemError) in try file.append(UnsafeRawBufferPointer(bytes)) } }
        try result.get()
    }

    public func write(_ bytes: [UInt8]) throws(FileSystemError) {
        try file.append(bytes)
    }

    /// Flushes, fsyncs and renames into place.
    public func commit() throws(FileSystemError) {
        try file.finish()
        guard fsync(file.fd) == 0 else { throw FileSystemError.errno("fsync", temporary) }
        finished = true
        guard rename(temporary, path) == 0 else {
            let failure = FileSystemError.errno("rename", temporary)
            unlink(temporary)
            throw failure
        }
        let directory = (path as NSString).deletingLastPathComponent
        try FileSystem.syncDirectory(directory.isEmpty ? "." : directory)
    }

    deinit {
        if !finished { unlink(temporary) }
    }
}
