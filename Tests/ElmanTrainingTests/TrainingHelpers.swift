import ElmanData
import ElmanDistributed
import ElmanTraining
import Foundation

enum Paths {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("examples/data")

    static func example(_ name: String) -> String { examples.appendingPathComponent(name).path }

    static func temporaryDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("elman-train-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// Trains in this process on a world of one.
@discardableResult
func train(_ options: TrainingOptions, _ data: DataOptions?, start: RunStart = .fresh,
           settings: [OptionSetting] = []) throws -> (Trainer, TrainingSummary) {
    var o = options
    o.quiet = true
    let trainer = try Trainer(comm: LocalCommunicator(), options: o, data: data, start: start, settings: settings)
    return (trainer, try trainer.run())
}
