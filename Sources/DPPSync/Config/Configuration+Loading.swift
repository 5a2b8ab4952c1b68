import Yams

extension Configuration {
    /// A stability window is seconds from 0 to a day: a negative one took files on first sight,
    /// an infinite one made `run --once` wait for ever, and NaN never took a file.
    static func isWindow(_ seconds: Double) -> Bool { (0...86_400).contains(seconds) }
    static let windowRange = "stabilityWindow must be a number of seconds from 0 to 86400"

    /// Reads `dppsync.yaml`; every problem is reported with its line and column.
    public static func load(text: String, file: String) throws(ConfigurationErrors) -> Configuration {
        var reader = YAMLReader(file: file)
        var configuration = Configuration()
        guard let root = reader.compose(text) else {
            if reader.issues.isEmpty { return configuration }
            throw ConfigurationErrors(issues: reader.issues)
        }
        let topKeys = ["timeZone", "stabilityWindow", "sources", "policies", "ledger", "ownership", "scheduling"]
        var defaultWindow = 5.0
        var sourceNodes: [(String, Node, Node)] = []
        for (key, _, value) in reader.pairs(root, allowed: topKeys, what: "dppsync.yaml") {
            switch key {
            case "timeZone":
                if let name = reader.string(value, "timeZone") {
                    if let zone = OperatorTimeZone(name) { configuration.timeZone = zone }
                    else { reader.fail(value, "unknown time zone '\(name)' (use UTC, an offset such as +01:00, or an IANA name such as Europe/Berlin)") }
                }
            case "stabilityWindow":
                if let seconds = reader.number(value, "stabilityWindow") {
                    if Self.isWindow(seconds) { defaultWindow = seconds } else { reader.fail(value, Self.windowRange) }
                }
            case "sources":
                sourceNodes = reader.pairs(value, allowed: nil, what: "sources").map { ($0.key, $0.keyNode, $0.value) }
            case "policies":
                for (code, keyNode, outcomeNode) in reader.pairs(value, allowed: nil, what: "policies") {
                    let reason = ReasonCode(rawValue: code)
                    guard let allowed = ReasonCode.configurable[reason] else {
                        reader.fail(keyNode, "'\(code)' has no configurable outcome; configurable: \(ReasonCode.configurable.keys.map(\.rawValue).sorted().joined(separator: ", "))")
                        continue
                    }
                    guard let text = reader.string(outcomeNode, code) else { continue }
                    let outcome = Outcome(rawValue: text)
                    guard allowed.contains(outcome) else {
                        reader.fail(outcomeNode, "\(code) can be \(allowed.map(\.rawValue).joined(separator: " or ")), not '\(text)'")
                        continue
                    }
                    configuration.policies[reason] = outcome
                }
            case "scheduling":
                var alertHighNode: Node?
                for (key, _, node) in reader.pairs(value, allowed: ["horizonDays", "mediumWithinDays", "projectionWindowDays", "alertHighWithinHours", "defaultWorkHours"],
                                                   what: "scheduling") {
                    if key == "alertHighWithinHours" || key == "defaultWorkHours" {
                        guard let n = reader.number(node, "scheduling.\(key)") else { continue }
                        if key == "alertHighWithinHours", n >= 0, n <= 8_760, n == n.rounded() {
                            configuration.scheduling.alertHighWithinHours = Int(n)
                            alertHighNode = node
                        } else if key == "defaultWorkHours", n > 0, n <= 720 {
                            configuration.scheduling.defaultWorkHours = n
                        } else {
                            reader.fail(node, key == "defaultWorkHours" ? "scheduling.defaultWorkHours must be more than 0 and at most 720 hours"
                                                                         : "scheduling.alertHighWithinHours must be a whole number of hours from 0 to 8760")
                        }
                        continue
                    }
                    guard let n = reader.number(node, "scheduling.\(key)"), n >= 0, n <= 3_650, n == n.rounded() else {
                        reader.fail(node, "scheduling.\(key) must be a whole number of days from 0 to 3650"); continue
                    }
                    switch key {
                    case "horizonDays": configuration.scheduling.horizonDays = Int(n)
                    case "mediumWithinDays": configuration.scheduling.mediumWithinDays = Int(n)
                    default: configuration.scheduling.projectionWindowDays = max(1, Int(n))
                    }
                }
                // The bands nest: a High band longer than the Medium one would leave it no failure horizon. Checked when
                // the High band is written (and valid): `mediumWithinDays` alone also ranks maintenance notices, and a
                // configuration from before the predictive keys must load as it did. Bands that meet are allowed (the
                // shipped configuration writes 72 h, and 3 days is a Medium band maintenance planners use).
                let scheduling = configuration.scheduling
                if let node = alertHighNode, scheduling.alertHighWithinHours > scheduling.mediumWithinDays * 24 {
                    reader.fail(node, "scheduling.alertHighWithinHours (\(scheduling.alertHighWithinHours) h) must not be longer than mediumWithinDays"
                                + " (\(scheduling.mediumWithinDays) days, \(scheduling.mediumWithinDays * 24) h): a prediction would be Medium only"
                                + " for a low confidence or no failure horizon")
                }
            case "ownership":
                for (key, _, node) in reader.pairs(value, allowed: ["dppSources"], what: "ownership") where key == "dppSources" {
                    configuration.dppSources = reader.strings(node, "ownership.dppSources")
                }
            case "ledger":
                for (key, _, node) in reader.pairs(value, allowed: ["origin", "verifierKey"], what: "ledger") {
                    guard let text = reader.string(node, "ledger.\(key)") else { continue }
                    if key == "origin" {
                        if text.isEmpty || text.contains(where: { $0 == "\n" || $0 == " " || $0 == "+" }) {
                            reader.fail(node, "ledger.origin must be one word without spaces or '+', such as dppsync.example.org/ampel360")
                        } else {
                            configuration.ledgerOrigin = text
                        }
                    } else if !text.isEmpty {
                        guard let key = LedgerVerifierKey(text) else {
                            reader.fail(node, "ledger.verifierKey is not a verifier key (<name>+<hex key id>+<base64 key>); print the right one with `dppsync ledger key`")
                            continue
                        }
                        configuration.ledgerVerifierKey = key
                    }
                }
            default: break
            }
        }
        var sources = SourceConfiguration.defaultOrder.map { SourceConfiguration(name: $0, stabilityWindow: defaultWindow) }
        for (name, keyNode, node) in sourceNodes {
            guard isSafeFolderName(name) else {
                reader.fail(keyNode, "source name '\(name)' must be a plain folder name (letters, digits, '-', '_')")
                continue
            }
            var source = sources.first { $0.name == name } ?? SourceConfiguration(name: name, stabilityWindow: defaultWindow)
            if case .mapping = node {
                for (key, _, value) in reader.pairs(node, allowed: ["stabilityWindow", "markers", "expectEvery"], what: "source '\(name)'") {
                    switch key {
                    case "stabilityWindow":
                        if let s = reader.number(value, "stabilityWindow") {
                            if Self.isWindow(s) { source.stabilityWindow = s } else { reader.fail(value, Self.windowRange) }
                        }
                    case "markers": if let m = reader.bool(value, "markers") { source.markers = m }
                    case "expectEvery":
                        if let text = reader.string(value, "expectEvery") {
                            if let seconds = parseInterval(text) { source.expectEvery = seconds }
                            else { reader.fail(value, "expectEvery '\(text)' is not an interval from 1s to 366d such as 24h, 36h, 2d or 90m") }
                        }
                    default: break
                    }
                }
            } else if node.null == nil {
                reader.fail(node, "source '\(name)' must be a mapping (stabilityWindow, markers, expectEvery)")
            }
            if let index = sources.firstIndex(where: { $0.name == name }) { sources[index] = source } else { sources.append(source) }
        }
        configuration.sources = sources
        guard reader.issues.isEmpty else { throw ConfigurationErrors(issues: reader.issues) }
        return configuration
    }
}

