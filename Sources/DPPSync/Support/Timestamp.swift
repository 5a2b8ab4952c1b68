/// A calendar day, with no time zone: how the CMMS and the DPP speak of
/// completion, installation and due dates.
public struct CivilDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year; self.month = month; self.day = day
    }

    /// Parses `yyyy-MM-dd` exactly; `nil` for anything else or an impossible day.
    public init?(iso text: Substring) {
        // Read in place: copying a substring's bytes into an array went byte by byte (generic
        // sequence copy), ~3,000 instructions a date; the mapper parses one or two per record.
        var text = text
        guard let date = text.withUTF8({ Self.parse($0) }) else { return nil }
        self = date
    }

    /// The day of exactly ten bytes `yyyy-MM-dd`.
    static func parse<Bytes: RandomAccessCollection<UInt8>>(_ u: Bytes) -> CivilDate? where Bytes.Index == Int {
        let o = u.startIndex
        guard u.count == 10, u[o + 4] == 0x2D, u[o + 7] == 0x2D,
              let y = digits(u, o, 4), let m = digits(u, o + 5, 2), let d = digits(u, o + 8, 2),
              (1...12).contains(m), d >= 1, d <= daysInMonth(year: y, month: m)
        else { return nil }
        return CivilDate(year: y, month: m, day: d)
    }

    public init?(iso text: String) { self.init(iso: text[...]) }

    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
    public var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    public init(daysSinceEpoch z0: Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.init(year: yoe + era * 400 + (m <= 2 ? 1 : 0), month: m, day: d)
    }

    public func adding(days: Int) -> CivilDate { CivilDate(daysSinceEpoch: daysSinceEpoch + days) }

    public static func < (a: CivilDate, b: CivilDate) -> Bool { a.daysSinceEpoch < b.daysSinceEpoch }

    public var description: String {
        guard hasFourDigitYear else { return pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) }
        return String(unsafeUninitializedCapacity: 10) { out in
            write(to: out)
            return 10
        }
    }

    /// Years the fixed-width forms cover (`description` and `Timestamp.description`).
    var hasFourDigitYear: Bool { (0...9999).contains(year) }

    /// Writes `yyyy-MM-dd` into the first ten bytes of `out` (a four-digit year).
    func write(to out: UnsafeMutableBufferPointer<UInt8>) {
        writeDigits(year, 4, to: out, at: 0); out[4] = UInt8(ascii: "-")
        writeDigits(month, 2, to: out, at: 5); out[7] = UInt8(ascii: "-")
        writeDigits(day, 2, to: out, at: 8)
    }

    static func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func digits<Bytes: RandomAccessCollection<UInt8>>(_ u: Bytes, _ start: Int, _ count: Int) -> Int? where Bytes.Index == Int {
        guard start >= u.startIndex, start + count <= u.endIndex else { return nil }
        var v = 0
        for i in start..<(start + count) {
            let b = u[i]
            guard b >= 0x30, b <= 0x39 else { return nil }
            v = v * 10 + Int(b - 0x30)
        }
        return v
    }
}

