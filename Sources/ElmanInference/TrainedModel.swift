import ElmanCheckpoint
import ElmanCore
import ElmanData
import ElmanRun

#if canImport(Glibc)
import Glibc
#endif

/// A trained model loaded from a checkpoint, for prediction, evaluation and generation.
public final class TrainedModel {
    public let checkpoint: Checkpoint
    public let options: TrainingOptions
    public let dataRecord: DataRecord
    public let network: ElmanNetwork
    /// The checkpoint file it was loaded from.
    public let path: String

    /// Loads and verifies `path` (a checkpoint file).
    public init(path: String) throws {
        self.path = path
        checkpoint = try Checkpoint.load(path: path)
        options = try checkpoint.trainingOptions
        dataRecord = try checkpoint.dataRecord
        network = ElmanNetwork(config: checkpoint.model)
        network.parameters.assign(checkpoint.parameters)
    }

    /// Whether the model was trained statefully (its state carried along one stream).
    public var isStateful: Bool { options.stateful }

    /// The data options a request resolves to: the checkpoint's pipeline with only the source
    /// changed; a setting that contradicts the checkpoint is an error naming both values.
    public func dataOptions(_ request: DataRequest) throws(DataError) -> DataOptions {
        try dataRecord.options.resolving(request)
    }

    /// The series a request names, through the checkpoint's pipeline (features, differencing, vocabulary).
    public func series(_ request: DataRequest) throws -> Series {
        let series = try Series.load(try dataOptions(request), vocabulary: dataRecord.vocabulary)
        if series.vocabulary == nil && series.featureColumns.count != checkpoint.model.inputSize {
            throw RunError(
                "the model takes \(checkpoint.model.inputSize) feature(s) (\(dataRecord.featureNames.joined(separator: ", "))), the data gives \(series.featureColumns.count)"
            )
        }
        return series
    }

    /// The data a command runs the model on, scaled as in training: the training data with its
    /// validation split, or new data whole (every window of it, nothing held out).
    public func dataset(_ request: DataRequest = DataRequest()) throws -> WindowedDataset {
        try dataset(try series(request), whole: request.isNewData)
    }

    /// `series` split as in training (or `whole`), with the checkpoint's scaling.
    public func dataset(_ series: Series, whole: Bool) throws -> WindowedDataset {
        try WindowedDataset(
            series: series, seqLen: options.seqLen, validationFraction: whole ? 0 : options.validationFraction,
            scaling: .fixed(dataRecord.normalization), split: isStateful ? .stream : .windows)
    }

    /// Rows a forecast needs: T values (stateless) or at least one (stateful), one more when the
    /// model reads differences.
    public var rowsToForecastFrom: Int { (isStateful ? 1 : options.seqLen) + (dataRecord.options.difference ? 1 : 0) }

    /// Which predictions to make on a dataset.
    public enum Selection: Sendable, Equatable {
        /// Windows (stateless models): each predicts the row after it, from h = 0.
        case windows(Range<Int>)
        /// One lane (stateful models): the state is warmed over rows `warm`, then each row of
        /// `scored` predicts the next; `scored` follows `warm` directly.
        case lane(warm: Range<Int>, scored: Range<Int>)

        /// Number of predictions.
        public var count: Int {
            switch self {
            case let .windows(w): w.count
            case let .lane(_, scored): scored.count
            }
        }
    }

    /// The parts of a dataset `eval` can score.
    public enum Split: String, Sendable, CaseIterable {
        case validation, train, all
    }

    /// The predictions of one split: for a stateful model, the state is warmed over the rows before it.
    public func selection(_ data: WindowedDataset, _ split: Split) -> Selection {
        switch (data.split, split) {
        case (.windows, .validation): .windows(data.trainCount..<data.windowCount)
        case (.windows, .train): .windows(0..<data.trainCount)
        case (.windows, .all): .windows(0..<data.windowCount)
        case (.stream, .validation): .lane(warm: 0..<data.trainCount, scored: data.trainCount..<(data.rowCount - 1))
        case (.stream, .train): .lane(warm: 0..<0, scored: 0..<(data.trainCount - 1))
        case (.stream, .all): .lane(warm: 0..<0, scored: 0..<(data.rowCount - 1))
        }
    }

    /// Whether the target at `row` lies in the training part of the data.
    public func isTraining(targetRow row: Int, of data: WindowedDataset) -> Bool {
        data.split == .windows ? row - data.seqLen < data.trainCount : row < data.trainCount
    }

    /// The predictions for the held-out part of the training data (validation windows, or the
    /// validation rows after the state is warmed over the training rows), or all when none was held out.
    public func defaultSelection(_ data: WindowedDataset) -> Selection {
        selection(data, data.validationCount > 0 ? .validation : .all)
    }

