/// Where components and parts are, as a pipelined `StateWriter` has applied it but not yet
/// written it: the columns a completion moves. Nothing looks an asset up by them, so their
/// writes wait and go in key order a run at a time (a shuffled night moves parts from
/// anywhere in a 270k-asset registry, and each move had dirtied a random page of the table);
/// whoever reads an asset row while its file is decided lays them over what the store returned.
///
/// Only rows that exist are moved (a completion moves the parts and the component it read),
/// so a read that finds no row has nothing to lay over.
public final class UnwrittenAssetColumns {
    /// The columns whose writes may wait (no index, lookup or crosswalk uses them), in table order.
    static let columns = StateSchema.asset.columns.filter { ["parent_dpp_id", "installed_on", "installed_at", "position", "status"].contains($0) }
    /// The columns of a partial asset image that sets some of `columns` (bit `i`: `columns[i]`),
    /// `dpp_id` first: one array shared by every image of that shape, for the moves a completion
    /// makes and the images written here. Grown column by column for each asset, the names and
    /// values had cost ~2,600 instructions a move in reallocations (callgrind).
    static let imageColumns: [[String]] = (0..<(1 << columns.count)).map { present in
        ["dpp_id"] + columns.indices.filter { present & (1 << $0) != 0 }.map { columns[$0] }
    }

    /// The partial image of `dppId`'s row that sets each of `columns` whose `value(slot)` is not
    /// `nil` (`.some(nil)`: to NULL), in table order; `nil` when it sets none. How a completion
    /// moves a part, and how the waiting moves are written.
    static func placeImage(of dppId: String, _ value: (Int) -> String??) -> RowImage? {
        var values: [String?] = []
        values.reserveCapacity(columns.count + 1)
        values.append(dppId)
        var present = 0
        for slot in columns.indices {
            if let set = value(slot) { values.append(set); present |= 1 << slot }
        }
        return present == 0 ? nil : RowImage(table: StateSchema.asset, carrying: RowValues(columns: imageColumns[present], values: values))
    }

    /// An asset's unwritten columns, the last value applied of each: slot `i` is `columns[i]`'s
    /// (`.some(nil)`: set to NULL; `nil`: not waiting). Fixed slots, changed in place: a row of
    /// names per asset, copied out and back for each move, had been 5 % of the deciding thread's
    /// samples. Held inline, side by side in `waiting`: an array of its own per asset had cost
    /// ~50 bytes more an asset, and the run of waiting moves is as long as memory allows.
    private struct Unwritten {
        private var slots: (String??, String??, String??, String??, String??) = (nil, nil, nil, nil, nil)

        subscript(slot: Int) -> String?? {
            get {
                switch slot {
                case 0: slots.0
                case 1: slots.1
                case 2: slots.2
                case 3: slots.3
                default: slots.4
                }
            }
            set {
                switch slot {
                case 0: slots.0 = newValue
                case 1: slots.1 = newValue
                case 2: slots.2 = newValue
                case 3: slots.3 = newValue
                default: slots.4 = newValue
                }
            }
        }
    }
    /// Where each waiting asset's columns are in `waiting`.
    private var byDppId: [String: Int32] = [:]
    private var waiting: [Unwritten] = []

    init() { assert(Self.columns.count == 5, "one slot of `Unwritten` per column that may wait") }

    public var isEmpty: Bool { byDppId.isEmpty }
    /// Assets with columns waiting.
    var count: Int { byDppId.count }

    /// `true` when `image` is a partial image of an asset that sets only columns that may wait.
    static func mayWait(_ image: RowImage) -> Bool {
        guard image.isOf(StateSchema.asset), !image.deleted, image.isPartial(in: StateSchema.asset) else { return false }
        return image.values.keys.allSatisfy { $0 == "dpp_id" || columns.contains($0) }
    }

    /// Every asset the file's writer moved or wrote, waiting or not (never forgotten within the
    /// file): a row read before the file began is still current unless its asset is here.
    private var changed = BloomFilter()
    /// The file wrote a whole asset, deleted one or changed its part or serial number: an asset
    /// may be new, gone or found by other numbers, so no lookup made before the file holds.
    public private(set) var reshaped = false

    /// `false` only when the file's writer has certainly not changed the asset `dppId`.
    func mayHaveChanged(_ dppId: String) -> Bool { reshaped || changed.mayContain(dppId) }

    /// Notes an asset image written now rather than waiting (a partial image changes a stored
    /// row: the reconciler makes them only of rows it read).
    func noteWritten(_ image: RowImage) {
        if let dppId = image.values["dpp_id"] ?? nil { changed.insert(dppId) }
        if image.deleted || !image.isPartial(in: StateSchema.asset) || image.values["part_number"] != nil || image.values["serial_number"] != nil {
            reshaped = true
        }
    }

    /// Notes the columns of an image that waits (`mayWait`).
    func record(_ image: RowImage, dppId: String) {
        changed.insert(dppId)
        let next = Int32(waiting.count)
        let index = Int(byDppId[dppId, default: next])  // one lookup
        if index == next {
            byDppId[dppId] = next
            waiting.append(Unwritten())
        }
        Self.set(image, in: &waiting[index])
    }

    private static func set(_ image: RowImage, in unwritten: inout Unwritten) {
        var slot = 0
        for (column, value) in image.values where column != "dpp_id" {
            // Columns come in table order, as the reconciler makes partial images: the next slot.
            while slot < columns.count, columns[slot] != column { slot += 1 }
            if slot == columns.count { slot = columns.firstIndex(of: column) ?? 0 }
            unwritten[slot] = .some(value)
        }
    }

    /// `row` with its asset's unwritten columns in place of the stored ones (of the columns it carries).
    public func overlay(_ row: RowValues?) -> RowValues? {
        guard !byDppId.isEmpty, var row, let dppId = row["dpp_id"] ?? nil, let index = byDppId[dppId] else { return row }
        let unwritten = waiting[Int(index)]
        for slot in Self.columns.indices {
            if let value = unwritten[slot], row[Self.columns[slot]] != nil { row[Self.columns[slot]] = .some(value) }
        }
        return row
    }

    /// Hands `write` one partial image per asset, in key order (its key and the last value
    /// applied of each column waiting, in table order), then forgets them all. Nothing reads the
    /// stored columns while they wait, so the moves an asset made in between need not be written:
    /// its row ends the same. The images are made one at a time: all of a run at once had cost
    /// ~300 bytes an asset on top of what waits.
    func writeAll(_ write: (RowImage) throws -> Void) rethrows {
        for (dppId, index) in byDppId.sorted(by: { $0.key < $1.key }) {
            let unwritten = waiting[Int(index)]
            // Every waiting asset has a column set (`record` sets at least one).
            if let image = Self.placeImage(of: dppId, { unwritten[$0] }) { try write(image) }
        }
        byDppId.removeAll(keepingCapacity: true)
        waiting.removeAll(keepingCapacity: true)
    }
}
