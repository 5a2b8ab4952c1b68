import Crypto

/// A SHA-256 value (32 bytes).
public typealias Hash = [UInt8]

/// RFC 6962 / RFC 9162 Merkle tree hashing, proofs and proof verification.
///
/// Leaves are `SHA-256(0x00 ‖ entry)`, nodes `SHA-256(0x01 ‖ left ‖ right)`,
/// the empty tree's root is `SHA-256("")`, and a tree of `n` leaves splits at
/// the largest power of two smaller than `n`.
public enum MerkleTree {
    public static func leafHash(_ data: [UInt8]) -> Hash { LedgerEntry.leafHash(data) }

    public static func nodeHash(_ left: Hash, _ right: Hash) -> Hash {
        var hasher = SHA256()
        hasher.update(data: [0x01])
        hasher.update(data: left)
        hasher.update(data: right)
        return Array(hasher.finalize())
    }

    public static let emptyRoot: Hash = Array(SHA256.hash(data: [UInt8]()))

    /// The root of the tree over `leaves` (leaf hashes).
    public static func root(_ leaves: ArraySlice<Hash>) -> Hash {
        var frontier = Frontier()
        for leaf in leaves { frontier.append(leaf) }
        return frontier.root
    }

    public static func root(_ leaves: [Hash]) -> Hash { root(leaves[...]) }

    /// The largest power of two strictly smaller than `n` (n ≥ 2).
    static func split(_ n: Int) -> Int {
        var k = 1
        while k << 1 < n { k <<= 1 }
        return k
    }

    /// The audit path of leaf `index` in the tree over `leaves` (RFC 6962 §2.1.1).
    public static func inclusionProof(index: Int, leaves: ArraySlice<Hash>) -> [Hash] {
        precondition(index >= 0 && index < leaves.count)
        let start = leaves.startIndex
        return inclusionProof(index: index, size: leaves.count) { root(leaves[(start + $0.lowerBound)..<(start + $0.upperBound)]) }
    }

    /// The audit path of leaf `index` in a tree of `size` leaves, from `subtree`, which gives the hash
    /// of the leaves in a range (RFC 6962's MTH(D[a:b])): a store answers it from the perfect subtrees
    /// it keeps, so a proof reads O(log n) hashes, not the whole log.
    public static func inclusionProof(index: Int, size: Int, subtree: (Range<Int>) throws -> Hash) rethrows -> [Hash] {
        precondition(index >= 0 && index < size)
        func path(_ index: Int, _ range: Range<Int>) throws -> [Hash] {
            if range.count == 1 { return [] }
            let middle = range.lowerBound + split(range.count)
            if index < middle { return try path(index, range.lowerBound..<middle) + [subtree(middle..<range.upperBound)] }
            return try path(index, middle..<range.upperBound) + [subtree(range.lowerBound..<middle)]
        }
        return try path(index, 0..<size)
    }

    /// The consistency proof between the first `oldSize` leaves and all of `leaves` (RFC 6962 §2.1.2).
    public static func consistencyProof(oldSize: Int, leaves: ArraySlice<Hash>) -> [Hash] {
        precondition(oldSize >= 0 && oldSize <= leaves.count)
        let start = leaves.startIndex
        return consistencyProof(oldSize: oldSize, newSize: leaves.count) { root(leaves[(start + $0.lowerBound)..<(start + $0.upperBound)]) }
    }

    /// The consistency proof between the trees of `oldSize` and `newSize` leaves, from `subtree` (as
    /// `inclusionProof(index:size:subtree:)` takes it).
    public static func consistencyProof(oldSize: Int, newSize: Int, subtree: (Range<Int>) throws -> Hash) rethrows -> [Hash] {
        precondition(oldSize >= 0 && oldSize <= newSize)
        if oldSize == 0 || oldSize == newSize { return [] }
        func subproof(_ m: Int, _ range: Range<Int>, complete: Bool) throws -> [Hash] {
            if m == range.count { return complete ? [] : [try subtree(range)] }
            let k = split(range.count), middle = range.lowerBound + k
            if m <= k { return try subproof(m, range.lowerBound..<middle, complete: complete) + [subtree(middle..<range.upperBound)] }
            return try subproof(m - k, middle..<range.upperBound, complete: false) + [subtree(range.lowerBound..<middle)]
        }
        return try subproof(oldSize, 0..<newSize, complete: true)
    }

