extension JSONValue {
    /// Compact JSON text. With `sortedKeys`, object members are ordered by the
    /// UTF-8 bytes of their names (the canonical form the ledger hashes).
    public func jsonText(sortedKeys: Bool = false, pretty: Bool = false) -> String {
        String(decoding: jsonBytes(sortedKeys: sortedKeys, pretty: pretty), as: UTF8.self)
    }

    /// The same, as UTF-8 bytes (no String building on the hot path).
    public func jsonBytes(sortedKeys: Bool = false, pretty: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(to: &out, sortedKeys: sortedKeys, pretty: pretty, indent: 0)
        return out
    }

    private func newline(_ out: inout [UInt8], _ indent: Int) {
        out.append(0x0A)
        for _ in 0..<(indent * 2) { out.append(0x20) }
    }

    private func write(to out: inout [UInt8], sortedKeys: Bool, pretty: Bool, indent: Int) {
        switch self {
        case .null: out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        case .bool(let b): if b { out.append(contentsOf: "true".utf8) } else { out.append(contentsOf: "false".utf8) }
        case .number(let n): out.append(contentsOf: n.utf8)
        case .string(let s): JSONValue.appendQuoted(s, to: &out)
        case .array(let elements):
            if elements.isEmpty { out.append(contentsOf: [0x5B, 0x5D]); return }
            out.append(0x5B)
            for (i, element) in elements.enumerated() {
                if i > 0 { out.append(0x2C) }
                if pretty { newline(&out, indent + 1) }
                element.write(to: &out, sortedKeys: sortedKeys, pretty: pretty, indent: indent + 1)
            }
            if pretty { newline(&out, indent) }
            out.append(0x5D)
        case .object(let members):
            if members.isEmpty { out.append(contentsOf: [0x7B, 0x7D]); return }
            let ordered = sortedKeys ? members.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) } : members
            out.append(0x7B)
            for (i, (key, value)) in ordered.enumerated() {
                if i > 0 { out.append(0x2C) }
                if pretty { newline(&out, indent + 1) }
                JSONValue.appendQuoted(key, to: &out)
                out.append(0x3A)
                if pretty { out.append(0x20) }
                value.write(to: &out, sortedKeys: sortedKeys, pretty: pretty, indent: indent + 1)
            }
            if pretty { newline(&out, indent) }
            out.append(0x7D)
        }
    }

    /// Escapes only what JSON requires (`"`, `\` and control characters), so the
    /// same string always gives the same bytes. Other UTF-8 passes through as is.
    static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { appendQuoted(utf8: $0, to: &out) }
    }

    /// The same, for UTF-8 bytes read in place (a report's columns, as SQLite holds them).
    static func appendQuoted(utf8 bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(0x22)
        defer { out.append(0x22) }
        guard let base = bytes.baseAddress else { return }
        // Runs without anything to escape (nearly every string) are copied whole;
        // they are found eight bytes at a time.
        var start = 0
        var i = 0
        while i < bytes.count {
            if i + 8 <= bytes.count, !mayNeedEscape(UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)) {
                i += 8
                continue
            }
            let b = bytes[i]
            i += 1
            guard b < 0x20 || b == 0x22 || b == 0x5C else { continue }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<(i - 1)]))
            start = i
            switch b {
            case 0x22: out.append(0x5C); out.append(0x22)
            case 0x5C: out.append(0x5C); out.append(0x5C)
            case 0x0A: out.append(0x5C); out.append(0x6E)
            case 0x0D: out.append(0x5C); out.append(0x72)
            case 0x09: out.append(0x5C); out.append(0x74)
            default:
                let hex: StaticString = "0123456789abcdef"
                hex.withUTF8Buffer { digits in
                    out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, digits[Int(b >> 4)], digits[Int(b & 0x0F)]])
                }
            }
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<bytes.count]))
    }

    /// Whether any of eight bytes may be a control character, `"` or `\` (no false
    /// negatives; a false positive only sends those bytes through the byte loop).
    @inline(__always)
    static func mayNeedEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        func hasZeroByte(_ v: UInt64) -> Bool { (v &- ones) & ~v & highs != 0 }
        let control = (word &- 0x2020_2020_2020_2020) & ~word & highs != 0
        return control || hasZeroByte(word ^ 0x2222_2222_2222_2222) || hasZeroByte(word ^ 0x5C5C_5C5C_5C5C_5C5C)
    }
}

/// JSON written straight into a byte buffer. Hot writers (ledger entries, release
/// certificates) call these on their own buffer rather than through local closures:
/// a closure that captures the buffer pays a dynamic exclusivity check on every append.
extension Array where Element == UInt8 {
    /// Appends JSON text written in the source (punctuation, member names).
    @inline(__always)
    mutating func append(literal text: StaticString) {
        text.withUTF8Buffer { append(contentsOf: $0) }
    }

    /// Appends `value` as a JSON string, or `null`.
    @inline(__always)
    mutating func append(quoted value: String?) {
        if let value { JSONValue.appendQuoted(value, to: &self) } else { append(literal: "null") }
    }

    /// Appends a member: its name and punctuation as written (`,"name":`), then `value`.
    @inline(__always)
    mutating func append(member prefix: StaticString, _ value: String?) {
        append(literal: prefix)
        append(quoted: value)
    }
}
