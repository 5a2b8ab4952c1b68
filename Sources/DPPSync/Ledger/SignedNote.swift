import Crypto
import Foundation

/// The ledger's signing key and its C2SP signed-note names.
///
/// Key id: the first 4 bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key);
/// verifier key: `<name>+<hex key id>+<base64(0x01 ‖ public key)>`; the secret
/// is stored as `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 ‖ seed)>`.
public struct LedgerSigner: Sendable {
    public let name: String
    /// The Ed25519 seed (kept as bytes: swift-crypto's key types are not `Sendable`).
    private let seed: [UInt8]

    public init(name: String, privateKey: Curve25519.Signing.PrivateKey = .init()) {
        self.name = name; self.seed = [UInt8](privateKey.rawRepresentation)
    }

    var privateKey: Curve25519.Signing.PrivateKey {
        // The seed came from a valid key, so this cannot fail.
        try! Curve25519.Signing.PrivateKey(rawRepresentation: seed)
    }

    public var verifier: LedgerVerifierKey {
        LedgerVerifierKey(name: name, publicKey: privateKey.publicKey)
    }

    /// The secret key file's text.
    public var encoded: String {
        "PRIVATE+KEY+\(name)+\(verifier.keyIdHex)+" + Data([0x01] + privateKey.rawRepresentation).base64EncodedString()
    }

    public init?(encoded text: String) {
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "+", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "PRIVATE", parts[1] == "KEY",
              let raw = Data(base64Encoded: String(parts[4])), raw.first == 0x01,
              let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw.dropFirst())
        else { return nil }
        self.init(name: String(parts[2]), privateKey: key)
        guard verifier.keyIdHex == parts[3] else { return nil }
    }

    /// Signs a note body (which must end in a newline) and returns the whole note.
    public func sign(body: String) throws -> String {
        let signature = try privateKey.signature(for: Data(body.utf8))
        return body + "\n— \(name) " + Data(verifier.keyId + [UInt8](signature)).base64EncodedString() + "\n"
    }
}

/// A verifier key in the signed-note format, as pinned in `dppsync.yaml`.
public struct LedgerVerifierKey: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    /// The raw Ed25519 public key.
    public let publicKeyBytes: [UInt8]

    public init(name: String, publicKey: Curve25519.Signing.PublicKey) {
        self.name = name; self.publicKeyBytes = [UInt8](publicKey.rawRepresentation)
    }

    var publicKey: Curve25519.Signing.PublicKey? { try? Curve25519.Signing.PublicKey(rawRepresentation: publicKeyBytes) }

    public init?(_ text: String) {
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let raw = Data(base64Encoded: String(parts[2])), raw.first == 0x01,
              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw.dropFirst())
        else { return nil }
        self.init(name: String(parts[0]), publicKey: key)
        guard keyIdHex == parts[1] else { return nil }
    }

    public var keyId: [UInt8] {
        Array(SHA256.hash(data: Array(name.utf8) + [0x0A, 0x01] + publicKeyBytes).prefix(4))
    }

    public var keyIdHex: String { Fingerprint.hex(keyId) }

    public var description: String {
        "\(name)+\(keyIdHex)+" + Data([0x01] + publicKeyBytes).base64EncodedString()
    }

    /// `true` when `note` carries a valid signature by this key over its body.
    public func verifies(note: SignedNote) -> Bool {
        note.signatures.contains { signature in
            signature.name == name && signature.keyId == keyId
                && publicKey?.isValidSignature(signature.signature, for: Data(note.body.utf8)) == true
        }
    }
}

/// A parsed signed note: body text and signature lines.
public struct SignedNote: Sendable, Hashable {
    public struct Signature: Sendable, Hashable {
        public var name: String
        public var keyId: [UInt8]
        public var signature: Data
    }

    /// The signed text, ending in a newline.
    public var body: String
    public var signatures: [Signature]

    public init?(_ text: String) {
        guard let range = text.range(of: "\n\n", options: .backwards) else { return nil }
        body = String(text[..<range.lowerBound]) + "\n"
        signatures = []
        for line in text[range.upperBound...].split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 3, fields[0] == "—", let blob = Data(base64Encoded: String(fields[2])), blob.count > 4 else { return nil }
            signatures.append(Signature(name: String(fields[1]), keyId: Array(blob.prefix(4)), signature: blob.dropFirst(4)))
        }
        guard !signatures.isEmpty else { return nil }
    }
}

/// A C2SP `tlog-checkpoint`: origin, tree size, root.
public struct Checkpoint: Sendable, Hashable {
    public var origin: String
    public var treeSize: Int
    public var rootHash: Hash

    public init(origin: String, treeSize: Int, rootHash: Hash) {
        self.origin = origin; self.treeSize = treeSize; self.rootHash = rootHash
    }

    public var body: String {
        "\(origin)\n\(treeSize)\n\(Data(rootHash).base64EncodedString())\n"
    }

    /// Parses a checkpoint body (the note's signed text).
    public init?(body: String) {
        let lines = body.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 4, let size = Int(lines[1]), size >= 0,
              let root = Data(base64Encoded: String(lines[2])), root.count == 32 else { return nil }
        self.init(origin: String(lines[0]), treeSize: size, rootHash: [UInt8](root))
    }
}
