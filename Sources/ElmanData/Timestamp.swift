/// A time column's values: seconds since 1970-01-01T00:00:00Z, read from the date formats of
/// the bundled files and ISO 8601.
///
///     2010-01-01, 2010-01-01T13:00, 2010-01-01 13:00:05, 2010-01-01T13:00:05.5Z, …+01:00
///     2010/01/01, 2010/01/01 13:00
///     Jan 1 2000 (an English month's first three letters, any case)
///
/// Hand-written, as the CSV reader reads numbers: a `DateFormatter` per format is slow on
/// millions of rows and accepts what it should not (a 31st of February).
public enum Timestamp {
    /// The seconds of `text`, or nil when it is none of the formats or not a real date and time.
    public static func parse(_ text: some StringProtocol) -> Double? {
        parse(bytes: Array(text.utf8)[...])
    }

    /// `parse` of UTF-8 bytes.
    public static func parse(bytes b: ArraySlice<UInt8>) -> Double? {
        var s = Scanner(b)
        let year: Int, month: Int, day: Int
        if let first = s.peek, first >= 0x41 {
            // Mon D YYYY
            guard let m = s.monthName(), s.skip(0x20), let d = s.digits(1...2), s.skip(0x20), let y = s.digits(4...4) else {
                return nil
            }
            (year, month, day) = (y, m, d)
        } else {
            guard let y = s.digits(4...4), let sep = s.next(), sep == 0x2D || sep == 0x2F, let m = s.digits(1...2),
                s.skip(sep), let d = s.digits(1...2)
            else { return nil }
            (year, month, day) = (y, m, d)
        }
        guard (1...12).contains(month), (1...daysIn(month, year)).contains(day) else { return nil }
        var seconds = Double(daysFromCivil(year, month, day)) * 86_400
        if s.atEnd { return seconds }
        // A time of day: THH:MM[:SS[.fff]] or " HH:MM…", then Z or ±HH:MM.
        guard let t = s.next(), t == 0x54 || t == 0x20, let hh = s.digits(2...2), s.skip(0x3A), let mm = s.digits(2...2),
            hh < 24, mm < 60
        else { return nil }
        seconds += Double(hh * 3600 + mm * 60)
        if s.skip(0x3A) {
            guard let ss = s.digits(2...2), ss < 60 else { return nil }
            seconds += Double(ss)
            if s.skip(0x2E) {
                var scale = 0.1, any = false
                while let c = s.peek, c &- 48 < 10 {
                    seconds += Double(c &- 48) * scale
                    scale /= 10
                    any = true
                    _ = s.next()
                }
                guard any else { return nil }
            }
        }
        if s.atEnd { return seconds }
        if s.skip(0x5A) { return s.atEnd ? seconds : nil }
        guard let sign = s.next(), sign == 0x2B || sign == 0x2D, let oh = s.digits(2...2), s.skip(0x3A),
            let om = s.digits(2...2), oh < 24, om < 60, s.atEnd
        else { return nil }
        let offset = Double(oh * 3600 + om * 60)
        return sign == 0x2B ? seconds - offset : seconds + offset
    }

    /// `seconds` as ISO 8601 in UTC: a date alone when `dateOnly` (or by default when it is
    /// midnight), else date and time.
    public static func format(_ seconds: Double, dateOnly: Bool? = nil) -> String {
        let whole = Int((seconds).rounded(.down))
        let days = Int((Double(whole) / 86_400).rounded(.down))
        let (y, m, d) = civil(fromDays: days)
        let rest = whole - days * 86_400
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let date = "\(String(repeating: "0", count: max(0, 4 - String(y).count)))\(y)-\(two(m))-\(two(d))"
        guard !(dateOnly ?? (rest == 0 && seconds == Double(whole))) else { return date }
        return "\(date)T\(two(rest / 3600)):\(two(rest / 60 % 60)):\(two(rest % 60))Z"
    }

