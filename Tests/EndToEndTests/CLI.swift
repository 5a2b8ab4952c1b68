import DPPSync
import Foundation
import Testing

/// Runs the real `dppsync` binary on a temporary root, as a user or cron would.
struct CLI {
    let root: String

    /// The `dppsync` executable beside the test bundle (or `$DPPSYNC_BINARY`).
    static let binary: String = {
        if let explicit = ProcessInfo.processInfo.environment["DPPSYNC_BINARY"] { return explicit }
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = (me as NSString).deletingLastPathComponent
        while !dir.isEmpty, dir != "/" {
            let candidate = dir + "/dppsync"
            if FileManager.default.isExecutableFile(atPath: candidate), !FileSystem.isDirectory(candidate) { return candidate }
            dir = (dir as NSString).deletingLastPathComponent
        }
        return "dppsync"
    }()

    struct Result {
        var status: Int32
        /// `true` when the process died from a signal (SIGKILL at a crash point).
        var killed: Bool
        var stdout: String
        var stderr: String
    }

    /// Where the roots go; each test run keeps its own (to look at after a failure) and removes
    /// those of runs more than an hour old, which had piled up to tens of gigabytes.
    static let rootsFolder: String = {
        let folder = NSTemporaryDirectory() + "dppsync-tests/"
        let stale = Date().addingTimeInterval(-3600)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            let path = folder + name
            if let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date, modified < stale {
                try? FileManager.default.removeItem(atPath: path)
            }
        }
        return folder
    }()

    /// A fresh root with `dppsync init` done.
    static func freshRoot(_ name: String = #function) throws -> CLI {
        let base = rootsFolder + name.filter { $0.isLetter || $0.isNumber } + "-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let cli = CLI(root: base)
        let result = try cli.run("init")
        #expect(result.status == 0, "init failed: \(result.stderr)")
        return cli
    }

    @discardableResult
    func run(_ arguments: String..., environment: [String: String] = [:]) throws -> Result {
        try run(arguments: arguments, environment: environment)
    }

    func run(arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let process = try start(arguments: arguments, environment: environment)
        return wait(process)
    }

    /// Runs `arguments` from `directory`, with the root named `rootAs` (a relative `--root`, as an operator types it).
    func run(from directory: String, rootAs: String, _ arguments: String...) throws -> Result {
        wait(try start(arguments: arguments, rootAs: rootAs, directory: directory))
    }

    func start(arguments: [String], environment: [String: String] = [:], rootAs: String? = nil, directory: String? = nil) throws -> RunningProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments + ["--root", rootAs ?? root]
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        var env = ProcessInfo.processInfo.environment
        env["DPPSYNC_CRASH_AT"] = nil
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        return RunningProcess(process: process, out: out, err: err)
    }

    func wait(_ running: RunningProcess) -> Result {
        // Read both pipes before waiting so a chatty process never blocks on a full pipe.
        let outData = running.out.fileHandleForReading.readDataToEndOfFile()
        let errData = running.err.fileHandleForReading.readDataToEndOfFile()
        running.process.waitUntilExit()
        return Result(status: running.process.terminationStatus, killed: running.process.terminationReason == .uncaughtSignal,
                      stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    struct RunningProcess {
        let process: Process
        let out: Pipe
        let err: Pipe
    }

    // MARK: Files

    var layout: RootLayout { RootLayout(root: root) }

    /// Drops a fixture (from `Fixtures/`) or literal text into `Inbox/<source>/`.
    func drop(_ text: String, as name: String, source: String) throws {
        let folder = layout.inbox(source)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try text.write(toFile: folder + "/" + name, atomically: true, encoding: .utf8)
    }

    func dropFixture(_ fixture: String, source: String, as name: String? = nil) throws {
        try drop(Fixtures.text(fixture), as: name ?? fixture, source: source)
    }

    func files(in folder: String) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: root + "/" + folder) else { return [] }
        return e.compactMap { $0 as? String }.filter { !FileSystem.isDirectory(root + "/" + folder + "/" + $0) }.sorted()
    }

    /// Runs SQL against the store with the system's `sqlite3`-free GRDB reader.
    func query(_ sql: String) throws -> [[String?]] {
        let store = try Store(path: layout.storeFile)
        return try store.read { db in
            try GRDBRows.fetch(db, sql)
        }
    }

    func scalar(_ sql: String) throws -> String? { try query(sql).first?.first ?? nil }

    /// The root's `dppsync.yaml`, as a command reads it (for library calls made beside the CLI).
    func configuration() throws -> DPPSync.Configuration {
        try DPPSync.Configuration.load(text: String(contentsOfFile: layout.configFile, encoding: .utf8), file: layout.configFile)
    }
}

/// The fixtures beside the tests (copies of the reference formats, plus broken ones).
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

    static func text(_ name: String) throws -> String {
        try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
    }
}

import GRDB

enum GRDBRows {
    static func fetch(_ db: Database, _ sql: String) throws -> [[String?]] {
        try Row.fetchAll(db, sql: sql).map { row in
            row.databaseValues.map { value -> String? in
                switch value.storage {
                case .null: return nil
                case .int64(let i): return String(i)
                case .double(let d): return String(d)
                case .string(let s): return s
                case .blob(let b): return b.map { String(format: "%02x", $0) }.joined()
                }
            }
        }
    }
}
