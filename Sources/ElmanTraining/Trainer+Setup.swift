import Dispatch
import ElmanCheckpoint
import ElmanCore
import ElmanData
import ElmanDistributed
import ElmanFiles
import ElmanRun

#if canImport(Glibc)
import Glibc
#endif

/// How a run starts.
public enum RunStart: Sendable {
    /// Fresh weights from the seed.
    case fresh
    /// Model tensors from a safetensors file (for example one saved by PyTorch). `strict`, as
    /// PyTorch's `load_state_dict`: a tensor the model does not have is an error; otherwise it is
    /// ignored (a reference file that also holds inputs and expected results).
    case initialize(path: String, strict: Bool = true)
    /// Continue a checkpoint exactly.
    case resume(path: String)

    /// Whether the run starts anew (its options are the command line's, not a checkpoint's).
    var isNew: Bool {
        if case .resume = self { false } else { true }
    }
}

extension Trainer {
    /// Prepares a run on every rank: options, data, fingerprints, model, optimiser, checkpoint directory.
    ///
    /// Every check that can fail on some ranks only is agreed on collectively, so bad input
    /// ends all ranks with one message instead of a hang.
    ///
    /// - Parameters:
    ///   - options: a new run's options (ignored when resuming: the checkpoint's are used).
    ///   - data: where the data comes from (nil when resuming: the checkpoint's source).
    ///   - settings: what the user set explicitly; applied on top of a resumed checkpoint's options.
    ///   - announce: called at once (rank 0) with what the run is about to do that the user
    ///     should see before it happens, such as which file a checkpoint's data path names.
    ///   - dataRequest: when resuming, what the command line says of the data: checked against
    ///     the checkpoint's pipeline (`DataOptions.resolving`), which only the source may change.
    ///   - fitBatchToData: the batch size is a default, not the user's: a new run on fewer
    ///     training windows than that takes them all in one batch (with a note) instead of failing.
    public convenience init(
        comm: Communicator, options requested: TrainingOptions, data source: DataOptions?, start: RunStart,
        settings: [OptionSetting] = [], dataRequest: DataRequest = DataRequest(), fitBatchToData: Bool = false,
        announce: (String) -> Void = { _ in }
    ) throws {
        try self.init(
            comm: comm, options: requested, source: source, series: nil, start: start, settings: settings,
            dataRequest: dataRequest, fitBatchToData: fitBatchToData, announce: announce)
    }

    /// Prepares a new run on a series already in memory (benchmarks, tests, a backtest's
    /// retraining): fresh weights, or a safetensors file's (`.initialize`). `source` is the
    /// pipeline the series came through, which the run's checkpoints record.
    public convenience init(
        comm: Communicator, options: TrainingOptions, series: Series,
        source: DataOptions = DataOptions(source: .csv(path: "(in memory)")), start: RunStart = .fresh
    )
        throws
    {
        try self.init(
            comm: comm, options: options, source: source, series: series, start: start, settings: [],
            dataRequest: DataRequest(), fitBatchToData: false, announce: { _ in })
    }

