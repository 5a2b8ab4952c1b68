@testable import DPPSync
import Foundation
import Testing

@Suite("what a pass has finished with")
struct FinalizerTests {
    @Test("entries are finished with once a plan began after them and a checkpoint covers them, not on a signature alone")
    func finishedNeedsThePlanAndTheSignature() throws {
        let layout = RootLayout(root: TemporaryFiles.path("dppsync-finalizer-"))
        _ = try RootInitializer(layout: layout).run()
        let store = try Store(path: layout.storeFile)
        let ledger = Ledger(store: store, layout: layout, origin: "test")
        func register(_ id: String) throws {
            let change = StateChange(kind: "asset.registered", subject: id, rows: [
                RowImage(table: StateSchema.asset, values: ["dpp_id": id, "status": "IN_SERVICE"]),
            ], provenance: Provenance(fileFingerprint: "ab", fileName: "f.json", recordIndex: 0, mappingName: "m", mappingHash: "cd"))
            try store.write { db in
                var writer = try StateWriter(db: db, batchId: nil, clock: { Timestamp(millisecondsSinceEpoch: 0) })
                _ = try writer.apply(change)
            }
        }
        try register("DPP-1")
        try register("DPP-2")
        #expect(try Finalizer.finished(through: 2, in: ledger) == nil, "neither planned nor signed")

        // A pass that planned before the entries and signed after them (a watcher beside `review resolve`).
        try store.write { db in try db.execute(sql: "INSERT INTO outbox_plan (id, planned_through) VALUES (1, 0)") }
        #expect(try ledger.checkpoint()?.checkpoint.treeSize == 2)
        #expect(try Finalizer.finished(through: 2, in: ledger) == nil, "signed, but planned before them")

        let finalizer = Finalizer(store: store, layout: layout, configuration: Configuration())
        try finalizer.run(batchId: nil, asOf: CivilDate(iso: "2026-01-10")!)
        let finished = try #require(try Finalizer.finished(through: 2, in: ledger))
        #expect(finished.checkpoint.treeSize >= 2)
        #expect(try Finalizer.plannedThrough(in: store) == 2)

        try register("DPP-3")
        #expect(try Finalizer.finished(through: 3, in: ledger) == nil, "a later entry: neither planned nor signed yet")
        #expect(try Finalizer.finished(through: 2, in: ledger) != nil, "the earlier ones stay finished with")
    }
}
