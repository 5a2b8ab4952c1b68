import DPPSync
import Foundation
import Logging

/// Writes log lines to standard error: readable text, or one JSON object per
/// line (`--log-format json`) for log shippers.
struct StandardErrorLogHandler: LogHandler {
    let label: String
    let format: LogFormat
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    init(label: String, format: LogFormat) { self.label = label; self.format = format }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let time = Timestamp.now().description
        var line: String
        switch format {
        case .json:
            var members: [(String, JSONValue)] = [("time", .string(time)), ("level", .string(event.level.rawValue)),
                                                 ("message", .string("\(event.message)"))]
            members += merged.sorted { $0.key < $1.key }.map { ($0.key, .string("\($0.value)")) }
            line = JSONValue.object(members).jsonText()
        case .text:
            line = "\(time) \(event.level.rawValue.uppercased()) \(event.message)"
            for (key, value) in merged.sorted(by: { $0.key < $1.key }) { line += " \(key)=\(value)" }
            line = line.terminalSafe
        }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
