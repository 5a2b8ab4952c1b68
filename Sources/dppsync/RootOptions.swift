import ArgumentParser
import DPPSync
import Foundation
import Logging

/// Options every command takes.
struct RootOptions: ParsableArguments {
    @Option(name: .long, help: "The dppsync root folder (Inbox/, Mappings/, State/ …).")
    var root: String = "."

    @Option(name: .long, help: "Log format: text (for people) or json (one object per line, for machines).")
    var logFormat: LogFormat = .text

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    var layout: RootLayout { RootLayout(root: root) }

    /// Reads `dppsync.yaml` (defaults when absent); a broken file is a usage error.
    func loadConfiguration() throws -> DPPSync.Configuration {
        guard let data = FileManager.default.contents(atPath: layout.configFile) else { return DPPSync.Configuration() }
        do {
            return try DPPSync.Configuration.load(text: YAMLText.decoding(data), file: layout.configFile)
        } catch {
            throw UsageError(message: "\(error)")
        }
    }

    /// Opens the root for a run; another run holding it is a usage error (exit 2) naming its process.
    func openSynchronizer(configuration: DPPSync.Configuration) throws -> Synchronizer {
        try requireRoot()
        do {
            return try Synchronizer(layout: layout, configuration: configuration)
        } catch let error as RunLockError {
            throw UsageError(message: "\(error)")
        }
    }

    /// Opens the root's store; a folder that is not a root is a usage error (`requireRoot`).
    func openStore(readOnly: Bool = false, busyTimeout: TimeInterval = 30) throws -> Store {
        try requireRoot()
        return try Store(path: layout.storeFile, readOnly: readOnly, busyTimeout: busyTimeout)
    }

    /// A folder `dppsync init` never made (a mistyped `--root`) is a usage error (exit 2), not a failed run.
    func requireRoot() throws {
        guard FileSystem.isDirectory(layout.state), FileSystem.exists(layout.state + "/ledger.key") else {
            throw UsageError(message: "\(layout.root) is not a dppsync root (no State/ledger.key): give the right --root, or make one with `dppsync init --root \(layout.root)`")
        }
    }

    func makeLogger(label: String) -> Logger {
        let format = logFormat
        var logger = Logger(label: label) { label in StandardErrorLogHandler(label: label, format: format) }
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        return logger
    }
}

enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}
