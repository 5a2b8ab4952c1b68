@testable import DPPSync
import Foundation
import GRDB
import Testing

@Suite("the asset table stored in two parts")
struct AssetPartsTests {
    let table = StateSchema.asset
    let store: Store

    init() throws {
        store = try Store(path: TemporaryFiles.path("dppsync-asset-parts-", ".sqlite"))
    }

    /// The rows of `asset_core` and `asset_service` for `dppId`, by column name.
    func parts(_ dppId: String) throws -> (core: RowValues?, service: RowValues?) {
        try store.read { db in
            (try StateWriter.row(StateSchema.assetCore, key: [dppId], in: db), try StateWriter.row(StateSchema.assetService, key: [dppId], in: db))
        }
    }

    func write(_ images: RowImage...) throws {
        try store.write { db in for image in images { try StateWriter.write(image, in: db) } }
    }

    func row(_ dppId: String) throws -> RowValues? {
        try store.read { db in try StateWriter.row(StateSchema.asset, key: [dppId], in: db) }
    }

    @Test("a whole image goes to both parts, each its own columns, and reads back whole through the view")
    func wholeImage() throws {
        let values = RowValues(columns: table.columns, values: table.columns.map { "\($0)-value" })
        try write(RowImage(table: table, values: values))
        let (core, service) = try parts("dpp_id-value")
        #expect(core?.keys == StateSchema.assetCore.columns && core?["description"] == "description-value")
        #expect(service?.keys == StateSchema.assetService.columns && service?["status"] == "status-value" && service?["certification"] == "certification-value")
        #expect(try row("dpp_id-value") == values)
    }

    @Test("a partial image changes only the part that holds its columns; a delete removes the row from both")
    func partialImagesAndDeletes() throws {
        var values = RowValues(columns: table.columns, values: table.columns.map { $0 == "dpp_id" ? "P-1" : nil })
        values["status"] = "IN_STOCK"
        try write(RowImage(table: table, values: values))
        try write(RowImage(table: table, carrying: ["dpp_id": "P-1", "description": "Seal kit"]),
                  RowImage(table: table, carrying: ["dpp_id": "P-1", "parent_dpp_id": "C-1", "status": "INSTALLED"]))
        let read = try row("P-1")
        #expect(read?["description"] == "Seal kit" && read?["parent_dpp_id"] == "C-1" && read?["status"] == "INSTALLED")
        #expect(read?["part_number"] == .some(nil) && read?["installed_on"] == .some(nil), "columns no image set stay NULL")
        try write(RowImage(table: table, values: ["dpp_id": "P-1"], deleted: true))
        let (core, service) = try parts("P-1")
        #expect(core == nil && service == nil)
        #expect(try row("P-1") == nil)
    }

    @Test("a partial image of an asset not stored makes it in both parts, so the view shows it", arguments: [
        ["dpp_id": "P-2", "description": "only the core's columns"] as RowValues,
        ["dpp_id": "P-2", "status": "INSTALLED"] as RowValues,
    ])
    func partialImageMakesTheRow(_ image: RowValues) throws {
        try write(RowImage(table: table, carrying: image))
        let (core, service) = try parts("P-2")
        #expect(core != nil && service != nil)
        let read = try #require(try row("P-2"))
        for (column, value) in image { #expect(read[column] == .some(value)) }
    }

    @Test("a mask of the table's columns is each part's mask of the same columns, in the part's order")
    func masksOfParts() {
        let mask = table.mask(of: ["dpp_id", "description", "status", "certification"])
        let core = StateSchema.assetCore, service = StateSchema.assetService
        #expect(table.mask(mask, ofPart: 0) == core.mask(of: ["dpp_id", "description"]))
        #expect(table.mask(mask, ofPart: 1) == service.mask(of: ["dpp_id", "status", "certification"]))
        #expect(table.mask(table.mask(of: ["dpp_id", "status"]), ofPart: 0) == core.keyMask, "the key alone")
        #expect(table.parts.map(\.name) == ["asset_core", "asset_service"])
        #expect(Set(Reconciler.partColumns) == Set(service.columns), "a part's lookup reads the service part alone")
    }
}
