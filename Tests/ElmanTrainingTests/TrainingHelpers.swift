import ElmanCore
import ElmanData
import ElmanDistributed
import ElmanInference
import ElmanRun
import ElmanTraining
import TestSupport
import Foundation

/// Trains in this process on a world of one.
@discardableResult
func train(
    _ options: TrainingOptions, _ data: DataOptions?, start: RunStart = .fresh,
    settings: [OptionSetting] = []
) throws -> (Trainer, TrainingSummary) {
    var o = options
    o.quiet = true
    // As the tool does: the caller owns process-wide settings.
    BLASThreads.set(Trainer.parallelism(o, comm: LocalCommunicator()).blasThreads)
    let trainer = try Trainer(comm: LocalCommunicator(), options: o, data: data, start: start, settings: settings)
    return (trainer, try trainer.run())
}
