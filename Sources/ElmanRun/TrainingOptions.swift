import ElmanCore
import ElmanData

#if canImport(Glibc)
import Glibc
#endif

/// A learning-rate schedule: linear warm-up, then constant, cosine or step decay.
public struct LearningRateSchedule: Codable, Equatable, Sendable {
    public enum Decay: String, Codable, Sendable, CaseIterable {
        case none, cosine, step
    }

    /// Updates over which the rate rises linearly from lr/warmup to lr.
    public var warmupSteps: Int
    public var decay: Decay
    /// For `.step`: multiply by `gamma` every `stepSize` updates after warm-up.
    public var stepSize: Int
    public var gamma: Double
    /// For `.cosine`: the floor, as a fraction of the base rate.
    public var minFraction: Double

    public init(
        warmupSteps: Int = 0, decay: Decay = .none, stepSize: Int = 1000, gamma: Double = 0.5, minFraction: Double = 0
    ) {
        self.warmupSteps = warmupSteps
        self.decay = decay
        self.stepSize = stepSize
        self.gamma = gamma
        self.minFraction = minFraction
    }

    /// The rate for update `step` (0-based) of `total`.
    public func rate(base: Double, step: Int, total: Int) -> Double {
        if step < warmupSteps { return base * Double(step + 1) / Double(warmupSteps) }
        let s = step - warmupSteps
        switch decay {
        case .none:
            return base
        case .cosine:
            let span = max(1, total - warmupSteps)
            let progress = min(1, Double(s) / Double(span))
            let floor = base * minFraction
            return floor + (base - floor) * 0.5 * (1 + cos(Double.pi * progress))
        case .step:
            return base * pow(gamma, Double(s / max(1, stepSize)))
        }
    }
}

/// What to do when the loss or the gradient is NaN or infinite.
public enum NonFinitePolicy: String, Codable, Sendable, CaseIterable {
    /// Stop, naming the step and the last good checkpoint.
    case stop
    /// Skip that update on every rank and go on.
    case skip
}

/// Every setting of a training run (model, optimiser, schedule, data handling, checkpoints).
///
/// `OptionTable` names each setting once, with its check and whether it defines the
/// trajectory (a resumed run keeps those) or may change on resume.
public struct TrainingOptions: Codable, Equatable, Sendable {
    // Trajectory: model.
    public var hidden: Int = 32
    public var layers: Int = 1
    public var activation: Activation = .tanh
    public var head: HeadMode = .last
    public var loss: LossKind = .mse
    // Trajectory: data handling.
    public var seqLen: Int = 16
    public var batchSize: Int = 32
    /// Examples (windows or lanes) per micro-batch: set, every batch is cut into micro-batches
    /// of this size whatever the world size, and a run gives the same bits at any number of
    /// ranks and threads; nil (the default, faster), one micro-batch per core, and runs at
    /// different world sizes agree to rounding (see `MicroBatches`).
    public var microBatch: Int?
    public var validationFraction: Double = 0.2
    public var normalize: NormalizationKind = .zscore
    public var shuffle: Bool = true
    public var seed: UInt64 = 0
    /// Stateful truncated BPTT: the training rows are lanes of one long sequence read in order,
    /// and the hidden state is carried (detached) from each step to the next (see `LanePlan`).
    public var stateful: Bool = false
    /// Leads the head forecasts at once (nil: 1, and in checkpoints from before it existed):
    /// one output per lead, every lead trained.
    public var horizon: Int?
    // Trajectory: the optimiser's kind (its rates may change on resume).
    public var optimizer: OptimizerConfig = OptimizerConfig(kind: .adam)

