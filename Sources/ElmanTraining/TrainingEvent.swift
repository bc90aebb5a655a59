/// What the training loop reports as it goes; the command-line tool decides how to show it.
///
/// Only rank 0 reports. Settings in messages are named as in the option table, in backticks.
public enum TrainingEvent: Sendable {
    /// Training starts (or there is nothing left to do, when `firstStep > totalSteps`).
    case started(RunOutline)
    /// Something the user should know (a resumed run's changed settings, a world-size change).
    case note(String)
    /// A step is done; `report.logged` marks the steps `logEvery` asks to keep.
    case stepDone(StepReport)
    /// A step's update was skipped on every rank (`onNonfinite` skip).
    case skipped(step: Int, reason: String)
    /// A checkpoint is on disk.
    case checkpointWritten(path: String)
    /// Early stopping ends the run.
    case stoppedEarly(patience: Int, bestValidationLoss: Double)
    /// A stop signal ends the run after this step.
    case stopRequested(step: Int)
    /// Something about the result the user should look at (a model that predicts a constant).
    case warning(String)
}

/// The shape of a run, reported when it starts.
public struct RunOutline: Sendable {
    public var layers: Int
    public var hidden: Int
    public var activation: String
    public var parameters: Int
    /// Training and validation windows, or rows for a stateful run.
    public var trainWindows: Int
    public var validationWindows: Int
    /// A stateful run's lanes.
    public var lanes: Lanes?
    public var batchSize: Int
    public var ranks: Int
    /// Whether each layer's gradient is all-reduced while backward runs on the layers below.
    public var overlapsReduction: Bool
    /// 1-based: the first step this run takes.
    public var firstStep: Int
    public var totalSteps: Int
}

extension RunOutline {
    /// The lanes of a stateful run: B lanes of L rows, and the training rows left over.
    public struct Lanes: Sendable {
        public var count: Int
        public var length: Int
        public var droppedRows: Int
    }
}

/// One finished step, as the progress line and the metrics file show it.
public struct StepReport: Sendable, Codable, Equatable {
    /// Updates done (1-based number of this step).
    public var step: Int
    /// 1-based epoch the step belonged to.
    public var epoch: Int
    public var totalSteps: Int
    /// Mean training loss of the steps since the last logged one.
    public var loss: Double
    /// The validation loss, when this step validated.
    public var validationLoss: Double?
    /// The last validation loss of the run so far.
    public var lastValidationLoss: Double?
    /// Seconds the validation of this step took (nil when it did not validate).
    public var validationSeconds: Double?
    public var learningRate: Double
    public var gradientNorm: Double
    /// Windows (stateful: rows of all lanes) per second since the run (re)started.
    public var samplesPerSecond: Double
    /// Seconds since the run (re)started, and estimated seconds to go.
    public var elapsed: Double
    public var remaining: Double
    /// Whether `logEvery` (or a validation, or the last step) asks for this step to be kept.
    public var logged: Bool
}

/// What a finished run reports.
public struct TrainingSummary: Sendable {
    public var steps: Int
    public var finalLoss: Double
    public var validationLoss: Double?
    /// The lowest validation loss seen (its weights are in best.safetensors).
    public var bestValidationLoss: Double?
    public var checkpoint: String?
    public var stoppedEarly: Bool
    public var interrupted: Bool
}
