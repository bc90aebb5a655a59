#if canImport(Glibc)
import Glibc
#endif

/// A position in a cycle of the calendar, fed to the model as a sine and cosine pair: known at
/// every future step, so a model that reads them forecasts any horizon by feeding its own
/// forecasts back (`--calendar hour,weekday,month`).
public enum CalendarPart: String, Sendable, Codable, CaseIterable {
    /// The time of day.
    case hour
    /// The day of the week.
    case weekday
    /// The position in the year (by day, so it moves smoothly from one month into the next).
    case month

    /// The two input columns' names.
    public var columnNames: [String] { [rawValue + "_sin", rawValue + "_cos"] }

    /// The phase (0 ..< 1) of `time` (seconds since 1970) in this cycle.
    public func phase(_ time: Double) -> Double {
        let day = 86_400.0
        switch self {
        case .hour:
            let s = time.truncatingRemainder(dividingBy: day)
            return (s < 0 ? s + day : s) / day
        case .weekday:
            // 1970-01-01 was a Thursday; Monday is phase 0.
            let days = (time / day).rounded(.down) + 3
            let w = days.truncatingRemainder(dividingBy: 7)
            return (w < 0 ? w + 7 : w) / 7
        case .month:
            let (y, _, _) = Timestamp.date(time)
            let start = Double(Timestamp.daysFromCivil(y, 1, 1)) * day
            let length = Double(Timestamp.daysFromCivil(y + 1, 1, 1) - Timestamp.daysFromCivil(y, 1, 1)) * day
            return (time - start) / length
        }
    }

    /// The sine and cosine of the phase.
    public func values(_ time: Double) -> (Double, Double) {
        let a = 2 * Double.pi * phase(time)
        return (sin(a), cos(a))
    }

    /// The calendar columns of `times`, in `parts` order, each part's sine then cosine.
    public static func columns(_ parts: [CalendarPart], times: [Double]) -> [[Double]] {
        parts.flatMap { part -> [[Double]] in
            let pairs = times.map(part.values)
            return [pairs.map(\.0), pairs.map(\.1)]
        }
    }

    /// One row of calendar inputs at `time`.
    public static func row(_ parts: [CalendarPart], time: Double) -> [Double] {
        parts.flatMap { part -> [Double] in
            let (s, c) = part.values(time)
            return [s, c]
        }
    }
}
