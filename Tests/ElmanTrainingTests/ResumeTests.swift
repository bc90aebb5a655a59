import ElmanCheckpoint
import ElmanData
import ElmanDistributed
import ElmanInference
import ElmanRun
import ElmanTraining
import TestSupport
import Testing

@Suite("Resume")
struct ResumeTests {
    /// Options that exercise every piece of state a resume must carry: shuffled epochs,
    /// a step count crossing epoch boundaries, warm-up and cosine decay, clipping, Adam moments.
    static func options(_ dir: String) -> TrainingOptions {
        var o = TrainingOptions()
        o.hidden = 12
        o.seqLen = 8
        o.batchSize = 24
        o.steps = 40
        o.checkpointDirectory = dir
        o.checkpointEvery = 20
        o.keep = 10
        o.clipNorm = 0.5
        o.schedule = LearningRateSchedule(warmupSteps: 5, decay: .cosine)
        o.optimizer = .init(kind: .adamw, learningRate: 0.01)
        return o
    }

    static let data = DataOptions(source: .sine, grid: SamplingGrid(points: 300))

    @Test("40 steps straight equal 20 steps, a checkpoint, and 20 resumed steps, bit for bit")
    func exactResume() throws {
        let dir = try Scratch.directory()
        let (straight, _) = try train(Self.options(dir), Self.data)
        let mid = CheckpointDirectory.fileName(step: 20)
        // A resumed run takes its options from the checkpoint; a new directory is a setting, as on the command line.
        let moveTo = OptionSetting(\.checkpointDirectory, dir + "/resumed")
        let (resumed, summary) = try train(
            Self.options(dir), nil, start: .resume(path: dir + "/" + mid), settings: [moveTo])
        #expect(summary.steps == 40)
        #expect(resumed.network.parameters.array == straight.network.parameters.array)
        #expect(resumed.optimizer.state == straight.optimizer.state)
        let a = try Checkpoint.load(path: dir + "/" + CheckpointDirectory.fileName(step: 40))
        let b = try Checkpoint.load(path: dir + "/resumed/" + CheckpointDirectory.fileName(step: 40))
        #expect(a.parameters == b.parameters)
        #expect(try a.progress == b.progress)
    }

    /// Trains 20 steps; returns the options and the checkpoint written at step 20.
    func twentySteps() throws -> (TrainingOptions, String) {
        let dir = try Scratch.directory()
        var o = Self.options(dir)
        o.steps = 20
        try train(o, Self.data)
        return (o, dir + "/" + CheckpointDirectory.fileName(step: 20))
    }

    @Test("a resume that contradicts the checkpoint's model is refused; other changes are applied")
    func contradictions() throws {
        let (o, path) = try twentySteps()
        let hidden = OptionSetting(\.hidden, 64)
        #expect(throws: AgreedFailure.self) { try train(o, nil, start: .resume(path: path), settings: [hidden]) }
        let (t, s) = try train(
            o, nil, start: .resume(path: path),
            settings: [
                OptionSetting(\.steps, 25),
                OptionSetting(\.optimizer.learningRate, 0.001),
            ])
        #expect(s.steps == 25)
        #expect(t.options.optimizer.learningRate == 0.001)
        let (_, notes) = try resolveOptions(base: t.options, settings: [OptionSetting(\.optimizer.learningRate, 0.5)], resuming: true)
        #expect(notes == ["resuming with `lr` 0.5"])
        #expect(throws: RunError("`seed` 9 contradicts the checkpoint, which was trained with `seed` 0")) {
            try resolveOptions(base: t.options, settings: [OptionSetting(\.seed, UInt64(9))], resuming: true)
        }
    }

    @Test("resuming on changed data is refused")
    func changedData() throws {
        let (o, path) = try twentySteps()
        let other = DataOptions(source: .sine, grid: SamplingGrid(points: 301))
        #expect(throws: AgreedFailure.self) { try train(o, other, start: .resume(path: path)) }
    }
}
