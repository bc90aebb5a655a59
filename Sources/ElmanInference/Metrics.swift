#if canImport(Glibc)
import Glibc
#endif

/// One next-step prediction in original units.
public struct Prediction: Sendable, Equatable {
    /// Row of the series the prediction is for.
    public var row: Int
    public var predicted: Double
    public var actual: Double
    /// The naive forecast: the target at the row before.
    public var naive: Double
    /// The seasonal naive forecast: the target one season before (nil when the data does not reach back that far).
    public var seasonal: Double?
}

/// Error measures of a set of forecasts, in the target's units (sMAPE in percent).
public struct ErrorMetrics: Sendable, Equatable, Codable {
    public var mae: Double
    public var rmse: Double
    public var mse: Double
    /// Symmetric mean absolute percentage error: mean of 200·|f − a| / (|f| + |a|) (0 where both are 0).
    public var smape: Double
    /// Mean absolute scaled error: MAE over the in-sample (training) naive forecast's MAE;
    /// nil when the checkpoint does not record that scale.
    public var mase: Double?
    /// Number of forecasts measured.
    public var count: Int

    /// The errors of `(forecast, actual)` pairs; `scale` is the in-sample naive MAE for MASE.
    /// With no pairs nothing is measured: every value is NaN (null in JSON, n/a in tables), never 0.
    public init(_ pairs: [(forecast: Double, actual: Double)], scale: Double?) {
        let n = pairs.isEmpty ? Double.nan : Double(pairs.count)
        count = pairs.count
        mae = pairs.reduce(0) { $0 + abs($1.forecast - $1.actual) } / n
        mse = pairs.reduce(0) { $0 + ($1.forecast - $1.actual) * ($1.forecast - $1.actual) } / n
        rmse = mse.squareRoot()
        smape =
            pairs.reduce(0) { sum, p in
                let d = abs(p.forecast) + abs(p.actual)
                return sum + (d == 0 ? 0 : 200 * abs(p.forecast - p.actual) / d)
            } / n
        mase = scale.flatMap { $0 > 0 ? mae / $0 : nil }
    }
}

/// The errors at one lead of a multi-step forecast (`eval --horizon`).
public struct LeadErrors: Sendable, Equatable, Codable {
    /// Steps ahead, 1 … H.
    public var lead: Int
    public var model: ErrorMetrics
    /// The last known value, held for every lead.
    public var naive: ErrorMetrics
    /// The lead's prediction interval on these windows, when asked for.
    public var interval: LeadInterval? = nil
}

/// How a lead's calibrated interval did: the share of actual values inside it, and its width.
public struct LeadInterval: Sendable, Equatable, Codable {
    public var level: Double
    public var coverage: Double
    public var width: Double
}

/// What `eval` reports.
public struct Evaluation: Sendable {
    /// Predictions scored.
    public var windows: Int
    /// Regression: the model's errors, the last-value forecast's, and the seasonal naive's.
    public var model: ErrorMetrics?
    public var naive: ErrorMetrics?
    public var seasonal: ErrorMetrics?
    /// Classification: share of correct next classes, and the naive "same as before" share.
    public var accuracy: Double?
    public var naiveAccuracy: Double?
    public var crossEntropy: Double?
}
