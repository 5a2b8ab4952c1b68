import Foundation
import Yams

/// A declarative outbound mapping (`Mappings/*.outbound.yaml`): which channel's
/// messages it shapes, into which `Outbox/` folder, as JSON or XML, with which fields.
public struct OutboundMapping: Sendable {
    public var name: String
    public var channel: String
    /// Folder under `Outbox/` (default: the channel).
    public var folder: String
    public var format: Format
    /// File name template, e.g. `{notificationId}.json`; the value is made safe.
    public var fileName: String
    /// Output name → message field (in order). Empty: every field of the message.
    public var fields: [(name: String, path: String)]
    public var xmlRoot: String?
    public var xmlNamespace: String?
    public var xmlRecord: String?

    public enum Format: String, Sendable { case json, xml }

    public static let channels = ["maintenance-due", "certification-requirements", "component-status", "asset-specifications", "release-certificates"]
    static let keys = ["$schema", "description", "channel", "folder", "format", "fileName", "fields", "xml"]

    public static func load(text: String, file: String) throws(ConfigurationErrors) -> OutboundMapping {
        var reader = YAMLReader(file: file)
        guard let root = reader.compose(text) else { throw ConfigurationErrors(issues: reader.issues) }
        var mapping = OutboundMapping(name: file, channel: "", folder: "", format: .json, fileName: "", fields: [])
        for (key, _, value) in reader.pairs(root, allowed: keys, what: "an outbound mapping") {
            switch key {
            case "channel":
                mapping.channel = reader.string(value, "channel") ?? ""
                if !channels.contains(mapping.channel) { reader.fail(value, "unknown channel '\(mapping.channel)'; one of: \(channels.joined(separator: ", "))") }
            case "folder":
                mapping.folder = reader.string(value, "folder") ?? ""
                if !isSafeFolderName(mapping.folder) { reader.fail(value, "folder must be a plain folder name under Outbox/") }
            case "format":
                if let f = reader.string(value, "format").flatMap(Format.init(rawValue:)) { mapping.format = f } else { reader.fail(value, "format must be json or xml") }
            case "fileName": mapping.fileName = reader.string(value, "fileName") ?? ""
            case "fields":
                for (name, _, path) in reader.pairs(value, allowed: nil, what: "fields") {
                    if let p = reader.string(path, "fields.\(name)") { mapping.fields.append((name, p)) }
                }
            case "xml":
                for (k, _, v) in reader.pairs(value, allowed: ["root", "namespace", "record"], what: "xml") {
                    let s = reader.string(v, "xml.\(k)")
                    if let s, k != "namespace", !XMLNames.isQualifiedName(s) { reader.fail(v, "xml.\(k) '\(s)' is not an element name") }
                    switch k { case "root": mapping.xmlRoot = s; case "namespace": mapping.xmlNamespace = s; default: mapping.xmlRecord = s }
                }
            default: break
            }
        }
        if mapping.channel.isEmpty { reader.fail(root, "missing 'channel'") }
        if mapping.folder.isEmpty { mapping.folder = mapping.channel }
        if mapping.fileName.isEmpty { mapping.fileName = "{" + Self.idField(mapping.channel) + "}." + mapping.format.rawValue }
        guard reader.issues.isEmpty else { throw ConfigurationErrors(issues: reader.issues) }
        return mapping
    }

    /// The field holding a channel's stable message id.
    public static func idField(_ channel: String) -> String {
        switch channel {
        case "maintenance-due": return "notificationId"
        case "certification-requirements": return "requirementId"
        case "component-status": return "statusId"
        case "asset-specifications": return "specificationId"
        default: return "certificateId"
        }
    }

    /// The default shape of a channel: every field of the message, as JSON.
    public static func defaultMapping(for channel: String) -> OutboundMapping {
        OutboundMapping(name: "(default)", channel: channel, folder: channel, format: .json, fileName: "{\(idField(channel))}.json", fields: [])
    }

    /// The file's name (made safe) and content for one message.
    public func render(_ message: JSONValue) -> (fileName: String, content: String) {
        var name = ""
        var rest = Substring(fileName)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            name += rest[..<open]
            name += message[String(rest[rest.index(after: open)..<close])]?.scalarText ?? ""
            rest = rest[rest.index(after: close)...]
        }
        name = safeId(name + rest)
        let members: [(String, JSONValue)]
        if fields.isEmpty, case .object(let all) = message { members = all } else {
            members = fields.map { ($0.name, RecordPath($0.path).flatMap { $0.value(in: message) } ?? .null) }
        }
        switch format {
        case .json:
            return (name, JSONValue.object(members).jsonText(pretty: true) + "\n")
        case .xml:
            let root = xmlRoot ?? "Messages", record = xmlRecord ?? "Message"
            var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<\(root)" + (xmlNamespace.map { " xmlns=\"\(Self.escape($0))\"" } ?? "") + ">\n  <\(record)>\n"
            for (key, value) in members where XMLNames.isQualifiedName(key) {
                if value == .null { xml += "    <\(key)/>\n"; continue }
                xml += "    <\(key)>\(Self.escape(value.scalarText ?? value.jsonText()))</\(key)>\n"
            }
            return (name, xml + "  </\(record)>\n</\(root)>\n")
        }
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
