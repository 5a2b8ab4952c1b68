/// Reads the string members of a compact JSON object whose every value is a plain string,
/// as dppsync stores small objects (a part's release certificate:
/// `{"reference":"EF1-2025-000417","type":"EASA Form 1","validUntil":"2027-03-31"}`), without
/// building a `JSONValue`: a completion checks the certificate of every part it installs, and the
/// full parse had been most of that check.
///
/// Any other text (whitespace, an escape, a control character, a value that is not a string,
/// anything after the object) gives `nil`, and the caller parses it with `JSONParser`: where this
/// answers, it answers what the parser's object and `JSONValue[key]` (the first member of that
/// name) would.
struct FlatJSONObject {
    /// The member names asked for, as UTF-8.
    let names: [[UInt8]]

    init(names: [String]) { self.names = names.map { Array($0.utf8) } }

    /// The values of the first members with the names asked for, in their order (`nil` for a
    /// name not there), or `nil` when `text` is not such an object.
    func strings(in text: String) -> [String?]? {
        var text = text
        return text.withUTF8 { bytes -> [String?]? in
            var found = [String?](repeating: nil, count: names.count)
            var scanner = Scanner(bytes: bytes)
            guard scanner.take(UInt8(ascii: "{")) else { return nil }
            if scanner.take(UInt8(ascii: "}")) { return scanner.atEnd ? found : nil }
            while true {
                guard let name = scanner.plainString(), scanner.take(UInt8(ascii: ":")), let value = scanner.plainString() else { return nil }
                for position in names.indices where found[position] == nil && Self.equal(names[position], name) {
                    found[position] = String(decoding: value, as: UTF8.self)
                    break
                }
                if scanner.take(UInt8(ascii: ",")) { continue }
                guard scanner.take(UInt8(ascii: "}")), scanner.atEnd else { return nil }
                return found
            }
        }
    }

    /// Byte equality by length, then `memcmp` (a generic `elementsEqual` walked both a byte at a
    /// time with iterators: ~180 instructions more a certificate checked).
    private static func equal(_ name: [UInt8], _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        name.count == bytes.count && name.withUnsafeBufferPointer { name in
            name.isEmpty || memcmp(name.baseAddress!, bytes.baseAddress!, name.count) == 0
        }
    }

    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        var atEnd: Bool { index == bytes.count }

        mutating func take(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        /// The bytes of the string starting here (at its quote), or `nil` when it is not plain.
        mutating func plainString() -> UnsafeBufferPointer<UInt8>? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    return UnsafeBufferPointer(rebasing: bytes[start..<(index - 1)])
                }
                if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
                index += 1
            }
            return nil
        }
    }
}

import Foundation
