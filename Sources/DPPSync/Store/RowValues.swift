/// A row's values by column name, as text (`nil` is SQL NULL): what a lookup reads and
/// what a row image carries.
///
/// It behaves like `[String: String?]` (subscript by name, where assigning `nil` removes
/// the column; equality and hashing ignore order), but keeps its columns in an array: a
/// row has a dozen columns at most, so a linear scan of short names beats hashing them,
/// and a row in its table's column order shares the table's column array and is read by
/// position. Dictionaries were 12 % of a large file's instructions on the deciding thread
/// (callgrind), most of it hashing column names.
public struct RowValues: Sendable, Hashable, ExpressibleByDictionaryLiteral, Sequence {
    /// Column names, in the order given (a table's column order when made from one).
    public private(set) var keys: [String]
    private var texts: [String?]

    public init() { keys = []; texts = [] }

    /// A row with `values[i]` in `columns[i]`.
    public init(columns: [String], values: [String?]) {
        precondition(columns.count == values.count, "one value per column")
        keys = columns; texts = values
    }

    /// The columns of a dictionary (in no particular order).
    public init(_ values: [String: String?]) {
        keys = Array(values.keys); texts = keys.map { values[$0] ?? nil }
    }

    /// A literal names each column once (as a dictionary literal must).
    public init(dictionaryLiteral elements: (String, String?)...) {
        keys = elements.map(\.0); texts = elements.map(\.1)
        assert(Set(keys).count == keys.count, "a column named twice")
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    /// The column's value: `nil` when the row does not carry the column, `.some(nil)` for NULL.
    public subscript(column: String) -> String?? {
        get { keys.firstIndex(of: column).map { texts[$0] } }
        set {
            if let index = keys.firstIndex(of: column) {
                if let newValue { texts[index] = newValue } else { keys.remove(at: index); texts.remove(at: index) }
            } else if let newValue {
                keys.append(column); texts.append(newValue)
            }
        }
    }

    /// The value of `column`, which is expected at `position` (its index in the table's
    /// column order): one comparison when it is there, a scan otherwise.
    func value(of column: String, expectedAt position: Int) -> String?? {
        if position < keys.count, keys[position] == column { return texts[position] }
        return self[column]
    }

    /// Calls `body` with the UTF-8 bytes of the value at `position` (`nil` for NULL), read in
    /// place: the ledger's writer reads every value of every image by its position, with no
    /// optional of an optional made and no name compared.
    func withUTF8<Result>(at position: Int, _ body: (UnsafeBufferPointer<UInt8>?) -> Result) -> Result {
        texts.withUnsafeBufferPointer { texts in
            // Read in place through the element's address: a value taken out of the array (or its
            // `utf8` view) is a copy, retained and released for every value the ledger writes.
            guard let element = texts.baseAddress.map({ $0 + position }), element.pointee != nil else { return body(nil) }
            return element.pointee.unsafelyUnwrapped.withCString { start in
                start.withMemoryRebound(to: UInt8.self, capacity: 1) { bytes in
                    body(UnsafeBufferPointer(start: bytes, count: element.pointee.unsafelyUnwrapped.utf8.count))
                }
            }
        }
    }

    public struct Iterator: IteratorProtocol {
        fileprivate let row: RowValues
        fileprivate var index = 0

        public mutating func next() -> (key: String, value: String?)? {
            guard index < row.keys.count else { return nil }
            defer { index += 1 }
            return (row.keys[index], row.texts[index])
        }
    }

    public func makeIterator() -> Iterator { Iterator(row: self) }

    /// Equal when both carry the same columns with the same values, in whatever order.
    public static func == (lhs: RowValues, rhs: RowValues) -> Bool {
        guard lhs.count == rhs.count else { return false }
        if lhs.keys == rhs.keys { return lhs.texts == rhs.texts }
        return zip(lhs.keys, lhs.texts).allSatisfy { column, value in rhs[column] == .some(value) }
    }

    /// Independent of the columns' order, like `==`.
    public func hash(into hasher: inout Hasher) {
        var combined = 0
        for (column, value) in zip(keys, texts) {
            var one = Hasher()
            one.combine(column)
            one.combine(value)
            combined &+= one.finalize()
        }
        hasher.combine(count)
        hasher.combine(combined)
    }
}
