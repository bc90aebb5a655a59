import ElmanCore
import ElmanData
import ElmanRun

#if canImport(Glibc)
import Glibc
#endif

/// Scoring a trained model: predictions in the data's units and their errors next to the naive forecasts.
extension TrainedModel {
    /// Next-step predictions in original units (regression models).
    public func predictions(_ data: WindowedDataset, _ selection: Selection, season: Int? = nil) -> [Prediction] {
        var result: [Prediction] = []
        result.reserveCapacity(selection.count)
        forEachPrediction(data, selection) { row, out in
            result.append(prediction(data, row: row, output: out[0], season: season))
        }
        return result
    }

    /// The prediction `output` (scaled) makes for the target at `row`, with the naive forecasts.
    func prediction(_ data: WindowedDataset, row: Int, output: Float, season: Int?) -> Prediction {
        let seasonal = season.flatMap { k in row - k + data.levelOffset >= 0 ? data.level(row: row - k) : nil }
        return Prediction(
            row: row + data.levelOffset, predicted: data.predictedLevel(row: row, output: output),
            actual: data.level(row: row), naive: data.level(row: row - 1), seasonal: seasonal)
    }

    /// Every step's prediction of windows `windows` of a model with a head on every step:
    /// (window, step, prediction), step t of window w predicting row w + t + 1.
    public func stepPredictions(_ data: WindowedDataset, windows: Range<Int>) -> [(Int, Int, Prediction)] {
        var result: [(Int, Int, Prediction)] = []
        ForwardPass(LocalStep(network: network, data: data, loss: options.loss)).everyStep(windows) { w, t, output in
            result.append((w, t, prediction(data, row: w + t + 1, output: output[0], season: nil)))
        }
        return result
    }

    /// Scores the model on `selection` next to the last-value forecast, and the seasonal naive
    /// forecast of period `season` when given (over the predictions whose season is in the data).
    ///
    /// `scale` is MASE's (a panel's series' own); by default the checkpoint's.
    public func evaluate(_ data: WindowedDataset, _ selection: Selection, season: Int? = nil, scale: Double? = nil)
        -> Evaluation
    {
        if data.isClassification {
            var correct = 0, naiveCorrect = 0
            var ce = 0.0
            forEachPrediction(data, selection) { row, out in
                let actual = Int(data.scaledTarget(row: row))
                let best = out.indices.max { out[$0] < out[$1] } ?? 0
                if best == actual { correct += 1 }
                if Int(data.scaledTarget(row: row - 1)) == actual { naiveCorrect += 1 }
                let m = out.max() ?? 0
                let lse = Double(m) + log(out.reduce(0.0) { $0 + exp(Double($1 - m)) })
                ce += lse - Double(out[actual])
            }
            let n = Double(max(selection.count, 1))
            return Evaluation(
                windows: selection.count, accuracy: Double(correct) / n,
                naiveAccuracy: Double(naiveCorrect) / n, crossEntropy: ce / n)
        }
        let p = predictions(data, selection, season: season)
        let scale = scale ?? dataRecord.naiveMAE
        let seasonal = p.compactMap { x in x.seasonal.map { (forecast: $0, actual: x.actual) } }
        return Evaluation(
            windows: selection.count, model: ErrorMetrics(p.map { ($0.predicted, $0.actual) }, scale: scale),
            naive: ErrorMetrics(p.map { ($0.naive, $0.actual) }, scale: scale),
            seasonal: season == nil ? nil : ErrorMetrics(seasonal, scale: scale))
    }

