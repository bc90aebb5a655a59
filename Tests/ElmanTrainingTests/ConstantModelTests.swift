import ElmanCheckpoint
import Foundation
import ElmanCore
import ElmanData
import ElmanDistributed
import ElmanRun
import ElmanTraining
import TestSupport
import Testing

@Suite("Constant models")
struct ConstantModelTests {
    /// Trains on a sine in this process; returns the warnings the run reported and its last validation loss.
    func run(
        _ configure: (inout TrainingOptions) -> Void, start: RunStart = .fresh
    ) throws -> (warnings: [String], validationLoss: Double?) {
        var o = TrainingOptions()
        o.quiet = true
        o.steps = 40
        configure(&o)
        let trainer = try Trainer(
            comm: LocalCommunicator(), options: o, data: DataOptions(source: .sine, grid: SamplingGrid(points: 400)),
            start: start)
        var found: [String] = []
        let summary = try trainer.run { event in
            if case let .warning(text) = event { found.append(text) }
        }
        return (found, summary.validationLoss)
    }

    @Test("a model that predicts a constant while the targets vary gets one warning saying what to try")
    func constantModelWarns() throws {
        // All weights zero and a learning rate of zero: the output is the head's bias, a constant.
        let model = ModelConfig(inputSize: 1, hiddenSize: 32, outputSize: 1)
        var writer = SafeTensorsWriter()
        for slot in ParameterLayout(model).slots {
            writer.add(slot.name, shape: slot.shape, values: [Float](repeating: 0, count: slot.range.count))
        }
        let path = try Scratch.directory() + "/zeros.safetensors"
        try Data(writer.serialized()).write(to: URL(fileURLWithPath: path))
        let found = try run(
            { $0.optimizer = OptimizerConfig(kind: .sgd, learningRate: 0) }, start: .initialize(path: path)
        ).warnings
        #expect(found.count == 1)
        #expect(found.first?.contains("predicts a near-constant") == true && found.first?.contains("`lr`") == true)
    }

    @Test("a model that learned the sine (validation MSE under 0.05 of the scaled sine's variance 1) gets no warning")
    func learnedModelDoesNot() throws {
        let (found, validation) = try run { $0.optimizer.learningRate = 0.01 }
        let loss = try #require(validation)
        #expect(loss < 0.05, "validation loss \(loss): the model did not learn, so the test proves nothing")
        #expect(found.isEmpty)
    }
}
