import ElmanCheckpoint
import ElmanCore
import ElmanData

/// What a checkpoint says about the data: where it came from and how it was scaled.
public struct DataRecord: Codable, Equatable, Sendable {
    public var options: DataOptions
    public var normalization: Normalization
    public var vocabulary: [String]?
    public var featureNames: [String]
    public var targetName: String
    public var fingerprint: String
    public var trainWindows: Int
    public var validationWindows: Int
}

/// Where a run stands: enough to continue exactly.
public struct ProgressRecord: Codable, Equatable, Sendable {
    /// Updates done (the next step to run).
    public var step: Int
    public var epoch: Int
    /// Batch index inside `epoch` of the next step.
    public var batchInEpoch: Int
    public var bestValidationLoss: Double?
    public var validationsWithoutImprovement: Int
    public var lastValidationLoss: Double?
    public var worldSize: Int
    /// Set when early stopping ended the run.
    public var stoppedEarly: Bool
}

/// Section keys in checkpoint metadata.
enum SectionKey {
    static let training = "training"
    static let data = "data"
    static let progress = "progress"
}

extension Checkpoint {
    /// The run's options.
    public var trainingOptions: TrainingOptions {
        get throws(CheckpointError) { try section(SectionKey.training, as: TrainingOptions.self) }
    }
    /// The data record.
    public var dataRecord: DataRecord {
        get throws(CheckpointError) { try section(SectionKey.data, as: DataRecord.self) }
    }
    /// The progress record.
    public var progress: ProgressRecord {
        get throws(CheckpointError) { try section(SectionKey.progress, as: ProgressRecord.self) }
    }
}

extension ModelConfig {
    /// The model a run's options build for a dataset.
    init(options: TrainingOptions, data: WindowedDataset) {
        self.init(inputSize: data.inputSize, hiddenSize: options.hidden, outputSize: data.outputSize,
                  layers: options.layers, activation: options.activation, head: options.head)
    }
}

extension UInt64 {
    /// 16 lowercase hex digits.
    var hex16: String {
        let s = String(self, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
