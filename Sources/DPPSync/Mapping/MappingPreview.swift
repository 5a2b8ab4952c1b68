import GRDB

/// Decodes and maps one file without touching anything: what `mapping preview`
/// prints and what `mapping test` compares.
public struct MappingPreview {
    public let mapping: Mapping
    public let timeZone: OperatorTimeZone

    public init(mapping: Mapping, timeZone: OperatorTimeZone) { self.mapping = mapping; self.timeZone = timeZone }

    /// One record's result, in order.
    public enum Entry: Sendable {
        case record(MappedRecord, decision: Decision?)
        case skipped(index: Int, key: String?, reason: String)
        case invalid(index: Int, line: Int?, key: String?, message: String, failure: FieldFailure?)
    }

    /// Maps every record of `bytes`; with `store`, also decides each record
    /// against a read-only snapshot (nothing is written).
    public func run(bytes: [UInt8], fileName: String, configuration: Configuration, store: Store? = nil) throws -> (context: [String: JSONValue], entries: [Entry]) {
        let mapper = Mapper(mapping: mapping, timeZone: timeZone)
        var context: [String: JSONValue] = [:]
        var entries: [Entry] = []
        let source = try RecordDecoder.source(for: bytes, fileName: fileName, mapping: mapping)
        let reconciler = Reconciler(configuration: configuration)
        func body(_ db: Database?) throws {
            try source.forEach(context: { document in context = try mapper.context(from: document) }, record: { item in
                guard let accessor = item.accessor else {
                    entries.append(.invalid(index: item.position.index, line: item.position.line, key: nil, message: item.failure ?? "unreadable", failure: nil))
                    return
                }
                switch mapper.map(accessor, context: context, position: item.position) {
                case .record(let record):
                    let decision = try db.map { try reconciler.decide(record, provenance: Provenance(), source: mapping.source, in: $0) }
                    entries.append(.record(record, decision: decision))
                case .skipped(let key, let reason):
                    entries.append(.skipped(index: item.position.index, key: key, reason: reason))
                case .invalid(let key, let failure):
                    entries.append(.invalid(index: item.position.index, line: item.position.line, key: key, message: failure.description, failure: failure))
                }
            })
        }
        if let store { try store.read { db in try body(db) } } else { try body(nil) }
        return (context, entries)
    }

    public static func json(_ result: (context: [String: JSONValue], entries: [Entry])) -> JSONValue {
        .object([
            ("context", .object(result.context.sorted { $0.key < $1.key })),
            ("records", .array(result.entries.map { entry in
                switch entry {
                case .record(let record, let decision):
                    var value = record.jsonValue
                    if let decision, case .object(var members) = value {
                        members.append(("decision", .object([("outcome", .string(decision.outcome.rawValue)),
                                                             ("reason", decision.reason.map { .string($0.rawValue) } ?? .null),
                                                             ("message", .string(decision.message))])))
                        value = .object(members)
                    }
                    return value
                case .skipped(let index, let key, let reason):
                    return .object([("index", .number(String(index))), ("key", .text(key)), ("skipped", .string(reason))])
                case .invalid(let index, let line, let key, let message, _):
                    return .object([("index", .number(String(index))), ("line", line.map { .number(String($0)) } ?? .null),
                                    ("key", .text(key)), ("error", .string(message))])
                }
            })),
        ])
    }
}
