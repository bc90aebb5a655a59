import ElmanCheckpoint
import ElmanCore
import ElmanData
import ElmanRun

#if canImport(Glibc)
import Glibc
#endif

/// One next-step prediction in original units.
public struct Prediction: Sendable, Equatable {
    /// Row of the series the prediction is for (window start + T).
    public var row: Int
    public var predicted: Double
    public var actual: Double
    /// The naive forecast: the target at the row before.
    public var naive: Double
}

/// Error measures of a set of predictions, in original units.
public struct ErrorMetrics: Sendable, Equatable, Codable {
    public var mse: Double
    public var rmse: Double
    public var mae: Double

    init(_ pairs: [(Double, Double)]) {
        let n = Double(max(pairs.count, 1))
        mse = pairs.reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / n
        rmse = mse.squareRoot()
        mae = pairs.reduce(0) { $0 + abs($1.0 - $1.1) } / n
    }
}

/// What `eval` reports.
public struct Evaluation: Sendable {
    public var windows: Int
    /// Regression: the model's errors and the naive last-value forecast's.
    public var model: ErrorMetrics?
    public var naive: ErrorMetrics?
    /// Classification: share of correct next classes, and the naive "same as before" share.
    public var accuracy: Double?
    public var naiveAccuracy: Double?
    public var crossEntropy: Double?
}

/// A trained model loaded from a checkpoint, for prediction, evaluation and generation.
public final class TrainedModel {
    public let checkpoint: Checkpoint
    public let options: TrainingOptions
    public let dataRecord: DataRecord
    public let network: ElmanNetwork

    /// Loads and verifies `path` (a checkpoint file).
    public init(path: String) throws {
        checkpoint = try Checkpoint.load(path: path)
        options = try checkpoint.trainingOptions
        dataRecord = try checkpoint.dataRecord
        network = ElmanNetwork(config: checkpoint.model)
        network.parameters.assign(checkpoint.parameters)
    }

    /// The checkpoint's data, or `override`, windowed with the checkpoint's scaling.
    public func dataset(_ override: DataOptions?) throws -> WindowedDataset {
        let series = try Series.load(override ?? dataRecord.options, vocabulary: dataRecord.vocabulary)
        if series.vocabulary == nil && series.featureColumns.count != checkpoint.model.inputSize {
            throw RunError(
                "the model takes \(checkpoint.model.inputSize) feature(s) (\(dataRecord.featureNames.joined(separator: ", "))), the data gives \(series.featureColumns.count)"
            )
        }
        return try WindowedDataset(
            series: series, seqLen: options.seqLen, validationFraction: options.validationFraction,
            scaling: .fixed(dataRecord.normalization))
    }

    /// Runs windows through the network in batches; calls `visit(window, lastStepOutput)` for each.
    func run(_ data: WindowedDataset, windows: Range<Int>, visit: (Int, UnsafeBufferPointer<Float>) -> Void) {
        let T = options.seqLen, O = checkpoint.model.outputSize
        let everyStep = checkpoint.model.head == .every
        let step = LocalStep(network: network, data: data, loss: options.loss)
        for start in stride(from: windows.lowerBound, to: windows.upperBound, by: 256) {
            let batch = start..<min(start + 256, windows.upperBound)
            step.forward(windows: batch)
            let out = network.output
            for k in 0..<batch.count {
                // The prediction for row window+T: the last step's output.
                let offset = everyStep ? (k * T + T - 1) * O : k * O
                visit(start + k, UnsafeBufferPointer(rebasing: out[offset..<offset + O]))
            }
        }
    }

    /// Next-step predictions in original units for `windows` (regression models).
    public func predictions(_ data: WindowedDataset, windows: Range<Int>) -> [Prediction] {
        var result: [Prediction] = []
        result.reserveCapacity(windows.count)
        let T = options.seqLen
        run(data, windows: windows) { w, out in
            let row = w + T
            result.append(
                Prediction(
                    row: row + data.levelOffset, predicted: data.predictedLevel(row: row, output: out[0]),
                    actual: data.level(row: row), naive: data.level(row: row - 1)))
        }
        return result
    }