    /// Calls `visit(targetRow, output)` for every prediction of `selection`: the output of the
    /// step that predicts the target at `targetRow`.
    func forEachPrediction(
        _ data: WindowedDataset, _ selection: Selection, visit: (Int, UnsafeBufferPointer<Float>) -> Void
    ) {
        let T = options.seqLen, O = checkpoint.model.outputSize
        let step = LocalStep(network: network, data: data, loss: options.loss)
        switch selection {
        case let .windows(windows):
            let everyStep = checkpoint.model.head == .every
            for start in stride(from: windows.lowerBound, to: windows.upperBound, by: 256) {
                let batch = start..<min(start + 256, windows.upperBound)
                step.forward(windows: batch, gradient: false)
                let out = network.output
                for k in 0..<batch.count {
                    // The prediction for row window+T: the last step's output.
                    let offset = everyStep ? (k * T + T - 1) * O : k * O
                    visit(start + k + T, UnsafeBufferPointer(rebasing: out[offset..<offset + O]))
                }
            }
        case let .lane(warm, scored):
            // One lane, its state carried chunk to chunk; chunk length changes nothing but speed.
            let chunk = 256
            var h = [Float](repeating: 0, count: checkpoint.model.layers * checkpoint.model.hiddenSize)
            var row = warm.lowerBound
            while row < scored.upperBound {
                let steps = min(chunk, (row < warm.upperBound ? warm.upperBound : scored.upperBound) - row)
                h.withUnsafeBufferPointer {
                    _ = step.forward(runsFrom: [row], steps: steps, initialHidden: $0, gradient: false)
                }
                h = network.finalHidden()
                if row >= scored.lowerBound {
                    let out = network.output
                    for t in 0..<steps { visit(row + t + 1, UnsafeBufferPointer(rebasing: out[t * O..<(t + 1) * O])) }
                }
                row += steps
            }
        }
    }

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
        let T = options.seqLen
        let step = LocalStep(network: network, data: data, loss: options.loss)
        var result: [(Int, Int, Prediction)] = []
        for start in stride(from: windows.lowerBound, to: windows.upperBound, by: 256) {
            let batch = start..<min(start + 256, windows.upperBound)
            step.forward(windows: batch, gradient: false)
            let out = network.output  // (B, T, 1)
            for k in 0..<batch.count {
                for t in 0..<T {
                    let w = start + k
                    result.append((w, t, prediction(data, row: w + t + 1, output: out[k * T + t], season: nil)))
                }
            }
        }
        return result
    }

    /// Scores the model on `selection` next to the last-value forecast, and the seasonal naive
    /// forecast of period `season` when given (over the predictions whose season is in the data).
    public func evaluate(_ data: WindowedDataset, _ selection: Selection, season: Int? = nil) -> Evaluation {
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
        let scale = dataRecord.naiveMAE
        let seasonal = p.compactMap { x in x.seasonal.map { (forecast: $0, actual: x.actual) } }
        return Evaluation(
            windows: selection.count, model: ErrorMetrics(p.map { ($0.predicted, $0.actual) }, scale: scale),
            naive: ErrorMetrics(p.map { ($0.naive, $0.actual) }, scale: scale),
            seasonal: season == nil ? nil : ErrorMetrics(seasonal, scale: scale))
    }

    /// The errors at each lead 1 … `horizon` of forecasts from every window of `windows` whose
    /// leads lie in the data, the model's predictions fed back (univariate windowed models).
    public func evaluate(_ data: WindowedDataset, windows: Range<Int>, horizon H: Int) throws -> [LeadErrors] {
        guard H >= 1 else { throw RunError.usage("`horizon` must be at least 1, got \(H)") }
        guard !isStateful, !data.isClassification, data.inputSize == 1,
            dataRecord.featureNames == [dataRecord.targetName]
        else {
            throw RunError.usage("`horizon` evaluation needs a windowed (not stateful) model of the target alone")
        }
        let T = options.seqLen, O = checkpoint.model.outputSize
        let everyStep = checkpoint.model.head == .every
        // Windows followed by H rows: their starts end at rowCount − T − H (none when the data is short).
        let end = min(windows.upperBound, data.rowCount - T - H + 1)
        guard end > windows.lowerBound else {
            throw RunError("no window is followed by \(H) rows to score `horizon` \(H) (the data has \(data.rowCount) rows, a window \(T))")
        }
        let usable = windows.lowerBound..<end
        let feature = dataRecord.normalization.features[0]
        var model = [[(forecast: Double, actual: Double)]](repeating: [], count: H)
        var naive = model
        for start in stride(from: usable.lowerBound, to: usable.upperBound, by: 256) {
            let batch = start..<min(start + 256, usable.upperBound)
            var x = [Float](repeating: 0, count: batch.count * T)
            var y = [Float](repeating: 0, count: batch.count * T)
            data.fill(windows: batch, everyStep: false, x: &x, y: &y)
            var level = batch.map { data.level(row: $0 + T - 1) }  // the last known level
            let last = level
            for lead in 1...H {
                x.withUnsafeBufferPointer { network.forward($0, batch: batch.count, steps: T) }
                let out = network.output
                for (k, w) in batch.enumerated() {
                    let scaled = out[everyStep ? (k * T + T - 1) * O : k * O]
                    let value = dataRecord.normalization.target.denormalize(Double(scaled))
                    // A differenced model forecasts the change: add it to the level so far.
                    let forecast = data.isDifferenced ? level[k] + value : value
                    level[k] = forecast
                    let actual = data.level(row: w + T + lead - 1)
                    model[lead - 1].append((forecast, actual))
                    naive[lead - 1].append((last[k], actual))
                    // Feed the forecast back: the window moves one step on.
                    let row = k * T
                    for t in 0..<T - 1 { x[row + t] = x[row + t + 1] }
                    x[row + T - 1] = Float(feature.normalize(data.isDifferenced ? value : forecast))
                }
            }
        }
        let scale = dataRecord.naiveMAE
        return (0..<H).map {
            LeadErrors(
                lead: $0 + 1, model: ErrorMetrics(model[$0], scale: scale), naive: ErrorMetrics(naive[$0], scale: scale)
            )
        }
    }

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
        let O = checkpoint.model.outputSize
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
            let out = network.output
            let scaled = checkpoint.model.head == .every ? out[(steps - 1) * O] : out[0]
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
        let T = options.seqLen, I = series.featureColumns.count, O = checkpoint.model.outputSize
        let n = series.rowCount
        var x = [Float](repeating: 0, count: T * I)
        for t in 0..<T {
            for f in 0..<I {
                x[t * I + f] = Float(
                    dataRecord.normalization.features[f].normalize(series.featureColumns[f][n - T + t]))
            }
        }
        x.withUnsafeBufferPointer { network.forward($0, batch: 1, steps: T) }
        let scaled = checkpoint.model.head == .every ? network.output[(T - 1) * O] : network.output[0]
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

    /// Generates `length` characters after `prime`, sampling at `temperature` (0: most likely).
    public func generate(prime: String, length: Int, temperature: Double, seed: UInt64) throws -> String {
        var text = ""
        try generate(prime: prime, length: length, temperature: temperature, seed: seed) { text += $0 }
        return text
    }

    /// `generate(prime:length:temperature:seed:)` piece by piece: `emit` gets the prime, then
    /// each character as it is sampled, so any length runs in constant memory.
    public func generate(
        prime: String, length: Int, temperature: Double, seed: UInt64, emit: (String) throws -> Void
    ) throws {
        guard let vocabulary = dataRecord.vocabulary else {
            throw RunError("generate needs a character model (trained on text)")
        }
        guard length >= 0 else { throw RunError.usage("`length` must be ≥ 0") }
        guard temperature.isFinite else { throw RunError.usage("`temperature` must be a finite number, got \(temperature)") }
        guard temperature >= 0 else { throw RunError.usage("`temperature` must be ≥ 0, got \(temperature)") }
        var index: [String: Int] = [:]
        for (i, c) in vocabulary.enumerated() { index[c] = i }
        let V = vocabulary.count, H = checkpoint.model.hiddenSize, L = checkpoint.model.layers
        let primeChars = prime.isEmpty ? [vocabulary[0]] : prime.map(String.init)
        var classes: [Int] = []
        for c in primeChars {
            guard let k = index[c] else {
                throw RunError("prime character \(c.debugDescription) is not in the model's vocabulary")
            }
            classes.append(k)
        }
        var rng = SeededGenerator(seed: seed, stream: 0x3_0000)
        var hidden = [Float](repeating: 0, count: L * H)

        /// Feeds `classes` one-hot from the carried hidden state; returns the last step's logits.
        func step(_ classes: [Int]) -> [Double] {
            let T = classes.count
            var x = [Float](repeating: 0, count: T * V)
            for (t, k) in classes.enumerated() { x[t * V + k] = 1 }
            x.withUnsafeBufferPointer { xb in
                hidden.withUnsafeBufferPointer { network.forward(xb, batch: 1, steps: T, initialHidden: $0) }
            }
            hidden = network.finalHidden()
            let base = checkpoint.model.head == .every ? (T - 1) * V : 0
            return (0..<V).map { Double(network.output[base + $0]) }
        }

        func sample(_ logits: [Double]) -> Int {
            guard temperature > 0 else { return logits.indices.max { logits[$0] < logits[$1] } ?? 0 }
            let m = logits.max() ?? 0
            let w = logits.map { exp(($0 - m) / temperature) }
            var u = rng.nextUnitDouble() * w.reduce(0, +)
            for (i, wi) in w.enumerated() {
                u -= wi
                if u < 0 { return i }
            }
            return V - 1
        }

        try emit(prime)
        var logits = step(classes)
        for _ in 0..<length {
            let next = sample(logits)
            try emit(vocabulary[next])
            logits = step([next])
        }
    }
}
