/// A set of strings in a fixed number of bits that answers "maybe" for some it does not
/// hold (and never "no" for one it holds): what a large file's writer has changed, kept in a
/// few MB where a set of 2.5 million ids (a 1M work-order file's parts) would take ~80 MB.
struct BloomFilter {
    private var words: [UInt64]
    private let mask: UInt64
    private let bitCount: Int

    /// - Parameter log2Bits: the filter holds `1 << log2Bits` bits; with 3 probes per key and
    ///   2^25 bits (4 MB), 2.5 million keys give ~1 % false answers, 250,000 give ~0.001 %.
    init(log2Bits: Int = 25) {
        words = []
        mask = (1 << UInt64(log2Bits)) - 1
        bitCount = 1 << log2Bits
    }

    private static let probes: UInt64 = 3

    /// Three bit positions from one hash (double hashing: h1 + i·h2).
    private func positions(_ key: String) -> (UInt64, UInt64) {
        var hasher = Hasher()
        hasher.combine(key)
        let hash = UInt64(bitPattern: Int64(hasher.finalize()))
        return (hash, (hash >> 32 | hash << 32) | 1)
    }

    mutating func insert(_ key: String) {
        // Allocated on first use: most files change no asset.
        if words.isEmpty { words = Array(repeating: 0, count: bitCount / 64) }
        let (first, step) = positions(key)
        for probe in 0..<Self.probes {
            let bit = (first &+ probe &* step) & mask
            words[Int(bit >> 6)] |= 1 << (bit & 63)
        }
    }

    func mayContain(_ key: String) -> Bool {
        guard !words.isEmpty else { return false }
        let (first, step) = positions(key)
        for probe in 0..<Self.probes {
            let bit = (first &+ probe &* step) & mask
            if words[Int(bit >> 6)] & (1 << (bit & 63)) == 0 { return false }
        }
        return true
    }
}
