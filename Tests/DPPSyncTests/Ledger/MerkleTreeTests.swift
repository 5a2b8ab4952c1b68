@testable import DPPSync
import Foundation
import Testing

@Suite("Merkle tree (RFC 6962)")
struct MerkleTreeTests {
    struct Vectors: Decodable {
        struct Inclusion: Decodable { var size: Int; var index: Int; var path: [String] }
        struct Consistency: Decodable { var old: Int; var new: Int; var proof: [String] }
        var leaves: [String]
        var roots: [String]
        var inclusion: [Inclusion]
        var consistency: [Consistency]
    }

    static let vectors: Vectors = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/merkle-vectors.json")
        // The fixture is part of the repository: a missing or broken one is a test failure, reported below.
        return (try? JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))) ?? Vectors(leaves: [], roots: [], inclusion: [], consistency: [])
    }()

    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            out.append(UInt8(hex[i..<j], radix: 16) ?? 0)
            i = j
        }
        return out
    }

    var leafHashes: [Hash] { Self.vectors.leaves.map { MerkleTree.leafHash(Self.bytes($0)) } }

    @Test("published RFC 6962 roots for the first 8 test leaves, and the empty tree")
    func publishedRoots() {
        let published = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ]
        #expect(Self.vectors.leaves.count == 64, "fixture merkle-vectors.json missing or unreadable")
        for (i, root) in published.enumerated() {
            #expect(Fingerprint.hex(MerkleTree.root(Array(leafHashes.prefix(i + 1)))) == root, "size \(i + 1)")
        }
        #expect(Fingerprint.hex(MerkleTree.root([Hash]())) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test("roots for sizes 0…64 match the independent Python computation")
    func roots() {
        for size in 0...64 {
            #expect(Fingerprint.hex(MerkleTree.root(Array(leafHashes.prefix(size)))) == Self.vectors.roots[size], "size \(size)")
        }
    }

    @Test("a frontier kept at any size and restored continues to the same roots; a wrong one is refused")
    func frontierRestore() throws {
        for kept in 0...40 {
            var original = MerkleTree.Frontier()
            for leaf in leafHashes.prefix(kept) { original.append(leaf) }
            var restored = try #require(MerkleTree.Frontier(size: kept, hashes: original.hashes), "size \(kept)")
            #expect(restored.root == original.root)
            for (i, leaf) in leafHashes.enumerated().dropFirst(kept) {
                restored.append(leaf)
                #expect(Fingerprint.hex(restored.root) == Self.vectors.roots[i + 1], "kept \(kept), size \(i + 1)")
            }
        }
        #expect(MerkleTree.Frontier(size: 5, hashes: [UInt8](repeating: 0, count: 32)) == nil, "5 = 4 + 1 needs two hashes")
    }

    @Test("inclusion proofs match and verify; corrupted ones are refused")
    func inclusion() {
        let hashes = leafHashes
        for vector in Self.vectors.inclusion {
            let leaves = hashes.prefix(vector.size)
            let proof = MerkleTree.inclusionProof(index: vector.index, leaves: leaves)
            #expect(proof.map(Fingerprint.hex) == vector.path, "size \(vector.size) index \(vector.index)")
            let root = MerkleTree.root(leaves)
            let leaf = hashes[vector.index]
            #expect(MerkleTree.verifyInclusion(leafHash: leaf, index: vector.index, treeSize: vector.size, proof: proof, root: root))
            // Index off by one, flipped bit, missing hash, extra hash, wrong root, wrong size.
            if vector.size > 1 {
                #expect(!MerkleTree.verifyInclusion(leafHash: leaf, index: (vector.index + 1) % vector.size, treeSize: vector.size, proof: proof, root: root))
                var flipped = proof
                flipped[0][0] ^= 0x01
                #expect(!MerkleTree.verifyInclusion(leafHash: leaf, index: vector.index, treeSize: vector.size, proof: flipped, root: root))
                #expect(!MerkleTree.verifyInclusion(leafHash: leaf, index: vector.index, treeSize: vector.size, proof: Array(proof.dropLast()), root: root))
                #expect(!MerkleTree.verifyInclusion(leafHash: leaf, index: vector.index, treeSize: vector.size, proof: proof + [root], root: root))
                #expect(!MerkleTree.verifyInclusion(leafHash: leaf, index: vector.index, treeSize: vector.size, proof: proof, root: MerkleTree.root(hashes.prefix(vector.size - 1))))
            }
        }
    }

    @Test("consistency proofs match and verify; corrupted ones are refused")
    func consistency() {
        let hashes = leafHashes
        for vector in Self.vectors.consistency {
            let leaves = hashes.prefix(vector.new)
            let proof = MerkleTree.consistencyProof(oldSize: vector.old, leaves: leaves)
            #expect(proof.map(Fingerprint.hex) == vector.proof, "old \(vector.old) new \(vector.new)")
            let oldRoot = MerkleTree.root(hashes.prefix(vector.old)), newRoot = MerkleTree.root(leaves)
            #expect(MerkleTree.verifyConsistency(oldSize: vector.old, newSize: vector.new, oldRoot: oldRoot, newRoot: newRoot, proof: proof))
            guard vector.old > 0, vector.old < vector.new else { continue }
            var flipped = proof
            flipped[flipped.count - 1][31] ^= 0x80
            #expect(!MerkleTree.verifyConsistency(oldSize: vector.old, newSize: vector.new, oldRoot: oldRoot, newRoot: newRoot, proof: flipped))
            #expect(!MerkleTree.verifyConsistency(oldSize: vector.old, newSize: vector.new, oldRoot: newRoot, newRoot: oldRoot, proof: proof), "swapped roots")
            #expect(!MerkleTree.verifyConsistency(oldSize: vector.old, newSize: vector.new, oldRoot: oldRoot, newRoot: newRoot, proof: Array(proof.dropLast())))
            #expect(!MerkleTree.verifyConsistency(oldSize: vector.old, newSize: vector.new, oldRoot: oldRoot, newRoot: newRoot, proof: proof + [oldRoot]))
        }
    }

    @Test("proofs from kept perfect subtrees (256 leaves and up) and a few leaves are the proofs from every leaf")
    func proofsFromKeptSubtrees() throws {
        let leaves = (0..<1_300).map { MerkleTree.leafHash(Array("entry \($0)".utf8)) }
        var kept: [Range<Int>: Hash] = [:]
        var frontier = MerkleTree.Frontier()
        for leaf in leaves { frontier.append(leaf) { range, hash in if range.count >= 256 { kept[range] = hash } } }
        #expect(kept.count == 5 + 2 + 1, "1,300 leaves: five subtrees of 256, two of 512, one of 1,024")
        var leavesRead = 0
        func subtree(_ range: Range<Int>) throws -> Hash {
            try MerkleTree.subtreeHash(range, perfect: { kept[$0] }, leaves: { leavesRead += $0.count; return Array(leaves[$0]) })
        }
        for size in [1, 2, 255, 256, 257, 300, 511, 512, 513, 1_024, 1_025, 1_300] {
            for index in Set([0, 1, size / 3, size / 2, size - 2, size - 1].filter { $0 >= 0 && $0 < size }) {
                leavesRead = 0
                #expect(try MerkleTree.inclusionProof(index: index, size: size, subtree: subtree)
                        == MerkleTree.inclusionProof(index: index, leaves: leaves.prefix(size)), "size \(size) index \(index)")
                #expect(leavesRead <= 2 * 256 + 8, "size \(size) index \(index): \(leavesRead) leaves read")
            }
            for old in Set([0, 1, 256, size / 2, size - 1, size].filter { $0 >= 0 && $0 <= size }) {
                #expect(try MerkleTree.consistencyProof(oldSize: old, newSize: size, subtree: subtree)
                        == MerkleTree.consistencyProof(oldSize: old, leaves: leaves.prefix(size)), "old \(old) new \(size)")
            }
            #expect(try subtree(0..<size) == MerkleTree.root(leaves.prefix(size)))
        }
    }

    @Test("signed notes: key id and verifier key per C2SP; a signature by another key or over another body fails")
    func signedNotes() throws {
        let signer = LedgerSigner(name: "example.org/log")
        let vkey = signer.verifier
        #expect(LedgerVerifierKey(vkey.description) == vkey)
        #expect(LedgerSigner(encoded: signer.encoded)?.verifier == vkey)
        let checkpoint = Checkpoint(origin: "example.org/log", treeSize: 3, rootHash: MerkleTree.emptyRoot)
        let note = try signer.sign(body: checkpoint.body)
        #expect(note.hasPrefix("example.org/log\n3\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n— example.org/log "))
        let parsed = try #require(SignedNote(note))
        #expect(vkey.verifies(note: parsed))
        #expect(!LedgerSigner(name: "example.org/log").verifier.verifies(note: parsed), "another key of the same name")
        var forged = parsed
        forged.body = forged.body.replacingOccurrences(of: "\n3\n", with: "\n4\n")
        #expect(!vkey.verifies(note: forged))
        #expect(Checkpoint(body: parsed.body) == checkpoint)
    }
}
