/// How columns are scaled before training.
public enum NormalizationKind: String, Sendable, Codable, CaseIterable {
    /// (v − mean) / std.
    case zscore
    /// (v − min) / (max − min), into [0, 1].
    case minmax
    /// Unchanged.
    case none
}

/// An affine scaling of one column: normalised = (value − shift) / scale.
public struct ColumnScaling: Equatable, Sendable, Codable {
    public var shift: Double
    public var scale: Double

    public init(shift: Double, scale: Double) {
        self.shift = shift
        self.scale = scale
    }

    /// The identity.
    public static let identity = ColumnScaling(shift: 0, scale: 1)

    /// Fits `kind` on `values` (a constant column gets scale 1).
    ///
    /// `keepZero`: for a z-score, scale by the root mean square and do not shift, so that 0 stays
    /// 0. One series' differenced target is fitted so: an output of 0 is then "no change", the
    /// last-value forecast, which is what an untrained model (zero head) predicts; its bias
    /// learns the drift. (A panel's series are centred each on its own drift: `WindowedDataset`.)
    public init<Values: Collection<Double>>(fitting kind: NormalizationKind, to values: Values, keepZero: Bool = false) {
        switch kind {
        case .none:
            self = .identity
        case .zscore where keepZero:
            let rms = (values.reduce(0) { $0 + $1 * $1 } / Double(max(values.count, 1))).squareRoot()
            self.init(shift: 0, scale: rms > 1e-300 ? rms : 1)
        case .zscore:
            let n = Double(values.count)
            let mean = values.reduce(0, +) / n
            let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
            let std = variance.squareRoot()
            self.init(shift: mean, scale: std > 1e-12 * max(1, abs(mean)) ? std : 1)
        case .minmax:
            let lo = values.min() ?? 0, hi = values.max() ?? 1
            self.init(shift: lo, scale: hi - lo > 1e-12 * max(1, abs(lo)) ? hi - lo : 1)
        }
    }

    /// Maps a value into normalised units.
    @inline(__always) public func normalize(_ v: Double) -> Double { (v - shift) / scale }
    /// Maps a normalised value back to original units.
    @inline(__always) public func denormalize(_ v: Double) -> Double { v * scale + shift }
}

/// The scalings of every input feature and of the target, stored in checkpoints.
public struct Normalization: Equatable, Sendable, Codable {
    public var kind: NormalizationKind
    /// One per input feature, in feature order.
    public var features: [ColumnScaling]
    /// The target's.
    public var target: ColumnScaling

    public init(kind: NormalizationKind, features: [ColumnScaling], target: ColumnScaling) {
        self.kind = kind
        self.features = features
        self.target = target
    }
}