/// An instant, in milliseconds since the Unix epoch.
///
/// Parsed by hand: Foundation's ISO 8601 formatters cost ~35 µs a parse here
/// (DESIGN.md §6), this costs well under one.
public struct Timestamp: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) { self.millisecondsSinceEpoch = millisecondsSinceEpoch }

    /// Instants from 0001-01-01 to 9999-12-31 (UTC), the years ISO text writes with four digits.
    /// A count of milliseconds from input (epoch or OData dates) outside them is no date: near
    /// `Int64`'s ends the day arithmetic (and a time zone's offset) would overflow.
    static let supportedMilliseconds: ClosedRange<Int64> = -62_135_596_800_000 ... 253_402_300_799_999

    /// `millisecondsSinceEpoch` from input, when it is in `supportedMilliseconds`.
    init?(checkedMillisecondsSinceEpoch ms: Int64) {
        guard Self.supportedMilliseconds.contains(ms) else { return nil }
        self.init(millisecondsSinceEpoch: ms)
    }

    /// Parses ISO 8601 date-times: `yyyy-MM-ddTHH:mm[:ss[.fraction]]` followed by
    /// `Z`, `±HH:mm`, `±HHmm` or nothing (then `defaultOffsetMinutes` applies).
    /// A bare `yyyy-MM-dd` is midnight at the default offset.
    public init?(iso text: String, defaultOffsetMinutes: Int = 0) {
        let u = Array(text.utf8)
        guard u.count >= 10, let date = CivilDate.parse(u[0..<10]) else { return nil }
        var seconds = Int64(date.daysSinceEpoch) * 86_400
        var millis: Int64 = 0
        var offsetMinutes = defaultOffsetMinutes
        var i = 10
        if i < u.count {
            guard u[i] == UInt8(ascii: "T") || u[i] == UInt8(ascii: " ") || u[i] == UInt8(ascii: "t") else { return nil }
            i += 1
            guard let hh = CivilDate.digits(u, i, 2), i + 5 <= u.count, u[i + 2] == 0x3A,
                  let mm = CivilDate.digits(u, i + 3, 2), hh < 24, mm < 60 else { return nil }
            i += 5
            var ss = 0
            if i < u.count, u[i] == 0x3A {
                guard let s = CivilDate.digits(u, i + 1, 2), s < 61 else { return nil }
                ss = s
                i += 3
                if i < u.count, u[i] == UInt8(ascii: ".") || u[i] == UInt8(ascii: ",") {
                    i += 1
                    var scale: Int64 = 100
                    let fracStart = i
                    while i < u.count, u[i] >= 0x30, u[i] <= 0x39 {
                        millis += Int64(u[i] - 0x30) * scale
                        scale /= 10
                        i += 1
                    }
                    guard i > fracStart else { return nil }
                }
            }
            seconds += Int64(hh * 3600 + mm * 60 + ss)
            if i < u.count {
                if u[i] == UInt8(ascii: "Z") || u[i] == UInt8(ascii: "z") {
                    offsetMinutes = 0
                    i += 1
                } else if u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-") {
                    let sign = u[i] == UInt8(ascii: "-") ? -1 : 1
                    guard let oh = CivilDate.digits(u, i + 1, 2) else { return nil }
                    var j = i + 3
                    var om = 0
                    if j < u.count, u[j] == 0x3A { j += 1 }
                    if j < u.count {
                        guard let m = CivilDate.digits(u, j, 2) else { return nil }
                        om = m
                        j += 2
                    }
                    guard oh < 24, om < 60 else { return nil }
                    offsetMinutes = sign * (oh * 60 + om)
                    i = j
                } else {
                    return nil
                }
            }
            guard i == u.count else { return nil }
        }
        self.millisecondsSinceEpoch = (seconds - Int64(offsetMinutes) * 60) * 1000 + millis
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.millisecondsSinceEpoch < b.millisecondsSinceEpoch }

    /// The day this instant falls on at the given offset from UTC.
    public func civilDate(offsetMinutes: Int = 0) -> CivilDate {
        let local = millisecondsSinceEpoch + Int64(offsetMinutes) * 60_000
        let days = local >= 0 ? local / 86_400_000 : (local - 86_399_999) / 86_400_000
        return CivilDate(daysSinceEpoch: Int(days))
    }

    /// Fixed-width UTC form, `yyyy-MM-ddTHH:mm:ss.SSSZ`: text order is time order.
    public var description: String {
        let ms = millisecondsSinceEpoch
        let dayMillis: Int64 = 86_400_000
        let days = ms >= 0 ? ms / dayMillis : (ms - dayMillis + 1) / dayMillis
        let rest = Int(ms - days * dayMillis)
        let date = CivilDate(daysSinceEpoch: Int(days))
        guard date.hasFourDigitYear else {
            return date.description + "T" + pad(rest / 3_600_000, 2) + ":" + pad(rest / 60_000 % 60, 2) + ":"
                + pad(rest / 1000 % 60, 2) + "." + pad(rest % 1000, 3) + "Z"
        }
        // Written digit by digit: every ledger entry and outcome carries one, and
        // building it from padded pieces cost more than hashing the entry.
        return String(unsafeUninitializedCapacity: 24) { out in
            date.write(to: out); out[10] = UInt8(ascii: "T")
            writeDigits(rest / 3_600_000, 2, to: out, at: 11); out[13] = UInt8(ascii: ":")
            writeDigits(rest / 60_000 % 60, 2, to: out, at: 14); out[16] = UInt8(ascii: ":")
            writeDigits(rest / 1000 % 60, 2, to: out, at: 17); out[19] = UInt8(ascii: ".")
            writeDigits(rest % 1000, 3, to: out, at: 20); out[23] = UInt8(ascii: "Z")
            return 24
        }
    }

    /// The current time.
    public static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(millisecondsSinceEpoch: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }
}

/// Writes `value` (0 ≤ value < 10^width) as exactly `width` decimal digits at `offset`.
private func writeDigits(_ value: Int, _ width: Int, to out: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
    var rest = value
    for i in stride(from: offset + width - 1, through: offset, by: -1) {
        out[i] = UInt8(ascii: "0") + UInt8(rest % 10)
        rest /= 10
    }
}

func pad(_ value: Int, _ width: Int) -> String {
    let s = String(value)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
