import Foundation

/// Refuses an element with more attributes than any export carries, before libxml2 parses it.
///
/// libxml2 2.9 checks each attribute of a start tag against every one before it: quadratic in
/// their number (measured here: one element with 20,000 attributes 0.42 s, 40,000 2.3 s), so a
/// 13 MB file of one element with a million of them would hold a pass for tens of minutes, and
/// no parser option bounds it. The guard sees the bytes as they are handed to libxml2 and
/// counts the `=` of each start tag outside quoted values; comments, CDATA sections and
/// processing instructions are skipped, as their text is not markup. Any other `<!` is a
/// declaration of a DTD (whose default attributes libxml2 would add as quadratically), and is
/// refused wherever it is; so is a NUL, a quoted value, comment, instruction or CDATA section
/// that libxml2 would read again and again (`Refusal.longConstruct`), and more namespace
/// declarations in force than any export makes (`Refusal.namespaces`): it follows start and end
/// tags to know which are.
///
/// It reads UTF-8, where a byte below 0x80 is always that ASCII character: an export in any
/// other encoding is decoded to UTF-8 first (`ExportEncoding`, `UTF8Transcoder`), and libxml2
/// parses the same UTF-8.
struct AttributeCountGuard {
    /// Far above any export's (a Maximo record element has a handful) and far below where libxml2's
    /// cost shows (~1 ms at 1,000).
    static let maximumAttributes = 1_000
    /// Past its first 64 KB a construct may hold 64 more `>`: libxml2 then reads it at most ~64 times
    /// over (linear), and below 64 KB at most 128 times over 64 KB.
    static let longConstruct = 1 << 16, maximumLateBrackets = 64
    /// libxml2 looks each element's namespace and each prefixed attribute up through every
    /// declaration in force, so 250 nested elements of 1,000 declarations each make one element of
    /// 1,000 prefixed attributes cost ~2 s. An export declares two or three, on its root or on
    /// each record.
    static let maximumNamespacesInForce = 64

    /// What an input was refused for.
    enum Refusal {
        case tooManyAttributes
        case declaration
        /// A tag (in its quoted values), comment, processing instruction or CDATA section over
        /// `longConstruct` bytes with more than `maximumLateBrackets` `>` inside after those bytes:
        /// libxml2's reader hands the parser 512 bytes at a time and, at each that holds a `>`, the
        /// parser tries the construct again from its `<` (one attribute value of 4 MB of `>`: 9.4 s).
        case longConstruct
        /// U+0000, which XML allows nowhere: at the start of the text, libxml2 took `3C 00 3F 00` for
        /// UTF-16 whatever it was told, one quote out of step with the guard.
        case nul
        /// More than `maximumNamespacesInForce` namespace declarations (`xmlns` and `xmlns:…`
        /// attributes) on an element and its open ancestors.
        case namespaces
    }

    /// Where the scan is. Plain integers: the scan runs over every byte of every XML export
    /// (an enum with payloads had cost 4.6 % of a 100k run's samples; runs of text, values and
    /// comments are now skipped with `memchr`).
    private enum State: UInt8 {
        case text
        /// After `<`: a start tag, an end tag, or `<!`/`<?` markup.
        case open
        /// Inside a start or end tag, counting `=`.
        case tag
        /// Inside a tag after white space: what follows may be an attribute's name.
        case space
        /// At an attribute's name: `matched` bytes of `xmlns` so far.
        case name
        /// Inside a quoted attribute value, until `quote`.
        case quoted
        /// After `<!`: `matched` bytes of `--` (comment) or `[CDATA[` (cdata) so far.
        case bang
        /// Inside a comment; `matched` is how many `-` just went by.
        case comment
        /// Inside a CDATA section; `matched` is how many `]` just went by.
        case cdata
        /// Inside a processing instruction; `matched` is 1 just after a `?`.
        case instruction
    }

    private static let commentOpening = Array("--".utf8), cdataOpening = Array("[CDATA[".utf8), xmlns = Array("xmlns".utf8)

    /// Whether `byte` is white space: XML's four, and the other control characters it refuses.
    @inline(__always)
    private static func isSpace(_ byte: UInt8) -> Bool { byte <= 0x20 }

