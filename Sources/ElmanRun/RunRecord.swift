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
    /// For a panel: the number of series; their identities and scalings are `panel`, stored as
    /// the checkpoint's data tensors (100,000 series would make megabytes of JSON).
    public var seriesCount: Int?
    /// For a panel: each series' identity, scaling and MASE scale. Not in the JSON record.
    public var panel: SeriesScalings? = nil

    enum CodingKeys: String, CodingKey {
        case options, normalization, vocabulary, featureNames, targetName, fingerprint, trainWindows, naiveMAE
        case validationWindows, seriesCount
    }
}

/// Names of the data tensors a panel's record is stored in.
enum PanelTensor {
    /// U8: the identities' UTF-8 bytes, one after another.
    static let ids = "series_ids"
    /// I64 (S): one past the last byte of each identity.
    static let idEnds = "series_id_ends"
    /// F64 (S, features + 1, 2): shift and scale of every feature, then of the target.
    static let scaling = "series_scaling"
    /// F64 (S): the in-sample naive MAE (NaN for none).
    static let naiveMAE = "series_naive_mae"
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
    /// The data record, a panel's series from the data tensors.
    public var dataRecord: DataRecord {
        get throws(CheckpointError) {
            var record = try section(SectionKey.data, as: DataRecord.self)
            guard let count = record.seriesCount else { return record }
            let F = record.featureNames.count
            guard count >= 1, let idBytes = dataTensors[PanelTensor.ids], idBytes.dtype == .u8,
                let ends = dataTensors[PanelTensor.idEnds]?.integers, ends.count == count,
                let values = dataTensors[PanelTensor.scaling]?.doubles, values.count == count * (F + 1) * 2,
                let naive = dataTensors[PanelTensor.naiveMAE]?.doubles, naive.count == count
            else { throw CheckpointError("the checkpoint's panel of \(record.seriesCount ?? 0) series is incomplete") }
            var ids: [String] = [], start = 0
            for end in ends {
                guard end >= start, end <= idBytes.bytes.count,
                    let id = String(validating: idBytes.bytes[start..<end], as: UTF8.self)
                else { throw CheckpointError("the checkpoint's series identities are damaged") }
                ids.append(id)
                start = end
            }
            let scalings = SeriesScalings(ids: ids, features: F, values: values, naiveMAE: naive)
            do { try scalings.validate() } catch { throw CheckpointError(error.message) }
            record.panel = scalings
            return record
        }
    }

    /// Records `record` as the data section, and a panel's series as data tensors.
    public mutating func setDataRecord(_ record: DataRecord) throws(CheckpointError) {
        var record = record
        record.seriesCount = record.panel?.count
        try setSection(SectionKey.data, record)
        guard let panel = record.panel else { return }
        var bytes: [UInt8] = [], ends: [Int] = []
        for id in panel.ids {
            bytes.append(contentsOf: id.utf8)
            ends.append(bytes.count)
        }
        dataTensors[PanelTensor.ids] = RawTensor(dtype: .u8, shape: [bytes.count], bytes: bytes)
        dataTensors[PanelTensor.idEnds] = RawTensor(integers: ends, shape: [panel.count])
        dataTensors[PanelTensor.scaling] = RawTensor(doubles: panel.values, shape: [panel.count, panel.features + 1, 2])
        dataTensors[PanelTensor.naiveMAE] = RawTensor(doubles: panel.naiveMAE, shape: [panel.count])
    }
    /// The run identity a checkpoint records (nil when it records none or cannot be read).
    public var progressRunID: String? { (try? progress)?.runID }

    /// The progress record.
    public var progress: ProgressRecord {
        get throws(CheckpointError) { try section(SectionKey.progress, as: ProgressRecord.self) }
    }
}