    /// The errors at each lead 1 … `horizon` of forecasts from every window of `windows` whose
    /// leads lie in the data, the model's predictions fed back (univariate windowed models).
    public func evaluate(
        _ data: WindowedDataset, windows: Range<Int>, horizon H: Int, scale: Double? = nil, interval: Double? = nil
    ) throws -> [LeadErrors] {
        guard H >= 1 else { throw RunError.usage("`horizon` must be at least 1, got \(H)") }
        let scale = scale ?? dataRecord.naiveMAE
        if options.leads > 1 {
            return try evaluateLeads(data, windows: windows, horizon: H, scale: scale, interval: interval)
        }
        if interval != nil {
            throw RunError.usage(
                "intervals are calibrated per lead for a model trained with `horizon`; this one feeds its forecasts back, and their error grows")
        }
        // The target alone, or with calendar inputs: those are known at later rows (the data holds them).
        let calendar = dataRecord.options.calendar?.flatMap(\.columnNames) ?? []
        guard !isStateful, !data.isClassification, data.inputSize == 1 + calendar.count,
            dataRecord.featureNames == [dataRecord.targetName] + calendar
        else {
            throw RunError.usage(
                "`horizon` evaluation needs a windowed (not stateful) model of the target alone, or of the target and its calendar")
        }
        let I = data.inputSize
        let T = options.seqLen
        // Windows followed by H rows: their starts end at rowCount − T − H (none when the data is short).
        let end = min(windows.upperBound, data.rowCount - T - H + 1)
        guard end > windows.lowerBound else {
            throw RunError("no window is followed by \(H) rows to score `horizon` \(H) (the data has \(data.rowCount) rows, a window \(T))")
        }
        let usable = windows.lowerBound..<end
        let feature = data.normalization.features[0]
        var model = [[(forecast: Double, actual: Double)]](repeating: [], count: H)
        var naive = model
        for start in stride(from: usable.lowerBound, to: usable.upperBound, by: 256) {
            let batch = start..<min(start + 256, usable.upperBound)
            // x: (B, T, I) row-major.
            var x = [Float](repeating: 0, count: batch.count * T * I)
            var y = [Float](repeating: 0, count: batch.count * T)
            data.fill(windows: batch, everyStep: false, x: &x, y: &y)
            // The last known level, and for a model of changes the last `lag` levels it adds to.
            let last = batch.map { data.level(row: $0 + T - 1) }
            var recent = batch.map { w in LevelRing((0..<lag).map { data.level(row: w + T - lag + $0) }, lag: lag) }
            for lead in 1...H {
                x.withUnsafeBufferPointer { network.forward($0, batch: batch.count, steps: T) }
                for (k, w) in batch.enumerated() {
                    let scaled = network.lastOutput(k)[0]
                    let value = data.normalization.target.denormalize(Double(scaled))
                    // A model of changes forecasts the change: add it to the level `lag` steps back.
                    let forecast = recent[k].next(value)
                    let actual = data.level(row: w + T + lead - 1)
                    model[lead - 1].append((forecast, actual))
                    naive[lead - 1].append((last[k], actual))
                    // Feed the forecast back: the window moves one step on, to the row forecast,
                    // whose calendar inputs (known in advance) the data holds.
                    let base = k * T * I
                    for t in 0..<(T - 1) * I { x[base + t] = x[base + t + I] }
                    x[base + (T - 1) * I] = Float(feature.normalize(data.isDifferenced ? value : forecast))
                    if I > 1 {
                        let known = data.scaledInputs(row: data.startRow(ofWindow: w) + T + lead - 1)
                        for f in 1..<I { x[base + (T - 1) * I + f] = known[known.startIndex + f] }
                    }
                }
            }
        }
        return (0..<H).map {
            LeadErrors(
                lead: $0 + 1, model: ErrorMetrics(model[$0], scale: scale), naive: ErrorMetrics(naive[$0], scale: scale)
            )
        }
    }

    /// `evaluate(_:windows:horizon:)` for a model of several leads: each lead read off the head
    /// of one forward pass, no feed-back (any features). The dataset's windows have the model's
    /// leads after them, so every window is scored at every lead.
    func evaluateLeads(_ data: WindowedDataset, windows: Range<Int>, horizon H: Int, scale: Double?, interval: Double?)
        throws -> [LeadErrors]
    {
        guard H <= options.leads else {
            throw RunError.usage("the model forecasts \(options.leads) steps at once; `horizon` \(H) is more than its head gives")
        }
        let T = options.seqLen
        var model = [[(forecast: Double, actual: Double)]](repeating: [], count: H)
        var naive = model
        ForwardPass(LocalStep(network: network, data: data, loss: options.loss)).windows(windows) { w, output in
            var recent = LevelRing((0..<lag).map { data.level(row: w + T - lag + $0) }, lag: lag)
            let last = data.level(row: w + T - 1)
            for h in 0..<H {
                let forecast = recent.next(data.normalization.target.denormalize(Double(output[h])))
                let actual = data.level(row: w + T + h)
                model[h].append((forecast, actual))
                naive[h].append((last, actual))
            }
        }
        let calibration = try interval.map { _ in try leadCalibration(H) }
        return (0..<H).map { h in
            var errors = LeadErrors(
                lead: h + 1, model: ErrorMetrics(model[h], scale: scale), naive: ErrorMetrics(naive[h], scale: scale))
            if let level = interval, let calibration {
                let w = calibration.halfWidth(level: level, lead: h + 1)
                let inside = model[h].filter { abs($0.actual - $0.forecast) <= w }.count
                errors.interval = LeadInterval(
                    level: level, coverage: Double(inside) / Double(max(model[h].count, 1)), width: 2 * w)
            }
            return errors
        }
    }

    /// The checkpoint's calibration, when it covers `leads` leads; else a one-line reason.
    public func leadCalibration(_ leads: Int) throws -> Calibration {
        guard let c = checkpoint.calibration, c.leads >= leads else {
            throw RunError(
                checkpoint.calibration == nil
                    ? "this checkpoint has no interval calibration (it held out no validation windows, or predates intervals): train with --val-fraction above 0"
                    : "this checkpoint's intervals are calibrated for \(checkpoint.calibration?.leads ?? 1) lead(s), not \(leads): it predates intervals per lead; train again")
        }
        return c
    }
}
