import Foundation
import CLibXML2

/// Streams the record elements of an XML export with libxml2's `xmlTextReader`:
/// each record element is expanded on its own, queried with XPath, and freed as
/// the reader moves on, so memory is bounded by the largest record.
///
/// Safety: no DTD is accepted (a document type declaration is refused before
/// any entity is declared, let alone expanded), no entity substitution, no
/// network (`XML_PARSE_NONET`), no element with more attributes than libxml2 parses
/// in reasonable time (`AttributeCountGuard`), and libxml2 reads UTF-8 only, decoded
/// before it where need be (`ExportEncoding`); line numbers past 65,535 are kept (`XML_PARSE_BIG_LINES`).
struct XMLRecordSource: RecordSource {
    let input: RecordInput
    let mapping: Mapping

    static let xsiNamespace = "http://www.w3.org/2001/XMLSchema-instance"
    /// libxml2 always reads UTF-8 (`IGNORE_ENC`: what the declaration says was decided before, by `ExportEncoding`).
    static let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_BIG_LINES.rawValue | XML_PARSE_NOBLANKS.rawValue | XML_PARSE_IGNORE_ENC.rawValue)

    /// Whether an export in `encoding` can be read, for `mapping check`.
    static func reads(encoding: String) -> Bool {
        ExportEncoding.named(encoding) == .utf8 || UTF8Transcoder.knows(encoding)
    }

    func forEach(context: (any RecordAccessor) throws -> Void, record: (RecordItem) throws -> Void) throws {
        // A file is checked and read through one descriptor: replaced in between, it is not read half old, half new.
        let guarded: GuardedInput
        switch input {
        case .bytes(let bytes): guarded = GuardedInput(bytes: bytes)
        case .file(let path): guarded = try GuardedInput(path: path)
        }
        let prolog = guarded.prolog(1 << 16)
        if let line = Self.doctypeLine(prolog) {
            throw DecodeError(message: "the file declares a DTD (<!DOCTYPE>); DTDs and entities are refused for safety", line: line)
        }
        if prolog.starts(with: [0x1F, 0x8B]) {  // libxml2 would say "Document is empty"
            throw DecodeError(message: "the file is gzip-compressed; dppsync reads exports as the CMMS writes them: decompress it and drop it again", line: nil)
        }
        // A byte-order mark says the encoding itself: the mapping's is for files without (it had been
        // applied over the mark, reading UTF-8 as Latin-1 and UTF-16 not at all).
        try guarded.read(as: try ExportEncoding.of(prolog: prolog, mapping: mapping.encoding))
        // An extract is UTF-8, and says so with a byte-order mark where the mapping names another encoding: read
        // under its mapping when it is dropped again, the mapping's encoding had won over its declaration
        // (`Dichtung geprüft` came back as `Dichtung geprÃ¼ft`). The mark wins over both.
        let marksExtracts = mapping.encoding.map { ExportEncoding.named($0) != .utf8 } ?? false
        let errors = XMLErrorCollector()
        let recordName = XMLNames.localName(of: mapping.records)
        let recordNamespace = XMLNames.prefix(of: mapping.records).flatMap { mapping.namespaces[$0] }
        let (recordNameBytes, recordNamespaceBytes) = (Array(recordName.utf8), recordNamespace.map { Array($0.utf8) })
        // Read in buffers of 256 KB, each decoded if need be and scanned by the attribute guard before
        // libxml2 sees it: memory is bounded by the largest record. The reader holds the input
        // unretained, so the input outlives it.
        defer { withExtendedLifetime(guarded) {} }
        guard let reader = xmlReaderForIO(GuardedInput.read, nil, Unmanaged.passUnretained(guarded).toOpaque(), guarded.path, "UTF-8", Self.options) else {
            throw DecodeError(message: "libxml2 could not start reading the file")
        }
        defer { xmlFreeTextReader(reader) }
        xmlTextReaderSetStructuredErrorHandler(reader, { context, error in
            guard let context else { return }
            Unmanaged<XMLErrorCollector>.fromOpaque(context).takeUnretainedValue().record(error)
        }, Unmanaged.passUnretained(errors).toOpaque())

        var queries: XPathQueries?
        defer { queries?.free() }
        var root = RootElement()
        var contextDone = false
        var index = 0
        var status = xmlTextReaderRead(reader)
        // Any error refuses the file: the rest is not read (libxml2 recovers from some, and reads on).
        while status == 1, errors.count == 0 {
            let type = xmlTextReaderNodeType(reader)
            if type == Int32(XML_READER_TYPE_DOCUMENT_TYPE.rawValue) {
                throw DecodeError(message: "the file declares a DTD (<!DOCTYPE>); DTDs and entities are refused for safety",
                                  line: Int(xmlTextReaderGetParserLineNumber(reader)))
            }
            guard type == Int32(XML_READER_TYPE_ELEMENT.rawValue) else { status = xmlTextReaderRead(reader); continue }
            if xmlTextReaderDepth(reader) == 0 { root = RootElement(reader: reader) }
            // Compared where libxml2 keeps them, no further than the record's name and namespace: made
            // into strings for every element (and the namespace looked up in the reader's dictionary),
            // a 1 MB namespace URI over 100,000 elements before the records had taken 8.6 s.
            guard let localName = xmlTextReaderConstLocalName(reader), XPathQueries.equal(localName, recordNameBytes),
                  recordNamespaceBytes.map({ XPathQueries.isIn(xmlTextReaderCurrentNode(reader), namespace: $0) }) ?? true else {
                status = xmlTextReaderRead(reader); continue
            }
            if !contextDone { try context(root); contextDone = true }
            guard let node = xmlTextReaderExpand(reader) else {
                if let refusal = guarded.refusal { throw refusal }
                throw DecodeError(message: errors.firstMessage ?? "a \(recordName) element cannot be read", line: errors.firstLine)
            }
            if queries == nil { queries = try XPathQueries(document: node.pointee.doc, namespaces: mapping.namespaces) }
            guard let queries else { break }
            let position = RecordPosition(index: index, line: Int(xmlGetLineNo(node)))
            try record(RecordItem(accessor: XMLNodeAccessor(node: node, queries: queries), position: position, failure: nil) {
                Self.extract(node, root: root, byteOrderMark: marksExtracts)
            })
            index += 1
            status = xmlTextReaderNext(reader)
        }
        if let refusal = guarded.refusal { throw refusal }
        if status < 0 || errors.count > 0 {
            throw DecodeError(message: "not well-formed XML: " + (errors.firstMessage ?? "read error"), line: errors.firstLine)
        }
        if !contextDone { try context(root) }
}

    /// The line of a `<!DOCTYPE` in the prolog, found before libxml2 parses
    /// anything: a hostile internal subset is refused without being read.
    static func doctypeLine(_ raw: [UInt8]) -> Int? {
        // UTF-16 (with a byte-order mark, or `<?` as two-byte units) is scanned as UTF-8: the scan had
        // found no `<!DOCTYPE` in it, and libxml2 read the internal subset before the reader refused it.
        var bytes = raw
        let big = raw.starts(with: [0xFE, 0xFF]) || raw.starts(with: [0x00, 0x3C, 0x00, 0x3F])
        if big || raw.starts(with: [0xFF, 0xFE]) || raw.starts(with: [0x3C, 0x00, 0x3F, 0x00]) {
            var units: [UInt16] = []
            units.reserveCapacity(raw.count / 2)
            for i in stride(from: 0, to: raw.count - 1, by: 2) {
                let (high, low) = big ? (raw[i], raw[i + 1]) : (raw[i + 1], raw[i])
                units.append(UInt16(high) << 8 | UInt16(low))
            }
            bytes = Array(String(decoding: units, as: UTF16.self).utf8)
        }
        var i = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var line = 1
        let doctype = Array("<!DOCTYPE".utf8)
        while i < bytes.count {
            switch bytes[i] {
            case 0x0A: line += 1; i += 1
            case 0x20, 0x09, 0x0D: i += 1
            case UInt8(ascii: "<"):
                if bytes[i...].starts(with: doctype) { return line }
                let skipTo: [UInt8]
                if bytes[i...].starts(with: Array("<?".utf8)) { skipTo = Array("?>".utf8) }
                else if bytes[i...].starts(with: Array("<!--".utf8)) { skipTo = Array("-->".utf8) }
                else { return nil }
                var j = i + 2
                while j < bytes.count, !bytes[j...].starts(with: skipTo) { if bytes[j] == 0x0A { line += 1 }; j += 1 }
                i = j + skipTo.count
            default: return nil
            }
        }
        return nil
    }

    /// The record alone, wrapped in the original root element with every
    /// namespace declaration in scope, so it can be corrected and dropped back.
    static func extract(_ node: xmlNodePtr, root: RootElement, byteOrderMark: Bool = false) -> String {
        var declarations: [(prefix: String?, uri: String)] = []
        var ancestor: xmlNodePtr? = node.pointee.parent
        while let current = ancestor, current.pointee.type == XML_ELEMENT_NODE {
            var ns = current.pointee.nsDef
            while let declaration = ns {
                let prefix = declaration.pointee.prefix.map { String(cString: $0) }
                if !declarations.contains(where: { $0.prefix == prefix }), let href = declaration.pointee.href {
                    declarations.append((prefix, String(cString: href)))
                }
                ns = declaration.pointee.next
            }
            ancestor = current.pointee.parent
        }
        var open = "<" + root.name
        for (prefix, uri) in declarations.reversed() {
            open += " xmlns" + (prefix.map { ":" + $0 } ?? "") + "=\"" + XMLNames.escaped(uri) + "\""
        }
        for (name, value) in root.attributes { open += " \(name)=\"\(XMLNames.escaped(value))\"" }
        let buffer = xmlBufferCreate()
        defer { xmlBufferFree(buffer) }
        xmlNodeDump(buffer, node.pointee.doc, node, 1, 1)
        let body = xmlBufferContent(buffer).map { String(cString: $0) } ?? ""
        return (byteOrderMark ? "\u{FEFF}" : "") + "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + open + ">\n  " + body + "\n</" + root.name + ">\n"
    }
}

