@testable import DPPSync
import Testing

@Suite("dates and date-times")
struct TimestampTests {
    @Test("ISO 8601 with and without offset, fraction and seconds")
    func parsing() throws {
        let utc = try #require(Timestamp(iso: "2025-11-05T15:10:00Z"))
        #expect(Timestamp(iso: "2025-11-05T16:10:00+01:00") == utc)
        #expect(Timestamp(iso: "2025-11-05T16:10:00.000+0100") == utc)
        #expect(Timestamp(iso: "2025-11-05T16:10+01:00") == utc)
        #expect(Timestamp(iso: "2025-11-05T15:10:00") == utc, "no offset: the default (UTC)")
        #expect(Timestamp(iso: "2025-11-05T16:10:00", defaultOffsetMinutes: 60) == utc)
        #expect(Timestamp(iso: "2025-11-05T15:10:00.250Z")?.millisecondsSinceEpoch == utc.millisecondsSinceEpoch + 250)
        #expect(utc.description == "2025-11-05T15:10:00.000Z")
        #expect(Timestamp(millisecondsSinceEpoch: -1).description == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp(millisecondsSinceEpoch: 253_402_300_799_999).description == "9999-12-31T23:59:59.999Z")
        #expect(CivilDate(year: 812, month: 3, day: 7).description == "0812-03-07")
        #expect(safeId("MDN-DPP-C-000001-TASK-3-20260110-R") == "MDN-DPP-C-000001-TASK-3-20260110-R", "a safe id is kept as it is")
        #expect(safeId("../etc/passwd") == "_._etc_passwd-" + Fingerprint.sha256Hex("../etc/passwd").prefix(8))
        #expect(safeId(".hidden").hasPrefix("_hidden-"))
        #expect(safeId("CRS-WO/1") != safeId("CRS-WO_1"), "texts made safe keep their own ids")
        #expect(safeId(String(repeating: "/", count: 400)).utf8.count == 147, "bounded: 130 characters and a 16-digit hash")
        for bad in ["2025-13-01", "2025-02-30", "2025-11-05T25:00Z", "2025-11-05X10:00", "20251105", "2025-11-05T10:00+1"] {
            #expect(Timestamp(iso: bad) == nil, "\(bad)")
        }
    }

    @Test("civil dates: leap years, month ends, day arithmetic")
    func civilDates() throws {
        #expect(CivilDate(iso: "2024-02-29") != nil)
        #expect(CivilDate(iso: "2025-02-29") == nil)
        #expect(CivilDate(iso: "2000-02-29") != nil)
        #expect(CivilDate(iso: "1900-02-29") == nil)
        let installed = try #require(CivilDate(iso: "2025-10-17"))
        #expect(installed.adding(days: 90).description == "2026-01-15")
        #expect(try #require(CivilDate(iso: "2024-02-28")).adding(days: 1).description == "2024-02-29")
        #expect(try #require(CivilDate(iso: "2025-12-31")).adding(days: 1).description == "2026-01-01")
        #expect(CivilDate(daysSinceEpoch: 0).description == "1970-01-01")
    }

    @Test("the operator's day of an instant follows the configured zone")
    func operatorDay() throws {
        let lateEvening = try #require(Timestamp(iso: "2025-11-05T23:30:00Z"))
        #expect(OperatorTimeZone.utc.civilDate(of: lateEvening).description == "2025-11-05")
        #expect(try #require(OperatorTimeZone("+01:00")).civilDate(of: lateEvening).description == "2025-11-06")
        #expect(try #require(OperatorTimeZone("Europe/Berlin")).civilDate(of: lateEvening).description == "2025-11-06")
        #expect(OperatorTimeZone("Mars/Olympus") == nil)
    }
}
