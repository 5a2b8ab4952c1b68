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
/// refused wherever it is.
///
/// The count is exact only when the bytes `"`, `'`, `<`, `=`, `>` and `!` mean those characters
/// wherever they occur: in UTF-8 and the ASCII-compatible encodings (ISO-8859, windows-125x, the
/// EUC, GB and Big5 families, Shift_JIS), and, read by code unit, in UTF-16 and UTF-32 (a `™`
/// is `22 21` in UTF-16LE). Any other encoding (EBCDIC, ISO-2022, UTF-7 …) is refused with the
/// advice to convert the export (`Layout.of(prolog:encoding:)`).
struct AttributeCountGuard {
    /// Far above any export's (a Maximo record element has a handful) and far below where libxml2's
    /// cost shows (~1 ms at 1,000).
    static let maximumAttributes = 1_000

    /// How the markup's characters are laid out in the bytes libxml2 reads.
    enum Layout: Equatable {
        /// One byte each (UTF-8 and the ASCII-compatible encodings).
        case bytes
        /// One code unit of `width` bytes each (UTF-16, UTF-32); a unit above 0x7F is no markup.
        case units(width: Int, bigEndian: Bool)

        var width: Int { if case .units(let width, _) = self { width } else { 1 } }

        /// The layout libxml2 will read `prolog` (the file's first bytes) in: a byte-order mark says
        /// it, else `encoding` (the mapping's, which libxml2 is given), else the first four bytes,
        /// else the XML declaration, else UTF-8. Throws for an encoding whose markup cannot be
        /// told byte by byte.
        static func of(prolog: [UInt8], encoding: String?) throws(DecodeError) -> Layout {
            if prolog.starts(with: [0xEF, 0xBB, 0xBF]) { return .bytes }
            if prolog.starts(with: [0x00, 0x00, 0xFE, 0xFF]) { return .units(width: 4, bigEndian: true) }
            if prolog.starts(with: [0xFF, 0xFE, 0x00, 0x00]) { return .units(width: 4, bigEndian: false) }
            if prolog.starts(with: [0xFE, 0xFF]) { return .units(width: 2, bigEndian: true) }
            if prolog.starts(with: [0xFF, 0xFE]) { return .units(width: 2, bigEndian: false) }
            let detected: Layout? = switch Array(prolog.prefix(4)) {
            case [0x3C, 0x00, 0x3F, 0x00]: .units(width: 2, bigEndian: false)
            case [0x00, 0x3C, 0x00, 0x3F]: .units(width: 2, bigEndian: true)
            case [0x3C, 0x00, 0x00, 0x00]: .units(width: 4, bigEndian: false)
            case [0x00, 0x00, 0x00, 0x3C]: .units(width: 4, bigEndian: true)
            default: nil
            }
            if encoding == nil, prolog.starts(with: [0x4C, 0x6F, 0xA7, 0x94]) {
                throw DecodeError(message: "the export is in EBCDIC, whose markup cannot be checked before libxml2 parses it; convert it to UTF-8", line: 1)
            }
            guard let name = encoding ?? (detected == nil ? declaredEncoding(prolog) : nil) else { return detected ?? .bytes }
            let key = name.uppercased().filter { $0.isLetter || $0.isNumber }
            if key.hasPrefix("UTF16") || key.hasPrefix("UCS2") || key.hasPrefix("UTF32") || key.hasPrefix("UCS4") {
                let width = key.hasPrefix("UTF16") || key.hasPrefix("UCS2") ? 2 : 4
                let bigEndian = key.hasSuffix("BE") ? true : key.hasSuffix("LE") ? false : (detected.map { $0 == .units(width: width, bigEndian: true) } ?? false)
                return .units(width: width, bigEndian: bigEndian)
            }
            let asciiCompatible = ["UTF8", "ASCII", "USASCII", "ISO646", "ISO8859", "LATIN", "L1", "WINDOWS125", "CP125", "KOI8", "EUC", "GB", "CP936",
                                   "BIG5", "CP950", "SHIFTJIS", "SJIS", "WINDOWS31J", "CP932", "MSKANJI", "TIS620", "MACROMAN"]
            guard asciiCompatible.contains(where: key.hasPrefix) else {
                throw DecodeError(message: "the export's encoding '\(name)' is not one whose markup can be checked before libxml2 parses it (UTF-8, UTF-16, UTF-32, "
                                  + "or an ASCII-compatible one such as ISO-8859-1 or windows-1252); convert the export to UTF-8", line: 1)
            }
            return .bytes
        }

