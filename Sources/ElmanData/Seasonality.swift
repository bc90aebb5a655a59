/// The dominant period of a series: the lag at which its changes correlate most with themselves.
///
/// An Elman network does not keep a dependency 24 steps back (relationships past 8–10 steps are
/// out of practical reach), so a daily cycle in hourly data is left to the seasonal naive unless
/// the model reads seasonal changes (`--season`). Training looks for such a period and says so.
public enum Seasonality {
    /// Values the detection reads at most: the most recent.
    public static let window = 20_000

    /// The lag 2 … `maxLag` with the largest autocorrelation of the first differences of
    /// `values`, and that autocorrelation; nil when there are too few values. At most the last
    /// `window` values are used, so a 10-million-row series costs what 20,000 rows do.
    public static func dominantPeriod(
        _ values: ArraySlice<Double>, maxLag: Int = 400, window: Int = Seasonality.window
    ) -> (period: Int, autocorrelation: Double)? {
        let tail = values.suffix(window + 1)
        let changes = zip(tail.dropFirst(), tail).map { $0 - $1 }
        let n = changes.count, longest = min(maxLag, n / 3)
        guard n >= 12, longest >= 2 else { return nil }
        let lags = 2...longest
        let mean = changes.reduce(0, +) / Double(n)
        let centred = changes.map { $0 - mean }
        let variance = centred.reduce(0) { $0 + $1 * $1 }
        guard variance > 0 else { return nil }
        var best = (period: 0, autocorrelation: -Double.infinity)
        for lag in lags {
            var sum = 0.0
            for t in lag..<n { sum += centred[t] * centred[t - lag] }
            let r = sum / variance
            if r > best.autocorrelation { best = (lag, r) }
        }
        return best
    }
}
