/// A set of strings in a fixed number of bits that answers "maybe" for some it does not
/// hold (and never "no" for one it holds): what a large file's writer has changed, kept in a
/// few MB where a set of 2.5 million ids (a 1M work-order file's parts) would take ~80 MB.
///
/// Blocked: a key's probes fall in one 64-bit word, so that a lookup or an insert touches one
/// cache line of the 4 MB, not three (each a likely cache miss, on the deciding thread for every
/// move and every part read ahead), for a few more false answers (1.2 % at 2.5 million keys in
/// 2^25 bits, against ~1 %).
struct BloomFilter {
    private var words: [UInt64]
    private let wordMask: UInt64

    /// - Parameter log2Bits: the filter holds `1 << log2Bits` bits (2^25: 4 MB).
    init(log2Bits: Int = 25) {
        precondition(log2Bits >= 6, "at least one 64-bit word")
        words = []
        wordMask = (1 << UInt64(log2Bits - 6)) - 1
    }

    /// The key's word and its three bits in it, from one 64-bit hash of its bytes (FNV-1a, then
    /// mixed): keys are the store's own DPP ids, and a poor spread costs only false answers.
    private func probe(_ key: String) -> (word: Int, bits: UInt64) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        hash ^= hash >> 33
        hash &*= 0xff51_afd7_ed55_8ccd
        hash ^= hash >> 33
        let bits: UInt64 = 1 << (hash & 63) | 1 << ((hash >> 6) & 63) | 1 << ((hash >> 12) & 63)
        return (Int((hash >> 18) & wordMask), bits)
    }

    mutating func insert(_ key: String) {
        // Allocated on first use: most files change no asset.
        if words.isEmpty { words = Array(repeating: 0, count: Int(wordMask) + 1) }
        let (word, bits) = probe(key)
        words[word] |= bits
    }

    func mayContain(_ key: String) -> Bool {
        guard !words.isEmpty else { return false }
        let (word, bits) = probe(key)
        return words[word] & bits == bits
    }
}
