import ArgumentParser
import ElmanCore
import ElmanData
import ElmanDistributed
import ElmanFiles
import ElmanCheckpoint
import ElmanRun
import ElmanTraining
import Foundation

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train an Elman RNN, alone or data-parallel under mpirun.",
        discussion: """
            Each MPI rank trains a replica on its slice of every global batch; gradients are \
            all-reduced after each step, so the result does not depend on the number of ranks.

            Examples (from the repository's top folder):
              elman-dist train --data examples/data/seattle-temps.csv \\
                  --target temp --checkpoint-dir runs/temps
              mpirun -n 4 elman-dist train --data examples/data/stocks.csv \\
                  --where symbol=AMZN --target price --difference
              elman-dist train --data 'formula:2*x+1' --activation relu
              elman-dist train --data examples/data/recurrence.txt --hidden 64 \\
                  --seq-len 32 --lr 0.01 --eval-every 10 --early-stop 3
              elman-dist train --resume runs/temps --steps 4000
              elman-dist train --config run.toml --lr 0.003
            """)

    @OptionGroup(title: "Data") var dataArguments: DataArguments
    @OptionGroup(title: "Panels") var panelArguments: PanelArguments
    @Option(
        parsing: .unconditional,
        help: """
            Model seasonal changes v[t] − v[t−K] (K rows: 24 for hourly data with a daily cycle, 7 for daily \
            data with a weekly one): the model starts as the seasonal-naive forecast and learns what it \
            misses; eval compares with the seasonal naive of K.
            """)
    var season: Int?

    // Every option below is a row of `OptionTable` under the same name, bound to it in `settings()`.

    // Model.
    @Option(parsing: .unconditional, help: "Hidden units per layer (default 32).") var hidden: Int?
    @Option(parsing: .unconditional, help: "Stacked recurrent layers (default 1).") var layers: Int?
    @Option(help: "Nonlinearity: tanh or relu (default tanh).") var activation: Activation?
    @Option(help: "Head on the last step (many-to-one) or every step (default last; text: every).") var head: HeadMode?
    @Option(help: "mse or cross-entropy (default mse; text: cross-entropy).") var loss: LossKind?

    // Windows.
    @Option(parsing: .unconditional, help: "Window length T (default 16).") var seqLen: Int?
    @Option(parsing: .unconditional, help: "Global batch size, split across ranks (default 32).") var batchSize: Int?
    @Flag(
        help: """
            The same bits at any number of ranks and threads: every batch in fixed micro-batches \
            of --micro-batch windows or lanes (default 16), summed exactly.
            """) var deterministic = false
    @Option(
        parsing: .unconditional,
        help: "Windows (or lanes) per micro-batch; implies --deterministic (default 16).") var microBatch: Int?
    @Option(help: "Fraction of windows, the last in time, held out for validation (default 0.2).") var valFraction:
        Double?
    @Option(help: "Scaling fitted on the training rows: zscore, minmax or none (default zscore).") var normalize:
        NormalizationKind?
    @Flag(inversion: .prefixedNo, help: "Shuffle windows every epoch (default on).") var shuffle: Bool?
    @Option(parsing: .unconditional, help: "Seed for weights and window order (default 0).") var seed: UInt64?
    @Flag(
        inversion: .prefixedNo,
        help: """
            Stateful truncated BPTT: --batch-size lanes of one long sequence read in order, the hidden \
            state carried from step to step (implies --head every, --no-shuffle).
            """)
    var stateful: Bool?
    @Option(
        parsing: .unconditional,
        help: "Forecast this many steps at once: one output per lead, every lead trained (default 1; a model of changes starts as the last value at every lead)."
    )
    var horizon: Int?

    // Optimiser.
    @Option(help: "adam, adamw or sgd (default adam).") var optimizer: OptimizerKind?
    @Option(parsing: .unconditional, help: "Learning rate (default 0.001 for adam/adamw, 0.01 for sgd).") var lr:
        Double?
    @Option(parsing: .unconditional, help: "SGD momentum (default 0).") var momentum: Double?
    @Flag(inversion: .prefixedNo, help: "Nesterov momentum (SGD).") var nesterov: Bool?
    @Option(parsing: .unconditional, help: "Weight decay (default 0; adamw 0.01).") var weightDecay: Double?
    @Option(parsing: .unconditional, help: "Adam beta1 (default 0.9).") var beta1: Double?
    @Option(parsing: .unconditional, help: "Adam beta2 (default 0.999).") var beta2: Double?
    @Option(parsing: .unconditional, help: "Adam epsilon (default 1e-8).") var eps: Double?
    @Option(parsing: .unconditional, help: "Clip the global gradient L2 norm to this.") var clipNorm: Double?
    @Option(parsing: .unconditional, help: "Linear learning-rate warm-up over this many steps.") var warmup: Int?
    @Option(help: "Learning-rate decay after warm-up: none, cosine or step.") var lrDecay: LearningRateSchedule.Decay?
    @Option(parsing: .unconditional, help: "Step decay: multiply by --lr-gamma every this many steps.") var lrStepSize:
        Int?
    @Option(parsing: .unconditional, help: "Step decay factor (default 0.5).") var lrGamma: Double?
    @Option(parsing: .unconditional, help: "Cosine decay floor as a fraction of --lr (default 0).") var lrMinFraction:
        Double?

    // Length.
    @Option(parsing: .unconditional, help: "Total optimiser steps (overrides --epochs).") var steps: Int?
    @Option(parsing: .unconditional, help: "Epochs over the training windows (default 10).") var epochs: Int?
    @Option(parsing: .unconditional, help: "Validate every N steps (default: every epoch).") var evalEvery: Int?
    @Option(parsing: .unconditional, help: "Stop after N validations without improvement.") var earlyStop: Int?
    @Option(help: "NaN or infinite loss/gradient: stop (default) or skip the update.") var onNonfinite: NonFinitePolicy?

    // Checkpoints.
    @Option(help: "Directory for checkpoints (step-N.safetensors, latest, best.safetensors).") var checkpointDir:
        String?
    @Option(parsing: .unconditional, help: "Write a checkpoint every N steps (one is always written at the end).")
    var checkpointEvery: Int?
    @Option(parsing: .unconditional, help: "Step checkpoints to keep (default 3).") var keep: Int?
    @Option(
        help: ArgumentHelp(
            "Continue a run: 'latest' (in --checkpoint-dir), 'auto' (continue the run --checkpoint-dir holds, or start one there), a checkpoint file or a directory.",
            valueName: "latest|auto|path"))
    var resume: String?
    @Option(name: .customLong("init"), help: "Start from the model tensors of a safetensors file (PyTorch names).")
    var initFrom: String?

    // Output and runtime.
    @Option(parsing: .unconditional, help: "Print a progress line every N steps (default 50).") var logEvery: Int?
    @Flag(inversion: .prefixedNo, help: "Print nothing but errors and warnings.") var quiet: Bool?
    @Option(
        help: "Write one JSON object per logged step to this file (a new file, or with --force; a resumed run appends to its own)."
    )
    var metrics: String?
    @OptionGroup var overwrite: ForceFlag
    @Option(
        parsing: .unconditional,
        help:
            "Cores per rank, each running a replica of the network on part of the rank's batch (default: cores on the node / ranks on the node)."
    )
    var threads: Int?
    @Option(parsing: .unconditional, help: "Compare replica parameter checksums every N steps (default 100).")
    var replicaCheckEvery: Int?
    @Option(
        help: ArgumentHelp(
            "Read flags from a TOML file of 'flag-name = value' lines; flags given here win.", valueName: "file.toml"))
    var config: String?
    @Option(
        parsing: .unconditional,
        help:
            "Seconds a rank waits in a collective for the others before the job stops, naming who is missing (default 600)."
    )
    var collectiveTimeout: Double = 600
    @Option(help: "Progress lines: live (one line rewritten, when rank 0 runs alone on a terminal), plain or none.")
    var progress: ProgressMode = .live

    func validate() throws {
        guard collectiveTimeout > 0, collectiveTimeout.isFinite else {
            throw ValidationError("--collective-timeout must be positive, got \(collectiveTimeout)")
        }
        if resume != nil && initFrom != nil { throw ValidationError("--resume and --init cannot be combined") }
        if let resume, resume == "latest" || resume == "auto", checkpointDir == nil {
            throw ValidationError("--resume \(resume) needs --checkpoint-dir")
        }
        for (flag, value) in [("--checkpoint-dir", checkpointDir), ("--metrics", metrics), ("--resume", resume)] {
            if let value, value.allSatisfy(\.isWhitespace) { throw ValidationError("\(flag) is empty: name a path") }
        }
    }

    /// The settings the user gave: each flag bound to its row of `OptionTable` by key path, so
    /// a flag of the wrong type, or a row that does not exist, does not compile. The test
    /// `optionTableIsTheCommandLine` checks that every row has its flag here.
    func settings() -> [OptionSetting] {
        var s = SettingList()
        // Model.
        s.add(\.hidden, hidden)
        s.add(\.layers, layers)
        s.add(\.activation, activation)
        s.add(\.head, head)
        s.add(\.loss, loss)
        // Windows.
        s.add(\.seqLen, seqLen)
        s.add(\.batchSize, batchSize)
        // --deterministic is --micro-batch at its default size: one setting, `microBatch`.
        s.add(optional: \.microBatch, microBatch ?? (deterministic ? MicroBatches.defaultSize : nil))
        s.add(\.validationFraction, valFraction)
        s.add(\.normalize, normalize)
        s.add(\.shuffle, shuffle)
        s.add(\.seed, seed)
        s.add(\.stateful, stateful)
        s.add(optional: \.horizon, horizon)
        // Optimiser.
        s.add(\.optimizer.kind, optimizer)
        s.add(\.optimizer.learningRate, lr)
        s.add(\.optimizer.momentum, momentum)
        s.add(\.optimizer.nesterov, nesterov)
        s.add(\.optimizer.weightDecay, weightDecay)
        s.add(\.optimizer.beta1, beta1)
        s.add(\.optimizer.beta2, beta2)
        s.add(\.optimizer.epsilon, eps)
        s.add(optional: \.clipNorm, clipNorm)
        s.add(\.schedule.warmupSteps, warmup)
        s.add(\.schedule.decay, lrDecay)
        s.add(\.schedule.stepSize, lrStepSize)
        s.add(\.schedule.gamma, lrGamma)
        s.add(\.schedule.minFraction, lrMinFraction)
        // Length.
        s.add(optional: \.steps, steps)
        s.add(\.epochs, epochs)
        s.add(optional: \.evalEvery, evalEvery)
        s.add(optional: \.earlyStop, earlyStop)
        s.add(\.onNonFinite, onNonfinite)
        // Checkpoints and output.
        s.add(optional: \.checkpointDirectory, checkpointDir)
        s.add(optional: \.checkpointEvery, checkpointEvery)
        s.add(\.keep, keep)
        s.add(\.logEvery, logEvery)
        s.add(\.quiet, quiet)
        s.add(optional: \.metricsPath, metrics)
        s.add(optional: \.threads, threads)
        s.add(\.replicaCheckEvery, replicaCheckEvery)
        // Every row bound: a row added to the table without its flag here stops every run (and so
        // every test that trains) instead of being silently ignored.
        let unbound = OptionTable.fields.map(\.name).filter { !s.bound.contains($0) }
        precondition(unbound.isEmpty, "option table rows without a flag in Train.settings(): \(unbound)")
        // In the table's order, as `train --help` lists them.
        return OptionTable.fields.compactMap { field in s.given.first { $0.field.name == field.name } }
    }

    /// Whether --quiet was given (the checkpoint's own setting is known only after it is read).
    private var quietGiven: Bool { quiet ?? false }

    func run() throws {
        // A resumed run's data settings are checked against the checkpoint's; a new run's are its own.
        // `auto`: what a requeued job runs, the same command each time: continue the run the
        // directory holds, or start one there when it holds none.
        let resume = resume == "auto" ? (Self.holdsCheckpoint(checkpointDir) ? "latest" : nil) : resume
        let dataRequest = try dataArguments.request(season: season, panel: panelArguments)
        let dataOptions = resume == nil ? try dataArguments.options(season: season, panel: panelArguments) : nil
        var start = RunStart.fresh
        if let resume {
            let path = resume == "latest" ? (checkpointDir ?? "") : resume
            start = .resume(path: try resolveCheckpointArgument(path))
        } else if let initFrom {
            start = .initialize(path: initFrom)
        } else if dataOptions == nil {
            throw ValidationError("--data is required (or --resume a run)")
        }
        // A new run: defaults for its data and mode, then the user's settings.
        let base = TrainingOptions.defaults(text: dataOptions?.source.isText ?? false, stateful: stateful ?? false)
        let settings = settings()
        let resuming: Bool = if case .resume = start { true } else { false }
        let options = resuming ? base : try resolveOptions(base: base, settings: settings, resuming: false).options
        // What this run reads: no output of it may replace one of these.
        let inputs =
            inputPaths(dataOptions?.source) + [config].compactMap { $0 }
            + [start.checkpointPath].compactMap { $0 }
        try runDistributed(deadline: collectiveTimeout) { comm in
            StopSignal.install()
            BLASThreads.set(Trainer.parallelism(options, comm: comm).blasThreads)
            let trainer = try Trainer(
                comm: comm, options: options, data: dataOptions, start: start, settings: settings,
                dataRequest: dataRequest, fitBatchToData: batchSize == nil,
                announce: { if !quietGiven { print($0) } })
            trainer.observers = FaultInjection.fromEnvironment.map { [$0] } ?? []
            trainer.stopRequested = { StopSignal.isRequested }
            if let delay = FaultInjection.checkpointDelay { trainer.beforeCheckpointRename = delay }
            // A resumed run's own options may ask for other threads than the command line's.
            if trainer.blasThreads != BLASThreads.current { BLASThreads.set(trainer.blasThreads) }
            let printer = try comm.agree {
                try ProgressPrinter(
                    options: trainer.options, mode: progress, isRoot: comm.isRoot, ranks: comm.size,
                    resuming: resuming, force: overwrite.force, inputs: inputs + inputPaths(trainer.dataSource))
            }
            StopSignal.deferStops()
            let summary = try trainer.run(report: printer.show)
            printer.finish()
            if let failure = printer.metricsFailure { throw CommandFailure("--metrics: \(failure)") }
            guard comm.isRoot && !trainer.options.quiet else { return }
            var line = "done: \(summary.steps) steps"
            line +=
                summary.finalLoss.isFinite
                ? ", last step's loss \(String(format: "%.6g", summary.finalLoss))" : ", no update applied"
            if let v = summary.validationLoss { line += ", validation loss \(String(format: "%.6g", v))" }
            if let c = summary.checkpoint { line += ", checkpoint \(c)" }
            if summary.stoppedEarly { line += " (stopped early)" }
            if summary.interrupted { line += " (interrupted)" }
            print(line)
        }
    }
}

