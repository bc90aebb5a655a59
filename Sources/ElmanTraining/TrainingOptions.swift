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

    public init(warmupSteps: Int = 0, decay: Decay = .none, stepSize: Int = 1000, gamma: Double = 0.5, minFraction: Double = 0) {
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
/// The fields under "fixed" define the trajectory and are stored in checkpoints; a resumed
/// run keeps them. The fields under "may change on resume" can be set anew when resuming.
public struct TrainingOptions: Codable, Equatable, Sendable {
    // Fixed: model.
    public var hidden: Int = 32
    public var layers: Int = 1
    public var activation: Activation = .tanh
    public var head: HeadMode = .last
    public var loss: LossKind = .mse
    // Fixed: data handling.
    public var seqLen: Int = 16
    public var batchSize: Int = 32
    public var validationFraction: Double = 0.2
    public var normalize: NormalizationKind = .zscore
    public var shuffle: Bool = true
    public var seed: UInt64 = 0
    // Fixed: optimiser kind and its moments.
    public var optimizer: OptimizerConfig = OptimizerConfig(kind: .adam)

    // May change on resume.
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
    /// BLAS threads per rank (nil: cores on the node / ranks on the node).
    public var threads: Int?

    public init() {}

    /// The fields that define the trajectory; a resume must not contradict them.
    public struct Fixed: Codable, Equatable, Sendable {
        public var hidden, layers, seqLen, batchSize: Int
        public var activation: Activation
        public var head: HeadMode
        public var loss: LossKind
        public var validationFraction: Double
        public var normalize: NormalizationKind
        public var shuffle: Bool
        public var seed: UInt64
        public var optimizerKind: OptimizerKind
    }

    public var fixed: Fixed {
        Fixed(hidden: hidden, layers: layers, seqLen: seqLen, batchSize: batchSize, activation: activation, head: head,
              loss: loss, validationFraction: validationFraction, normalize: normalize, shuffle: shuffle, seed: seed,
              optimizerKind: optimizer.kind)
    }

    /// Checks ranges before anything is built.
    public func validate() throws(TrainingError) {
        func positive(_ name: String, _ v: Int) throws(TrainingError) {
            guard v >= 1 else { throw TrainingError("\(name) must be at least 1, got \(v)") }
        }
        try positive("--hidden", hidden)
        try positive("--layers", layers)
        try positive("--seq-len", seqLen)
        try positive("--batch-size", batchSize)
        try positive("--epochs", epochs)
        try positive("--keep", keep)
        try positive("--log-every", logEvery)
        try positive("--replica-check-every", replicaCheckEvery)
        if let s = steps { try positive("--steps", s) }
        if let e = evalEvery { try positive("--eval-every", e) }
        if let e = earlyStop { try positive("--early-stop", e) }
        if let c = checkpointEvery { try positive("--checkpoint-every", c) }
        if let t = threads { try positive("--threads", t) }
        if let c = clipNorm, !(c > 0 && c.isFinite) { throw TrainingError("--clip-norm must be positive, got \(c)") }
        guard schedule.warmupSteps >= 0 else { throw TrainingError("--warmup must be ≥ 0, got \(schedule.warmupSteps)") }
        try positive("--lr-step-size", schedule.stepSize)
        guard schedule.gamma > 0, schedule.gamma.isFinite else { throw TrainingError("--lr-gamma must be positive") }
        guard (0 ... 1).contains(schedule.minFraction) else { throw TrainingError("--lr-min-fraction must be in [0, 1]") }
        guard validationFraction >= 0, validationFraction < 1 else {
            throw TrainingError("--val-fraction must be in [0, 1), got \(validationFraction)")
        }
        if earlyStop != nil && validationFraction == 0 { throw TrainingError("--early-stop needs --val-fraction > 0") }
        do { try optimizer.validate() } catch { throw TrainingError(error.message) }
    }
}

/// A run that cannot start or go on, with a one-line reason.
public struct TrainingError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
