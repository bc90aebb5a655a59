import ElmanCheckpoint
import ElmanCore
import ElmanData

/// What a checkpoint says about the data: where it came from and how it was scaled.
public struct DataRecord: Codable, Equatable, Sendable {
    public init(
        options: DataOptions, normalization: Normalization, vocabulary: [String]?, featureNames: [String],
        targetName: String, fingerprint: String, trainWindows: Int, validationWindows: Int, naiveMAE: Double? = nil
    ) {
        self.naiveMAE = naiveMAE
        self.options = options
        self.normalization = normalization
        self.vocabulary = vocabulary
        self.featureNames = featureNames
        self.targetName = targetName
        self.fingerprint = fingerprint
        self.trainWindows = trainWindows
        self.validationWindows = validationWindows
    }

    public var options: DataOptions
    public var normalization: Normalization
    public var vocabulary: [String]?
    public var featureNames: [String]
    public var targetName: String
    public var fingerprint: String
    public var trainWindows: Int
    /// The naive forecast's mean absolute error over the training rows, in the target's units:
    /// MASE's scale. The last value's, or for a seasonal model the seasonal naive's (the M4
    /// convention); nil for text, and in checkpoints written before it was recorded.
    public var naiveMAE: Double?
    public var validationWindows: Int
}

/// Where a run stands: enough to continue exactly.
public struct ProgressRecord: Codable, Equatable, Sendable {
    /// The start of a run at world size `worldSize`, with a new run identity.
    public init(worldSize: Int) {
        var rng = SystemRandomNumberGenerator()
        runID = String(rng.next(), radix: 16)
        step = 0
        epoch = 0
        batchInEpoch = 0
        validationsWithoutImprovement = 0
        self.worldSize = worldSize
        stoppedEarly = false
    }

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
    /// The run's identity, kept when it resumes: a checkpoint directory belongs to one run.
    /// Nil in checkpoints written before runs had one.
    public var runID: String?

    /// Refuses counts no run can reach (a damaged or hostile checkpoint).
    public func validate() throws(RunError) {
        for (name, value, minimum) in [
            ("step", step, 0), ("epoch", epoch, 0), ("batchInEpoch", batchInEpoch, 0), ("worldSize", worldSize, 1),
            ("validationsWithoutImprovement", validationsWithoutImprovement, 0),
        ] where value < minimum {
            throw RunError("the checkpoint's progress is invalid: \(name) is \(value)")
        }
    }
}

/// Section keys in checkpoint metadata.
public enum SectionKey {
    public static let training = "training"
    public static let data = "data"
    public static let progress = "progress"
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
    /// The run identity a checkpoint records (nil when it records none or cannot be read).
    public var progressRunID: String? { (try? progress)?.runID }

    /// The progress record.
    public var progress: ProgressRecord {
        get throws(CheckpointError) { try section(SectionKey.progress, as: ProgressRecord.self) }
    }
}
