extension String {
    /// The text with control characters (C0, DEL, C1) and bidirectional overrides written as
    /// `\u{…}`: data printed to a terminal or a text log (a record key, a file name, a finding) can
    /// then not forge a line, move the cursor or reorder what follows it.
    public var terminalSafe: String {
        guard unicodeScalars.contains(where: Self.isUnsafeOnTerminal) else { return self }
        var out = String.UnicodeScalarView()
        for scalar in unicodeScalars {
            if Self.isUnsafeOnTerminal(scalar) {
                out.append(contentsOf: "\\u{\(String(scalar.value, radix: 16, uppercase: true))}".unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    private static func isUnsafeOnTerminal(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value)
    }
}
