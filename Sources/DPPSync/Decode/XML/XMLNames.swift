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
}