    /// The windows `eval` scores by default: validation when the run held some out, else all.
    public func defaultWindows(_ data: WindowedDataset) -> Range<Int> {
        data.validationCount > 0 ? data.trainCount..<data.windowCount : 0..<data.windowCount
    }

    /// Scores the model on `windows` next to the naive last-value forecast.
    public func evaluate(_ data: WindowedDataset, windows: Range<Int>) -> Evaluation {
        if data.isClassification {
            var correct = 0, naiveCorrect = 0
            var ce = 0.0
            let T = options.seqLen
            run(data, windows: windows) { w, out in
                let actual = Int(data.scaledTarget(row: w + T))
                let best = out.indices.max { out[$0] < out[$1] } ?? 0
                if best == actual { correct += 1 }
                if Int(data.scaledTarget(row: w + T - 1)) == actual { naiveCorrect += 1 }
                let m = out.max() ?? 0
                let lse = Double(m) + log(out.reduce(0.0) { $0 + exp(Double($1 - m)) })
                ce += lse - Double(out[actual])
            }
            let n = Double(max(windows.count, 1))
            return Evaluation(
                windows: windows.count, accuracy: Double(correct) / n,
                naiveAccuracy: Double(naiveCorrect) / n, crossEntropy: ce / n)
        }
        let p = predictions(data, windows: windows)
        return Evaluation(
            windows: windows.count, model: ErrorMetrics(p.map { ($0.predicted, $0.actual) }),
            naive: ErrorMetrics(p.map { ($0.naive, $0.actual) }))
    }

    /// Forecasts `horizon` values past the end of the series by feeding predictions back.
    ///
    /// Needs a univariate model (the target is the only feature).
    public func forecast(_ series: Series, horizon: Int) throws -> [Double] {
        guard horizon >= 1 else { throw RunError("`horizon` must be at least 1, got \(horizon)") }
        guard series.vocabulary == nil else { throw RunError("`horizon` is for numeric series; use generate for text") }
        guard series.featureNames == [series.targetName] else {
            throw RunError(
                "`horizon` needs the target as the only feature (the model reads \(series.featureNames.joined(separator: ", ")))"
            )
        }
        let T = options.seqLen
        guard series.rowCount >= T else {
            throw RunError("need at least \(T) rows to forecast from, the data has \(series.rowCount)")
        }
        let scaling = dataRecord.normalization.features[0]
        var window = series.target.suffix(T).map { Float(scaling.normalize($0)) }
        var level = series.levels?.last
        var result: [Double] = []
        let O = checkpoint.model.outputSize
        for _ in 0..<horizon {
            window.withUnsafeBufferPointer { network.forward($0, batch: 1, steps: T) }
            let out = network.output
            let scaled = checkpoint.model.head == .every ? out[(T - 1) * O] : out[0]
            // The model's next value: a level, or for differenced series a change added to the last level.
            let value = dataRecord.normalization.target.denormalize(Double(scaled))
            if let l = level {
                level = l + value
                result.append(l + value)
            } else {
                result.append(value)
            }
            window.removeFirst()
            window.append(Float(scaling.normalize(value)))
        }
        return result
    }

    /// Generates `length` characters after `prime`, sampling at `temperature` (0: most likely).
    public func generate(prime: String, length: Int, temperature: Double, seed: UInt64) throws -> String {
        guard let vocabulary = dataRecord.vocabulary else {
            throw RunError("generate needs a character model (trained on text)")
        }
        guard length >= 0 else { throw RunError("`length` must be ≥ 0") }
        guard temperature >= 0, temperature.isFinite else { throw RunError("`temperature` must be ≥ 0") }
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

        var logits = step(classes)
        var generated = ""
        for _ in 0..<length {
            let next = sample(logits)
            generated += vocabulary[next]
            logits = step([next])
        }
        return prime + generated
    }
}