    private convenience init(
        comm: Communicator, options requested: TrainingOptions, source: DataOptions?, series inMemory: Series?,
        start: RunStart, settings: [OptionSetting], dataRequest: DataRequest, fitBatchToData: Bool,
        announce: (String) -> Void
    ) throws {
        // 0. The checkpoint directory is this run's: rank 0 locks it (for the run's life) before
        //    anything is read from it, so another run cannot prune what this one is reading.
        let lockedDirectory: CheckpointDirectory? = Self.checkpointDirectory(
            requested, start: start, settings: settings)
        let lock: DirectoryLock? = try comm.agree {
            guard comm.isRoot, let directory = lockedDirectory else { return nil }
            try directory.prepare()
            return try DirectoryLock(directory: directory.path)
        }

        // 1. Options: a new run's, or the checkpoint's with the user's settings on top.
        let resumed: Checkpoint? = try comm.agree {
            guard case let .resume(path) = start else { return nil }
            do { return try Checkpoint.load(path: path) } catch { throw RunError("cannot resume from \(path)", error) }
        }
        var (options, notes): (TrainingOptions, [String]) = try comm.agree {
            var resolved = (requested, [String]())
            if let resumed, case let .resume(path) = start {
                // A checkpoint never decides where anything is written: a resumed run writes
                // beside the checkpoint it resumes, and a metrics file only when asked for again.
                var base = try resumed.trainingOptions
                base.checkpointDirectory = Files.parent(of: path)
                base.metricsPath = nil
                resolved = try resolveOptions(base: base, settings: settings, resuming: true)
            }
            try resolved.0.validate()
            return resolved
        }
        // The cores this rank may use: one replica of the network on each, with single-threaded
        // BLAS, taking micro-batches of windows or of lanes.
        let (replicaCount, blasThreads) = Self.parallelism(options, comm: comm)

        // 2. Data: loaded by every rank; scaling fitted on the training rows, or the checkpoint's.
        let prior = try resumed?.dataRecord
        if source == nil, dataRequest.source == nil, let stored = prior?.options.source, comm.isRoot {
            announce("data: \(stored) (as the checkpoint names it)")
        }
        let loaded = try comm.agree {
            let resolved = try source ?? prior.map { (p) throws(DataError) in try p.options.resolving(dataRequest) }
            return try Self.loadData(
                options: options, source: resolved, series: inMemory, prior: prior, newRun: start.isNew,
                readsSeason: start.isNew && source.map { $0.source.isCSV && $0.season == nil } == true)
        }
        let data = loaded.data, record = loaded.record
        // A strong season the model would otherwise miss: said, with the flag that models it.
        if let (period, r) = loaded.season, r >= Self.seasonHint {
            notes.append(
                String(
                    format: "the changes of %@ repeat every %d rows (autocorrelation %.2f): `season` %d models what the value %d rows earlier does not explain, starting as that seasonal naive",
                    record.targetName, period, r, period, period))
        }
        if let panel = data.panel {
            let left = panel.leftOut
            let shown = left.prefix(5).map { "\($0.id) (\($0.rows) rows)" }.joined(separator: ", ")
            notes.append(
                "panel: \(panel.count) series, \(data.trainCount) training and \(data.validationCount) validation windows"
                    + (left.isEmpty
                        ? ""
                        : "; \(left.count) series left out, too short for a training window of \(options.seqLen) rows and its target: \(shown)\(left.count > 5 ? ", …" : "")"))
        }
        if fitBatchToData, !options.stateful, start.isNew, (1..<options.batchSize).contains(data.trainCount) {
            notes.append(
                "batch size \(data.trainCount): every training window (the default, \(options.batchSize), is more than the data has)"
            )
            options.batchSize = data.trainCount
        }
        let model = ModelConfig(options: options, data: data)
        // Micro-batches without a fixed size: one per core of the job, counted alike on every
        // rank (the most any rank has, on each).
        let workers = comm.size * Int(try comm.allGather([UInt64(replicaCount)]).max() ?? 1)
        let schedule: Schedule = try comm.agree {
            guard options.stateful else {
                return .windows(
                    try BatchPlan(
                        windowCount: data.trainCount, batchSize: options.batchSize, shuffle: options.shuffle,
                        seed: options.seed))
            }
            let plan = try LanePlan(rows: data.trainCount, lanes: options.batchSize, seqLen: options.seqLen)
            let cut = Self.cut(examples: plan.lanes, options: options, workers: workers)
            return .lanes(
                plan,
                CarriedState(
                    cut: cut, blocks: cut.share(workers: comm.size, worker: comm.rank), layers: model.layers,
                    hidden: model.hiddenSize))
        }

        // 3. Every rank must train the same thing on the same data.
        try Self.compareFingerprints(comm: comm, options: options, data: data)

        // 4. Model and optimiser; rank 0's state is broadcast so replicas start identical.
        //    Their size is checked before anything is allocated.
        try comm.agree { try Self.checkMemory(model, options: options, ranks: comm.size) }
        let network = ElmanNetwork(config: model)
        let optimizer = Optimizer(config: options.optimizer, count: network.layout.count)
        var progress = ProgressRecord(worldSize: comm.size)
        try comm.agree {
            switch start {
            case .fresh:
                // A model of changes starts as the last-value forecast (see `initialize`).
                network.initialize(seed: options.seed, zeroHead: data.isDifferenced)
            case let .initialize(path, strict):
                do { network.parameters.assign(try loadModelTensors(path: path, model: model, strict: strict)) } catch {
                    throw RunError("`init`", error)
                }
            case .resume:
                guard let resumed else { return }
                guard resumed.model == model else {
                    throw RunError("the checkpoint's model \(resumed.model) does not fit this data (\(model))")
                }
                network.parameters.assign(resumed.parameters)
                do { try optimizer.restore(resumed.optimizerState) } catch {
                    throw RunError("checkpoint optimizer state", error)
                }
                progress = try resumed.progress
                try progress.validate()
                if case let .lanes(_, state) = schedule { try Self.restore(state, from: resumed) }
                if progress.worldSize != comm.size {
                    notes.append("resuming at world size \(comm.size) (checkpoint written at \(progress.worldSize))")
                }
                progress.worldSize = comm.size
            }
        }
        try Self.broadcastState(comm: comm, network: network, optimizer: optimizer)

        // 5. The checkpoint directory must not hold another run's checkpoints.
        let runID = progress.runID ?? ""
        try comm.agree {
            guard comm.isRoot, let directory = lockedDirectory else { return }
            try directory.checkOwnership(runID: runID) { file in (try? Checkpoint.load(path: file))?.progressRunID ?? ""
            }
        }
        let resumedFrom: String? = if case let .resume(path) = start { path } else { nil }
        self.init(
            comm: comm, options: options, data: data, dataRecord: record, schedule: schedule, network: network,
            optimizer: optimizer, progress: progress, resumedFrom: resumedFrom, notes: notes, lock: lock,
            replicaCount: replicaCount, workers: workers, blasThreads: blasThreads, firstEpochOrder: loaded.firstEpochOrder)
    }

