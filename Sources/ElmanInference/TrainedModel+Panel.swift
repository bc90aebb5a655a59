import ElmanData
import ElmanRun

/// A panel model's series, one by one: each read through the checkpoint's pipeline and scaled
/// with its own scaling, so every inference path for one series serves each of them.
extension TrainedModel {
    /// Whether the model was trained on a panel of series.
    public var isPanel: Bool { dataRecord.panel != nil }

    /// One series of a panel, ready for inference.
    public struct Member {
        public let id: String
        /// The series' rows as a dataset (split as in training, or whole for new data).
        public let data: WindowedDataset
        /// The series itself (for forecasts past its end).
        public let series: Series
        /// Its scaling, as training fitted it.
        public let normalization: Normalization
        /// MASE's scale: its in-sample naive MAE.
        public let scale: Double?
    }

    /// The series of the data a request names, each with its scaling: the training data split
    /// as in training, or new data whole. A series the model was not trained on is an error
    /// naming it (its scaling is unknown); one too short for a window is left out and listed.
    public func members(_ request: DataRequest = DataRequest(), minimumRows: Int? = nil) throws
        -> (members: [Member], leftOut: [(id: String, rows: Int)])
    {
        guard let panel = dataRecord.panel else { throw RunError("the model was not trained on a panel of series") }
        let series = try self.series(request)
        guard series.panel != nil else { throw RunError("the data is not a panel (no `series` or `seriesColumns`)") }
        let positions = panel.positions()
        var members: [Member] = []
        var leftOut = series.leftOut
        let kind = dataRecord.normalization.kind
        for (id, one) in series.split() {
            let rows = one.rowCount + one.lag
            if let minimumRows, rows < minimumRows {
                leftOut.append((id, rows))
                continue
            }
            // Too few rows for a window (or for the validation split training made): left out,
            // whether or not the model knows the series (training left such series out too).
            func windowed(_ norm: Normalization) -> WindowedDataset? {
                try? WindowedDataset(
                    series: one, seqLen: options.seqLen,
                    validationFraction: request.isNewData ? 0 : options.validationFraction, scaling: .fixed(norm),
                    split: .windows, horizon: options.leads)
            }
            guard let k = positions[id] else {
                let identity = Normalization(
                    kind: kind, features: [ColumnScaling](repeating: .identity, count: panel.features), target: .identity)
                if minimumRows == nil, windowed(identity) == nil {
                    leftOut.append((id, rows))
                    continue
                }
                throw RunError(
                    "series '\(id)' is not one the model was trained on (\(panel.count) series): its scaling is unknown; train a model that includes it"
                )
            }
            let norm = panel.normalization(k, kind: kind)
            guard let data = windowed(norm) else {
                leftOut.append((id, rows))
                continue
            }
            members.append(Member(id: id, data: data, series: one, normalization: norm, scale: panel.scale(k)))
        }
        guard !members.isEmpty else {
            throw RunError("no series of the data has the \(rowsToForecastFrom + options.leads) rows a window needs")
        }
        return (members, leftOut)
    }
}
