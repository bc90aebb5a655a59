import ElmanCore
import ElmanData
import ElmanRun

/// Forecasting past the end of a series: from its last values, feeding predictions back.
extension TrainedModel {
    /// Forecasts `horizon` values past the end of the series by feeding predictions back: from
    /// the last T values (stateless models), or after warming the state over the whole series
    /// (stateful models). Needs a univariate model (the target is the only feature).
    public func forecast(_ series: Series, horizon: Int) throws -> [Double] {
        var values: [Double] = []
        try forecast(series, horizon: horizon) { values.append($0) }
        return values
    }

    /// `forecast(_:horizon:)` value by value: `emit` gets each as soon as it is known, so a long
    /// horizon holds nothing in memory (and a throwing `emit` stops it).
    public func forecast(_ series: Series, horizon: Int, emit: (Double) throws -> Void) throws {
        guard horizon >= 1 else { throw RunError.usage("`horizon` must be at least 1, got \(horizon)") }
        guard series.vocabulary == nil else { throw RunError.usage("`horizon` is for numeric series; use generate for text") }
        let T = options.seqLen
        let levels = series.levels?.count ?? series.rowCount
        guard series.rowCount >= (isStateful ? 1 : T) else {
            throw RunError(
                "the model forecasts from \(rowsToForecastFrom) values of \(dataRecord.targetName); the data has \(levels)"
            )
        }
        guard series.featureNames == [series.targetName] else {
            // Several features: one step ahead only, as the features of later steps are unknown.
            guard horizon == 1, !isStateful else {
                throw RunError(
                    "`horizon` \(horizon) needs the target as the only feature (the model reads \(series.featureNames.joined(separator: ", "))); a model of several features forecasts one step"
                )
            }
            return try emit(nextValue(series))
        }
        let scaling = dataRecord.normalization.features[0]
        // The inputs of the first forecast, and the state it starts from: a stateful model reads
        // the series in chunks, its state carried, up to the last chunk.
        var window = (isStateful ? series.target[...] : series.target.suffix(T)).map { Float(scaling.normalize($0)) }
        var h: [Float]? = nil
        let chunk = 256
        while window.count > chunk {
            let head = Array(window.prefix(chunk))
            head.withUnsafeBufferPointer { x in
                if let h {
                    h.withUnsafeBufferPointer { network.forward(x, batch: 1, steps: chunk, initialHidden: $0) }
                } else {
                    network.forward(x, batch: 1, steps: chunk)
                }
            }
            h = network.finalHidden()
            window.removeFirst(chunk)
        }
        var level = series.levels?.last
        for _ in 0..<horizon {
            let steps = window.count
            window.withUnsafeBufferPointer { x in
                if let h {
                    h.withUnsafeBufferPointer { network.forward(x, batch: 1, steps: steps, initialHidden: $0) }
                } else {
                    network.forward(x, batch: 1, steps: steps)
                }
            }
            let scaled = network.lastOutput(0)[0]
            // The model's next value: a level, or for differenced series a change added to the last level.
            let value = dataRecord.normalization.target.denormalize(Double(scaled))
            if let l = level {
                level = l + value
                try emit(l + value)
            } else {
                try emit(value)
            }
            if isStateful {
                // Carry the state; the next step reads only the value just forecast.
                h = network.finalHidden()
                window = [Float(scaling.normalize(value))]
            } else {
                window.removeFirst()
                window.append(Float(scaling.normalize(value)))
            }
        }
    }

    /// The next value after the last T rows of a series of several features (windowed models).
    func nextValue(_ series: Series) throws -> Double {
        let T = options.seqLen, I = series.featureColumns.count
        let n = series.rowCount
        var x = [Float](repeating: 0, count: T * I)
        for t in 0..<T {
            for f in 0..<I {
                x[t * I + f] = Float(
                    dataRecord.normalization.features[f].normalize(series.featureColumns[f][n - T + t]))
            }
        }
        x.withUnsafeBufferPointer { network.forward($0, batch: 1, steps: T) }
        let scaled = network.lastOutput(0)[0]
        let value = dataRecord.normalization.target.denormalize(Double(scaled))
        return series.levels.map { ($0.last ?? 0) + value } ?? value
    }

    /// A univariate series of `values` of the target, through the checkpoint's pipeline
    /// (differenced when the model reads differences).
    public func series(values: [Double]) throws -> Series {
        let name = dataRecord.targetName
        guard dataRecord.vocabulary == nil, dataRecord.featureNames == [name] else {
            throw RunError(
                "`input` is for a model of \(name) alone; this one reads \(dataRecord.featureNames.joined(separator: ", ")): give a CSV of \(options.seqLen) rows with `data`"
            )
        }
        let series = Series(
            featureColumns: [values], featureNames: [name], target: values, targetName: name, vocabulary: nil)
        return dataRecord.options.difference ? try series.differenced() : series
    }
}
