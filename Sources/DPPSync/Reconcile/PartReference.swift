import GRDB

/// How a completion's part line names the part it used: by its DPP id, or by part number
/// and serial number (the CMMS's own identification). Read in one place for the reconciler
/// and for the decoding thread that looks the parts up ahead of it (`PartPrefetcher`).
enum PartReference: Hashable, Sendable {
    case dppId(String)
    case number(String, serial: String)
    /// A part number without a serial number: an unserialised consumable, not tracked in the DPP.
    case unserialised(String)

    /// The reference a part line makes, or `nil` when it names neither a dppId nor a part number.
    init?(_ line: JSONValue) {
        if let partId = line.scalarText ?? line["dppId"]?.scalarText {
            self = .dppId(partId)
        } else if let partNumber = line["partNumber"]?.scalarText {
            self = line["serialNumber"]?.scalarText.map { .number(partNumber, serial: $0) } ?? .unserialised(partNumber)
        } else {
            return nil
        }
    }

    /// Key order of the lookups: by DPP id, then by part and serial number (each its own index).
    func precedes(_ other: PartReference) -> Bool {
        switch (self, other) {
        case (.dppId(let a), .dppId(let b)): return a < b
        case (.dppId, _): return true
        case (.number(let a, let serialA), .number(let b, let serialB)): return (a, serialA) < (b, serialB)
        case (.number, .dppId): return false
        case (.number, _): return true
        case (.unserialised(let a), .unserialised(let b)): return a < b
        case (.unserialised, _): return false
        }
    }

    /// The part as a message names it.
    var described: String {
        switch self {
        case .dppId(let id): return id
        case .number(let partNumber, let serial): return "\(partNumber) s/n \(serial)"
        case .unserialised(let partNumber): return partNumber
        }
    }
}

/// A part's `Reconciler.partColumns` as the store held them when the file's transaction began
/// (`nil`: no such part), read on the decoding thread while the records before it are decided.
struct PrefetchedPart: Sendable {
    var reference: PartReference
    var values: [String?]?
}

/// Looks up the parts a completion names, on the decoding thread and a reader connection of
/// its own: a night's work orders take their parts from anywhere in a registry larger than the
/// writer's cache, and each lookup had cost the deciding thread ~30,000 cycles of page reads
/// (the largest statement of a 100k work-order file). The reader sees the store as it was
/// before the file's transaction; the reconciler uses a row only while the file has not
/// written that asset (`UnwrittenAssetColumns.mayHaveChanged`), and reads it itself otherwise.
struct PartPrefetcher {
    private let statements: StatementCache

    init(db: Database) { statements = StatementCache(db) }

    /// Fills in the parts each completion of `records` names, as stored, looking each distinct
    /// part up once. First the DPP ids of the parts named by number, in (part, serial) order
    /// through that index alone (it holds the key); then the rows, in DPP id order: lookups of a
    /// batch that fall in one page of the table follow each other and read it once. Read in the
    /// index's order, each row had cost a page read of its own (a C test on the 100k store,
    /// 250,000 lookups in batches of 2,560: 4.4 → 3.9 µs a lookup). When a lookup fails no
    /// record gets any (the reconciler then reads them).
    func fill(_ records: inout [PreparedRecord]) {
        var wanted: [(reference: PartReference, record: Int)] = []
        for (index, record) in records.enumerated() {
            guard case .record(let mapped)? = record.result, mapped.kind == .workOrderCompletion else { continue }
            for line in mapped.list("partsUsed") {
                guard let reference = PartReference(line) else { continue }
                if case .unserialised = reference { continue }
                wanted.append((reference, index))
            }
        }
        var values = [[String?]?](repeating: nil, count: wanted.count)
        do {
            var located: [(id: String, position: Int)] = []
            for (position, id) in try dppIds(of: wanted.map(\.reference)).enumerated() {
                if let id { located.append((id, position)) }
            }
            located.sort { $0.id < $1.id }
            var previous: (id: String, position: Int)?
            for (id, position) in located {
                if let previous, previous.id == id {
                    values[position] = values[previous.position]
                } else {
                    values[position] = try row(id)
                }
                previous = (id, position)
            }
        } catch {
            return
        }
        for (position, (reference, record)) in wanted.enumerated() {
            records[record].parts.append(PrefetchedPart(reference: reference, values: values[position]))
        }
    }

    /// The DPP id each reference names (`nil`: no part has those numbers), those by number
    /// looked up in key order, each distinct one once.
    private func dppIds(of references: [PartReference]) throws -> [String?] {
        var ids = [String?](repeating: nil, count: references.count)
        var numbered: [Int] = []
        for (position, reference) in references.enumerated() {
            switch reference {
            case .dppId(let id): ids[position] = id
            case .number: numbered.append(position)
            case .unserialised: break
            }
        }
        numbered.sort { references[$0].precedes(references[$1]) }
        var previous: Int?
        for position in numbered {
            if let previous, references[previous] == references[position] {
                ids[position] = ids[previous]
            } else if case .number(let partNumber, let serial) = references[position] {
                ids[position] = try statements.statement(.init(kind: 2)) { Self.dppIdByNumberSQL }
                    .firstRow([partNumber, serial], columns: 1, in: statements.db)?[0] ?? nil
            }
            previous = position
        }
        return ids
    }

    /// The part's DPP id from the part and serial number index alone; the same row as
    /// `Reconciler.partByNumberSQL` finds (the first in that index).
    static let dppIdByNumberSQL = StateSchema.asset.selectSQL(["dpp_id"], where: "part_number = ? AND serial_number = ? LIMIT 1")

    private func row(_ dppId: String) throws -> [String?]? {
        try statements.statement(.init(kind: 1)) { Reconciler.partByIdSQL }
            .firstRow([dppId], columns: Reconciler.partColumns.count, in: statements.db)
    }
}
