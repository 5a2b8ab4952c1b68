import CLibXML2

/// Compile-time checks of XPath expressions, for `mapping check`.
enum XPathSyntax {
    /// `nil` when `expression` compiles, else libxml2's complaint.
    static func problem(in expression: String) -> String? {
        let errors = XMLErrorCollector()
        let compiled: xmlXPathCompExprPtr? = errors.collecting { xmlXPathCompile(expression) }
        guard let compiled else { return errors.messages.first ?? "invalid expression" }
        defer { xmlXPathFreeCompExpr(compiled) }
        return unknownName(in: compiled, prefixes: prefixes(in: expression))
    }

    /// A function or variable the expression names that XPath 1.0 does not define: compiling takes
    /// any name, and evaluation then failed on every record (libxml2 writing to stderr, past the
    /// log). Found by evaluating once on an empty element, each prefix bound to a placeholder.
    private static func unknownName(in compiled: xmlXPathCompExprPtr, prefixes: Set<String>) -> String? {
        guard let document = xmlNewDoc("1.0") else { return nil }
        defer { xmlFreeDoc(document) }
        let element = xmlNewDocNode(document, nil, "record", nil)
        xmlDocSetRootElement(document, element)
        guard let context = xmlXPathNewContext(document) else { return nil }
        defer { xmlXPathFreeContext(context) }
        context.pointee.node = element
        for prefix in prefixes { xmlXPathRegisterNs(context, prefix, "urn:dppsync:mapping-check") }
        let errors = XMLErrorCollector()
        let result = errors.collecting { xmlXPathCompiledEval(compiled, context) }
        if let result { xmlXPathFreeObject(result); return nil }
        let code = context.pointee.lastError.code
        guard code == Int32(XML_XPATH_UNKNOWN_FUNC_ERROR.rawValue) || code == Int32(XML_XPATH_UNDEF_VARIABLE_ERROR.rawValue) else { return nil }
        return errors.messages.first ?? "unknown function or variable"
    }

    /// What in `expression` reads outside the record it is evaluated on, if anything: the parent
    /// (`..`, `parent::`), ancestors, siblings, the document (`/…`, `//…`, `id()`). The export is
    /// streamed: around the record only part of the document exists, the rest not yet read or
    /// already freed, so such an expression would give answers that change from record to record.
    static func stepOutsideRecord(in expression: String) -> String? {
        let scalars = Array(expression.unicodeScalars)
        let axes = ["ancestor::", "ancestor-or-self::", "parent::", "following::", "following-sibling::", "preceding::", "preceding-sibling::"]
        var quote: Unicode.Scalar?
        var previous: Unicode.Scalar?  // the last scalar outside strings that is not a space
        var i = 0
        while i < scalars.count {
            let c = scalars[i]
            if let q = quote { if c == q { quote = nil; previous = c }; i += 1; continue }
            if c == "'" || c == "\"" { quote = c; i += 1; continue }
            if c == " " || c == "\t" || c == "\n" || c == "\r" { i += 1; continue }
            let rest = String(String.UnicodeScalarView(scalars[i...]))
            if rest.hasPrefix("..") { return ".." }
            if let axis = axes.first(where: { rest.hasPrefix($0) }), previous.map({ !($0.properties.isAlphabetic || $0 == "-" || $0 == "_") }) ?? true {
                return axis
            }
            if rest.hasPrefix("id("), previous.map({ !($0.properties.isAlphabetic || $0 == "-" || $0 == "_" || $0 == ":") }) ?? true { return "id()" }
            // A location path that starts at the document: `/` where no step or value ends before it.
            if c == "/", previous.map({ "(,|[=<>!+".unicodeScalars.contains($0) }) ?? true { return rest.hasPrefix("//") ? "//" : "/" }
            previous = c
            i += 1
        }
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
