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

/// What a part line's reference finds in the registry.
enum PartMatch {
    case found(RowValues)
    case absent
    /// Several assets carry the part and serial number (a serial registered again): every one, for
    /// the reconciler to choose among (`choose(among:preferring:)`).
    case several([RowValues])

    init(candidates: [RowValues]) {
        switch candidates.count {
        case 0: self = .absent
        case 1: self = .found(candidates[0])
        default: self = .several(candidates)
        }
    }

    /// The part among several that the first of `preferences` met by exactly one of them picks, else the only
    /// one not scrapped (a serial registered again after its part was scrapped); `nil` when none stands out.
    /// Taking the first of the index, the lower DPP id, had moved and certified whichever part that was.
    static func choose(among candidates: [RowValues], preferring preferences: [(RowValues) -> Bool]) -> RowValues? {
        for rule in preferences + [{ ($0["status"] ?? nil) != "SCRAPPED" }] {
            let met = candidates.filter(rule)
            if met.count == 1 { return met[0] }
        }
        return nil
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
    /// part up once; a part and serial number that several assets carry is left to the reconciler,
    /// which chooses among them (`PartMatch`). First the DPP ids of the parts named by number, in (part, serial) order
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
        var shared = Set<Int>()
        do {
            var located: [(id: String, position: Int)] = []
            for (position, id) in try dppIds(of: wanted.map(\.reference)).enumerated() {
                switch id {
                case .one(let id): located.append((id, position))
                case .several: shared.insert(position)
                case .none: break
                }
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
        for (position, (reference, record)) in wanted.enumerated() where !shared.contains(position) {
            records[record].parts.append(PrefetchedPart(reference: reference, values: values[position]))
        }
    }

    /// The DPP ids a reference names: none, one, or several (a part and serial number on more than one asset).
    private enum Located {
        case none, one(String), several
    }

    /// The DPP id each reference names, those by number looked up in key order, each distinct one once.
    private func dppIds(of references: [PartReference]) throws -> [Located] {
        var ids = [Located](repeating: .none, count: references.count)
        var numbered: [Int] = []
        for (position, reference) in references.enumerated() {
            switch reference {
            case .dppId(let id): ids[position] = .one(id)
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
                var found: [String] = []
                try statements.statement(.init(kind: 2)) { Self.dppIdByNumberSQL }
                    .forEachRow([partNumber, serial], columns: 1, in: statements.db) { if let id = $0[0] { found.append(id) } }
                ids[position] = found.count > 1 ? .several : found.first.map { .one($0) } ?? .none
            }
            previous = position
        }
        return ids
    }

    /// The part's DPP id from the part and serial number index alone, and whether a second asset
    /// carries the same numbers (`Reconciler.partsByNumberSQL` reads them all).
    static let dppIdByNumberSQL = StateSchema.asset.selectSQL(["dpp_id"], where: "part_number = ? AND serial_number = ? LIMIT 2")

    private func row(_ dppId: String) throws -> [String?]? {
        try statements.statement(.init(kind: 1)) { Reconciler.partByIdSQL }
            .firstRow([dppId], columns: Reconciler.partColumns.count, in: statements.db)
    }
}
