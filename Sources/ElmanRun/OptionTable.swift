import ElmanCore
import ElmanData

/// The option table: every setting of `TrainingOptions`, once, with its check and its role.
///
/// One row per setting drives everything that used to spell it out again: the command line
/// (a row's name in kebab case is its flag: `seqLen` → `--seq-len`), the config file (the
/// same names as keys), validation, the contradictions a resume refuses, and the fingerprint
/// ranks compare before training. Libraries name settings by `name` in their messages,
/// written in backticks (`` `seqLen` must be at least 1 ``); the command line shows flags.
public enum OptionTable {
    /// Every row, in the order `train --help` lists them.
    public static let fields: [OptionField] = [
        // Model.
        .init("hidden", \.hidden, .trajectory, check: .atLeast(1)),
        .init("layers", \.layers, .trajectory, check: .atLeast(1)),
        .init("activation", \.activation, .trajectory),
        .init("head", \.head, .trajectory),
        .init("loss", \.loss, .trajectory),
        // Data handling.
        .init("seqLen", \.seqLen, .trajectory, check: .atLeast(1)),
        .init("batchSize", \.batchSize, .trajectory, check: .atLeast(1)),
        .init("microBatch", optional: \.microBatch, .trajectory, check: .atLeast(1), unset: "one per core"),
        .init("valFraction", \.validationFraction, .trajectory, check: .fraction),
        .init("normalize", \.normalize, .trajectory),
        .init("shuffle", \.shuffle, .trajectory),
        .init("seed", \.seed, .trajectory),
        .init("stateful", \.stateful, .trajectory),
        .init("horizon", optional: \.horizon, .trajectory, check: .atLeast(1), unset: "1"),
        // Optimiser: choosing a kind takes that kind's torch.optim defaults (lr, weight decay).
        .init("optimizer", \.optimizer.kind, .trajectory) { o, before in
            guard o.optimizer.kind != before.optimizer.kind else { return }
            let old = before.optimizer
            o.optimizer = OptimizerConfig(
                kind: o.optimizer.kind, beta1: old.beta1, beta2: old.beta2, epsilon: old.epsilon,
                momentum: old.momentum, nesterov: old.nesterov)
        },
        .init("lr", \.optimizer.learningRate, .course, check: .nonNegative),
        .init("momentum", \.optimizer.momentum, .course, check: .nonNegative),
        .init("nesterov", \.optimizer.nesterov, .course),
        .init("weightDecay", \.optimizer.weightDecay, .course, check: .nonNegative),
        .init("beta1", \.optimizer.beta1, .course, check: .fraction),
        .init("beta2", \.optimizer.beta2, .course, check: .fraction),
        .init("eps", \.optimizer.epsilon, .course, check: .nonNegative),
        .init("clipNorm", optional: \.clipNorm, .course, check: .positive),
        .init("warmup", \.schedule.warmupSteps, .course, check: .atLeast(0)),
        .init("lrDecay", \.schedule.decay, .course),
        .init("lrStepSize", \.schedule.stepSize, .course, check: .atLeast(1)),
        .init("lrGamma", \.schedule.gamma, .course, check: .positive),
        .init("lrMinFraction", \.schedule.minFraction, .course, check: .unitInterval),
        // Length: `epochs` counts only while `steps` is unset, so setting it unsets `steps`.
        .init("steps", optional: \.steps, .course, check: .atLeast(1)),
        .init("epochs", \.epochs, .course, check: .atLeast(1)) { o, _ in o.steps = nil },
        .init("evalEvery", optional: \.evalEvery, .course, check: .atLeast(1)),
        .init("earlyStop", optional: \.earlyStop, .course, check: .atLeast(1)),
        .init("onNonfinite", \.onNonFinite, .course),
        // Checkpoints and output: they change where results go, never the numbers.
        .init("checkpointDir", optional: \.checkpointDirectory, .output),
        .init("checkpointEvery", optional: \.checkpointEvery, .output, check: .atLeast(1)),
        .init("keep", \.keep, .output, check: .atLeast(1)),
        .init("logEvery", \.logEvery, .output, check: .atLeast(1)),
        .init("quiet", \.quiet, .output),
        .init("metrics", optional: \.metricsPath, .output),
        .init("threads", optional: \.threads, .output, check: .atLeast(1)),
        .init("replicaCheckEvery", \.replicaCheckEvery, .output, check: .atLeast(1)),
    ]

    /// The row named `name` (a config key, a message's setting), if any.
    public static func field(_ name: String) -> OptionField? { byName[name] }

    /// The row that sets the field at `path`: every key path a setting is built from is one.
    public static func field(_ path: AnyKeyPath) -> OptionField {
        // A linear search: a run applies a few dozen settings once.
        guard let field = fields.first(where: { $0.path == path }) else {
            preconditionFailure("\(path) is not a row of the option table")
        }
        return field
    }

    private static let byName: [String: OptionField] = Dictionary(uniqueKeysWithValues: fields.map { ($0.name, $0) })

    /// Settings that are not rows but that messages name (data, inference and launch flags):
    /// with the rows, every name a library may write in backticks.
    public static let otherSettings: Set<String> = [
        "data", "target", "features", "where", "missing", "points", "xStep", "xStart", "difference", "noDifference",
        "resume", "init", "input", "horizon", "season", "temperature", "length", "prime", "split", "testSize",
        "series", "seriesColumns", "timeColumn", "cutoff", "calendar",
    ]
}

/// What a setting is to a run.
public enum OptionRole: Sendable {
    /// Defines the trajectory (model, data handling, seed, optimiser kind): a resumed run keeps
    /// the checkpoint's value, and a different one is refused.
    case trajectory
    /// Changes the numbers but may change on resume (learning rate, length, clipping).
    case course
    /// Changes only where results go and what is printed.
    case output
}

