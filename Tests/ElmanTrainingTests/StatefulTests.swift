import ElmanCheckpoint
import ElmanCore
import ElmanData
import ElmanDistributed
import ElmanInference
import ElmanRun
import ElmanTraining
import Foundation
import TestSupport
import Testing

/// Stateful truncated BPTT against PyTorch's word_language_model loop
/// (`Tests/Fixtures/torch/make_stateful_fixtures.py`).
@Suite("Stateful training")
struct StatefulTests {
    /// A PyTorch reference of `Tests/Fixtures/torch`, read once.
    struct Reference {
        let path: String
        let file: SafeTensorsFile
        init(_ name: String) throws {
            path = Fixtures.path("torch/\(name).safetensors")
            file = try SafeTensorsFile(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        }
    }

    /// A stateful run in this process from a reference's initial weights; returns the trainer and every step's loss.
    func run(
        _ reference: Reference, _ series: Series, _ configure: (inout TrainingOptions) -> Void
    ) throws -> (Trainer, [Double]) {
        var o = TrainingOptions.defaults(text: series.vocabulary != nil, stateful: true)
        o.validationFraction = 0
        o.normalize = .none
        o.logEvery = 1
        o.quiet = true
        configure(&o)
        let trainer = try Trainer(
            comm: LocalCommunicator(), options: o, series: series, start: .initialize(path: reference.path, strict: false))  // the reference also holds inputs and expected results
        var losses: [Double] = []
        _ = try trainer.run { event in
            if case let .stepDone(report) = event { losses.append(report.loss) }
        }
        return (trainer, losses)
    }

    /// The final weights and losses equal PyTorch's within 1e-4.
    func expectMatches(_ trainer: Trainer, _ losses: [Double], _ file: SafeTensorsFile) throws {
        let expectedLosses = try file.floats("expected.losses")
        expectClose(losses.map(Float.init), expectedLosses, "losses")
        for slot in trainer.network.layout.slots {
            expectClose(
                Array(trainer.network.parameters.array[slot.range]), try file.floats("expected." + slot.name),
                slot.name)
        }
    }

    @Test(
        "2-layer tanh, cross-entropy, Adam with clipping, 4 lanes, 3 epochs with a 1-step last chunk: PyTorch's trajectory within 1e-4"
    )
    func twoLayerAdamClip() throws {
        let reference = try Reference("stateful_2layer_ce_adam_clip")
        let stream = try reference.file.floats("data").map { UInt8($0) }
        var series = Series(
            featureColumns: [], featureNames: ["char"], target: [], targetName: "char",
            vocabulary: ["a", "b", "c", "d", "e"])
        series.classes = .narrow(stream)
        let (trainer, losses) = try run(reference, series) { o in
            o.loss = .crossEntropy
            o.hidden = 6
            o.layers = 2
            o.batchSize = 4
            o.seqLen = 8
            o.epochs = 3
            o.clipNorm = 0.5
            o.optimizer = OptimizerConfig(kind: .adam, learningRate: 0.01)
        }
        #expect(losses.count == 21)
        try expectMatches(trainer, losses, reference.file)
    }

    @Test(
        "sine, 1 layer, plain SGD, one lane, T = 1 (the state carried step to step): PyTorch's trajectory within 1e-4")
    func sineSGDOneStep() throws {
        let reference = try Reference("stateful_sine_sgd_t1")
        let sine = try reference.file.floats("data").map(Double.init)
        let series = Series(featureColumns: [sine], featureNames: ["y"], target: sine, targetName: "y", vocabulary: nil)
        let (trainer, losses) = try run(reference, series) { o in
            o.hidden = 10
            o.batchSize = 1
            o.seqLen = 1
            o.epochs = 2
            o.optimizer = OptimizerConfig(kind: .sgd, learningRate: 0.05)
        }
        #expect(losses.count == 198)
        try expectMatches(trainer, losses, reference.file)
    }