    // Course and output: may change on resume.
    /// Total updates (overrides epochs when set).
    public var steps: Int?
    /// Total epochs when `steps` is nil.
    public var epochs: Int = 10
    public var schedule = LearningRateSchedule()
    public var clipNorm: Double?
    /// Validate every this many steps (nil: at every epoch end).
    public var evalEvery: Int?
    /// Stop after this many validations without improvement.
    public var earlyStop: Int?
    public var onNonFinite: NonFinitePolicy = .stop
    public var checkpointDirectory: String?
    public var checkpointEvery: Int?
    public var keep: Int = 3
    /// Compare replica parameter checksums every this many steps.
    public var replicaCheckEvery: Int = 100
    public var logEvery: Int = 50
    public var quiet: Bool = false
    public var metricsPath: String?
    /// Cores per rank (nil: cores on the node / ranks on the node): one replica of the network
    /// on each, taking micro-batches of the rank's windows or lanes, with single-threaded BLAS.
    public var threads: Int?

    public init() {}

    /// A new run's defaults for its data: a next-character model (cross-entropy, head on every
    /// step) for text; head on every step and no shuffling for stateful training.
    public static func defaults(text: Bool, stateful: Bool) -> TrainingOptions {
        var o = TrainingOptions()
        if text {
            o.loss = .crossEntropy
            o.head = .every
        }
        if stateful {
            o.stateful = true
            o.head = .every
            o.shuffle = false
        }
        return o
    }

    /// Checks every setting's range (the option table's checks) and the combinations.
    public func validate() throws(RunError) {
        for field in OptionTable.fields { try field.validate(self) }
        if earlyStop != nil && validationFraction == 0 { throw RunError.usage("`earlyStop` needs `valFraction` > 0") }
        if optimizer.nesterov && optimizer.momentum == 0 { throw RunError.usage("`nesterov` needs `momentum` > 0") }
        if stateful && head == .last {
            throw RunError.usage("`stateful` training predicts at every step; `head` last makes no sense with it")
        }
        if stateful && shuffle {
            throw RunError.usage("`stateful` training reads each lane in order; `shuffle` makes no sense with it")
        }
        if leads > 1 && (stateful || head == .every) {
            throw RunError.usage(
                "`horizon` \(leads) forecasts several leads from a window's last step: it needs `head` last, not `stateful`")
        }
    }

    /// Leads the head forecasts at once (1 unless `horizon` says more).
    public var leads: Int { horizon ?? 1 }

    /// The settings that change the numbers (every row but the output ones), as one line of text:
    /// ranks compare its fingerprint before the first step.
    public var numericalSettings: String {
        OptionTable.fields.filter { $0.role != .output }.map { "\($0.name)=\($0.describe(self))" }.joined(
            separator: ";")
    }
}

/// A run, or a use of its model, that cannot go on, with a one-line reason.
///
/// Settings are named as in the option table, in backticks (`` `seqLen` ``); the command-line
/// tool shows them as flags. An error from a lower layer is kept whole in `underlying`.
public struct RunError: Error, CustomStringConvertible {
    public var message: String
    /// The error this one reports, when it came from data, a checkpoint or the network.
    public var underlying: (any Error)?

    public init(_ message: String, underlying: (any Error)? = nil) {
        self.message = message
        self.underlying = underlying
    }

    /// `context: underlying`, keeping the underlying error.
    public init(_ context: String, _ underlying: any Error) {
        self.init("\(context): \(underlying)", underlying: underlying)
    }

    /// `underlying` as a run's error, its message unchanged (it names its file or setting already).
    public init(wrapping underlying: any Error) {
        self.init("\(underlying)", underlying: underlying)
    }

    public var description: String { message }

    /// A problem with a setting the user gave (exit 64).
    public static func usage(_ message: String) -> RunError {
        var e = RunError(message)
        e.isUsage = true
        return e
    }

    /// Whether this error, or the one it wraps, is about a setting rather than data or files.
    public var isUsage: Bool {
        get { usageFlag || (underlying as? RunError)?.isUsage == true || (underlying as? DataError)?.isUsage == true }
        set { usageFlag = newValue }
    }
    private var usageFlag = false
}

extension RunError: Equatable {
    public static func == (a: RunError, b: RunError) -> Bool { a.message == b.message }
}