/// The document's root element: its qualified name and attributes, which
/// `context:` reads (`@creationDateTime`).
struct RootElement: RecordAccessor {
    var name = "root"
    var attributes: [(String, String)] = []

    init() {}

    init(reader: xmlTextReaderPtr) {
        name = xmlTextReaderConstName(reader).map { String(cString: $0) } ?? "root"
        guard xmlTextReaderHasAttributes(reader) == 1, xmlTextReaderMoveToFirstAttribute(reader) == 1 else { return }
        repeat {
            let attributeName = xmlTextReaderConstName(reader).map { String(cString: $0) } ?? ""
            let value = xmlTextReaderConstValue(reader).map { String(cString: $0) } ?? ""
            if !attributeName.hasPrefix("xmlns") { attributes.append((attributeName, value)) }
        } while xmlTextReaderMoveToNextAttribute(reader) == 1
        xmlTextReaderMoveToElement(reader)
    }

    func value(at path: FieldPath) -> JSONValue? {
        var name = Substring(path.text)
        if name.hasPrefix("/*/") { name = name.dropFirst(3) }
        guard name.hasPrefix("@") else { return nil }
        name = name.dropFirst()
        return attributes.first { $0.0 == name || XMLNames.localName(of: $0.0) == name }.map { .string($0.1) }
    }

