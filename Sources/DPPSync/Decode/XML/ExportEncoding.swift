/// The encoding an XML export is read in, decided once, before libxml2 sees a byte of it: a
/// byte-order mark says it; else the mapping's `encoding` (for exports whose declaration is
/// missing or wrong); else the XML declaration's `encoding`, read in the encoding the first four
/// bytes show (ASCII, UTF-16, UTF-32 or EBCDIC); else what those bytes show; else UTF-8.
///
/// libxml2 is then told UTF-8 and to ignore the declaration: anything else is decoded by
/// `UTF8Transcoder` first, so that libxml2 and `AttributeCountGuard` read the same characters.
struct ExportEncoding: Equatable {
    /// iconv's name of the encoding; `nil` for UTF-8, handed on as it is.
    var name: String?
    /// Bytes of a byte-order mark at the start of the file, not handed on when decoding.
    var markLength = 0

    static let utf8 = ExportEncoding(name: nil)

    static func of(prolog: [UInt8], mapping: String?) throws(DecodeError) -> ExportEncoding {
        let marks: [([UInt8], String)] = [([0xEF, 0xBB, 0xBF], "UTF-8"), ([0x00, 0x00, 0xFE, 0xFF], "UTF-32BE"), ([0xFF, 0xFE, 0x00, 0x00], "UTF-32LE"),
                                          ([0xFE, 0xFF], "UTF-16BE"), ([0xFF, 0xFE], "UTF-16LE")]
        if let (mark, name) = marks.first(where: { prolog.starts(with: $0.0) }) {
            return name == "UTF-8" ? .utf8 : ExportEncoding(name: name, markLength: mark.count)
        }
        if let mapping { return named(mapping) }
        let detected: String? = switch Array(prolog.prefix(4)) {
        case [0x3C, 0x00, 0x3F, 0x00]: "UTF-16LE"
        case [0x00, 0x3C, 0x00, 0x3F]: "UTF-16BE"
        case [0x3C, 0x00, 0x00, 0x00]: "UTF-32LE"
        case [0x00, 0x00, 0x00, 0x3C]: "UTF-32BE"
        case [0x4C, 0x6F, 0xA7, 0x94]: "IBM037"  // EBCDIC: enough to read the declaration, which names the variant
        default: nil
        }
        // A UTF-16 or UTF-32 file is read as the bytes show whatever its declaration says (a
        // declaration of another encoding had switched libxml2 to it in mid-file).
        if let detected, detected.hasPrefix("UTF") { return ExportEncoding(name: detected) }
        var declarationText: [UInt8] = []
        if let detected {
            let transcoder = try UTF8Transcoder(from: detected)
            try? prolog.prefix(4_096).withUnsafeBytes { try transcoder.convert($0, into: &declarationText) }
        } else {
            declarationText = Array(prolog.prefix(4_096))
        }
        if let declared = declaredEncoding(declarationText) { return named(declared) }
        guard detected == nil else {
            throw DecodeError(message: "the export looks like EBCDIC but declares no encoding: set the mapping's `encoding` (e.g. IBM037)", line: 1)
        }
        return .utf8
    }

    /// The encoding called `name`, UTF-8 under any of its spellings.
    static func named(_ name: String) -> ExportEncoding {
        ["UTF8"].contains(name.uppercased().filter { $0.isLetter || $0.isNumber }) ? .utf8 : ExportEncoding(name: name)
    }

    /// The `encoding` of an XML declaration at the start of `text` (ASCII or UTF-8):
    /// `<?xml version="1.0" encoding="…"?>`.
    static func declaredEncoding(_ text: [UInt8]) -> String? {
        guard text.starts(with: Array("<?xml".utf8)), let end = text.firstIndex(of: UInt8(ascii: ">")) else { return nil }
        let declaration = String(decoding: text[..<end], as: UTF8.self)
        guard let name = declaration.range(of: "encoding") else { return nil }
        let rest = declaration[name.upperBound...].drop { $0 == " " || $0 == "=" || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        guard let quote = rest.first, quote == "\"" || quote == "'" else { return nil }
        let value = rest.dropFirst().prefix { $0 != quote }
        return value.isEmpty ? nil : String(value)
    }
}
