import ElmanData
import Foundation
import Testing

/// Time columns: the bundled files' date formats and ISO 8601, against Foundation's calendar.
@Suite("Timestamps")
struct TimestampTests {
    /// Seconds since 1970 of a UTC date and time, by Foundation's Gregorian calendar.
    func reference(_ y: Int, _ m: Int, _ d: Int, _ h: Int = 0, _ min: Int = 0, _ s: Int = 0) -> Double {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        let date = calendar.date(from: DateComponents(year: y, month: m, day: d, hour: h, minute: min, second: s))
        return date?.timeIntervalSince1970 ?? .nan
    }

    @Test("every accepted format reads the date and time Foundation's calendar gives, offsets included")
    func formats() {
        #expect(Timestamp.parse("2010/01/01 00:00") == reference(2010, 1, 1))
        #expect(Timestamp.parse("2012/02/29") == reference(2012, 2, 29))
        #expect(Timestamp.parse("Jan 1 2000") == reference(2000, 1, 1))
        #expect(Timestamp.parse("dec 31 1999") == reference(1999, 12, 31))
        #expect(Timestamp.parse("2010-07-04T13:05") == reference(2010, 7, 4, 13, 5))
        #expect(Timestamp.parse("2010-07-04 13:05:09") == reference(2010, 7, 4, 13, 5, 9))
        #expect(Timestamp.parse("2010-07-04T13:05:09.5Z") == reference(2010, 7, 4, 13, 5, 9) + 0.5)
        #expect(Timestamp.parse("2010-07-04T13:05:09+02:00") == reference(2010, 7, 4, 11, 5, 9))
        #expect(Timestamp.parse("1969-12-31T23:00:00-01:00") == 0)
    }

    @Test("what is not a real date is refused: 31 February, month 13, 24:00, trailing text, two-digit years")
    func refusals() {
        for bad in ["2010-02-31", "2011/02/29", "2010-13-01", "2010-01-01T24:00", "2010-01-01x", "10-01-01", "Foo 1 2000",
            "2010-01-01T12:00+1", "", "20100101"]
        {
            #expect(Timestamp.parse(bad) == nil, "\(bad)")
        }
    }

    @Test("formatting is ISO 8601 in UTC and reads back to the same seconds, over four centuries of days")
    func roundTrip() {
        for days in stride(from: -146_097, through: 146_097, by: 997) {
            let t = Double(days) * 86_400 + 3723
            #expect(Timestamp.parse(Timestamp.format(t)) == t)
            #expect(Timestamp.parse(Timestamp.format(Double(days) * 86_400)) == Double(days) * 86_400)
        }
        #expect(Timestamp.format(reference(2010, 1, 1)) == "2010-01-01")
        #expect(Timestamp.format(reference(2010, 1, 1, 5), dateOnly: false) == "2010-01-01T05:00:00Z")
    }

    @Test("a series' step: hours by the median gap, months by the calendar (31 January plus a month is 28 February)")
    func steps() throws {
        let hours = (0..<50).map { reference(2010, 1, 1) + Double($0) * 3600 }
        #expect(TimeStep(inferringFrom: hours) == .seconds(3600))
        let months = (1...12).map { reference(2000, $0, 1) }
        let monthly = try #require(TimeStep(inferringFrom: months))
        #expect(monthly == .months(1))
        #expect(monthly.advance(reference(2000, 12, 1), by: 3) == reference(2001, 3, 1))
        #expect(TimeStep.months(1).advance(reference(2011, 1, 31), by: 1) == reference(2011, 2, 28))
        #expect(TimeStep(inferringFrom: [reference(2000, 1, 1)]) == nil)
    }
}
