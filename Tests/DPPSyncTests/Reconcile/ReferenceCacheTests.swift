@testable import DPPSync
import Foundation
import GRDB
import Testing

@Suite("reference cache")
struct ReferenceCacheTests {
    /// A store with `count` components numbered CMMS-0000…, one serialised part without a
    /// number, and CMMS-0007 given to a second component as well.
    func fleet(_ count: Int) throws -> Store {
        let store = try Store(path: TemporaryFiles.path("dppsync-references-", ".sqlite"))
        try store.write { db in
            var writer = try StateWriter(db: db, batchId: 1)
            var rows = (0..<count).map { n in
                RowImage(table: StateSchema.asset, values: ["dpp_id": "DPP-\(1000 + n)", "cmms_asset_num": "CMMS-\(String(n).leftPadded(to: 4))", "status": "IN_SERVICE"])
            }
            rows.append(RowImage(table: StateSchema.asset, values: ["dpp_id": "DPP-0999", "cmms_asset_num": "CMMS-0007"]))
            rows.append(RowImage(table: StateSchema.asset, values: ["dpp_id": "DPP-PART-1", "serial_number": "S1"]))
            try writer.apply(StateChange(kind: "asset.registered", subject: "DPP-1000", rows: rows, provenance: Provenance()))
        }
        return store
    }

    @Test("past a few hundred numbers the crosswalk is read at once, with the answers one lookup at a time gives")
    func crosswalkLoadedAtOnce() throws {
        let count = Reconciler.ReferenceCache.crosswalkLoadAfter + 40
        let store = try fleet(count)
        try store.write { db in
            let single = Reconciler.ReferenceCache()
            #expect(try single.component(cmmsNumber: "CMMS-0007", in: db)?["dpp_id"] == .some("DPP-0999"), "one lookup: the first component of a shared number")
            #expect(!single.crosswalkLoaded)

            let cache = Reconciler.ReferenceCache()
            for n in (0..<count).reversed() {
                let number = "CMMS-" + String(n).leftPadded(to: 4)
                let expected = n == 7 ? "DPP-0999" : "DPP-\(1000 + n)"  // the first component of a shared number
                #expect(try cache.component(cmmsNumber: number, in: db)?["dpp_id"] == .some(expected), "\(number)")
            }
            #expect(cache.crosswalkLoaded)
            #expect(try cache.component(cmmsNumber: "CMMS-9999", in: db) == nil, "an unknown number, after the load")
            #expect(try cache.component("DPP-PART-1", in: db)?["serial_number"] == .some("S1"), "parts are still looked up by id")

            // A component given a new number: found, and its old number is not.
            var writer = try StateWriter(db: db, batchId: 2)
            let change = StateChange(kind: "asset.registered", subject: "DPP-1003", rows: [
                RowImage(table: StateSchema.asset, values: ["dpp_id": "DPP-1003", "cmms_asset_num": "CMMS-NEW", "status": "IN_SERVICE"]),
            ], provenance: Provenance())
            try writer.apply(change)
            cache.forget(change)
            #expect(!cache.crosswalkLoaded, "a new number: the crosswalk is forgotten")
            #expect(try cache.component(cmmsNumber: "CMMS-NEW", in: db)?["dpp_id"] == .some("DPP-1003"))
            #expect(try cache.component(cmmsNumber: "CMMS-0003", in: db) == nil, "its old number is gone")
            #expect(!cache.crosswalkLoaded, "read again only after as many lookups again")
        }
    }
    @Test("a row is 'stored' as the file's decisions left it: an asset with its waiting columns, an installation the writer may hold is not")
    func storedAsTheFileLeftIt() throws {
        let store = try Store(path: TemporaryFiles.path("dppsync-is-stored-", ".sqlite"))
        let reconciler = Reconciler(configuration: Configuration())
        try store.write { db in
            var writer = try StateWriter(db: db, batchId: 1, pipelined: true)
            try reconciler.write(Decision(outcome: .applied, reason: nil, message: "", changes: [
                StateChange(kind: "asset.registered", subject: "P", rows: [
                    RowImage(table: StateSchema.asset, values: ["dpp_id": "P", "status": "INSTALLED", "installed_on": "AC-A"]),
                    .installation(dppId: "P", day: "2026-01-01", aircraft: "AC-A"),
                ], provenance: Provenance()),
            ]), with: &writer)
            try writer.finish()
        }
        try store.write { db in
            // A new file: its own writer and reconciler, which reads through that writer (as `FileProcessor` has it).
            var writer = try StateWriter(db: db, batchId: 2, pipelined: true)
            let reconciler = Reconciler(configuration: Configuration())
            reconciler.references.unwrittenAssets = writer.unwrittenAssets
            let stored = RowImage(table: StateSchema.asset, carrying: ["dpp_id": "P", "status": "INSTALLED"])
            let storedPeriod = RowImage.installation(dppId: "P", day: "2026-01-01", aircraft: "AC-A")
            #expect(try reconciler.isStored(stored, in: db) && reconciler.isStored(storedPeriod, in: db), "nothing waits yet")
            // The file moves P to another aircraft on the same day: both wait in the writer.
            try reconciler.write(Decision(outcome: .applied, reason: nil, message: "", changes: [
                StateChange(kind: "workorder.completed", subject: "C", rows: [
                    RowImage(table: StateSchema.asset, carrying: ["dpp_id": "P", "installed_on": "AC-B", "status": "REMOVED"]),
                    .installation(dppId: "P", day: "2026-01-01", aircraft: "AC-B"),
                ], provenance: Provenance()),
            ]), with: &writer)
            #expect(try String.fetchOne(db, sql: "SELECT status FROM asset WHERE dpp_id = 'P'") == "INSTALLED", "the move waits")
            #expect(try !reconciler.isStored(stored, in: db), "compared with the waiting status, not the stored one")
            #expect(try reconciler.isStored(RowImage(table: StateSchema.asset, carrying: ["dpp_id": "P", "status": "REMOVED"]), in: db))
            #expect(try !reconciler.isStored(storedPeriod, in: db), "the writer may hold another aircraft for that day")
            try writer.finish()
        }
    }
}