    /// Whether `byte` ends a run inside a tag.
    @inline(__always)
    private static func endsTagRun(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ">") || byte == UInt8(ascii: "=") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") || isSpace(byte)
    }

    /// Whether any of the eight bytes of `word` ends a run inside a tag: most of an export's bytes
    /// are tags' names, read eight at a time (the classic zero-byte test, exact as a yes or no).
    @inline(__always)
    private static func endsTagRun(inWord word: UInt64) -> Bool {
        func has(_ byte: UInt8) -> UInt64 {
            let x = word ^ (0x0101_0101_0101_0101 &* UInt64(byte))
            return (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080
        }
        let space = (word &- 0x2121_2121_2121_2121) & ~word & 0x8080_8080_8080_8080
        return has(UInt8(ascii: ">")) | has(UInt8(ascii: "=")) | has(UInt8(ascii: "\"")) | has(UInt8(ascii: "'")) | space != 0
    }

    private var state = State.text
    private var quote: UInt8 = 0
    private var commentMatched = 0, cdataMatched = 0, matched = 0
    private var attributes = 0
    /// Whether the open tag is an end tag, and whether the name before its next `=` is `xmlns` or
    /// `xmlns:…`.
    private var closing = false, declaring = false
    /// Namespace declarations of the open start tag, and of it and its open ancestors.
    private var declarations = 0, declarationsInForce = 0
    /// Open elements, and the depth and count of those that declare namespaces (at most
    /// `maximumNamespacesInForce` of them).
    private var depth = 0
    private var declaringElements: [(depth: Int, count: Int)] = []
    /// The last byte of the previous buffer: a `>` right after it ends an empty-element tag if it is `/`.
    private var lastByte: UInt8 = 0
    /// `>` inside the open construct past its first `longConstruct` bytes.
    private var lateBrackets = 0
    /// Bytes before the current buffer, and the offset of the open tag's `<` in the input.
    private var consumed = 0
    private var tagOffset = 0

    /// What the input was refused for, and the offset of the `<` that showed it. Lines are not
    /// counted as the bytes go by (1 % of a 100k run's samples): whoever reports the refusal
    /// counts them up to here (`line(of:in:from:)`).
    private(set) var refusal: (reason: Refusal, offset: Int)?

    /// The error that reports `reason`, at `line`.
    static func error(_ reason: Refusal, line: Int?) -> DecodeError {
        switch reason {
        case .tooManyAttributes: DecodeError(message: "an element has more than \(maximumAttributes) attributes; refused unread, "
                                             + "as libxml2 takes time quadratic in their number (no export has so many)", line: line)
        case .declaration: DecodeError(message: "the file declares a DTD (<!DOCTYPE> or another <! declaration); DTDs and entities are refused for safety", line: line)
        case .longConstruct: DecodeError(message: "a tag, comment, processing instruction or CDATA section runs past \(longConstruct / 1024) KB with more than "
                                         + "\(maximumLateBrackets) '>' inside it; refused unread, as libxml2 reads such a construct again from its start at each '>'", line: line)
        case .nul: DecodeError(message: "the file holds a NUL character (U+0000), which XML allows nowhere: is it read in the right encoding "
                               + "(a byte-order mark, the mapping's `encoding`, or its XML declaration)?", line: line)
        case .namespaces: DecodeError(message: "an element and its enclosing elements declare more than \(maximumNamespacesInForce) namespaces; refused unread, "
                                      + "as libxml2 looks every prefixed name up through all of them (an export declares a few)", line: line)
        }
    }

    /// The line of byte `offset`, counting from the start of `bytes` at `line`.
    static func line(of offset: Int, in bytes: UnsafeRawBufferPointer, from line: Int = 1) -> Int {
        var newlines = 0
        for byte in bytes.prefix(offset) where byte == 0x0A { newlines += 1 }
        return line + newlines
    }

    /// Reads the next bytes of the input; `false` (with `refusal` set) once they show something
    /// refused.
    mutating func scan(_ buffer: UnsafeRawBufferPointer) -> Bool {
        guard refusal == nil else { return false }
        guard let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), buffer.count > 0 else { return true }
        let count = buffer.count
        if let nul = memchr(base, 0, count) {
            refusal = (.nul, consumed + (UnsafeRawPointer(nul) - UnsafeRawPointer(base)))
            return false
        }
        /// The next `byte` at or after `i`, or the end.
        func find(_ byte: UInt8, from i: Int) -> Int {
            guard i < count, let found = memchr(base + i, Int32(byte), count - i) else { return count }
            return UnsafeRawPointer(found) - UnsafeRawPointer(base)
        }
        /// Counts the `>` of `base[from..<to]`, inside the open construct, that lie past its first
        /// `longConstruct` bytes; `false` (refused) once there are too many.
        func allows(_ from: Int, _ to: Int) -> Bool {
            var j = max(from, tagOffset - consumed + Self.longConstruct)
            while j < to, let found = memchr(base + j, Int32(UInt8(ascii: ">")), to - j) {
                lateBrackets += 1
                if lateBrackets > Self.maximumLateBrackets {
                    refusal = (.longConstruct, tagOffset)
                    return false
                }
                j = UnsafeRawPointer(found) - UnsafeRawPointer(base) + 1
            }
            return true
        }
        var i = 0
        while i < count {
            switch state {
            case .text:
                i = find(UInt8(ascii: "<"), from: i)
                guard i < count else { break }
                state = .open; tagOffset = consumed + i; lateBrackets = 0
                i += 1
            case .open:
                switch base[i] {
                case UInt8(ascii: "!"): state = .bang; commentMatched = 0; cdataMatched = 0
                case UInt8(ascii: "?"): state = .instruction; matched = 0
                case UInt8(ascii: ">"): state = .text
                case UInt8(ascii: "/"): state = .tag; closing = true
                default: state = .tag; closing = false; attributes = 0; declarations = 0; declaring = false; continue
                }
                i += 1
            case .tag:
                while i + 8 <= count, !Self.endsTagRun(inWord: UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)) { i += 8 }
                while i < count, !Self.endsTagRun(base[i]) { i += 1 }
                guard i < count else { break }
                switch base[i] {
                case UInt8(ascii: ">"):
                    state = .text
                    reachedTagEnd(emptyElement: (i > 0 ? base[i - 1] : lastByte) == UInt8(ascii: "/"))
                case UInt8(ascii: "="):
                    attributes += 1
                    if attributes > Self.maximumAttributes {
                        refusal = (.tooManyAttributes, tagOffset)
                        return false
                    }
                    if declaring {
                        declaring = false; declarations += 1; declarationsInForce += 1
                        if declarationsInForce > Self.maximumNamespacesInForce {
                            refusal = (.namespaces, tagOffset)
                            return false
                        }
                    }
                case UInt8(ascii: "\""), UInt8(ascii: "'"): state = .quoted; quote = base[i]
                default: state = .space
                }
                i += 1
            case .space:
                while i < count, Self.isSpace(base[i]) { i += 1 }
                guard i < count else { break }
                // A byte other than these starts a name: the `=` of `xmlns = "…"` and a value are
                // after the name they belong to.
                let byte = base[i]
                if byte != UInt8(ascii: "=") && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "'") { declaring = false }
                if byte == Self.xmlns[0] { state = .name; matched = 1; i += 1 } else { state = .tag }
            case .name:
                let byte = base[i]
                if matched < Self.xmlns.count && byte == Self.xmlns[matched] {
                    matched += 1; i += 1
                    continue
                }
                declaring = matched == Self.xmlns.count && (byte == UInt8(ascii: ":") || byte == UInt8(ascii: "=") || Self.isSpace(byte))
                state = .tag
            case .quoted:
                let end = find(quote, from: i)
                guard allows(i, end) else { return false }
                i = end
                guard i < count else { break }
                state = .tag
                i += 1
            case .bang:
                let byte = base[i]
                let dashes = Self.commentOpening, section = Self.cdataOpening
                commentMatched = commentMatched < dashes.count && byte == dashes[commentMatched] ? commentMatched + 1 : 0
                cdataMatched = cdataMatched < section.count && byte == section[cdataMatched] ? cdataMatched + 1 : 0
                if commentMatched == dashes.count { state = .comment; matched = 0 }
                else if cdataMatched == section.count { state = .cdata; matched = 0 }
                else if commentMatched == 0 && cdataMatched == 0 {
                    refusal = (.declaration, tagOffset)
                    return false
                }
                i += 1
            case .comment, .cdata:
                // `-->` or `]]>`: after two or more of the closing byte, a `>`.
                let closing = state == .comment ? UInt8(ascii: "-") : UInt8(ascii: "]")
                if matched == 0 {
                    let next = find(closing, from: i)
                    guard allows(i, next) else { return false }
                    i = next
                    guard i < count else { break }
                }
                let byte = base[i]
                if byte == closing { matched += 1 }
                else if byte == UInt8(ascii: ">") && matched >= 2 { state = .text }
                else {
                    matched = 0
                    guard allows(i, i + 1) else { return false }
                }
                i += 1
            case .instruction:
                if matched == 0 {
                    let next = find(UInt8(ascii: "?"), from: i)
                    guard allows(i, next) else { return false }
                    i = next
                    guard i < count else { break }
                }
                let byte = base[i]
                if byte == UInt8(ascii: ">") && matched == 1 { state = .text }
                else {
                    matched = byte == UInt8(ascii: "?") ? 1 : 0
                    guard allows(i, i + 1) else { return false }
                }
                i += 1
            }
        }
        consumed += count
        lastByte = base[count - 1]
        return true
    }

    /// Follows the elements open at the `>` of a tag, and the namespace declarations in force.
    private mutating func reachedTagEnd(emptyElement: Bool) {
        if closing {
            if let last = declaringElements.last, last.depth == depth {
                declarationsInForce -= last.count
                declaringElements.removeLast()
            }
            depth = max(depth - 1, 0)
        } else if emptyElement {
            declarationsInForce -= declarations
        } else {
            depth += 1
            if declarations > 0 { declaringElements.append((depth, declarations)) }
        }
    }
}