        /// The `encoding` of an XML declaration written in ASCII (`<?xml version="1.0" encoding="…"?>`).
        static func declaredEncoding(_ prolog: [UInt8]) -> String? {
            guard prolog.starts(with: Array("<?xml".utf8)), let end = prolog.prefix(512).firstIndex(of: UInt8(ascii: ">")) else { return nil }
            let declaration = String(decoding: prolog[..<end], as: UTF8.self)
            guard let name = declaration.range(of: "encoding") else { return nil }
            let rest = declaration[name.upperBound...].drop { $0 == " " || $0 == "=" || $0 == "\t" || $0 == "\r" || $0 == "\n" }
            guard let quote = rest.first, quote == "\"" || quote == "'" else { return nil }
            let value = rest.dropFirst().prefix { $0 != quote }
            return value.isEmpty ? nil : String(value)
        }

        /// The line of byte `offset` of the input, counting from the start of `bytes` (which begin
        /// at a character's first byte) at `line`.
        func line(of offset: Int, in bytes: UnsafeRawBufferPointer, from line: Int = 1) -> Int {
            let end = min(offset, bytes.count)
            var newlines = 0
            switch self {
            case .bytes:
                for byte in bytes.prefix(end) where byte == 0x0A { newlines += 1 }
            case .units(let width, let bigEndian):
                for start in stride(from: 0, to: end - width + 1, by: width) where isNewline(bytes, start, width, bigEndian) { newlines += 1 }
            }
            return line + newlines
        }

        private func isNewline(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ width: Int, _ bigEndian: Bool) -> Bool {
            (0..<width).allSatisfy { bytes[start + $0] == ((bigEndian ? $0 == width - 1 : $0 == 0) ? 0x0A : 0) }
        }
    }

    /// What an input was refused for.
    enum Refusal {
        case tooManyAttributes
        case declaration
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

    private static let commentOpening = Array("--".utf8), cdataOpening = Array("[CDATA[".utf8)

    /// Whether `byte` ends a run inside a tag.
    @inline(__always)
    private static func endsTagRun(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ">") || byte == UInt8(ascii: "=") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'")
    }