    /// Whether every one of `times` is a midnight: a column of dates, written as dates.
    public static func datesOnly(_ times: [Double]) -> Bool {
        times.allSatisfy { $0.truncatingRemainder(dividingBy: 86_400) == 0 }
    }

    /// The calendar date of `seconds`: (year, month, day).
    public static func date(_ seconds: Double) -> (year: Int, month: Int, day: Int) {
        civil(fromDays: Int((seconds / 86_400).rounded(.down)))
    }

    public static func daysIn(_ month: Int, _ year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
    public static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The inverse of `daysFromCivil` (Hinnant's `civil_from_days`).
    static func civil(fromDays z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// Reads bytes front to back.
    struct Scanner {
        var bytes: ArraySlice<UInt8>
        init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }
        var atEnd: Bool { bytes.isEmpty }
        var peek: UInt8? { bytes.first }
        mutating func next() -> UInt8? { bytes.popFirst() }
        mutating func skip(_ c: UInt8) -> Bool {
            guard bytes.first == c else { return false }
            bytes.removeFirst()
            return true
        }
        /// A run of decimal digits whose length is in `lengths`.
        mutating func digits(_ lengths: ClosedRange<Int>) -> Int? {
            var value = 0, count = 0
            while let c = bytes.first, c &- 48 < 10, count < lengths.upperBound {
                value = value * 10 + Int(c &- 48)
                count += 1
                bytes.removeFirst()
            }
            if let c = bytes.first, c &- 48 < 10 { return nil }
            return lengths.contains(count) ? value : nil
        }
        /// An English month's first three letters: 1…12.
        mutating func monthName() -> Int? {
            guard bytes.count >= 3 else { return nil }
            let word = String(decoding: bytes.prefix(3), as: UTF8.self).lowercased()
            let names = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
            guard let k = names.firstIndex(of: word) else { return nil }
            bytes.removeFirst(3)
            return k + 1
        }
    }
}

/// The spacing of a time column, to carry a series' timestamps past its end: whole months (a
/// monthly series dated on its months' firsts, or any day of the month, months apart), or a
/// fixed number of seconds (hours, days, weeks: the median of the recent gaps).
public enum TimeStep: Equatable, Sendable {
    case months(Int)
    case seconds(Double)

    /// The step of the last up to 100 times, nil for fewer than two or a step that is not positive.
    public init?(inferringFrom times: [Double]) {
        let recent = Array(times.suffix(101))
        guard recent.count >= 2 else { return nil }
        let dates = recent.map(Timestamp.date)
        let sameDay = dates.allSatisfy { $0.day == dates[0].day } && recent.allSatisfy { $0.truncatingRemainder(dividingBy: 86_400) == 0 }
        if sameDay {
            let months = zip(dates.dropFirst(), dates).map { ($0.year - $1.year) * 12 + $0.month - $1.month }
            if let m = months.first, m > 0, months.allSatisfy({ $0 == m }) {
                self = .months(m)
                return
            }
        }
        let gaps = zip(recent.dropFirst(), recent).map { $0 - $1 }.sorted()
        let median = gaps[gaps.count / 2]
        guard median > 0 else { return nil }
        self = .seconds(median)
    }

    /// The time `k` steps after `time`.
    public func advance(_ time: Double, by k: Int) -> Double {
        switch self {
        case let .seconds(s): return time + Double(k) * s
        case let .months(m):
            let (y, mo, d) = Timestamp.date(time)
            let total = y * 12 + (mo - 1) + k * m
            let year = total >= 0 ? total / 12 : (total - 11) / 12, month = total - year * 12 + 1
            let day = min(d, Timestamp.daysIn(month, year))
            let clock = time - Double(Timestamp.daysFromCivil(y, mo, d)) * 86_400
            return Double(Timestamp.daysFromCivil(year, month, day)) * 86_400 + clock
        }
    }
}
