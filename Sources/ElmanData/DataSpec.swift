/// Where the data comes from, as written for the `data` setting (`--data` on the command line).
///
///     prices.csv          a CSV file with a header
///     formula:2*x+1       a formula in x, sampled at x = 0, Δ, 2Δ, …
///     sine                sin(x), sampled the same way
///     text:story.txt      characters of a text file (also any path ending in .txt)
public enum DataSpec: Equatable, Sendable, Codable, CustomStringConvertible {
    case csv(path: String)
    case formula(String)
    case sine
    case text(path: String)

    /// Parses the `data` setting.
    public init(parsing s: String) throws(DataError) {
        if s.isEmpty { throw DataError.usage("`data` is empty") }
        if s == "sine" { self = .sine; return }
        if s.hasPrefix("formula:") {
            let f = String(s.dropFirst("formula:".count))
            _ = try Formula(f)
            self = .formula(f)
            return
        }
        if s.hasPrefix("text:") { self = .text(path: String(s.dropFirst("text:".count))); return }
        if s.lowercased().hasSuffix(".txt") { self = .text(path: s); return }
        self = .csv(path: s)
    }

    public var description: String {
        switch self {
        case let .csv(path): path
        case let .formula(f): "formula:" + f
        case .sine: "sine"
        case let .text(path): "text:" + path
        }
    }

    /// What kind of data this is, in words ("a CSV file", "text", …): a model reads one kind.
    public var kind: String {
        switch self {
        case .csv: "a CSV file"
        case .formula, .sine: "a formula"
        case .text: "text"
        }
    }

    /// Whether a new run models this source's changes by default: measured series (CSV) and
    /// formulas, whose later values leave the range training saw (x**2 on its held-out tail: a
    /// model of levels 135× the last value's RMSE, one of changes 0.29×); a sine stays in range.
    public var differencedByDefault: Bool {
        switch self {
        case .csv, .formula: true
        case .sine, .text: false
        }
    }

    /// Whether this source is a CSV file.
    public var isCSV: Bool { if case .csv = self { true } else { false } }

    /// Whether this source is characters for a next-character model.
    public var isText: Bool { if case .text = self { true } else { false } }
}

/// How a synthetic source (formula, sine) is sampled.
public struct SamplingGrid: Equatable, Sendable, Codable {
    /// Number of points.
    public var points: Int
    /// x of the first point.
    public var start: Double
    /// Distance between consecutive x.
    public var step: Double

    public init(points: Int = 1000, start: Double = 0, step: Double = 0.1) {
        self.points = points
        self.start = start
        self.step = step
    }

    /// x and f(x) as a table with columns `x` and `y`.
    func table(_ f: (Double) -> Double, name: String) throws(DataError) -> Table {
        guard points >= 2 else { throw DataError.usage("`points` must be at least 2, got \(points)") }
        guard points <= 10_000_000 else { throw DataError.usage("`points` must be at most 10000000, got \(points)") }
        guard step.isFinite, step != 0 else { throw DataError.usage("`xStep` must be a finite non-zero number, got \(step)") }
        guard start.isFinite else { throw DataError.usage("`xStart` must be a finite number, got \(start)") }
        let xs = (0..<points).map { start + Double($0) * step }
        var ys = [Double]()
        ys.reserveCapacity(points)
        for x in xs {
            let y = f(x)
            guard y.isFinite else { throw DataError("\(name) is not finite at x = \(x)") }
            ys.append(y)
        }
        return Table(names: ["x", "y"], columns: [xs, ys])
    }
}