    /// The micro-batches of a batch of `examples`: of `microBatch` examples when it is set
    /// (the same cut at any world size), else one for each of the job's `workers` cores.
    static func cut(examples: Int, options: TrainingOptions, workers: Int) -> MicroBatches {
        options.microBatch.map { MicroBatches(examples: examples, size: $0) }
            ?? MicroBatches(examples: examples, count: workers)
    }

    /// The autocorrelation of the changes at their dominant period from which training suggests
    /// `season`: on the bundled series the hourly temperatures reach 0.997 at 24 rows, the others
    /// at most 0.30 (a synthetic wave of period 52 in noise) and 0.25 (monthly prices).
    static let seasonHint = 0.5

    /// How a run of `options` uses the rank's cores: a replica of the network on each, and the
    /// BLAS threads their kernels expect: always 1, so that no product's result depends on how
    /// OpenBLAS splits it among threads, and micro-batches run the same calls anywhere. BLAS threading is
    /// process-wide, so the caller sets it: before `init`, from this (OpenBLAS set to one thread
    /// only after the replicas' threads start left steps at 1/32 1.7× slower, in the slow mode
    /// of the pool's wake-ups), and again from `blasThreads` if a resumed run's options differ.
    public static func parallelism(_ options: TrainingOptions, comm: Communicator) -> (replicas: Int, blasThreads: Int) {
        let cores = options.threads ?? max(1, systemCoreCount() / max(1, comm.localSize))
        return (cores, 1)
    }

    /// What `loadData` gives: the windowed data (its training rows' levels read and dropped),
    /// its record, a new run's first epoch order, and the target's dominant period if asked.
    struct LoadedData {
        var data: WindowedDataset
        var record: DataRecord
        var firstEpochOrder: [Int32]?
        var season: (period: Int, autocorrelation: Double)?
    }

    /// Loads and windows the data, checking it against a resumed checkpoint's record; for a
    /// `newRun` of windows, also orders its first epoch (`BatchPlan.order`); with `readsSeason`,
    /// finds the target's dominant period (for the season hint).
    private static func loadData(
        options: TrainingOptions, source: DataOptions?, series inMemory: Series?, prior: DataRecord?,
        newRun: Bool, readsSeason: Bool
    ) throws -> LoadedData {
        guard let source else { throw RunError.usage("`data` is required") }
        let series = try inMemory ?? Series.load(source, vocabulary: prior?.vocabulary)
        if series.vocabulary != nil && options.loss != .crossEntropy {
            throw RunError("text data needs `loss` cross-entropy")
        }
        if series.vocabulary == nil && options.loss == .crossEntropy {
            throw RunError.usage("`loss` cross-entropy needs class targets (text data); use mse for numeric series")
        }
        let scaling: WindowedDataset.ScalingChoice =
            if let prior { prior.panel.map { .fixedPanel($0, prior.normalization.kind) } ?? .fixed(prior.normalization) }
            else { .fit(options.normalize) }
        if series.vocabulary != nil && options.leads > 1 {
            throw RunError.usage("`horizon` is for numeric series; a character model predicts the next character")
        }
        let (featureNames, targetName) = (series.featureNames, series.targetName)
        // Handed over: each column's doubles go as it is scaled into the dataset's inputs.
        var data = try WindowedDataset(
            series: consume series, seqLen: options.seqLen, validationFraction: options.validationFraction,
            scaling: scaling, split: options.stateful ? .stream : .windows, horizon: options.leads)
        // What needs the training rows' levels is read now; then they go (validation keeps its own).
        let naiveMAE = data.inSampleNaiveMAE(period: source.season ?? 1)
        let season = readsSeason ? data.dominantPeriod() : nil
        data.dropTrainingLevels()
        // The first epoch ordered on one core while the data is fingerprinted on another: each
        // is one serial pass (0.13 and 0.12 s of a 10M-row panel's load and first step).
        var firstOrder: [Int32]? = nil
        if newRun, !options.stateful, (1...Int(Int32.max)).contains(data.trainCount) {
            nonisolated(unsafe) var order: [Int32] = []
            let (count, shuffle, seed, hashed) = (data.trainCount, options.shuffle, options.seed, data)
            DispatchQueue.concurrentPerform(iterations: 2) { k in
                if k == 0 {
                    _ = hashed.fingerprint
                } else {
                    order = BatchPlan.order(windowCount: count, shuffle: shuffle, seed: seed, epoch: 0)
                }
            }
            firstOrder = order
        }
        if let prior, prior.fingerprint != data.fingerprint.hex16 {
            throw RunError(
                "the data differs from the checkpoint's (fingerprint \(data.fingerprint.hex16), checkpoint \(prior.fingerprint)); use `init` to start a new run from its weights"
            )
        }
        var record = DataRecord(
            options: source, normalization: data.normalization, vocabulary: data.vocabulary,
            featureNames: featureNames, targetName: targetName,
            fingerprint: data.fingerprint.hex16, trainWindows: data.trainCount,
            validationWindows: data.validationCount, naiveMAE: naiveMAE)
        record.panel = data.panel?.scalings
        return LoadedData(data: data, record: record, firstEpochOrder: firstOrder, season: season)
    }

