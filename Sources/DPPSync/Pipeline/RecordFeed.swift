import Foundation

/// A record decoded and mapped, ready to be decided: a plain value that no
/// longer points into the decoder (an XML node is freed once the reader moves on).
struct PreparedRecord: Sendable {
    var position: RecordPosition
    /// Why the record could not be decoded, or `nil`.
    var failure: String?
    /// The mapping's result; `nil` when the record could not be decoded.
    var result: MappingResult?
    /// The record's re-droppable quarantine extract, made while its node was alive,
    /// for a record that fails before reconciliation (it cannot be decoded or mapped).
    /// A mapped record is rarely rejected, and its extract (a copy of the record
    /// larger than the record itself) cost more than decoding it: the few the
    /// reconciler rejects get theirs in one later pass (`RejectedRecordWriter.finish`), and so
    /// does one larger than `largestHeldExtract`.
    var extract: String?
    /// The parts a completion names, looked up ahead of the reconciler (`PartPrefetcher`); empty
    /// when the feed has no store to read them from.
    var parts: [PrefetchedPart] = []
}

/// Decodes and maps one file on a thread of its own, handing prepared records to
/// the thread that decides and commits them through a bounded buffer: decode and
/// map run on one core while reconciliation and SQLite run on the other, and
/// memory stays bounded by the buffer, not the file.
final class RecordFeed: @unchecked Sendable {
    /// What the decoding thread did, once it has finished.
    struct Totals {
        var decodeSeconds = 0.0
        var mapSeconds = 0.0
        var prefetchSeconds = 0.0
    }

    private let condition = NSCondition()
    private var chunks: [[PreparedRecord]] = []
    /// Chunks the consumer is done with, freed by the decoding thread that made them (see `recycle`).
    private var spent: [[PreparedRecord]] = []
    private var finished = false
    private var failure: (any Error)?
    private var cancelled = false
    private var totals = Totals()
    /// Time the decoding thread waited for room in the buffer (not decoding).
    private var blockedSeconds = 0.0
    private let done = DispatchSemaphore(value: 0)
    /// Records per hand-over, and hand-overs buffered: the lock is taken once per chunk.
    private static let chunkSize = 64
    /// The feed holds up to ~6,000 records: an extract larger than this is made again after the file,
    /// one at a time (a 1 MB namespace URI or root attribute, copied into each of 300 rejected
    /// records' extracts, had held 340 MB here).
    static let largestHeldExtract = 8 << 10
    private static let capacity = 64
    /// Records whose parts are looked up together, in key order (`PartPrefetcher.fill`): 1,024
    /// completions took the look-ahead of a shuffled 100k file from 3.6 to 2.1 s, and with room
    /// for two such batches in the buffer (32 chunks, not 16) the deciding thread still seldom
    /// waits (4 alternating rounds: median wall 15.38 → 14.23 s, peak RSS +8 MB). Once the rows
    /// are read in DPP id order, a batch twice as large finds twice as many of them beside each
    /// other: 2,048 (and 64 chunks) took the page reads of a 100k XML file from 367,000 to
    /// 287,000 and the look-ahead from 1.47 to 1.27 s (6 rounds, medians; CPU 11.23 → 10.90 s,
    /// wall 6.81 → 6.70 s, peak RSS 148 → 159 MB).
    private static let lookAheadBatch = 2048

