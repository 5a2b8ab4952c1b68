import CLibDeflate

/// How an entry's canonical bytes are kept in `ledger_entry.body`: a zlib stream (RFC 1950)
/// with their length in `body_size`, or as they are when compression does not make them
/// smaller, `body_size` is `NULL` (entries written before v7), or `length(body) = body_size`.
///
/// What is hashed, proved and exported is always the canonical bytes; this is only
/// how they are stored. A completion's entry is ~3.5 KB of JSON whose column names
/// repeat row after row: stored raw, the ledger was two thirds of what a large file
/// wrote to SQLite (and then to the WAL, and again at the checkpoint).
///
/// The convention is that of SQLite's `sqlar` archives, so the `sqlite3` shell reads
/// an entry with `SELECT CAST(sqlar_uncompress(body, body_size) AS TEXT) FROM ledger_entry`;
/// every `Store` connection registers the same function.
///
/// libdeflate writes and reads the streams: at its fastest level it compresses a completion's
/// entry in ~9 µs to 3.19× where zlib's fastest took ~24 µs for 3.04× (measured on 6,000
/// entries of the benchmark's store), and its streams are plain zlib streams, so stores
/// written by zlib read the same.
public enum StoredBody {
    /// The largest entry a stored size may claim: a size beyond it is a finding, not an allocation.
    public static let maximumSize = 64 << 20

    /// The bytes to store for `canonical`, compressed when that is smaller.
    public static func encode(_ canonical: [UInt8]) -> [UInt8] {
        guard let compressor = Compressor() else { return canonical }
        return compressor.encode(canonical)
    }

    /// libdeflate's compressor kept from one body to the next: making one allocates and
    /// sets up its match finder, which cost a fifth to a third as much again as compressing a
    /// completion's entry.
    /// Not shareable between threads; each thread that stores bodies makes its own.
    final class Compressor {
        private let handle: OpaquePointer

        /// `nil` only when memory runs out (bodies are then stored raw, which is valid).
        init?() {
            guard let handle = libdeflate_alloc_compressor(1) else { return nil }
            self.handle = handle
        }

        deinit { libdeflate_free_compressor(handle) }

        /// The bytes to store for `canonical`, compressed when that is smaller.
        func encode(_ canonical: [UInt8]) -> [UInt8] {
            canonical.withUnsafeBufferPointer(encode)
        }

        /// The same, for canonical bytes read in place.
        func encode(_ canonical: UnsafeBufferPointer<UInt8>) -> [UInt8] {
            // No room for a stream as long as the input: such a body is stored raw.
            let capacity = canonical.count - 1
            guard capacity > 0 else { return Array(canonical) }
            let compressed = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
                count = libdeflate_zlib_compress(handle, canonical.baseAddress, canonical.count, buffer.baseAddress, buffer.count)
            }
            return compressed.isEmpty ? Array(canonical) : compressed
        }
    }

    /// The canonical bytes of a stored body of `size` bytes (`nil`: stored raw).
    public static func decode(_ stored: [UInt8], size: Int?) throws(StoredBodyError) -> [UInt8] {
        guard let size, size != stored.count else { return stored }
        guard size > 0, size <= maximumSize else { throw StoredBodyError(message: "its stored size \(size) is not a possible entry size") }
        guard let decompressor = libdeflate_alloc_decompressor() else {
            throw StoredBodyError(message: "there is no memory to decompress it")
        }
        defer { libdeflate_free_decompressor(decompressor) }
        var out = [UInt8](repeating: 0, count: size)
        var produced = 0
        let status = out.withUnsafeMutableBytes { target in
            stored.withUnsafeBytes { source in
                libdeflate_zlib_decompress(decompressor, source.baseAddress, source.count, target.baseAddress, size, &produced)
            }
        }
        guard status == LIBDEFLATE_SUCCESS, produced == size else {
            throw StoredBodyError(message: "its stored bytes are not a zlib stream of \(size) bytes (libdeflate status \(status.rawValue))")
        }
        return out
    }
}

/// A stored ledger body that cannot be turned back into canonical bytes.
public struct StoredBodyError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
