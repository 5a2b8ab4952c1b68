/// Small checks on XML names used by mappings.
enum XMLNames {
    static func isQualifiedName(_ text: String) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        return (1...2).contains(parts.count) && parts.allSatisfy { part in
            guard let first = part.unicodeScalars.first, first.properties.isAlphabetic || first == "_" else { return false }
            return part.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" || $0 == "." }
        }
    }

    /// An element name an outbound mapping may write: no prefix, as the document declares one namespace
    /// (`xml.namespace`) and no prefix.
    static func isElementName(_ text: String) -> Bool {
        !text.contains(":") && isQualifiedName(text)
    }

    static let elementNameRule = " (letters, digits, _ - and ., not starting with a digit, '-' or '.', and no prefix: the document's one namespace is xml.namespace)"

    static func prefix(of name: String) -> String? {
        let parts = name.split(separator: ":")
        return parts.count == 2 ? String(parts[0]) : nil
    }

    static func localName(of name: String) -> String {
        name.split(separator: ":").last.map(String.init) ?? name
    }

    /// `text` as XML character data or an attribute value: `&`, `<`, `>` and `"` escaped.
    /// Most values need nothing and are returned as they are after one byte scan (Foundation's
    /// `replacingOccurrences` cost ~26,000 instructions a call, four calls a value).
    ///
    /// Tab, line feed and carriage return are written as character references, so that a parser
    /// gives them back as they were (it turns a raw CR into LF, and each of them into a space in an
    /// attribute); the other control characters, which XML 1.0 allows in no form, become U+FFFD.
    static func escaped(_ text: String) -> String {
        let special: (UInt8) -> Bool = { $0 < 0x20 || $0 == UInt8(ascii: "&") || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">") || $0 == UInt8(ascii: "\"") }
        guard text.utf8.contains(where: special) else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 16)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "&"): out += Array("&amp;".utf8)
            case UInt8(ascii: "<"): out += Array("&lt;".utf8)
            case UInt8(ascii: ">"): out += Array("&gt;".utf8)
            case UInt8(ascii: "\""): out += Array("&quot;".utf8)
            case 0x09, 0x0A, 0x0D: out += Array("&#\(byte);".utf8)
            case 0..<0x20: out += [0xEF, 0xBF, 0xBD]
            default: out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