    func records(at path: FieldPath) -> [any RecordAccessor] { [] }
}

/// XPath expressions compiled once per file and evaluated against record nodes.
final class XPathQueries {
    private let context: xmlXPathContextPtr
    private var compiled: [String: xmlXPathCompExprPtr] = [:]

    init(document: xmlDocPtr?, namespaces: [String: String]) throws {
        guard let context = xmlXPathNewContext(document) else { throw DecodeError(message: "cannot create an XPath context") }
        self.context = context
        self.namespaces = namespaces
        xmlXPathRegisterNs(context, "xsi", XMLRecordSource.xsiNamespace)
        for (prefix, uri) in namespaces { xmlXPathRegisterNs(context, prefix, uri) }
    }

    func free() {
        for expression in compiled.values { xmlXPathFreeCompExpr(expression) }
        compiled.removeAll()
        xmlXPathFreeContext(context)
    }

    /// A path that names one child element, split into namespace URI and local name.
    /// A reference: it is looked up for every field of every record.
    final class ChildName {
        let namespace: [UInt8]?
        let localName: [UInt8]

        init(namespace: [UInt8]?, localName: [UInt8]) { self.namespace = namespace; self.localName = localName }
    }
    private let namespaces: [String: String]
    /// Paths as first asked for, with what they name, and the one expected next: every record
    /// asks for the same fields in the same order, so the expected entry nearly always matches,
    /// by comparing two references to one string instead of hashing the path (~550 instructions,
    /// for each of a record's dozens of fields).
    private var askedPaths: [(text: String, name: ChildName?)] = []
    private var askedIndex: [String: Int] = [:]
    private var nextAsked = 0

