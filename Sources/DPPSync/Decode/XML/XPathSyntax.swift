import CLibXML2

/// Compile-time checks of XPath expressions, for `mapping check`.
enum XPathSyntax {
    /// `nil` when `expression` compiles, else libxml2's complaint.
    static func problem(in expression: String) -> String? {
        let errors = XMLErrorCollector()
        let compiled: xmlXPathCompExprPtr? = errors.collecting { xmlXPathCompile(expression) }
        guard let compiled else { return errors.messages.first ?? "invalid expression" }
        xmlXPathFreeCompExpr(compiled)
        return nil
    }

    /// Namespace prefixes used in name tests (`mx:WONUM` → `mx`), skipping
    /// strings and axes (`child::`).
    static func prefixes(in expression: String) -> Set<String> {
        var result = Set<String>()
        let scalars = Array(expression.unicodeScalars)
        var i = 0
        var quote: Unicode.Scalar?
        while i < scalars.count {
            let c = scalars[i]
            if let q = quote { if c == q { quote = nil }; i += 1; continue }
            if c == "'" || c == "\"" { quote = c; i += 1; continue }
            if c.properties.isAlphabetic || c == "_" {
                var j = i
                while j < scalars.count, scalars[j].properties.isAlphabetic || ("0"..."9").contains(scalars[j]) || scalars[j] == "_" || scalars[j] == "-" || scalars[j] == "." { j += 1 }
                if j + 1 < scalars.count, scalars[j] == ":", scalars[j + 1] != ":" {
                    result.insert(String(String.UnicodeScalarView(scalars[i..<j])))
                }
                i = max(j, i + 1)
                continue
            }
            i += 1
        }
        return result
    }
}