    /// MTH(D[range]) from `perfect`, which gives the hash of a perfect, aligned subtree (a power-of-two
    /// count of leaves starting at a multiple of it) or `nil` when it has none, and `leaves`, which
    /// gives the leaf hashes of a range. Every range a proof asks for is made of such subtrees.
    public static func subtreeHash(_ range: Range<Int>, perfect: (Range<Int>) throws -> Hash?,
                                   leaves: (Range<Int>) throws -> [Hash]) throws -> Hash {
        let count = range.count
        if count >= 1 << storedSubtreeHeight, count & (count - 1) == 0, let known = try perfect(range) { return known }
        if count <= 1 << storedSubtreeHeight { return root(try leaves(range)) }
        let middle = range.lowerBound + split(count)
        return nodeHash(try subtreeHash(range.lowerBound..<middle, perfect: perfect, leaves: leaves),
                        try subtreeHash(middle..<range.upperBound, perfect: perfect, leaves: leaves))
    }

    /// The height from which a store keeps its perfect subtrees' hashes (256 leaves and more): about one
    /// hash per 128 entries, and what a proof still hashes from leaves is at most 256 of them a level.
    public static let storedSubtreeHeight = 8

    /// Checks an audit path (RFC 9162 §2.1.3.2).
    public static func verifyInclusion(leafHash: Hash, index: Int, treeSize: Int, proof: [Hash], root: Hash) -> Bool {
        guard index >= 0, index < treeSize else { return false }
        var fn = index, sn = treeSize - 1
        var r = leafHash
        for p in proof {
            guard p.count == 32 else { return false }
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0, fn != 0 { fn >>= 1; sn >>= 1 }
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1; sn >>= 1
        }
        return sn == 0 && r == root
    }

    /// Checks a consistency proof (RFC 9162 §2.1.4.2).
    public static func verifyConsistency(oldSize: Int, newSize: Int, oldRoot: Hash, newRoot: Hash, proof: [Hash]) -> Bool {
        guard oldSize >= 0, oldSize <= newSize else { return false }
        if oldSize == newSize { return proof.isEmpty && oldRoot == newRoot }
        // The empty tree is consistent with every tree, but its root is SHA-256 of nothing.
        if oldSize == 0 { return proof.isEmpty && oldRoot == emptyRoot }
        guard !proof.isEmpty, proof.allSatisfy({ $0.count == 32 }) else { return false }
        var path = proof
        if oldSize & (oldSize - 1) == 0 { path.insert(oldRoot, at: 0) }
        var fn = oldSize - 1, sn = newSize - 1
        while fn & 1 == 1 { fn >>= 1; sn >>= 1 }
        var fr = path[0], sr = path[0]
        for c in path.dropFirst() {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0, fn != 0 { fn >>= 1; sn >>= 1 }
                }
            } else {
                sr = nodeHash(sr, c)
            }
            fn >>= 1; sn >>= 1
        }
        return sn == 0 && fr == oldRoot && sr == newRoot
    }

    /// The right edge of a growing tree: one perfect subtree hash per set bit of
    /// the size. Appending is amortised O(1); the root of every prefix size is
    /// available on the way, so verifying many checkpoints costs one pass.
    public struct Frontier: Sendable {
        private var subtrees: [(size: Int, hash: Hash)] = []
        public private(set) var size = 0

        public init() {}

        public mutating func append(_ leaf: Hash) {
            append(leaf) { _, _ in }
        }

        /// Appends `leaf` and tells `completed` of each perfect subtree of two leaves or more it completes,
        /// smallest first: its leaves' range and its hash.
        public mutating func append(_ leaf: Hash, completed: (Range<Int>, Hash) throws -> Void) rethrows {
            var node = (size: 1, hash: leaf)
            while let last = subtrees.last, last.size == node.size {
                subtrees.removeLast()
                node = (last.size * 2, nodeHash(last.hash, node.hash))
                try completed((size + 1 - node.size)..<(size + 1), node.hash)
            }
            subtrees.append(node)
            size += 1
        }

        /// Restores a frontier from its size and `hashes` (as `hashes` gave them): the
        /// subtrees' sizes are the powers of two that sum to `size`, largest first.
        public init?(size: Int, hashes: [UInt8]) {
            guard size >= 0 else { return nil }
            let sizes = (0..<Int.bitWidth - 1).reversed().map { 1 << $0 }.filter { size & $0 != 0 }
            guard hashes.count == sizes.count * 32 else { return nil }
            subtrees = sizes.enumerated().map { i, subtreeSize in (subtreeSize, Array(hashes[(i * 32)..<(i * 32 + 32)])) }
            self.size = size
        }

        /// The subtrees' hashes, largest first: with the size, all a later root needs.
        public var hashes: [UInt8] { subtrees.flatMap(\.hash) }

        public var root: Hash {
            guard var result = subtrees.last?.hash else { return emptyRoot }
            for subtree in subtrees.dropLast().reversed() { result = nodeHash(subtree.hash, result) }
            return result
        }
    }
}
