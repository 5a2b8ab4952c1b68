import Crypto

/// SHA-256 helpers: file fingerprints and content hashes are lower-case hex.
public enum Fingerprint {
    public static func sha256Hex<D: DataProtocol>(_ data: D) -> String {
        hex(SHA256.hash(data: data))
    }

    public static func sha256Hex(_ text: String) -> String {
        sha256Hex(Array(text.utf8))
    }

    /// SHA-256 of a file's bytes, read in 1 MiB chunks (flat memory), and its size.
    public static func sha256Hex(file path: String) throws(FileSystemError) -> (String, Int64) {
        guard let stream = InputStream(fileAtPath: path) else { throw FileSystemError(operation: "read", path: path, reason: "cannot open") }
        stream.open()
        defer { stream.close() }
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var size: Int64 = 0
        while true {
            let n = stream.read(&buffer, maxLength: buffer.count)
            if n < 0 { throw FileSystemError(operation: "read", path: path, reason: stream.streamError.map { "\($0)" } ?? "read error") }
            if n == 0 { break }
            hasher.update(data: buffer[0..<n])
            size += Int64(n)
        }
        return (hex(hasher.finalize()), size)
    }

    static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        let digits: StaticString = "0123456789abcdef"
        let bytes = Array(bytes)
        return digits.withUTF8Buffer { digits in
            String(unsafeUninitializedCapacity: bytes.count * 2) { out in
                for (i, b) in bytes.enumerated() {
                    out[2 * i] = digits[Int(b >> 4)]
                    out[2 * i + 1] = digits[Int(b & 0x0F)]
                }
                return bytes.count * 2
            }
        }
    }
}

import Foundation