extension Train {
    /// Whether `directory` holds a checkpoint to continue (`--resume auto`).
    static func holdsCheckpoint(_ directory: String?) -> Bool {
        guard let directory, Files.kind(directory) == .directory else { return false }
        return (try? resolveCheckpoint(directory)) != nil
    }
}

extension RunStart {
    /// The checkpoint or weights file a run reads, if any.
    var checkpointPath: String? {
        switch self {
        case .fresh: nil
        case let .initialize(path, _), let .resume(path): path
        }
    }
}

/// The settings a command line gave, built flag by flag (a flag left out adds nothing).
struct SettingList {
    private(set) var given: [OptionSetting] = []
    /// The rows bound so far, given or not.
    private(set) var bound: Set<String> = []

    mutating func add<V: Sendable>(_ path: WritableKeyPath<TrainingOptions, V> & Sendable, _ value: V?) {
        bound.insert(OptionTable.field(path).name)
        if let value { given.append(OptionSetting(path, value)) }
    }

    mutating func add<V: Sendable>(optional path: WritableKeyPath<TrainingOptions, V?> & Sendable, _ value: V?) {
        bound.insert(OptionTable.field(path).name)
        if let value { given.append(OptionSetting(path, value)) }
    }
}

extension ProgressMode: ExpressibleByArgument {}
