import ElmanCore
import ElmanData
import ElmanRun

/// Forecasting past the end of a series: from its last values, feeding predictions back.
extension TrainedModel {
    /// Forecasts `horizon` values past the end of the series by feeding predictions back: from
    /// the last T values (stateless models), or after warming the state over the whole series
    /// (stateful models). Needs a univariate model (the target is the only feature).
    public func forecast(_ series: Series, horizon: Int, scaling: Normalization? = nil) throws -> [Double] {
        var values: [Double] = []
        try forecast(series, horizon: horizon, scaling: scaling) { values.append($0) }
        return values
    }

    /// `forecast(_:horizon:)` value by value: `emit` gets each as soon as it is known, so a long
    /// horizon holds nothing in memory (and a throwing `emit` stops it). `scaling` is the
    /// series' own (a panel's member); by default the checkpoint's.
    public func forecast(
        _ series: Series, horizon: Int, scaling given: Normalization? = nil, emit: (Double) throws -> Void
    ) throws {
        let norm = given ?? dataRecord.normalization
        guard horizon >= 1 else { throw RunError.usage("`horizon` must be at least 1, got \(horizon)") }
        guard series.vocabulary == nil else { throw RunError.usage("`horizon` is for numeric series; use generate for text") }
        let T = options.seqLen
        let levels = series.levels?.count ?? series.rowCount
        guard series.rowCount >= (isStateful ? 1 : T) else {
            throw RunError(
                "the model forecasts from \(rowsToForecastFrom) values of \(dataRecord.targetName); the data has \(levels)"
            )
        }
        if options.leads > 1 {
            // A model of several leads forecasts them all from the last window, without feed-back
            // (so a model of several features forecasts as far as its head reaches).
            guard horizon <= options.leads else {
                throw RunError.usage(
                    "the model forecasts \(options.leads) steps at once; `horizon` \(horizon) is more than its head gives")
            }
            var recent = LevelRing(series.levels ?? [], lag: lag)
            for value in try leadValues(series, norm).prefix(horizon) { try emit(recent.next(value)) }
            return
        }
        if let parts = dataRecord.options.calendar, !parts.isEmpty, !isStateful,
            series.featureNames == [series.targetName] + parts.flatMap(\.columnNames)
        {
            return try forecastWithCalendar(series, parts, horizon: horizon, norm, emit: emit)
        }
        guard series.featureNames == [series.targetName] else {
            // Several features: one step ahead only, as the features of later steps are unknown.
            guard horizon == 1, !isStateful else {
                throw RunError(
                    "`horizon` \(horizon) needs the target as the only feature (the model reads \(series.featureNames.joined(separator: ", "))): a model of several features forecasts one step, unless trained with `horizon` \(horizon)"
                )
            }
            return try emit(nextValue(series, norm))
        }
        let scaling = norm.features[0]
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
        // A model of changes at lag K adds its forecast to the level K steps before: the last K
        // levels, forecasts included, in a ring (a long horizon keeps no more than that).
        var recent = LevelRing(series.levels ?? [], lag: lag)
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
            let value = norm.target.denormalize(Double(scaled))
            try emit(recent.next(value))
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

    /// `forecast` of a model of the target and calendar inputs: the calendar is known at every
    /// future step (the series' times carried on by its step), so the forecasts are fed back
    /// as the target's input and the model forecasts any horizon.
    func forecastWithCalendar(
        _ series: Series, _ parts: [CalendarPart], horizon: Int, _ norm: Normalization, emit: (Double) throws -> Void
    ) throws {
        guard let times = series.times, let last = times.last, let step = TimeStep(inferringFrom: times) else {
            throw RunError("the calendar inputs of later steps need the series' times, at least two of them apart")
        }
        let T = options.seqLen, I = series.featureColumns.count, n = series.rowCount
        // x: (T, I) row-major, the last T rows scaled.
        var x = [Float](repeating: 0, count: T * I)
        for t in 0..<T {
            for f in 0..<I { x[t * I + f] = Float(norm.features[f].normalize(series.featureColumns[f][n - T + t])) }
        }
        var recent = LevelRing(series.levels ?? [], lag: lag)
        for k in 1...horizon {
            x.withUnsafeBufferPointer { network.forward($0, batch: 1, steps: T) }
            // A level, or for a model of changes the change: the target's own input either way.
            let value = norm.target.denormalize(Double(network.lastOutput(0)[0]))
            try emit(recent.next(value))
            // The window moves one step on: the value just forecast, and the calendar at its time.
            x.removeFirst(I)
            x.append(Float(norm.features[0].normalize(value)))
            for (f, c) in CalendarPart.row(parts, time: step.advance(last, by: k)).enumerated() {
                x.append(Float(norm.features[1 + f].normalize(c)))
            }
        }
    }

    /// The next value after the last T rows of a series of several features (windowed models).
    func nextValue(_ series: Series, _ norm: Normalization) throws -> Double {
        var recent = LevelRing(series.levels ?? [], lag: lag)
        return recent.next(try leadValues(series, norm)[0])
    }

    /// The head's outputs for the window of the series' last T rows, in the target's units: one
    /// per lead (a change for a model of changes, else a level).
    func leadValues(_ series: Series, _ norm: Normalization) throws -> [Double] {
        let T = options.seqLen, I = series.featureColumns.count
        let n = series.rowCount
        var x = [Float](repeating: 0, count: T * I)
        for t in 0..<T {
            for f in 0..<I {
                x[t * I + f] = Float(
                    norm.features[f].normalize(series.featureColumns[f][n - T + t]))
            }
        }
        x.withUnsafeBufferPointer { network.forward($0, batch: 1, steps: T) }
        return network.lastOutput(0).map { norm.target.denormalize(Double($0)) }
    }

    /// A univariate series of `values` of the target, through the checkpoint's pipeline
    /// (differenced when the model reads differences).
    public func series(values: [Double]) throws -> Series {
        let name = dataRecord.targetName
        guard dataRecord.vocabulary == nil, dataRecord.featureNames == [name] else {
            throw RunError.usage(
                "this model reads \(dataRecord.featureNames.joined(separator: ", ")): give each column as `input` NAME=v,v,…, or a CSV of \(rowsToForecastFrom) rows with `data`"
            )
        }
        guard values.count >= rowsToForecastFrom else {
            let why = lag > 1 ? " (a window of \(options.seqLen) seasonal changes, each \(lag) values apart)" : ""
            throw RunError.usage(
                "the model forecasts from \(rowsToForecastFrom) values of \(name)\(why); `input` gives \(values.count)")
        }
        let series = Series(
            featureColumns: [values], featureNames: [name], target: values, targetName: name, vocabulary: nil)
        return lag > 0 ? try series.differenced(lag: lag) : series
    }

    /// A series of named columns (`predict --input x=46,47,… --input y=…`), through the
    /// checkpoint's pipeline: every input column the model reads, and the target when the model
    /// reads it or adds its changes to it; all the same length, at least `rowsToForecastFrom`.
    public func series(columns: [(name: String, values: [Double])]) throws -> Series {
        guard dataRecord.vocabulary == nil else { throw RunError.usage("`input` is for numeric series") }
        let target = dataRecord.targetName, features = dataRecord.featureNames
        var given: [String: [Double]] = [:]
        for (name, values) in columns {
            guard features.contains(name) || name == target else {
                throw RunError.usage(
                    "`input` names \(name), which the model does not read (it reads \(features.joined(separator: ", ")); target \(target))")
            }
            guard given.updateValue(values, forKey: name) == nil else { throw RunError.usage("`input` gives \(name) twice") }
        }
        let needed = features + (features.contains(target) || lag == 0 ? [] : [target])
        let missing = needed.filter { given[$0] == nil }
        guard missing.isEmpty else {
            let why = features.contains(target) || lag == 0 ? "" : " (the model forecasts changes of \(target): it needs its values too)"
            throw RunError.usage("`input` needs \(missing.map { "\($0)=v,v,…" }.joined(separator: " and "))\(why)")
        }
        let counts = Set(needed.compactMap { given[$0]?.count })
        guard counts.count == 1, let count = counts.first else {
            throw RunError.usage("`input` columns must have the same number of values, got \(needed.map { "\($0): \(given[$0]?.count ?? 0)" }.joined(separator: ", "))")
        }
        guard count >= rowsToForecastFrom else {
            throw RunError.usage("the model forecasts from \(rowsToForecastFrom) rows of \(needed.joined(separator: ", ")); `input` gives \(count)")
        }
        let targetValues = given[target] ?? [Double](repeating: 0, count: count)  // unused by a model of levels
        let series = Series(
            featureColumns: features.map { given[$0] ?? [] }, featureNames: features, target: targetValues,
            targetName: target, vocabulary: nil)
        return lag > 0 ? try series.differenced(lag: lag) : series
    }
}