/// One row of the option table: a field of `TrainingOptions`, by key path, with its name,
/// role and range check.
public struct OptionField: Sendable {
    /// The setting's name: its key in config files and messages, its flag in kebab case.
    public let name: String
    public let role: OptionRole
    /// The field it sets (for looking the row up from a setting's key path).
    let path: AnyKeyPath & Sendable
    /// The current value as text ("none" when unset).
    public let describe: @Sendable (TrainingOptions) -> String
    /// The range check, as a problem ("must be at least 1, got 0"), or nil when the value is fine.
    let problem: @Sendable (TrainingOptions) -> String?
    /// What else changes when the setting is set: (options after, options before).
    let didSet: @Sendable (inout TrainingOptions, TrainingOptions) -> Void

    /// A row for a plain field; `didSet` for a setting that writes more than its field.
    init<V: Sendable>(
        _ name: String, _ path: WritableKeyPath<TrainingOptions, V> & Sendable, _ role: OptionRole,
        check: OptionCheck<V>? = nil, didSet: @escaping @Sendable (inout TrainingOptions, TrainingOptions) -> Void = { _, _ in }
    ) {
        self.name = name
        self.role = role
        self.path = path
        describe = { "\($0[keyPath: path])" }
        problem = { o in check?.problem(o[keyPath: path]) }
        self.didSet = didSet
    }

    /// A row for an optional field: the user gives a `V`; unset means "not given".
    init<V: Sendable>(
        _ name: String, optional path: WritableKeyPath<TrainingOptions, V?> & Sendable, _ role: OptionRole,
        check: OptionCheck<V>? = nil, unset: String = "none"
    ) {
        self.name = name
        self.role = role
        self.path = path
        // `unset` is what nil means (a default kept as nil so older checkpoints still decode).
        describe = { o in o[keyPath: path].map { "\($0)" } ?? unset }
        problem = { o in o[keyPath: path].flatMap { check?.problem($0) } }
        didSet = { _, _ in }
    }

    /// The setting's value in `options` is a problem for its check: the message, in backticks style.
    func validate(_ options: TrainingOptions) throws(RunError) {
        if let problem = problem(options) { throw RunError.usage("`\(name)` \(problem)") }
    }
}

/// A range check on one setting's value.
public struct OptionCheck<V>: Sendable {
    let problem: @Sendable (V) -> String?

    static func atLeast(_ minimum: Int) -> OptionCheck<Int> {
        OptionCheck<Int> { $0 >= minimum ? nil : "must be at least \(minimum), got \($0)" }
    }
    static var nonNegative: OptionCheck<Double> {
        OptionCheck<Double> { $0.isFinite && $0 >= 0 ? nil : "must be ≥ 0, got \($0)" }
    }
    static var positive: OptionCheck<Double> {
        OptionCheck<Double> { $0.isFinite && $0 > 0 ? nil : "must be positive, got \($0)" }
    }
    /// [0, 1).
    static var fraction: OptionCheck<Double> {
        OptionCheck<Double> { (0..<1).contains($0) ? nil : "must be in [0, 1), got \($0)" }
    }
    /// [0, 1].
    static var unitInterval: OptionCheck<Double> {
        OptionCheck<Double> { (0...1).contains($0) ? nil : "must be in [0, 1], got \($0)" }
    }
}

/// One setting the user gave (a flag or a config-file key): a row of the option table and a
/// value of its field's type, checked by the compiler (`OptionSetting(\.hidden, 64)`; a
/// `String` there, or a field that does not exist, does not compile).
public struct OptionSetting: Sendable {
    /// The row.
    public let field: OptionField
    /// The value as the user gave it, for messages.
    let valueText: String
    /// Writes the value into options.
    let write: @Sendable (inout TrainingOptions) -> Void

    /// A setting of a plain field.
    public init<V: Sendable>(_ path: WritableKeyPath<TrainingOptions, V> & Sendable, _ value: V) {
        field = OptionTable.field(path)
        valueText = "\(value)"
        write = { $0[keyPath: path] = value }
    }

    /// A setting of an optional field: the user gives a value.
    public init<V: Sendable>(_ path: WritableKeyPath<TrainingOptions, V?> & Sendable, _ value: V) {
        field = OptionTable.field(path)
        valueText = "\(value)"
        write = { $0[keyPath: path] = value }
    }

    /// The setting's name (its row's).
    public var name: String { field.name }

    /// "`seed` 9", for messages (the command line shows "--seed 9").
    var text: String { "`\(name)` \(valueText)" }
}

/// Applies explicit settings on top of a base: defaults for a new run, the checkpoint's for a resume.
///
/// When resuming, a setting of a `.trajectory` row that changes the checkpoint's value is an
/// error naming both values; any other change is applied and reported in the returned notes.
public func resolveOptions(
    base: TrainingOptions, settings: [OptionSetting], resuming: Bool
) throws(RunError) -> (options: TrainingOptions, notes: [String]) {
    var options = base
    var notes: [String] = []
    for setting in settings {
        let field = setting.field
        var next = options
        setting.write(&next)
        field.didSet(&next, options)
        let before = field.describe(options), after = field.describe(next)
        if resuming && field.role == .trajectory && before != after {
            throw RunError.usage(
                "\(setting.text) contradicts the checkpoint, which was trained with `\(field.name)` \(before)")
        }
        if resuming && next != options { notes.append("resuming with \(setting.text)") }
        options = next
    }
    return (options, notes)
}
