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
    public var fields: [(name: String, path: String)] {
        didSet { fieldPaths = fields.map { RecordPath($0.path) } }
    }
    /// `fields`' paths, parsed once rather than for every message written (kept in step by
    /// `init` and `fields`' observer).
    private(set) var fieldPaths: [RecordPath?]
    public var xmlRoot: String?
    public var xmlNamespace: String?
    public var xmlRecord: String?
    /// One file per message, or one per batch (in parts of `batchFileSize` messages).
    public var files: Files = .message

    init(name: String, channel: String, folder: String, format: Format, fileName: String, fields: [(name: String, path: String)]) {
        self.name = name; self.channel = channel; self.folder = folder; self.format = format; self.fileName = fileName
        self.fields = fields
        fieldPaths = fields.map { RecordPath($0.path) }
    }

    public enum Format: String, Sendable { case json, xml }
    /// How messages are grouped into files.
    public enum Files: String, Sendable {
        /// A file per message, named by its stable id (the seed's contract).
        case message
        /// The messages one batch decided, in one file per `batchFileSize` (JSON Lines,
        /// or one XML document with a record each), named `batch-<batch>-<part>`: a CMMS
        /// importing a night's certificates reads a handful of files, not one per work order.
        case batch
    }
    /// Messages per file when `files: batch`.
    public static let batchFileSize = 5000

    public static let channels = OutboxChannel.allCases.map(\.rawValue)
    /// How an outbound mapping's file name ends in `Mappings/`.
    public static let suffix = ".outbound.yaml"

    /// The known channel a mapping's text names, read as leniently as YAML allows (for a mapping
    /// that fails its check: which channel's messages must wait).
    public static func channel(in text: String) -> String? {
        YAMLReader.topLevelString("channel", in: text).flatMap { channels.contains($0) ? $0 : nil }
    }
    static let keys = ["$schema", "description", "channel", "folder", "format", "fileName", "files", "fields", "xml"]

    public static func load(text: String, file: String) throws(ConfigurationErrors) -> OutboundMapping {
        var reader = YAMLReader(file: file)
        guard let root = reader.compose(text) else { throw ConfigurationErrors(issues: reader.issues) }
        var mapping = OutboundMapping(name: file, channel: "", folder: "", format: .json, fileName: "", fields: [])
        var fileNameNode: Node?
        var fieldNodes: [Node] = []
        for (key, _, value) in reader.pairs(root, allowed: keys, what: "an outbound mapping") {
            switch key {
            case "channel":
                mapping.channel = reader.string(value, "channel") ?? ""
                if !channels.contains(mapping.channel) {
                    reader.fail(value, "unknown channel '\(mapping.channel)'\(didYouMean(mapping.channel, among: channels)); one of: \(channels.joined(separator: ", "))")
                }
            case "folder":
                mapping.folder = reader.string(value, "folder") ?? ""
                if !isSafeFolderName(mapping.folder) { reader.fail(value, "folder must be a plain folder name under Outbox/") }
            case "format":
                if let f = reader.string(value, "format").flatMap(Format.init(rawValue:)) { mapping.format = f } else { reader.fail(value, "format must be json or xml") }
            case "fileName": mapping.fileName = reader.string(value, "fileName") ?? ""; fileNameNode = value
            case "files":
                if let f = reader.string(value, "files").flatMap(Files.init(rawValue:)) { mapping.files = f } else { reader.fail(value, "files must be message or batch") }
            case "fields":
                for (name, nameNode, path) in reader.pairs(value, allowed: nil, what: "fields") {
                    if let p = reader.string(path, "fields.\(name)") { mapping.fields.append((name, p)); fieldNodes.append(nameNode) }
                }
            case "xml":
                for (k, _, v) in reader.pairs(value, allowed: ["root", "namespace", "record"], what: "xml") {
                    let s = reader.string(v, "xml.\(k)")
                    if let s, k != "namespace", !XMLNames.isElementName(s) { reader.fail(v, "xml.\(k) '\(s)' is not an element name\(XMLNames.elementNameRule)") }
                    switch k { case "root": mapping.xmlRoot = s; case "namespace": mapping.xmlNamespace = s; default: mapping.xmlRecord = s }
                }
            default: break
            }
        }
        if mapping.channel.isEmpty { reader.fail(root, "missing 'channel'") }
        // Written as elements, names that are none had been dropped from every file, and a prefix written undeclared.
        if mapping.format == .xml {
            for ((name, _), node) in zip(mapping.fields, fieldNodes) where !XMLNames.isElementName(name) {
                reader.fail(node, "field '\(name)' is not an XML element name\(XMLNames.elementNameRule)")
            }
        }
        // A name, not a path: a '/' had been written as '_' (`sub/{id}.json` became `sub_….json`), a leading '.' hides it.
        if let fileNameNode, mapping.fileName.contains(where: { $0 == "/" || $0 == "\\" }) || mapping.fileName.hasPrefix(".") {
            reader.fail(fileNameNode, "fileName '\(mapping.fileName)' must be a plain file name in Outbox/\(mapping.folder.isEmpty ? mapping.channel : mapping.folder)/: "
                        + "no '/' or '\\' (the folder is folder:), not starting with '.' (hidden names are dppsync's temporaries)")
        }
        if mapping.folder.isEmpty { mapping.folder = mapping.channel }
        if mapping.fileName.isEmpty { mapping.fileName = Self.defaultFileName(mapping.channel, mapping.format, mapping.files) }
        // A name two messages (or two parts) share has the second file replace the first, which the
        // consumer may not have read yet.
        if let fileNameNode, channels.contains(mapping.channel) {
            let used = Set(BraceTemplate.names(in: mapping.fileName))
            let needed = mapping.files == .message ? [idField(mapping.channel)] : ["batch", "part"]
            if !used.isSuperset(of: needed) {
                reader.fail(fileNameNode, "fileName must use " + needed.map { "{\($0)}" }.joined(separator: " and ")
                            + (mapping.files == .message ? ", the message's id: " : ": ") + "files that share a name would replace each other in Outbox/\(mapping.folder)/")
            }
        }
        guard reader.issues.isEmpty else { throw ConfigurationErrors(issues: reader.issues) }
        return mapping
    }

    /// The field holding a channel's stable message id.
    public static func idField(_ channel: String) -> String {
        (OutboxChannel(rawValue: channel) ?? .releaseCertificates).idMember
    }

    static func defaultFileName(_ channel: String, _ format: Format, _ files: Files) -> String {
        switch files {
        case .message: return "{" + idField(channel) + "}." + format.rawValue
        case .batch: return "batch-{batch}-{part}." + (format == .json ? "jsonl" : "xml")
        }
    }

    /// The default shape of a channel: every field of the message, as JSON; release
    /// certificates (one per work order) in a file per batch, the others a file per message.
    public static func defaultMapping(for channel: String) -> OutboundMapping {
        let files: Files = channel == ReleaseCertificate.channel ? .batch : .message
        var mapping = OutboundMapping(name: "(default)", channel: channel, folder: channel, format: .json,
                                      fileName: defaultFileName(channel, .json, files), fields: [])
        mapping.files = files
        return mapping
    }

    /// The file's name (made safe) and content for one message.
    public func render(_ message: JSONValue) -> (fileName: String, content: String) {
        let name = fileName(values: { message[$0]?.scalarText })
        switch format {
        case .json:
            return (name, JSONValue.object(members(of: message)).jsonText(pretty: true) + "\n")
        case .xml:
            return (name, xmlHeader + xmlRecord(of: message) + xmlFooter)
        }
    }

    /// The path under `Outbox/` and content of part `part` of batch `batch`'s file
    /// (`files: batch`), from each message's compact JSON.
    public func render(batch: Int64, part: Int, compactMessages: [[UInt8]]) -> (name: String, content: [UInt8]) {
        let name = folder + "/" + fileName(values: { field in
            switch field {
            case "batch": String(batch).leftPadded(to: 6)
            case "part": String(part).leftPadded(to: 3)
            default: nil
            }
        })
        var out: [UInt8] = []
        switch format {
        case .json:
            // JSON Lines: one compact message per line (every field: the message as it is).
            // Room for all of them at once: a part grown by doubling had taken fresh pages from the
            // kernel for every size up to its own (~3.5 MB for 5,000 certificates).
            if fields.isEmpty { out.reserveCapacity(compactMessages.reduce(0) { $0 + $1.count + 1 }) }
            for message in compactMessages {
                if fields.isEmpty {
                    out += message
                } else if let value = try? JSONParser.parseDocument(message) {
                    out += JSONValue.object(members(of: value)).jsonBytes()
                }
                out.append(0x0A)
            }
        case .xml:
            out += Array(xmlHeader.utf8)
            for message in compactMessages {
                if let value = try? JSONParser.parseDocument(message) { out += Array(xmlRecord(of: value).utf8) }
            }
            out += Array(xmlFooter.utf8)
        }
        return (name, out)
    }

    private func fileName(values: (String) -> String?) -> String {
        let (name, rest) = BraceTemplate.fill(fileName, values)
        // The template's own extension stays out of `safeId`: a long id (up to 147 characters) with
        // it had gone over the length `safeId` keeps, and was hashed again without its `.json`.
        guard let dot = rest.lastIndex(of: "."), rest.index(after: dot) < rest.endIndex,
              rest[dot...].dropFirst().allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            return safeId(name + rest)
        }
        return safeId(name + rest[..<dot]) + rest[dot...]
    }

    /// The fields whose path none of `messages` has (a typo such as `dppIdd`, which writes null on every
    /// message), with the members those messages do have; nothing when there are no messages to compare with.
    public func fieldsNoMessageHas(_ messages: [JSONValue]) -> (fields: [(name: String, path: String)], members: [String]) {
        guard !messages.isEmpty else { return ([], []) }
        // (A member there with the value null counts: `value(in:)` gives it as `.null`.)
        let missing = zip(fields, fieldPaths).filter { _, path in !messages.contains { message in path?.value(in: message) != nil } }.map(\.0)
        var members: [String] = []
        for message in messages { if case .object(let all) = message { for (key, _) in all where !members.contains(key) { members.append(key) } } }
        return (missing, members)
    }

    private func members(of message: JSONValue) -> [(String, JSONValue)] {
        if fields.isEmpty, case .object(let all) = message { return all }
        return zip(fields, fieldPaths).map { field, path in (field.name, path.flatMap { $0.value(in: message) } ?? .null) }
    }

    private var xmlHeader: String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<\(xmlRoot ?? "Messages")" + (xmlNamespace.map { " xmlns=\"\(XMLNames.escaped($0))\"" } ?? "") + ">\n"
    }
    private var xmlFooter: String { "</\(xmlRoot ?? "Messages")>\n" }

    private func xmlRecord(of message: JSONValue) -> String {
        let record = xmlRecord ?? "Message"
        var xml = "  <\(record)>\n"
        for (key, value) in members(of: message) where XMLNames.isQualifiedName(key) {
            if value == .null { xml += "    <\(key)/>\n"; continue }
            xml += "    <\(key)>\(XMLNames.escaped(value.scalarText ?? value.jsonText()))</\(key)>\n"
        }
        return xml + "  </\(record)>\n"
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
