import ElmanData
import ElmanDistributed
import ElmanInference
import ElmanRun
import ElmanTraining
import TestSupport
import ElmanCore
import Testing

/// Training runs on real and synthetic data, with fixed seeds, bounded against baselines.
@Suite("Learning")
struct LearningTests {
    func evaluate(_ dir: String) throws -> Evaluation {
        let m = try TrainedModel(path: try resolveCheckpointPath(dir))
        let d = try m.dataset()
        return m.evaluate(d, m.defaultSelection(d))
    }

    func resolveCheckpointPath(_ dir: String) throws -> String {
        dir + "/"
            + (try String(contentsOfFile: dir + "/latest", encoding: .utf8)).trimmingCharacters(
                in: .whitespacesAndNewlines)
    }

    func defaults(_ dir: String) -> TrainingOptions {
        var o = TrainingOptions()
        o.checkpointDirectory = dir
        return o
    }

    @Test("hourly Seattle temperatures: the default model beats the naive forecast on validation")
    func seattleTemperatures() throws {
        let dir = try Scratch.directory()
        try train(defaults(dir), DataOptions(source: .csv(path: Fixtures.example("seattle-temps.csv")), target: "temp"))
        let e = try evaluate(dir)
        let model = try #require(e.model), naive = try #require(e.naive)
        #expect(model.mse < 0.7 * naive.mse, "model \(model.mse) vs naive \(naive.mse)")
    }

    @Test("AMZN monthly prices, differenced: the default model beats the naive forecast on validation")
    func stocks() throws {
        let dir = try Scratch.directory()
        try train(
            defaults(dir),
            DataOptions(
                source: .csv(path: Fixtures.example("stocks.csv")), target: "price",
                filter: "symbol=AMZN", difference: true))
        let e = try evaluate(dir)
        let model = try #require(e.model), naive = try #require(e.naive)
        #expect(model.mse < naive.mse, "model \(model.mse) vs naive \(naive.mse)")
    }

    /// The validation windows of `2*x+1` lie past the training range; relu units extrapolate a
    /// line where saturating tanh units cannot, so the linear formula trains with relu.
    @Test(
        "formula:2*x+1 (relu) and sine reach a small validation loss",
        arguments: [
            (DataSpec.formula("2*x+1"), Activation.relu, 0.01), (DataSpec.sine, Activation.tanh, 0.005),
        ])
    func synthetic(_ source: DataSpec, _ activation: Activation, _ bound: Double) throws {
        let dir = try Scratch.directory()
        var o = defaults(dir)
        o.activation = activation
        let (_, summary) = try train(o, DataOptions(source: source))
        let v = try #require(summary.validationLoss)
        #expect(v < bound, "validation MSE \(v) (normalised units)")
    }

    /// On a 1.5 kB text a character model memorises after ~50 steps; early stopping keeps the
    /// best validation loss, which is what a user of this corpus should use.
    @Test("a character model beats the unigram baseline")
    func characters() throws {
        let dir = try Scratch.directory()
        var o = defaults(dir)
        o.loss = .crossEntropy
        o.head = .every
        o.hidden = 64
        o.seqLen = 32
        o.epochs = 8
        o.evalEvery = 10
        o.earlyStop = 3
        o.optimizer.learningRate = 0.01
        let data = DataOptions(source: .text(path: Fixtures.example("recurrence.txt")))
        let (_, summary) = try train(o, data)
        // Unigram baseline: the entropy of the character frequencies.
        let series = try Series.load(data)
        let classes = try #require(series.classes)
        var counts: [Int: Int] = [:]
        for i in 0..<classes.count { counts[classes[i], default: 0] += 1 }
        let n = Double(series.rowCount)
        let unigram = counts.values.reduce(0.0) { $0 - Double($1) / n * log(Double($1) / n) }
        #expect(summary.stoppedEarly)
        let v = try #require(summary.bestValidationLoss)
        #expect(v < unigram - 0.5, "best validation cross-entropy \(v), unigram \(unigram)")
        let m = try TrainedModel(path: try resolveCheckpointPath(dir))
        let text = try m.generate(prime: "The ", length: 40, temperature: 0.5, seed: 1)
        #expect(text.hasPrefix("The ") && text.count == 44)
    }
}

import Foundation