/// Every problem found in one configuration or mapping file.
public struct ConfigurationErrors: Error, Sendable, CustomStringConvertible {
    public var issues: [ConfigurationIssue]
    /// In the order of the file (a check finds them in its own order), those at one place as found.
    public init(issues: [ConfigurationIssue]) {
        self.issues = issues.enumerated().sorted { a, b in
            (a.element.file, a.element.line, a.element.column, a.offset) < (b.element.file, b.element.line, b.element.column, b.offset)
        }.map(\.element)
    }
    public var description: String { issues.map(\.description).joined(separator: "\n") }
}

/// `true` for names that stay one folder deep: no separators, dots or spaces.
func isSafeFolderName(_ name: String) -> Bool {
    !name.isEmpty && name.utf8.count <= 100 && name.unicodeScalars.allSatisfy {
        ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_"
    }
}

/// An `expectEvery` interval, `24h`, `36h`, `2d`, `90m`, `30s` or a plain number of seconds: more
/// than nothing and at most a leap year (`nil` otherwise: `infh`, `-2h`, `0s` and `1e20s` are no
/// interval), so every reader of it can count it in whole seconds.
func parseInterval(_ text: String) -> Double? {
    parseAnyInterval(text).flatMap { $0 > 0 && $0 <= 366 * 86_400 ? $0 : nil }
}

private func parseAnyInterval(_ text: String) -> Double? {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    guard let unit = trimmed.last else { return nil }
    let scale: Double
    switch unit {
    case "s": scale = 1
    case "m": scale = 60
    case "h": scale = 3600
    case "d": scale = 86_400
    default: return Double(trimmed)
    }
    return Double(trimmed.dropLast()).map { $0 * scale }
}

import Foundation