    /// Starts decoding `input` with `mapping`. File-level context failures and decode
    /// errors reach the consumer, in order, after the records before them.
    /// - Parameter partsFrom: the store whose parts a completion names are looked up on the
    ///   decoding thread, through a reader connection (as the store was before the file). Start
    ///   the feed inside the file's write transaction: the reader's snapshot then is the store as
    ///   that transaction found it, since no other writer commits until it has; the file's own
    ///   writes the reconciler checks against `UnwrittenAssetColumns.mayHaveChanged`.
    /// - Parameter whenDecoded: called on the decoding thread once every record is decoded and
    ///   handed over (not after a failure): the deciding thread still has the buffer's records to
    ///   decide, and the second core is free.
    init(input: RecordInput, fileName: String, mapping: Mapping, timeZone: OperatorTimeZone, partsFrom store: Store? = nil,
         whenDecoded: (@Sendable () -> Void)? = nil) {
        let thread = Thread { [self] in
            defer { done.signal() }
            let start = StageTimings.now()
            var mapSeconds = 0.0
            var prefetchSeconds = 0.0
            var pending: [PreparedRecord] = []  // records not handed over yet
            pending.reserveCapacity(Self.lookAheadBatch)
            func decode(_ prefetcher: PartPrefetcher?) throws {
                let mapper = Mapper(mapping: mapping, timeZone: timeZone)
                var context: [String: JSONValue] = [:]
                let source = try RecordDecoder.source(for: input, fileName: fileName, mapping: mapping)
                try source.forEach(context: { document in
                    do {
                        context = try mapper.context(from: document)
                    } catch {
                        throw FileProcessor.FileLevelFailure(reason: .invalidField, message: "file-level value: \(error)")
                    }
                }, record: { item in
                    var result: MappingResult?
                    if item.failure == nil, let accessor = item.accessor {
                        let mapStart = StageTimings.now()
                        result = mapper.map(accessor, context: context, position: item.position)
                        mapSeconds += StageTimings.now() - mapStart
                    }
                    let needsExtract: Bool
                    switch result {
                    case .record?, .skipped?: needsExtract = false
                    case .invalid?, nil: needsExtract = true
                    }
                    let extract = needsExtract ? item.extract() : nil
                    pending.append(PreparedRecord(position: item.position, failure: item.failure ?? (item.accessor == nil ? "the record cannot be read" : nil),
                                                  result: result, extract: extract.flatMap { $0.utf8.count <= Self.largestHeldExtract ? $0 : nil }))
                    if pending.count == (prefetcher == nil ? Self.chunkSize : Self.lookAheadBatch) {
                        guard hand(prefetcher) else { throw CancellationError() }
                    }
                })
            }
            /// Hands over the pending records, a chunk at a time, their parts looked up first.
            func hand(_ prefetcher: PartPrefetcher?) -> Bool {
                if let prefetcher {
                    let prefetchStart = StageTimings.now()
                    prefetcher.fill(&pending)
                    prefetchSeconds += StageTimings.now() - prefetchStart
                }
                defer { pending.removeAll(keepingCapacity: true) }
                var from = 0
                while from < pending.count {
                    let to = min(from + Self.chunkSize, pending.count)
                    guard put(Array(pending[from..<to])) else { return false }
                    from = to
                }
                return true
            }
            do {
                if let store, mapping.kind == .workOrderCompletion {
                    try store.read { db in
                        let prefetcher = PartPrefetcher(db: db)
                        try decode(prefetcher)
                        if !pending.isEmpty, !hand(prefetcher) { throw CancellationError() }
                    }
                } else {
                    try decode(nil)
                }
                if !pending.isEmpty, !hand(nil) { throw CancellationError() }
                finish(error: nil, totals: Totals(decodeSeconds: StageTimings.now() - start - mapSeconds - prefetchSeconds, mapSeconds: mapSeconds,
                                              prefetchSeconds: prefetchSeconds))
                whenDecoded?()
            } catch {
                if !pending.isEmpty, !(error is CancellationError) { _ = hand(nil) }
                finish(error: error, totals: Totals(decodeSeconds: StageTimings.now() - start - mapSeconds - prefetchSeconds, mapSeconds: mapSeconds,
                                              prefetchSeconds: prefetchSeconds))
            }
        }
        thread.name = "dppsync-decode"
        thread.start()
    }

    private func put(_ chunk: [PreparedRecord]) -> Bool {
        var spentHere: [[PreparedRecord]] = []
        // Released after the lock, on this thread.
        defer { spentHere.removeAll() }
        condition.lock()
        defer { condition.unlock() }
        swap(&spentHere, &spent)
        if chunks.count >= Self.capacity && !cancelled {
            let start = StageTimings.now()
            while chunks.count >= Self.capacity && !cancelled { condition.wait() }
            blockedSeconds += StageTimings.now() - start
        }
        if cancelled { return false }
        chunks.append(chunk)
        condition.broadcast()
        return true
    }

    private func finish(error: (any Error)?, totals: Totals) {
        condition.lock()
        finished = true
        failure = error is CancellationError ? nil : error
        self.totals = totals
        self.totals.decodeSeconds -= blockedSeconds
        condition.broadcast()
        condition.unlock()
    }

    /// The next records in file order, or `nil` at the end; rethrows what stopped the decoder.
    func next() throws -> [PreparedRecord]? {
        condition.lock()
        defer { condition.unlock() }
        while chunks.isEmpty && !finished { condition.wait() }
        if !chunks.isEmpty {
            let chunk = chunks.removeFirst()
            condition.broadcast()
            return chunk
        }
        if let failure { throw failure }
        return nil
    }

    /// Hands back a chunk `next()` returned once the consumer is done with it: the decoding
    /// thread frees its records (a mapped record is a tree of small allocations, and freeing
    /// them had been a tenth of the deciding thread's instructions, on the busier core).
    func recycle(_ chunk: consuming [PreparedRecord]) {
        condition.lock()
        defer { condition.unlock() }
        spent.append(chunk)
    }

    /// Stops the decoder (the consumer failed) and waits until its thread has let go of the file.
    func close() -> Totals {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
        done.wait()
        done.signal()
        condition.lock()
        defer { condition.unlock() }
        return totals
    }
}
