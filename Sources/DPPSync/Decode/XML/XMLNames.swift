/// Small checks on XML names used by mappings.
enum XMLNames {
    static func isQualifiedName(_ text: String) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        return (1...2).contains(parts.count) && parts.allSatisfy { part in
            guard let first = part.unicodeScalars.first, first.properties.isAlphabetic || first == "_" else { return false }
            return part.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" || $0 == "." }
        }
    }

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
    static func escaped(_ text: String) -> String {
        let special: (UInt8) -> Bool = { $0 == UInt8(ascii: "&") || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">") || $0 == UInt8(ascii: "\"") }
        guard text.utf8.contains(where: special) else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 16)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "&"): out += Array("&amp;".utf8)
            case UInt8(ascii: "<"): out += Array("&lt;".utf8)
            case UInt8(ascii: ">"): out += Array("&gt;".utf8)
            case UInt8(ascii: "\""): out += Array("&quot;".utf8)
            default: out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
