import Foundation

/// A growable byte buffer written through a raw pointer, for JSON that every change
/// passes through: the ledger's canonical bytes. A completion's entry is ~3.5 KB made of
/// about a hundred short strings; appended to an `[UInt8]`, each string, quote and
/// member name paid a uniqueness and capacity check (callgrind: ~80,000 instructions an
/// entry). Here a string reserves its worst case once and is copied in runs.
///
/// A class, made once per thread and reused from entry to entry (`removeAll()`): the
/// entry is hashed and compressed from the buffer without becoming an array. Not
/// shareable between threads.
final class JSONByteBuffer {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// Bytes written since the last `removeAll()`.
    private(set) var count = 0

    init(capacity: Int = 4096) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// Forgets what was written; the memory stays for the next entry.
    func removeAll() { count = 0 }

    /// The bytes written.
    var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// Reads the bytes written in place.
    func withBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        try body(UnsafeBufferPointer(start: base, count: count))
    }

    /// `true` when the bytes written are `other`'s.
    func hasBytes(_ other: [UInt8]) -> Bool {
        other.count == count && other.withUnsafeBufferPointer { count == 0 || memcmp(base, $0.baseAddress!, count) == 0 }
    }

    @inline(__always)
    private func reserve(_ extra: Int) {
        if count + extra > capacity { grow(to: count + extra) }
    }

    private func grow(to needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        grown.initialize(from: base, count: count)
        base.deallocate()
        base = grown
        capacity = newCapacity
    }

    /// Appends bytes as they are (a member name with its quotes and colon).
    @inline(__always)
    func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress else { return }
        reserve(bytes.count)
        (base + count).initialize(from: source, count: bytes.count)
        count += bytes.count
    }

    /// Appends JSON text written in the source (punctuation, member names).
    @inline(__always)
    func append(literal text: StaticString) {
        text.withUTF8Buffer { append($0) }
    }

    /// Appends `value` as a JSON string (the same bytes as `JSONValue.appendQuoted`), or `null`.
    func append(quoted value: String?) {
        guard var value else { return append(literal: "null") }
        value.withUTF8 { appendQuoted(utf8: $0) }
    }

    /// Appends UTF-8 bytes as a JSON string, or `null`.
    func append(quotedUTF8 bytes: UnsafeBufferPointer<UInt8>?) {
        if let bytes { appendQuoted(utf8: bytes) } else { append(literal: "null") }
    }

    /// Appends a member: its name and punctuation as written (`,"name":`), then `value`.
    @inline(__always)
    func append(member prefix: StaticString, _ value: String?) {
        append(literal: prefix)
        append(quoted: value)
    }

    /// Escapes only what JSON requires (`"`, `\` and control characters), like
    /// `JSONValue.appendQuoted`: runs without anything to escape are found eight bytes at a
    /// time and copied whole.
    func appendQuoted(utf8 bytes: UnsafeBufferPointer<UInt8>) {
        let n = bytes.count
        reserve(n * 6 + 2)  // every byte a `\u00XX`, at worst
        var target = base + count
        defer { count = target - base }
        target.pointee = 0x22
        target += 1
        guard let source = bytes.baseAddress else {
            target.pointee = 0x22
            target += 1
            return
        }
        var start = 0, i = 0
        while i < n {
            if i + 8 <= n, !JSONValue.mayNeedEscape(UnsafeRawPointer(source + i).loadUnaligned(as: UInt64.self)) {
                i += 8
                continue
            }
            let b = source[i]
            i += 1
            guard b < 0x20 || b == 0x22 || b == 0x5C else { continue }
            target.initialize(from: source + start, count: i - 1 - start)
            target += i - 1 - start
            start = i
            target[0] = 0x5C
            switch b {
            case 0x22, 0x5C: target[1] = b; target += 2
            case 0x0A: target[1] = 0x6E; target += 2
            case 0x0D: target[1] = 0x72; target += 2
            case 0x09: target[1] = 0x74; target += 2
            default:
                let hex: StaticString = "0123456789abcdef"
                let digits = hex.utf8Start
                target[1] = 0x75; target[2] = 0x30; target[3] = 0x30
                target[4] = digits[Int(b >> 4)]; target[5] = digits[Int(b & 0x0F)]
                target += 6
            }
        }
        target.initialize(from: source + start, count: n - start)
        target += n - start
        target.pointee = 0x22
        target += 1
    }
}