    @Test(
        "stopped mid-epoch and resumed from the checkpoint, a stateful run ends bit for bit where a straight one does")
    func exactResume() throws {
        let dir = try Scratch.directory()
        var o = TrainingOptions.defaults(text: false, stateful: true)
        o.hidden = 8
        o.seqLen = 5
        o.batchSize = 3
        o.steps = 30  // 300 points: 240 training rows, 3 lanes of 80, 16 steps an epoch
        o.checkpointDirectory = dir
        o.checkpointEvery = 7
        o.keep = 10
        o.clipNorm = 1
        let data = DataOptions(source: .sine, grid: SamplingGrid(points: 300))
        let (straight, _) = try train(o, data)
        let mid = dir + "/" + CheckpointDirectory.fileName(step: 21)  // epoch 2, step 5 of 16
        let (resumed, summary) = try train(
            o, nil, start: .resume(path: mid), settings: [OptionSetting(\.checkpointDirectory, dir + "/resumed")])
        #expect(summary.steps == 30)
        #expect(resumed.network.parameters.array == straight.network.parameters.array)
        let a = try Checkpoint.load(path: dir + "/" + CheckpointDirectory.fileName(step: 30))
        let b = try Checkpoint.load(path: dir + "/resumed/" + CheckpointDirectory.fileName(step: 30))
        #expect(a.state == b.state && a.state["hidden"]?.shape == [1, 3, 8])
        // The carried state is what was saved: a non-zero state mid-epoch.
        let saved = try #require(try Checkpoint.load(path: mid).state["hidden"])
        #expect(saved.values.contains { $0 != 0 })
    }

    @Test("the lanes are PyTorch's batchify: rows b·L … b·L+L−1, leftovers dropped, the last chunk shorter")
    func lanePlan() throws {
        let plan = try LanePlan(rows: 203, lanes: 4, seqLen: 8)
        #expect(plan.laneLength == 50 && plan.droppedRows == 3 && plan.batchesPerEpoch == 7)
        #expect(plan.chunk(0) == (0, 8) && plan.chunk(6) == (48, 1))
        #expect(plan.row(lane: 3, offset: 48) == 198)
        // Validation: one lane unless the tail holds 100·T rows a lane, at most the training lanes.
        #expect(LanePlan.validationLanes(rows: 200, seqLen: 16, maxLanes: 4) == 1)
        #expect(LanePlan.validationLanes(rows: 4_000_000, seqLen: 64, maxLanes: 64) == 64)
        #expect(LanePlan.validationLanes(rows: 32_000, seqLen: 64, maxLanes: 64) == 5)
        #expect(
            throws: DataError.usage("`batchSize` 8 lanes of 12 training rows leave 1 row(s) a lane; at least 2 are needed")
        ) {
            try LanePlan(rows: 12, lanes: 8, seqLen: 4)
        }
    }

    @Test("a checkpoint written by version 1 of the format still loads and resumes, as a windowed run")
    func versionOneRun() throws {
        let path = Fixtures.path("checkpoints/v1-sine-run.safetensors")
        let c = try Checkpoint.load(path: path)
        let options = try c.trainingOptions
        #expect(!options.stateful && options.hidden == 8)
        let dir = try Scratch.directory()
        let (_, summary) = try train(
            options, nil, start: .resume(path: path),
            settings: [OptionSetting(\.steps, 25), OptionSetting(\.checkpointDirectory, dir)])
        #expect(summary.steps == 25)
    }

    @Test(
        "a stateful model is used as trained: eval warms the state over the training rows, forecasts continue the lane")
    func inference() throws {
        let dir = try Scratch.directory()
        var o = TrainingOptions.defaults(text: false, stateful: true)
        o.hidden = 16
        o.seqLen = 20
        o.batchSize = 4
        o.epochs = 30
        o.optimizer.learningRate = 0.01
        o.checkpointDirectory = dir
        let source = DataOptions(source: .sine, grid: SamplingGrid(points: 600))
        try train(o, source)
        let m = try TrainedModel(path: try resolveCheckpoint(dir))
        let d = try m.dataset()
        // The validation rows scored after the state has read the training rows, and from zero.
        let validation = d.trainCount..<(d.rowCount - 1)
        let warm = m.evaluate(d, m.defaultSelection(d))
        let cold = m.evaluate(d, .lane(warm: 0..<0, scored: validation))
        #expect(m.defaultSelection(d) == .lane(warm: 0..<d.trainCount, scored: validation))
        let warmMSE = try #require(warm.model?.mse), coldMSE = try #require(cold.model?.mse)
        #expect(warmMSE < coldMSE, "warmed \(warmMSE), from zero \(coldMSE)")
        let naiveMSE = try #require(warm.naive?.mse)
        #expect(warmMSE < naiveMSE)
        // A one-step forecast from all but the last row is the lane's prediction for the last row.
        var series = try Series.load(source)
        series.target.removeLast()
        series.featureColumns = [series.target]
        let forecast = try m.forecast(series, horizon: 1)
        let lane = m.predictions(d, .lane(warm: 0..<0, scored: 0..<(d.rowCount - 1)))
        #expect(lane.last?.row == d.rowCount - 1)
        #expect(abs(forecast[0] - (lane.last?.predicted ?? .nan)) < 1e-9)
    }
}
