import Foundation

/// Turns an export's bytes in another encoding into UTF-8 as they are read (glibc's `iconv`, which
/// libxml2 itself uses for all but its few built-in encodings).
///
/// dppsync decodes, and hands libxml2 UTF-8 with the declaration's encoding ignored
/// (`XML_PARSE_IGNORE_ENC`), so that what `AttributeCountGuard` scans is exactly what libxml2
/// parses: read byte by byte, a UTF-16 `™` (22 21) is a quote, a Shift_JIS character can end in
/// `]`, an EBCDIC file has no `<` at all, and libxml2 had switched to a declared encoding in
/// mid-file, after any check of the raw bytes.
final class UTF8Transcoder {
    /// iconv's name of the encoding read.
    let encoding: String
    private let converter: iconv_t
    /// Bytes of a character cut at the end of the previous input.
    private var pending: [UInt8] = []
    /// Where the converted bytes are written before they are appended (reused; iconv fills it in turns).
    private var chunk = [UInt8](repeating: 0, count: 1 << 18)
    /// Input bytes converted so far, and the offset of the first in the file (for messages).
    private(set) var consumed = 0
    private let firstOffset: Int

    /// Whether `encoding` can be read (for `mapping check`).
    static func knows(_ encoding: String) -> Bool {
        let converter = iconv_open("UTF-8", encoding)
        guard converter != iconv_t(bitPattern: -1) else { return false }
        iconv_close(converter)
        return true
    }

    /// A transcoder from `encoding`, whose input starts at byte `firstOffset` of the file (after its byte-order mark).
    init(from encoding: String, firstOffset: Int = 0) throws(DecodeError) {
        self.encoding = encoding
        self.firstOffset = firstOffset
        converter = iconv_open("UTF-8", encoding)
        guard converter != iconv_t(bitPattern: -1) else { throw DecodeError(message: "no decoder knows the encoding '\(encoding)'") }
    }

    deinit { iconv_close(converter) }

    /// Converts `input` (after what was left of a character cut at the end of the previous one) and
    /// appends the UTF-8 to `output`. `final` says that no input follows: a character left cut is
    /// an error, and what the decoder holds back (CP1258 waits for a combining mark) is flushed.
    func convert(_ input: UnsafeRawBufferPointer, final: Bool = false, into output: inout [UInt8]) throws(DecodeError) {
        if pending.isEmpty {
            try convertWhole(input, final: final, into: &output)
        } else {
            let joined = pending + Array(input)
            pending.removeAll()
            try joined.withUnsafeBytes { bytes in Result { () throws(DecodeError) in try convertWhole(bytes, final: final, into: &output) } }.get()
        }
        if final {
            let written = chunk.withUnsafeMutableBytes { chunkBytes -> Int in
                var outPointer: UnsafeMutablePointer<CChar>? = chunkBytes.baseAddress?.assumingMemoryBound(to: CChar.self)
                var outLeft = chunkBytes.count
                _ = iconv(converter, nil, nil, &outPointer, &outLeft)
                return chunkBytes.count - outLeft
            }
            output.append(contentsOf: chunk[0..<written])
        }
    }

    private func convertWhole(_ source: UnsafeRawBufferPointer, final: Bool, into output: inout [UInt8]) throws(DecodeError) {
        guard let base = source.baseAddress else { return }
        var read = 0
        while read < source.count {
            let (used, written, failure) = chunk.withUnsafeMutableBytes { chunkBytes -> (Int, Int, Int32) in
                // iconv does not write its input, though C spells the pointer without const.
                var inPointer: UnsafeMutablePointer<CChar>? = UnsafeMutablePointer(mutating: (base + read).assumingMemoryBound(to: CChar.self))
                var inLeft = source.count - read
                var outPointer: UnsafeMutablePointer<CChar>? = chunkBytes.baseAddress?.assumingMemoryBound(to: CChar.self)
                var outLeft = chunkBytes.count
                let result = iconv(converter, &inPointer, &inLeft, &outPointer, &outLeft)
                return (source.count - read - inLeft, chunkBytes.count - outLeft, result == -1 ? errno : 0)
            }
            output.append(contentsOf: chunk[0..<written])
            read += used
            consumed += used
            switch failure {
            case 0, E2BIG: continue
            case EINVAL where !final:
                pending = Array(source[read...])  // a character cut at the end: the next input completes it
                return
            case EINVAL: throw DecodeError(message: "the file ends inside a character of its encoding \(encoding) (byte \(firstOffset + consumed + 1))")
            default: throw DecodeError(message: "byte \(firstOffset + consumed + 1) of the file is not \(encoding), the encoding it is read in "
                                       + "(its byte-order mark, the mapping's `encoding`, or its XML declaration)")
            }
        }
    }
}
