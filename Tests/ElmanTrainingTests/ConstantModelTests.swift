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
    /// Trains on a sine in this process; returns the warnings the run reported.
    func warnings(_ configure: (inout TrainingOptions) -> Void, start: RunStart = .fresh) throws -> [String] {
        var o = TrainingOptions()
        o.quiet = true
        o.steps = 40
        configure(&o)
        let trainer = try Trainer(
            comm: LocalCommunicator(), options: o, data: DataOptions(source: .sine, grid: SamplingGrid(points: 400)),
            start: start)
        var found: [String] = []
        _ = try trainer.run { event in
            if case let .warning(text) = event { found.append(text) }
        }
        return found
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
        let found = try warnings(
            { $0.optimizer = OptimizerConfig(kind: .sgd, learningRate: 0) }, start: .initialize(path: path))
        #expect(found.count == 1)
        #expect(found.first?.contains("predicts a near-constant") == true && found.first?.contains("`lr`") == true)
    }

    @Test("a model that learned the sine gets no warning")
    func learnedModelDoesNot() throws {
        #expect(try warnings { $0.optimizer.learningRate = 0.01 }.isEmpty)
    }
}
