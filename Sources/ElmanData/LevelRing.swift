/// The last `lag` levels of a series (none for a model of levels): a forecast of change is added
/// to the level `lag` steps before it, and becomes the newest level.
public struct LevelRing: Sendable {
    private var levels: [Double]
    private var oldest = 0

    public init(_ history: [Double], lag: Int) {
        levels = lag > 0 ? Array(history.suffix(lag)) : []
    }

    /// The next level from a model output: `value` itself for a model of levels, else the level
    /// `lag` steps back plus the change `value`.
    public mutating func next(_ value: Double) -> Double {
        guard !levels.isEmpty else { return value }
        let level = levels[oldest] + value
        levels[oldest] = level
        oldest = (oldest + 1) % levels.count
        return level
    }
}