    /// The child element `path` names, when it is that simple (`WONUM`, `mx:WONUM`).
    func childName(_ path: FieldPath) -> ChildName? {
        if nextAsked < askedPaths.count, askedPaths[nextAsked].text == path.text {
            nextAsked += 1
            return askedPaths[nextAsked - 1].name
        }
        if let index = askedIndex[path.text] {
            nextAsked = index + 1
            return askedPaths[index].name
        }
        let result = Self.childName(path, namespaces: namespaces)
        askedIndex[path.text] = askedPaths.count
        askedPaths.append((path.text, result))
        nextAsked = askedPaths.count
        return result
    }

    private static func childName(_ path: FieldPath, namespaces: [String: String]) -> ChildName? {
        guard XMLNames.isQualifiedName(path.text) else { return nil }
        let localName = Array(XMLNames.localName(of: path.text).utf8)
        guard let prefix = XMLNames.prefix(of: path.text) else { return ChildName(namespace: nil, localName: localName) }
        // A prefix the mapping does not declare is left to XPath, which reports it.
        guard let uri = namespaces[prefix] else { return nil }
        return ChildName(namespace: Array(uri.utf8), localName: localName)
    }

    /// `true` when `node` is the element `name` names (XPath semantics: no prefix, no namespace).
    func matches(_ node: xmlNodePtr, _ name: ChildName) -> Bool {
        guard let local = node.pointee.name, Self.equal(local, name.localName) else { return false }
        if let uri = name.namespace { return Self.isIn(node, namespace: uri) }
        return node.pointee.ns == nil || node.pointee.ns.pointee.href == nil
    }

    /// Whether `node` is in the namespace whose URI is `uri`.
    static func isIn(_ node: xmlNodePtr?, namespace uri: [UInt8]) -> Bool {
        guard let href = node?.pointee.ns?.pointee.href else { return false }
        return equal(href, uri)
    }

    static func equal(_ c: UnsafePointer<xmlChar>, _ bytes: [UInt8]) -> Bool {
        for (i, b) in bytes.enumerated() where c[i] != b { return false }
        return c[bytes.count] == 0
    }