    /// Whether any of the eight bytes of `word` ends a run inside a tag: most of an export's bytes
    /// are tags' names, read eight at a time (the classic zero-byte test, exact as a yes or no).
    @inline(__always)
    private static func endsTagRun(inWord word: UInt64) -> Bool {
        func has(_ byte: UInt8) -> UInt64 {
            let x = word ^ (0x0101_0101_0101_0101 &* UInt64(byte))
            return (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080
        }
        return has(UInt8(ascii: ">")) | has(UInt8(ascii: "=")) | has(UInt8(ascii: "\"")) | has(UInt8(ascii: "'")) != 0
    }

    let layout: Layout
    private var state = State.text
    private var quote: UInt8 = 0
    private var commentMatched = 0, cdataMatched = 0, matched = 0
    private var attributes = 0
    /// Characters before the current buffer, and the index of the open tag's `<` among them.
    private var consumed = 0
    private var tagOffset = 0
    /// Code units: the bytes of a unit cut at a buffer's end, and each buffer's units as one
    /// byte each (the unit when it is ASCII, else 0x80, which is no markup).
    private var carried: [UInt8] = []
    private var projected: [UInt8] = []

    /// What the input was refused for, and the byte offset of the `<` that showed it. Lines are
    /// not counted as the bytes go by (1 % of a 100k run's samples): whoever reports the refusal
    /// counts them up to here (`Layout.line(of:in:from:)`).
    private(set) var refusal: (reason: Refusal, offset: Int)?

    init(layout: Layout = .bytes) { self.layout = layout }

    /// The error that reports the refusal, at `line`.
    func error(line: Int?) -> DecodeError? {
        switch refusal?.reason {
        case nil: nil
        case .tooManyAttributes?: DecodeError(message: "an element has more than \(Self.maximumAttributes) attributes; refused unread, "
                                              + "as libxml2 takes time quadratic in their number (no export has so many)", line: line)
        case .declaration?: DecodeError(message: "the file declares a DTD (<!DOCTYPE> or another <! declaration); DTDs and entities are refused for safety", line: line)
        }
    }

    /// Reads the next bytes of the input; `false` (with `refusal` set) once they show an element
    /// with too many attributes or a declaration.
    mutating func scan(_ buffer: UnsafeRawBufferPointer) -> Bool {
        guard refusal == nil else { return false }
        guard case .units(let width, let bigEndian) = layout else { return scanCharacters(buffer) }
        carried.append(contentsOf: buffer)
        let units = carried.count / width
        projected.removeAll(keepingCapacity: true)
        for index in 0..<units {
            var value: UInt32 = 0
            for byte in 0..<width { value |= UInt32(carried[index * width + byte]) << (8 * UInt32(bigEndian ? width - 1 - byte : byte)) }
            projected.append(value < 0x80 ? UInt8(value) : 0x80)
        }
        carried.removeFirst(units * width)
        return projected.withUnsafeBytes { scanCharacters($0) }
    }

    /// The scan over characters of one byte each.
    private mutating func scanCharacters(_ buffer: UnsafeRawBufferPointer) -> Bool {
        guard let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return true }
        let count = buffer.count
        /// The next `byte` at or after `i`, or the end.
        func find(_ byte: UInt8, from i: Int) -> Int {
            guard i < count, let found = memchr(base + i, Int32(byte), count - i) else { return count }
            return UnsafeRawPointer(found) - UnsafeRawPointer(base)
        }
        var i = 0
        while i < count {
            switch state {
            case .text:
                i = find(UInt8(ascii: "<"), from: i)
                guard i < count else { break }
                state = .open; tagOffset = consumed + i
                i += 1
            case .open:
                switch base[i] {
                case UInt8(ascii: "!"): state = .bang; commentMatched = 0; cdataMatched = 0
                case UInt8(ascii: "?"): state = .instruction; matched = 0
                case UInt8(ascii: ">"): state = .text
                default: state = .tag; attributes = 0; continue
                }
                i += 1
            case .tag:
                while i + 8 <= count, !Self.endsTagRun(inWord: UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)) { i += 8 }
                while i < count, !Self.endsTagRun(base[i]) { i += 1 }
                guard i < count else { break }
                switch base[i] {
                case UInt8(ascii: ">"): state = .text
                case UInt8(ascii: "="):
                    attributes += 1
                    if attributes > Self.maximumAttributes {
                        refusal = (.tooManyAttributes, tagOffset * layout.width)
                        return false
                    }
                default: state = .quoted; quote = base[i]
                }
                i += 1
            case .quoted:
                i = find(quote, from: i)
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
                    refusal = (.declaration, tagOffset * layout.width)
                    return false
                }
                i += 1
            case .comment, .cdata:
                // `-->` or `]]>`: after two or more of the closing byte, a `>`.
                let closing = state == .comment ? UInt8(ascii: "-") : UInt8(ascii: "]")
                if matched == 0 { i = find(closing, from: i); guard i < count else { break } }
                let byte = base[i]
                if byte == closing { matched += 1 }
                else if byte == UInt8(ascii: ">") && matched >= 2 { state = .text }
                else { matched = 0 }
                i += 1
            case .instruction:
                if matched == 0 { i = find(UInt8(ascii: "?"), from: i); guard i < count else { break } }
                let byte = base[i]
                if byte == UInt8(ascii: ">") && matched == 1 { state = .text }
                else { matched = byte == UInt8(ascii: "?") ? 1 : 0 }
                i += 1
            }
        }
        consumed += count
        return true
    }
}
