import CLibXML2

/// Compile-time checks of XPath expressions, for `mapping check`.
enum XPathSyntax {
    /// `nil` when `expression` compiles and calls only XPath 1.0's functions, else what is wrong.
    static func problem(in expression: String) -> String? {
        let errors = XMLErrorCollector()
        let compiled: xmlXPathCompExprPtr? = errors.collecting { xmlXPathCompile(expression) }
        guard let compiled else { return errors.firstMessage ?? "invalid expression" }
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
        for token in tokens(in: expression) {
            if token.kind == .variable { return "$" + token.text }
            if token.kind == .name, token.followedByParenthesis, !notCalls.contains(token.text), !functions.contains(token.text) { return token.text + "()" }
        }
        return nil
    }

    /// What in `expression` reads outside the record it is evaluated on, if anything: the parent
    /// (`..`, `parent::`), ancestors, siblings, the document (`/…`, `//…`, `id()`). The export is
    /// streamed: around the record only part of the document exists, the rest not yet read or
    /// already freed, so such an expression would give answers that change from record to record.
    static func stepOutsideRecord(in expression: String) -> String? {
        let axes: Set<String> = ["ancestor", "ancestor-or-self", "parent", "following", "following-sibling", "preceding", "preceding-sibling"]
        // Whether the last token ends an operand (a name, a number, a literal, `)`, `]`, `.`, a `*` name test):
        // XPath's own rule for reading what follows. After one, `*` multiplies and `and`, `or`, `div`, `mod`
        // are operators; elsewhere, including at the start and after any operator, `/` starts at the document.
        var afterOperand = false
        for token in tokens(in: expression) {
            switch token.kind {
            case .literal, .number, .variable:
                afterOperand = true
            case .axis:
                if axes.contains(token.text) { return token.text + "::" }
                afterOperand = false  // what follows is a name test
            case .name:
                if afterOperand, ["and", "or", "div", "mod"].contains(token.text) {
                    afterOperand = false
                } else if token.text == "id", token.followedByParenthesis {
                    return "id()"
                } else {
                    afterOperand = !token.followedByParenthesis  // a function's name is followed by its arguments
                }
            case .symbol:
                switch token.text {
                case "..": return ".."
                case "/", "//":
                    if !afterOperand { return token.text }
                    afterOperand = false
                case "*": afterOperand.toggle()  // a name test after an operator, multiplication after an operand
                case ")", "]", ".": afterOperand = true
                default: afterOperand = false  // an operator, or what opens a group (`@` and `$` begin an operand)
                }
            }
        }
        return nil
    }

    /// Namespace prefixes used in name tests (`mx:WONUM` → `mx`), skipping
    /// strings and axes (`child::`).
    static func prefixes(in expression: String) -> Set<String> {
        Set(tokens(in: expression).compactMap { token in
            guard token.kind == .name, let colon = token.text.firstIndex(of: ":") else { return nil }
            return String(token.text[..<colon])
        })
    }

    /// A token of an XPath expression, as the checks above read it.
    struct Token {
        enum Kind { case name, axis, literal, number, variable, symbol }
        var kind: Kind
        /// A name with its prefix (`mx:WONUM`, `mx:*`), an axis without its `::`, a variable without its `$`, a symbol.
        var text: String
        /// A name followed by `(`: a function call or a node-type test.
        var followedByParenthesis = false
    }

    /// The tokens of `expression`, by XPath 1.0's lexical rules (names may hold `-` and `.`, literals
    /// run to their closing quote): one reading for every check, so that none sees a `/` in a string
    /// or a name in a literal that another does not.
    static func tokens(in expression: String) -> [Token] {
        let scalars = Array(expression.unicodeScalars)
        let n = scalars.count
        func isNameStart(_ c: Unicode.Scalar) -> Bool { c.properties.isAlphabetic || c == "_" }
        func isNameScalar(_ c: Unicode.Scalar) -> Bool { isNameStart(c) || ("0"..."9").contains(c) || c == "-" || c == "." }
        func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" || c == "\n" || c == "\r" }
        func text(_ range: Range<Int>) -> String { String(String.UnicodeScalarView(scalars[range])) }
        var tokens: [Token] = []
        var i = 0
        while i < n {
            let c = scalars[i]
            if isSpace(c) { i += 1; continue }
            if c == "'" || c == "\"" {
                var j = i + 1
                while j < n, scalars[j] != c { j += 1 }
                tokens.append(Token(kind: .literal, text: text((i + 1)..<min(j, n))))
                i = j + 1
                continue
            }
            if c == "$" {
                var j = i + 1
                while j < n, isNameScalar(scalars[j]) || scalars[j] == ":" { j += 1 }
                tokens.append(Token(kind: .variable, text: text((i + 1)..<j)))
                i = j
                continue
            }
            if isNameStart(c) {
                var j = i
                while j < n, isNameScalar(scalars[j]) { j += 1 }
                if j + 1 < n, scalars[j] == ":", scalars[j + 1] == ":" {
                    tokens.append(Token(kind: .axis, text: text(i..<j)))
                    i = j + 2
                    continue
                }
                if j + 1 < n, scalars[j] == ":", isNameStart(scalars[j + 1]) || scalars[j + 1] == "*" {  // a prefixed name, or `mx:*`
                    j += 1
                    if scalars[j] == "*" { j += 1 } else { while j < n, isNameScalar(scalars[j]) { j += 1 } }
                }
                var k = j
                while k < n, isSpace(scalars[k]) { k += 1 }
                tokens.append(Token(kind: .name, text: text(i..<j), followedByParenthesis: k < n && scalars[k] == "("))
                i = j
                continue
            }
            if ("0"..."9").contains(c) || (c == "." && i + 1 < n && ("0"..."9").contains(scalars[i + 1])) {
                var j = i
                while j < n, ("0"..."9").contains(scalars[j]) || scalars[j] == "." { j += 1 }
                tokens.append(Token(kind: .number, text: text(i..<j)))
                i = j
                continue
            }
            let pair = i + 1 < n ? text(i..<(i + 2)) : ""
            let width = ["..", "//", "::", "!=", "<=", ">="].contains(pair) ? 2 : 1
            tokens.append(Token(kind: .symbol, text: text(i..<(i + width))))
            i += width
        }
        return tokens
    }
}