    /// The directory a run will write: the command line's, or a resumed checkpoint's own.
    private static func checkpointDirectory(
        _ requested: TrainingOptions, start: RunStart, settings: [OptionSetting]
    ) -> CheckpointDirectory? {
        guard case let .resume(path) = start else { return requested.checkpointDirectory.map(CheckpointDirectory.init) }
        var beside = TrainingOptions()
        beside.checkpointDirectory = Files.parent(of: path)
        let chosen = (try? resolveOptions(base: beside, settings: settings, resuming: false).options) ?? beside
        return chosen.checkpointDirectory.map(CheckpointDirectory.init)
    }

    /// Refuses a model and batch whose training memory exceeds this machine's, giving both.
    private static func checkMemory(_ model: ModelConfig, options: TrainingOptions, ranks: Int) throws {
        do { try model.validate() } catch { throw RunError(wrapping: error) }
        let perRank = (options.batchSize + ranks - 1) / ranks
        let machine = Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
        let needed = model.trainingBytes(
            batch: perRank, steps: options.seqLen, optimizerSlots: options.optimizer.slotNames.count)
        guard let needed, machine <= 0 || needed <= machine else {
            let size = needed.map { "\($0) bytes" } ?? "more bytes than can be counted"
            throw RunError(
                "a \(model.layers)-layer model of \(model.hiddenSize) hidden units with batch \(perRank) × \(options.seqLen) steps needs \(size) to train, this machine has \(machine)"
            )
        }
    }

    /// Takes this rank's lanes of the carried state a stateful checkpoint holds.
    private static func restore(_ state: CarriedState, from checkpoint: Checkpoint) throws {
        guard let saved = checkpoint.state[CarriedState.tensorName] else {
            throw RunError("the stateful checkpoint has no carried hidden state")
        }
        let shape = [state.layers, state.laneCount, state.hidden]
        guard saved.shape == shape, saved.values.count == shape.reduce(1, *) else {
            throw RunError("the checkpoint's carried state has shape \(saved.shape), the run needs \(shape)")
        }
        state.take(from: saved.values)
    }

    /// Compares a fingerprint of the settings that change the numbers, and of the data, across ranks.
    static func compareFingerprints(comm: Communicator, options: TrainingOptions, data: WindowedDataset) throws {
        guard comm.size > 1 else { return }
        var settings = Fingerprint()
        settings.combine(options.numericalSettings)
        let all = try comm.allGather([settings.value, data.fingerprint])
        for r in 1..<comm.size {
            for (k, what) in ["configuration", "data"].enumerated() where all[2 * r + k] != all[k] {
                let message =
                    "rank \(r) differs from rank 0 in its \(what) (fingerprint \(all[2 * r + k].hex16), rank 0 \(all[k].hex16))"
                if comm.isRoot { throw SharedFailure(message: message) } else { throw PeerFailure(ranks: [r]) }
            }
        }
    }

    /// Copies rank 0's parameters and optimiser state to every rank.
    static func broadcastState(comm: Communicator, network: ElmanNetwork, optimizer: Optimizer) throws {
        guard comm.size > 1 else { return }
        try comm.broadcast(UnsafeMutableRawBufferPointer(network.parameters.buffer), root: 0)
        var state = optimizer.state
        for name in state.slots.keys.sorted() {
            var values = state.slots[name] ?? []
            try comm.broadcast(&values, root: 0)
            state.slots[name] = values
        }
        var step = [Int64(state.step)]
        try step.withUnsafeMutableBytes { try comm.broadcast($0, root: 0) }
        state.step = Int(step[0])
        try optimizer.restore(state)
    }
}

/// Cores this process may run on.
func systemCoreCount() -> Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
