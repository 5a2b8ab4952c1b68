import CLibXML2

/// Compile-time checks of XPath expressions, for `mapping check`.
enum XPathSyntax {
    /// `nil` when `expression` compiles and calls only XPath 1.0's functions, else what is wrong.
    static func problem(in expression: String) -> String? {
        let errors = XMLErrorCollector()
        let compiled: xmlXPathCompExprPtr? = errors.collecting { xmlXPathCompile(expression) }
        guard let compiled else { return errors.messages.first ?? "invalid expression" }
        defer { xmlXPathFreeCompExpr(compiled) }
        return unknownCall(in: expression).map { "\($0) is no XPath 1.0 function or variable" }
    }

    /// XPath 1.0's core function library: no others are registered (mappings run no extension code).
    static let functions: Set<String> = [
        "last", "position", "count", "id", "local-name", "namespace-uri", "name", "string", "concat", "starts-with", "contains",
        "substring-before", "substring-after", "substring", "string-length", "normalize-space", "translate", "boolean", "not",
        "true", "false", "lang", "number", "sum", "floor", "ceiling", "round",
    ]
    /// Names a `(` may follow that are no function call: node-type tests and operators.
    static let notCalls: Set<String> = ["node", "text", "comment", "processing-instruction", "and", "or", "div", "mod"]

    /// The first call of a function XPath 1.0 does not define, or variable (`$site`), outside string
    /// literals. Compiling takes any name, and evaluation then failed on every record (libxml2
    /// writing to stderr, past the log); found in the text, as evaluating on an empty element would
    /// reach neither a predicate's calls nor what follows an `and` that stops early.
    static func unknownCall(in expression: String) -> String? {
        let scalars = Array(expression.unicodeScalars)
        let n = scalars.count
        func isNameStart(_ c: Unicode.Scalar) -> Bool { c.properties.isAlphabetic || c == "_" }
        func isNameScalar(_ c: Unicode.Scalar) -> Bool { isNameStart(c) || ("0"..."9").contains(c) || c == "-" || c == "." }
        var i = 0
        var quote: Unicode.Scalar?
        while i < n {
            let c = scalars[i]
            if let q = quote { if c == q { quote = nil }; i += 1; continue }
            if c == "'" || c == "\"" { quote = c; i += 1; continue }
            if c == "$" { return "$" + String(String.UnicodeScalarView(scalars[(i + 1)...].prefix(while: { isNameScalar($0) || $0 == ":" }))) }
            // A number's digits and a name's inner characters are skipped with the token they belong to.
            guard isNameStart(c), i == 0 || !isNameScalar(scalars[i - 1]) else { i += 1; continue }
            var j = i
            while j < n, isNameScalar(scalars[j]) { j += 1 }
            if j + 1 < n, scalars[j] == ":", scalars[j + 1] == ":" { i = j + 2; continue }  // an axis: `child::`
            if j + 1 < n, scalars[j] == ":", isNameStart(scalars[j + 1]) {                 // a prefixed name
                j += 1
                while j < n, isNameScalar(scalars[j]) { j += 1 }
            }
            let name = String(String.UnicodeScalarView(scalars[i..<j]))
            var k = j
            while k < n, scalars[k] == " " || scalars[k] == "\t" || scalars[k] == "\n" || scalars[k] == "\r" { k += 1 }
            if k < n, scalars[k] == "(", !notCalls.contains(name), !functions.contains(name) { return name + "()" }
            i = j
        }
        return nil
    }

    /// What in `expression` reads outside the record it is evaluated on, if anything: the parent
    /// (`..`, `parent::`), ancestors, siblings, the document (`/…`, `//…`, `id()`). The export is
    /// streamed: around the record only part of the document exists, the rest not yet read or
    /// already freed, so such an expression would give answers that change from record to record.
    static func stepOutsideRecord(in expression: String) -> String? {
        let scalars = Array(expression.unicodeScalars)
        let n = scalars.count
        let axes = ["ancestor::", "ancestor-or-self::", "parent::", "following::", "following-sibling::", "preceding::", "preceding-sibling::"]
        func isNameStart(_ c: Unicode.Scalar) -> Bool { c.properties.isAlphabetic || c == "_" }
        func isNameScalar(_ c: Unicode.Scalar) -> Bool { isNameStart(c) || ("0"..."9").contains(c) || c == "-" || c == "." }
        // Whether the last token ends an operand (a name, a number, a literal, `)`, `]`, `.`, a `*` name test):
        // XPath's own rule for reading what follows. After one, `*` multiplies and `and`, `or`, `div`, `mod`
        // are operators; elsewhere, including at the start and after any operator, `/` starts at the document.
        var afterOperand = false
        var i = 0
        while i < n {
            let c = scalars[i]
            if c == " " || c == "\t" || c == "\n" || c == "\r" { i += 1; continue }
            if c == "'" || c == "\"" {
                var j = i + 1
                while j < n, scalars[j] != c { j += 1 }
                i = j + 1
                afterOperand = true
                continue
            }
            let rest = String(String.UnicodeScalarView(scalars[i...]))
            if rest.hasPrefix("..") { return ".." }
            if c == "/" {
                if !afterOperand { return rest.hasPrefix("//") ? "//" : "/" }
                i += rest.hasPrefix("//") ? 2 : 1
                afterOperand = false
                continue
            }
            if c == "*" {
                afterOperand = !afterOperand  // a name test after an operator, multiplication after an operand
                i += 1
                continue
            }
            if isNameStart(c) {
                var j = i
                while j < n, isNameScalar(scalars[j]) || (scalars[j] == ":" && j + 1 < n && scalars[j + 1] != ":" && j > i) { j += 1 }
                if scalars[j - 1] == ":", j < n, scalars[j] == "*" { j += 1 }  // `mx:*`, a name test
                let name = String(String.UnicodeScalarView(scalars[i..<j]))
                if afterOperand, ["and", "or", "div", "mod"].contains(name) {
                    afterOperand = false
                } else if let axis = axes.first(where: { rest.hasPrefix($0) }) {
                    return axis
                } else if j + 1 < n, scalars[j] == ":", scalars[j + 1] == ":" {
                    j += 2  // another axis: what follows is a name test
                    afterOperand = false
                } else {
                    var k = j
                    while k < n, scalars[k] == " " || scalars[k] == "\t" || scalars[k] == "\n" || scalars[k] == "\r" { k += 1 }
                    if name == "id", k < n, scalars[k] == "(" { return "id()" }
                    afterOperand = !(k < n && scalars[k] == "(")  // a function's name is followed by its arguments
                }
                i = j
                continue
            }
            if ("0"..."9").contains(c) || c == "." {
                while i < n, ("0"..."9").contains(scalars[i]) || scalars[i] == "." { i += 1 }
                afterOperand = true
                continue
            }
            // `)` and `]` end an operand; `@` and `$` begin one; anything else is an operator or opens a group.
            afterOperand = c == ")" || c == "]"
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
