import ElmanCheckpoint

/// Split-conformal prediction intervals for next-step forecasts: the model's absolute errors on
/// held-out validation windows, in the target's units, kept as their conformal quantiles.
///
/// For n held-out errors, the interval `prediction ± q` with q the ⌈(n + 1)·level⌉-th smallest
/// error covers a new value with probability at least `level`, whatever the distribution, when
/// the new data behave like the held-out data (exchangeability). `quantiles[k]` is that q for
/// level k / 1000, so any level is read off without the errors themselves.
public struct Calibration: Codable, Equatable, Sendable {
    /// How many held-out errors the quantiles come from.
    public var count: Int
    /// The conformal quantile for levels 0, 0.001, …, 1 (1001 values, non-decreasing).
    public var quantiles: [Double]

    /// For a model of several leads: the quantiles of each lead's errors, lead 2 first (lead 1's
    /// are `quantiles`); nil for a model of one lead and checkpoints from before it existed.
    public var laterLeads: [[Double]]?

    /// For a panel: the errors were divided by their series' scale (its in-sample naive MAE,
    /// MASE's scale), so that series of every magnitude calibrate one interval; a series'
    /// half-width is then the quantile times its own scale. Nil for one series (target units).
    public var perSeriesScale: Bool?

    /// Levels are read at this resolution.
    public static let steps = 1000

    /// The calibration of `errors` (absolute, in the target's units, or in each series' scale
    /// with `perSeriesScale`), and of each later lead's errors for a model of several leads;
    /// nil when there are none.
    public init?(absoluteErrors errors: [Double], laterLeads: [[Double]] = [], perSeriesScale: Bool = false) {
        guard let first = Self.quantiles(errors) else { return nil }
        count = errors.filter(\.isFinite).count
        quantiles = first
        let later = laterLeads.compactMap(Self.quantiles)
        self.laterLeads = later.count == laterLeads.count && !later.isEmpty ? later : nil
        self.perSeriesScale = perSeriesScale ? true : nil
    }

    /// Whether half-widths are in units of each series' scale (a panel's calibration).
    public var isPerSeries: Bool { perSeriesScale ?? false }

    /// The conformal quantiles of `errors` at levels 0, 0.001, …, 1; nil when none is finite.
    private static func quantiles(_ errors: [Double]) -> [Double]? {
        let sorted = errors.filter(\.isFinite).sorted()
        guard !sorted.isEmpty else { return nil }
        let n = sorted.count
        return (0...steps).map { k in
            let rank = Int((Double(n + 1) * Double(k) / Double(steps)).rounded(.up))
            return sorted[min(max(rank, 1), n) - 1]
        }
    }

    /// Leads calibrated: 1, or the model's leads.
    public var leads: Int { 1 + (laterLeads?.count ?? 0) }

    /// The half-width of the interval at `level` (0 < level < 1) for `lead` (1 … `leads`): the
    /// conformal quantile of that lead's held-out errors at the next level on the grid.
    public func halfWidth(level: Double, lead: Int = 1) -> Double {
        let k = Int((level * Double(Self.steps)).rounded(.up))
        let q = lead <= 1 ? quantiles : laterLeads?[min(lead - 2, (laterLeads?.count ?? 1) - 1)] ?? quantiles
        return q[min(max(k, 0), q.count - 1)]
    }
}

extension SectionKey {
    /// The calibration of the model's intervals (`Calibration`), when it has one.
    public static let calibration = "calibration"
}

extension Checkpoint {
    /// The model's interval calibration; nil for a checkpoint without one (stateful and text
    /// models, runs without validation, checkpoints written before intervals existed).
    public var calibration: Calibration? { try? section(SectionKey.calibration, as: Calibration.self) }
}
