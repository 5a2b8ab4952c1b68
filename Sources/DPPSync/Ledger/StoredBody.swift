import CZlib

/// How an entry's canonical bytes are kept in `ledger_entry.body`: zlib-compressed
/// (RFC 1950, fastest level, 4 KB window) with their length in `body_size`, or as they are when
/// compression does not make them smaller, `body_size` is `NULL` (entries written
/// before v7), or `length(body) = body_size`.
///
/// What is hashed, proved and exported is always the canonical bytes; this is only
/// how they are stored. A completion's entry is ~3.5 KB of JSON whose column names
/// repeat row after row: stored raw, the ledger was two thirds of what a large file
/// wrote to SQLite (and then to the WAL, and again at the checkpoint).
///
/// The convention is that of SQLite's `sqlar` archives, so the `sqlite3` shell reads
/// an entry with `SELECT CAST(sqlar_uncompress(body, body_size) AS TEXT) FROM ledger_entry`;
/// every `Store` connection registers the same function.
public enum StoredBody {
    /// The largest entry a stored size may claim: a size beyond it is a finding, not an allocation.
    public static let maximumSize = 64 << 20

    /// The bytes to store for `canonical`, compressed when that is smaller.
    ///
    /// Entries are a few KB: a 4 KB window and a small hash table compress them as well
    /// as zlib's defaults do, while `compress2`'s 256 KB of state per call (64 KB of it
    /// cleared every time) cost more than the compression itself.
    public static func encode(_ canonical: [UInt8]) -> [UInt8] {
        guard !canonical.isEmpty else { return canonical }
        var stream = z_stream()
        guard deflateInit2_(&stream, Z_BEST_SPEED, Z_DEFLATED, 12, 5, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            return canonical
        }
        defer { deflateEnd(&stream) }
        let capacity = Int(deflateBound(&stream, uLong(canonical.count)))
        var out = [UInt8](repeating: 0, count: capacity)
        let (status, written) = out.withUnsafeMutableBufferPointer { target in
            canonical.withUnsafeBufferPointer { source in
                stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
                stream.avail_in = uInt(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = uInt(target.count)
                return (deflate(&stream, Z_FINISH), target.count - Int(stream.avail_out))
            }
        }
        guard status == Z_STREAM_END, written < canonical.count else { return canonical }
        out.removeSubrange(written...)
        return out
    }

    /// The canonical bytes of a stored body of `size` bytes (`nil`: stored raw).
    public static func decode(_ stored: [UInt8], size: Int?) throws(StoredBodyError) -> [UInt8] {
        guard let size, size != stored.count else { return stored }
        guard size > 0, size <= maximumSize else { throw StoredBodyError(message: "its stored size \(size) is not a possible entry size") }
        var length = uLong(size)
        var out = [UInt8](repeating: 0, count: size)
        let status = out.withUnsafeMutableBufferPointer { target in
            stored.withUnsafeBufferPointer { source in
                uncompress(target.baseAddress, &length, source.baseAddress, uLong(source.count))
            }
        }
        guard status == Z_OK, Int(length) == size else {
            throw StoredBodyError(message: "its stored bytes are not a zlib stream of \(size) bytes (zlib status \(status))")
        }
        return out
    }
}

/// A stored ledger body that cannot be turned back into canonical bytes.
public struct StoredBodyError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