    /// Evaluates `path` with `node` as the context node.
    func evaluate(_ path: FieldPath, at node: xmlNodePtr) -> xmlXPathObjectPtr? {
        let expression: xmlXPathCompExprPtr
        if let cached = compiled[path.text] {
            expression = cached
        } else {
            guard let fresh = xmlXPathCompile(path.text) else { return nil }
            compiled[path.text] = fresh
            expression = fresh
        }
        context.pointee.node = node
        context.pointee.doc = node.pointee.doc
        return xmlXPathCompiledEval(expression, context)
    }
}

/// One record element, read through XPath.
struct XMLNodeAccessor: RecordAccessor {
    let node: xmlNodePtr
    let queries: XPathQueries

    func value(at path: FieldPath) -> JSONValue? {
        // Fast path: a plain child element (`mx:WONUM`), the common case, without XPath.
        if let child = queries.childName(path) {
            // Nearly always one match: an array is made only for a second one.
            var first: String?
            var more: [JSONValue] = []
            var current = node.pointee.children
            while let c = current {
                if c.pointee.type == XML_ELEMENT_NODE, queries.matches(c, child), let text = Self.text(c) {
                    if first == nil { first = text } else { more.append(.string(text)) }
                }
                current = c.pointee.next
            }
            guard let first else { return nil }
            return more.isEmpty ? .string(first) : .array([.string(first)] + more)
        }
        guard let result = queries.evaluate(path, at: node) else { return nil }
        defer { xmlXPathFreeObject(result) }
        switch result.pointee.type {
        case XPATH_NODESET:
            let values = Self.nodes(result).compactMap(Self.text)
            if values.isEmpty { return nil }
            return values.count == 1 ? .string(values[0]) : .array(values.map(JSONValue.string))
        case XPATH_STRING:
            return result.pointee.stringval.map { .string(String(cString: $0)) }
        case XPATH_NUMBER:
            let n = result.pointee.floatval
            return n.isFinite ? .number(n == n.rounded() && abs(n) < 1e15 ? String(Int64(n)) : String(n)) : nil
        case XPATH_BOOLEAN:
            return .bool(result.pointee.boolval != 0)
        default:
            return nil
        }
    }

    func records(at path: FieldPath) -> [any RecordAccessor] {
        if let child = queries.childName(path) {
            var nodes: [any RecordAccessor] = []
            nodes.reserveCapacity(4)  // a completion's parts, labour or tests: room for the usual few
            var current = node.pointee.children
            while let c = current {
                if c.pointee.type == XML_ELEMENT_NODE, queries.matches(c, child) { nodes.append(XMLNodeAccessor(node: c, queries: queries)) }
                current = c.pointee.next
            }
            return nodes
        }
        guard let result = queries.evaluate(path, at: node) else { return [] }
        defer { xmlXPathFreeObject(result) }
        return Self.nodes(result).filter { $0.pointee.type == XML_ELEMENT_NODE }.map { XMLNodeAccessor(node: $0, queries: queries) }
    }

    static func nodes(_ result: xmlXPathObjectPtr) -> [xmlNodePtr] {
        guard result.pointee.type == XPATH_NODESET, let set = result.pointee.nodesetval, set.pointee.nodeNr > 0 else { return [] }
        return (0..<Int(set.pointee.nodeNr)).compactMap { set.pointee.nodeTab[$0] }
    }

    /// The node's text; `nil` for an element marked `xsi:nil="true"`.
    static func text(_ node: xmlNodePtr) -> String? {
        if node.pointee.type == XML_ELEMENT_NODE {
            if node.pointee.properties != nil, let nilValue = xmlGetNsProp(node, "nil", XMLRecordSource.xsiNamespace) {
                defer { dppsync_xmlFree(nilValue) }
                if String(cString: nilValue) == "true" { return nil }
            }
            // One text child (the usual leaf): read it in place, no copy through libxml2.
            if let child = node.pointee.children, child.pointee.next == nil, child.pointee.type == XML_TEXT_NODE, let content = child.pointee.content {
                return String(cString: content)
            }
            if node.pointee.children == nil { return "" }
        }
        guard let content = xmlNodeGetContent(node) else { return nil }
        defer { dppsync_xmlFree(content) }
        return String(cString: content)
    }
}

/// An export as libxml2 reads it (`xmlReaderForIO`), from a file or from memory: read 256 KB at a time, decoded to
/// UTF-8 when it is in another encoding, and handed to the `AttributeCountGuard` before the
/// parser sees any of it; a refusal ends the read. libxml2 asks for 4,000 bytes at a time:
/// passed straight to `read(2)`, that had been 54,000 system calls for a 190 MB export instead of
/// the 14,000 its own file reader makes.
private final class GuardedInput {
    /// The file's path (for libxml2's messages); `nil` for bytes in memory.
    let path: String?
    /// Where the bytes come from: a file's descriptor, or the bytes themselves.
    private let descriptor: Int32
    private let memory: [UInt8]
    /// The next byte of the input to read.
    private var position = 0
    private var scan = AttributeCountGuard()
    private var transcoder: UTF8Transcoder?
    /// Where the text starts (after a byte-order mark).
    private var textStart = 0
    /// The last read: handed on from here as it is (UTF-8), or decoded into `decoded`.
    private let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 16)
    private var decoded: [UInt8] = []
    /// What libxml2 has not taken yet: `start..<end` of `raw` or of `decoded`.
    private var start = 0, end = 0
    /// Why decoding failed, once it has, and the lines decoded before the current buffer.
    private var failure: DecodeError?
    private var linesDecoded = 1
    /// The UTF-8 mark libxml2 is handed first when the text does not begin with one, and how much
    /// of it is left to hand (`nil` until the text's first bytes are known).
    private static let utf8Mark: [UInt8] = [0xEF, 0xBB, 0xBF]
    private var markLeft: Int?

    init(bytes: [UInt8]) {
        path = nil
        descriptor = -1
        memory = bytes
    }

    init(path: String) throws(DecodeError) {
        self.path = path
        memory = []
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        // Thrown with every property set, the input is deinitialised as any other (`raw` freed there).
        guard descriptor >= 0 else { throw DecodeError(message: "the file cannot be opened: \(String(cString: strerror(errno)))") }
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
        raw.deallocate()
    }

    /// Up to `buffer.count` bytes of the input from `offset` into `buffer`: how many, 0 at its end, -1 on an error.
    private func bytes(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard descriptor >= 0 else {
            let count = max(0, min(buffer.count, memory.count - offset))
            memory.withUnsafeBytes { buffer.baseAddress?.copyMemory(from: $0.baseAddress! + offset, byteCount: count) }
            return count
        }
        var count: Int
        repeat { count = pread(descriptor, buffer.baseAddress, buffer.count, off_t(offset)) } while count < 0 && errno == EINTR
        return count
    }

    /// The first `count` bytes of the input (or all of a shorter one).
    func prolog(_ count: Int) -> [UInt8] {
        var prolog = [UInt8](repeating: 0, count: count)
        let read = prolog.withUnsafeMutableBytes { bytes(at: 0, into: $0) }
        return Array(prolog.prefix(max(read, 0)))
    }

    /// Reads the text as `encoding` from now on.
    func read(as encoding: ExportEncoding) throws(DecodeError) {
        textStart = encoding.markLength
        position = textStart
        transcoder = try encoding.name.map { name throws(DecodeError) in try UTF8Transcoder(from: name, firstOffset: textStart) }
    }

    /// Up to `length` scanned bytes into `destination`: 0 at the end of the file, -1 on an error or a refusal.
    ///
    /// libxml2 reads the first four bytes it is given in the encoding they look like, whatever it is
    /// told (`xmlDetectCharEncoding`): a text beginning with U+0000 (`3C 00 3F 00`) was read as
    /// UTF-16 there and as UTF-8 after, one quote out of step with the guard. Handed a UTF-8 mark
    /// first, it detects UTF-8 and refuses the NUL.
    private func read(into destination: UnsafeMutableRawPointer, length: Int) -> Int32 {
        guard failure == nil, scan.refusal == nil else { return -1 }
        while start == end {
            let count = bytes(at: position, into: raw)
            guard count >= 0 else { return -1 }
            position += count
            let scanned: Bool
            if let transcoder {
                decoded.removeAll(keepingCapacity: true)
                do { try transcoder.convert(UnsafeRawBufferPointer(rebasing: raw[0..<count]), final: count == 0, into: &decoded) } catch {
                    var located = error
                    located.line = decoded.withUnsafeBytes { AttributeCountGuard.line(of: $0.count, in: $0, from: linesDecoded) }
                    failure = located
                    return -1
                }
                linesDecoded = decoded.withUnsafeBytes { AttributeCountGuard.line(of: $0.count, in: $0, from: linesDecoded) }
                scanned = decoded.withUnsafeBytes { scan.scan($0) }
                end = decoded.count
            } else {
                scanned = scan.scan(UnsafeRawBufferPointer(rebasing: raw[0..<count]))
                end = count
            }
            start = 0
            guard scanned else { return -1 }
            if count == 0 { break }
        }
        if markLeft == nil {
            let first = transcoder == nil ? Array(UnsafeRawBufferPointer(rebasing: raw[start..<min(end, start + 3)])) : Array(decoded.prefix(3))
            markLeft = first == Self.utf8Mark ? 0 : Self.utf8Mark.count
        }
        // The mark and the text's first bytes in one answer: libxml2 detects from its first read of four.
        var marked = 0
        if let left = markLeft, left > 0 {
            marked = min(length, left)
            Self.utf8Mark.withUnsafeBytes { destination.copyMemory(from: $0.baseAddress! + (Self.utf8Mark.count - left), byteCount: marked) }
            markLeft = left - marked
        }
        let taken = min(length - marked, end - start)
        guard taken > 0 else { return Int32(marked) }
        if transcoder == nil {
            (destination + marked).copyMemory(from: raw.baseAddress! + start, byteCount: taken)
        } else {
            decoded.withUnsafeBytes { (destination + marked).copyMemory(from: $0.baseAddress! + start, byteCount: taken) }
        }
        start += taken
        return Int32(marked + taken)
    }

    /// Why the read stopped: a byte not of the encoding, or what the guard refused, with its line
    /// (the text is read again up to it).
    var refusal: DecodeError? {
        if let failure { return failure }
        guard let refusal = scan.refusal else { return nil }
        let again = transcoder.flatMap { try? UTF8Transcoder(from: $0.encoding) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var line = 1, scanned = 0, offset = textStart
        while scanned < refusal.offset {
            let count = chunk.withUnsafeMutableBytes { bytes(at: offset, into: $0) }
            guard count > 0 else { return AttributeCountGuard.error(refusal.reason, line: nil) }
            offset += count
            var text: [UInt8] = []
            if let again {
                try? chunk.prefix(count).withUnsafeBytes { try again.convert($0, into: &text) }
            } else {
                text = Array(chunk.prefix(count))
            }
            let taken = min(text.count, refusal.offset - scanned)
            line = text.withUnsafeBytes { AttributeCountGuard.line(of: taken, in: $0, from: line) }
            scanned += taken
        }
        return AttributeCountGuard.error(refusal.reason, line: line)
    }

    /// libxml2's read callback; its context is the input, unretained (the reader is freed first).
    static let read: xmlInputReadCallback = { context, buffer, length in
        guard let context, let buffer, length >= 0 else { return -1 }
        return Unmanaged<GuardedInput>.fromOpaque(context).takeUnretainedValue().read(into: buffer, length: Int(length))
    }
}
