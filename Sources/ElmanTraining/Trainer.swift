import ElmanCheckpoint
import ElmanCore
import ElmanData
import ElmanDistributed
import ElmanRun

/// Data-parallel training: each rank trains a replica on its slice of every global batch.
///
/// One step on every rank:
///
///     cut the global batch into micro-batches     (same order on all ranks, from the seed;
///                                                  the cut depends on the batch alone)
///     take my contiguous share of them, spread over my replicas
///     forward, loss SUM, backward, per micro-batch (fixed shapes: the same bits anywhere)
///     exact sum over every micro-batch of every rank: gradients, loss sums, term counts, stop
///                                                 (GradientReduction: max, then fixed point)
///     gradients /= global term count              (the mean over the global batch)
///     clip, optimiser update                      (identical on every rank)
///
/// Because the sum is exact, it is the same bits at any number of ranks and threads, and so is
/// everything after it: the weights, the optimiser's state, every loss. Every decision taken
/// from the reduced values (skip a non-finite step, stop on a signal, stop early) is taken by
/// all ranks together.
/// `init` (in Trainer+Setup.swift) prepares the run; `run()` is the loop.
public final class Trainer {
    public let comm: Communicator
    public let options: TrainingOptions
    public let data: WindowedDataset
    public let network: ElmanNetwork
    public let optimizer: Optimizer
    /// Observers called at the named points of every step (benchmark timing, fault injection).
    public var observers: [StepObserver] = []
    /// Whether the caller asks the run to stop after the current step (a signal, a lost output):
    /// read once a step on every rank and agreed on in the all-reduce, so all ranks stop together.
    /// Called from the training thread and from validation's replicas.
    public var stopRequested: @Sendable () -> Bool = { false }
    /// The BLAS threads this run's kernels expect: 1, the replicas share the cores. BLAS
    /// threading is process-wide, so the caller sets it (see `parallelism`); the library never does.
    public let blasThreads: Int
    /// Runs after a checkpoint file is on disk and before it takes its name (a seam for tests
    /// that kill the process mid-write); nothing by default.
    public var beforeCheckpointRename: @Sendable () -> Void = {}
    /// Notes from preparing the run (a resume's changed settings), reported when it starts.
    public let notes: [String]
    /// How many replicas share this rank's batch (one per core it uses).
    public var replicaCount: Int { replicas.count }
    /// With several ranks and layers, start reducing each layer's gradient while the layers
    /// below still run backward (the same sums; `bench --no-overlap` measures without).
    public var overlapsReduction: Bool {
        get { reduction.overlaps }
        set { reduction.overlaps = newValue }
    }
    /// The step's all-reduce, overlapped with backward where the run allows it.
    let reduction: GradientReduction

    let localStep: LocalStep
    /// The rank's network and its copies, one per core the rank uses (`localStep` first).
    let replicas: Replicas
    let dataRecord: DataRecord
    /// Where the run's data comes from (a resumed run's may be the checkpoint's).
    public var dataSource: DataSpec { dataRecord.options.source }
    let schedule: Schedule
    let totalSteps: Int
    let checkpoints: CheckpointDirectory?
    var progress: ProgressRecord
    var lastCheckpoint: String?
    /// Rank 0's lock on the checkpoint directory, released when the trainer goes.
    private let lock: DirectoryLock?
    private var epochOrder: (epoch: Int, order: [Int32]) = (-1, [])
    /// The windows of the step being run (reused from step to step).
    private var stepWindows: [Int] = []
    /// The job's cores (ranks × the most replicas any rank has): micro-batches a step when
    /// `microBatch` is unset.
    private let workers: Int

    init(
        comm: Communicator, options: TrainingOptions, data: WindowedDataset, dataRecord: DataRecord, schedule: Schedule,
        network: ElmanNetwork, optimizer: Optimizer, progress: ProgressRecord, resumedFrom: String?, notes: [String],
        lock: DirectoryLock?, replicaCount: Int, workers: Int, blasThreads: Int, firstEpochOrder: [Int32]? = nil
    ) {
        if let firstEpochOrder { epochOrder = (0, firstEpochOrder) }
        self.workers = workers
        self.lock = lock
        self.blasThreads = blasThreads
        self.comm = comm
        self.options = options
        self.data = data
        self.dataRecord = dataRecord
        self.schedule = schedule
        self.network = network
        self.optimizer = optimizer
        self.progress = progress
        self.notes = notes
        lastCheckpoint = resumedFrom
        totalSteps = options.steps ?? options.epochs * schedule.batchesPerEpoch
        checkpoints = options.checkpointDirectory.map(CheckpointDirectory.init)
        localStep = LocalStep(network: network, data: data, loss: options.loss)
        replicas = Replicas(first: localStep, count: replicaCount)
        reduction = GradientReduction(comm: comm, replicas: replicas)
    }

    // MARK: The loop

    /// Trains until the step budget, early stopping, a stop signal, or an error.
    /// Rank 0 reports progress through `report`; the other ranks never call it.
    public func run(report sink: (TrainingEvent) -> Void = { _ in }) throws -> TrainingSummary {
        let isRoot = comm.isRoot
        func report(_ event: TrainingEvent) {
            if isRoot { sink(event) }
        }
        let clock = ContinuousClock(), started = clock.now
        let startStep = progress.step
        var meter = LossMeter()
        var samples = 0
        var interrupted = false
        report(.started(outline))
        for note in notes { report(.note(note)) }

        /// The loop itself; `run` wraps it to give a timed-out collective its context.
        func loop() throws {
            while progress.step < totalSteps {
                let step = progress.step
                let epoch = progress.epoch

                // Batch, forward and backward: my slice of the global batch; gradients of the SUM of my loss terms.
                try observe(step, .start)
                forwardBackward(step: step)
                try observe(step, .computed)

                // Reduce: the exact sum of gradients, losses, counts and stop flags over every
                // micro-batch of every rank (the gradient in parts, started during backward, when `overlapping`).
                let reduced = try reduction.finish()
                try observe(step, .reduced)
                let loss = reduced.lossSum / reduced.terms
                var stopRequested = reduced.stop

                // Update: the exact global mean, clipped, through the optimiser (identical on every rank).
                let lr = options.schedule.rate(base: options.optimizer.learningRate, step: step, total: totalSteps)
                // A skipped update (`onNonfinite` skip) still logs, checkpoints and honours a stop.
                var norm = Double.nan
                switch try update(loss: loss, termCount: reduced.terms, lr: lr, step: step) {
                case let .applied(gradientNorm):
                    norm = gradientNorm
                    try observe(step, .updated)
                    samples += schedule.samples(ofStep: step)
                    meter.add(loss)
                case let .skipped(reason):
                    report(.skipped(step: step + 1, reason: reason))
                }
                advance()

                // Evaluate: at epoch ends (or every `evalEvery` steps) and after the last step.
                var validation: (loss: Double, seconds: Double)? = nil
                if validationDue {
                    // A stop request interrupts a validation: its partial result is dropped.
                    validation = try validateAndKeepBest()
                    if validation == nil { stopRequested = true }
                }
                let validationLoss = validation?.loss

                // Log.
                let logged =
                    progress.step % options.logEvery == 0 || validationLoss != nil || progress.step == totalSteps
                report(
                    .stepDone(
                        stepReport(
                            epoch: epoch, loss: meter.mean, validation: validation,
                            lr: lr, gradientNorm: norm, samples: samples, elapsed: (clock.now - started).seconds,
                            stepsDone: progress.step - startStep, logged: logged)))
                if logged { meter.startWindow() }

                // Checkpoint, and stop: every rank takes the same decision from the reduced values.
                if progress.step % options.replicaCheckEvery == 0 { try checkReplicas() }
                if let patience = options.earlyStop, progress.validationsWithoutImprovement >= patience {
                    progress.stoppedEarly = true
                    report(.stoppedEarly(patience: patience, bestValidationLoss: progress.bestValidationLoss ?? .nan))
                }
                if stopRequested {
                    interrupted = true
                    report(.stopRequested(step: progress.step))
                }
                let last = progress.step == totalSteps || progress.stoppedEarly || stopRequested
                if let every = options.checkpointEvery, progress.step % every == 0, !last {
                    try writeCheckpoint(report)
                }
                if last { break }
            }
        }

        // A collective that ran out of time: say where the run stood and what is safe on disk.
        // No checkpoint is written from here: some rank's state is unknown.
        do { try loop() } catch var error as CommunicatorError where error.timeout != nil {
            error.message +=
                " (step \(progress.step + 1))"
                + (lastCheckpoint.map { "; last good checkpoint: \($0)" } ?? "; no checkpoint was written")
            throw error
        }
        if checkpoints != nil && progress.step > startStep { try writeCheckpoint(report) }
        if isRoot, progress.step > startStep, let warning = constantModelWarning() { report(.warning(warning)) }
        return TrainingSummary(
            steps: progress.step, finalLoss: meter.last, validationLoss: progress.lastValidationLoss,
            bestValidationLoss: progress.bestValidationLoss, checkpoint: lastCheckpoint,
            stoppedEarly: progress.stoppedEarly, interrupted: interrupted)
    }

    // MARK: Steps of the loop

    /// What the log section reports after a step: progress, losses, rates and the time left.
    private func stepReport(
        epoch: Int, loss: Double, validation: (loss: Double, seconds: Double)?, lr: Double, gradientNorm: Double,
        samples: Int, elapsed: Double, stepsDone: Int, logged: Bool
    ) -> StepReport {
        StepReport(
            step: progress.step, epoch: epoch + 1, totalSteps: totalSteps, loss: loss, validationLoss: validation?.loss,
            lastValidationLoss: progress.lastValidationLoss, validationSeconds: validation?.seconds, learningRate: lr,
            gradientNorm: gradientNorm, samplesPerSecond: Double(samples) / max(elapsed, 1e-9), elapsed: elapsed,
            remaining: Double(totalSteps - progress.step) * elapsed / Double(max(stepsDone, 1)), logged: logged)
    }

    /// Runs this rank's micro-batches of step `step` forward and backward on its replicas,
    /// leaving each one's loss and gradient with `reduction`.
    private func forwardBackward(step: Int) {
        replicas.shareParameters()
        switch schedule {
        case let .windows(plan):
            let global = globalWindows(plan, step: step)
            let cut = Self.cut(examples: global.count, options: options, workers: workers)
            let mine = cut.share(workers: comm.size, worker: comm.rank)
            reduction.begin(cut, stop: stopRequested())
            replicas.perform(mine.count) { r, share in
                for k in share {
                    let j = mine.lowerBound + k, windows = cut.examples(of: j)
                    reduction.startMicroBatch(replica: r)
                    let scored = replicas.steps[r].forward(
                        windows: global[(global.startIndex + windows.lowerBound)..<(global.startIndex + windows.upperBound)])
                    reduction.record(j, scored)
                    reduction.backward(replica: r, last: k == share.upperBound - 1)
                }
            }
        case let .lanes(plan, state):
            let (_, batch) = plan.position(ofStep: step)
            if batch == 0 { state.reset() }  // every epoch starts from h = 0
            let (offset, steps) = plan.chunk(batch)
            reduction.begin(state.cut, stop: stopRequested())
            replicas.perform(state.blocks.count) { r, share in
                for k in share {
                    let j = state.blocks.lowerBound + k, lanes = state.cut.examples(of: j)
                    reduction.startMicroBatch(replica: r)
                    let local = replicas.steps[r]
                    let scored = local.forward(
                        runsFrom: lanes.lazy.map { plan.row(lane: $0, offset: offset) }, steps: steps,
                        initialHidden: UnsafeBufferPointer(state.block(j)))
                    reduction.record(j, scored)
                    reduction.backward(replica: r, last: k == share.upperBound - 1)
                    // Detached: the next step starts from this state, and no gradient flows back into it.
                    state.carry(j, from: local.network)
                }
            }
        }
    }

    /// The windows of global step `step`, in the epoch's seeded order (the same on every rank).
    private func globalWindows(_ plan: BatchPlan, step: Int) -> [Int] {
        let (epoch, batch) = plan.position(ofStep: step)
        if epochOrder.epoch != epoch { epochOrder = (epoch, plan.order(epoch: epoch)) }
        stepWindows.removeAll(keepingCapacity: true)
        stepWindows.append(contentsOf: epochOrder.order[plan.range(ofBatch: batch)].lazy.map { Int($0) })
        return stepWindows
    }

    /// What became of a step's update.
    private enum UpdateOutcome {
        /// Applied; the gradient norm before clipping.
        case applied(gradientNorm: Double)
        /// Skipped on every rank because the loss or the gradient is not finite (`onNonfinite` skip).
        case skipped(reason: String)
    }

    /// Turns the summed gradients into the global mean, clips them and applies the optimiser.
    private func update(loss: Double, termCount: Double, lr: Double, step: Int) throws -> UpdateOutcome {
        let gradients = UnsafeMutableBufferPointer(start: network.gradients.baseAddress, count: network.layout.count)
        let scale = Float(1 / termCount)
        for i in gradients.indices { gradients[i] *= scale }
        let norm = GradientClipping.norm(UnsafeBufferPointer(gradients))
        if !loss.isFinite || !norm.isFinite {
            let what = !loss.isFinite ? "loss is \(loss)" : "gradient norm is \(norm)"
            switch options.onNonFinite {
            case .stop:
                let last = lastCheckpoint.map { "; last good checkpoint: \($0)" } ?? "; no checkpoint was written"
                throw SharedFailure(message: "\(what) at step \(step + 1)\(last)")
            case .skip:
                return .skipped(reason: what)
            }
        }
        if let clip = options.clipNorm { GradientClipping.clip(gradients, maxNorm: clip) }
        optimizer.update(parameters: network.parameters.baseAddress, gradients: network.gradients.baseAddress, lr: lr)
        return .applied(gradientNorm: norm)
    }

    /// Moves the global cursor one step on.
    private func advance() {
        progress.step += 1
        (progress.epoch, progress.batchInEpoch) = schedule.position(ofStep: progress.step)
    }

    private func observe(_ step: Int, _ point: StepPoint) throws {
        for observer in observers { try observer.step(step, reached: point, network: network, comm: comm) }
    }

    private var outline: RunOutline {
        let m = network.config
        var lanes: RunOutline.Lanes? = nil
        if case let .lanes(plan, _) = schedule {
            lanes = .init(count: plan.lanes, length: plan.laneLength, droppedRows: plan.droppedRows)
        }
        return RunOutline(
            layers: m.layers, hidden: m.hiddenSize, activation: m.activation.rawValue, parameters: network.layout.count,
            trainWindows: data.trainCount, validationWindows: data.validationCount, lanes: lanes,
            batchSize: options.batchSize, ranks: comm.size, overlapsReduction: reduction.overlapping,
            firstStep: progress.step + 1, totalSteps: totalSteps)
    }

    // MARK: Validation

    /// Whether the step just taken ends with a validation.
    private var validationDue: Bool {
        guard data.validationCount > 0 else { return false }
        let scheduled = options.evalEvery.map { progress.step % $0 == 0 } ?? (progress.batchInEpoch == 0)
        return scheduled || progress.step == totalSteps
    }

    /// Validates, records the result in `progress`, and writes best.safetensors on improvement;
    /// returns the loss and the validation's seconds (without the write, which is a
    /// checkpoint's: it had made an improving validation read three times slower).
    /// Nil when a stop request on any rank interrupted the validation.
    private func validateAndKeepBest() throws -> (loss: Double, seconds: Double)? {
        let clock = ContinuousClock(), start = clock.now
        guard let v = try validate() else { return nil }
        let seconds = (clock.now - start).seconds
        progress.lastValidationLoss = v
        if v < (progress.bestValidationLoss ?? .infinity) {
            progress.bestValidationLoss = v
            progress.validationsWithoutImprovement = 0
            if let dir = checkpoints, let bytes = try checkpointBytes() {
                try dir.writeBest(bytes, beforeRename: beforeCheckpointRename)
            }
        } else {
            progress.validationsWithoutImprovement += 1
        }
        return (v, seconds)
    }

    /// Mean validation loss: windows, or the held-out stream's lanes, in fixed chunks shared
    /// out over the ranks and their replicas. Nil when a stop request reached any rank
    /// meanwhile: each rank then stops reading its share, so a checkpoint follows within a
    /// chunk's time whatever the data size.
    ///
    /// Each chunk's loss goes to its own slot, zero on every other rank, so the sum all-reduce
    /// only assembles them, exactly; the chunks are then added in order. The result is the
    /// same bits at any world size.
    func validate() throws -> Double? {
        replicas.shareParameters()
        let count: Int
        let run: (LocalStep, Int) -> LocalStep.Scored
        switch schedule {
        case .windows:
            let chunks = MicroBatches(examples: data.validationCount, size: ForwardPass.batch)
            count = chunks.count
            run = { step, j in
                let w = chunks.examples(of: j)
                let first = self.data.trainCount
                return ForwardPass(step).score(windows: (first + w.lowerBound)..<(first + w.upperBound))
            }
        case let .lanes(training, _):
            // The held-out rows read as lanes (one unless the tail is long, `LanePlan.validationLanes`),
            // each state carried from zero, in micro-batches of lanes.
            let rows = data.validationCount
            let lanes = LanePlan.validationLanes(rows: rows, seqLen: data.seqLen, maxLanes: training.lanes)
            let plan = try LanePlan(rows: rows, lanes: lanes, seqLen: data.seqLen, origin: data.trainCount)
            let blocks = Self.cut(examples: lanes, options: options, workers: workers)
            count = blocks.count
            run = { [stopRequested] step, j in
                ForwardPass(step).lanes(
                    from: blocks.examples(of: j).map { plan.row(lane: $0, offset: 0) },
                    chunks: (0..<plan.batchesPerEpoch).lazy.map(plan.chunk), stop: stopRequested, visit: { _, _ in })
            }
        }
        let mine = BatchPlan.shard(count: count, ranks: comm.size, rank: comm.rank)
        // [loss sum of each chunk | its term count | stop flag]
        var slots = [Double](repeating: 0, count: 2 * count + 1)
        slots.withUnsafeMutableBufferPointer { out in
            replicas.perform(mine.count) { r, share in
                for k in share where !stopRequested() {
                    let j = mine.lowerBound + k, scored = run(replicas.steps[r], j)
                    out[j] = scored.sum
                    out[count + j] = Double(scored.terms)
                }
            }
        }
        slots[2 * count] = stopRequested() ? 1 : 0
        try slots.withUnsafeMutableBufferPointer { try comm.allReduceSum($0) }
        guard slots[2 * count] == 0 else { return nil }
        var sum = 0.0, terms = 0.0
        for j in 0..<count {
            sum += slots[j]
            terms += slots[count + j]
        }
        return sum / terms
    }

    /// A warning when the predictions on the validation data barely vary while the targets do:
    /// a model that collapsed to a constant (dead relu units, a learning rate too high).
    /// Looks at up to 4096 validation windows (or rows), evenly spread; rank 0 alone.
    func constantModelWarning() -> String? {
        guard !data.isClassification, data.validationCount > 0 else { return nil }
        var predictions: [Double] = [], targets: [Double] = []
        let pass = ForwardPass(localStep)
        switch schedule {
        case .windows:
            let stride = max(1, data.validationCount / 4096)
            pass.windows(Array(Swift.stride(from: data.trainCount, to: data.windowCount, by: stride))) { w, output in
                predictions.append(Double(output[0]))
                targets.append(Double(data.scaledTarget(row: data.targetRow(ofWindow: w))))
            }
        case .lanes:
            let first = data.trainCount
            let rows = min(data.validationCount - 1, 4096)
            pass.lanes(from: [first], chunks: ForwardPass.chunks(rows: rows, length: data.seqLen)) {
                offset, steps in
                for t in 0..<steps {
                    predictions.append(Double(network.output[t]))
                    targets.append(Double(data.scaledTarget(row: first + offset + t + 1)))
                }
            }
        }
        func spread(_ v: [Double]) -> Double {
            let mean = v.reduce(0, +) / Double(max(v.count, 1))
            return (v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(v.count, 1))).squareRoot()
        }
        let p = spread(predictions), t = spread(targets)
        guard t > 0, p < 0.05 * t else { return nil }
        return String(
            format:
                "the model's predictions on the validation data barely vary (spread %.3g against the targets' %.3g, in scaled units): it predicts a near-constant. For a random walk that is the best forecast; for a series with structure, dead relu units or a learning rate too high are the usual causes: try `activation` tanh, a lower `lr`, or more `epochs`",
            p, t)
    }

    // MARK: Replicas and checkpoints

    /// Every rank's parameter checksum must be rank 0's.
    func checkReplicas() throws {
        guard comm.size > 1 else { return }
        let mine = UInt64(CRC32C.checksum(UnsafeRawBufferPointer(network.parameters.buffer)))
        let all = try comm.allGather([mine])
        let drifted = all.enumerated().filter { $0.element != all[0] }.map(\.offset)
        if !drifted.isEmpty {
            let ranks = drifted.map(String.init).joined(separator: ", ")
            throw SharedFailure(
                message: "replicas have drifted: rank \(ranks) parameters differ from rank 0's at step \(progress.step)"
            )
        }
    }

    /// The current state as checkpoint bytes on rank 0, nil on the others. Collective: a
    /// stateful run gathers every lane's carried state.
    func checkpointBytes() throws -> [UInt8]? { try checkpoint()?.serialized() }

    /// The current state as a checkpoint on rank 0, nil on the others (collective, as
    /// `checkpointBytes`): the model a run ends with, without a file.
    public func checkpoint() throws -> Checkpoint? {
        var lanes: StateTensor? = nil
        if case let .lanes(_, state) = schedule {
            lanes = StateTensor(shape: [state.layers, state.laneCount, state.hidden], values: try state.gathered(comm))
        }
        guard comm.isRoot else { return nil }
        var c = Checkpoint(
            model: network.config, parameters: network.parameters.array, optimizer: options.optimizer,
            optimizerState: optimizer.state)
        try c.setSection(SectionKey.training, options)
        try c.setDataRecord(dataRecord)
        try c.setSection(SectionKey.progress, progress)
        if let calibration = calibration() { try c.setSection(SectionKey.calibration, calibration) }
        if let lanes { c.state[CarriedState.tensorName] = lanes }
        return c
    }

    /// The calibration of intervals, for each lead of the head: the absolute errors, in the
    /// target's units, of up to 4096 validation windows evenly spread (a forward pass of a few
    /// milliseconds); for a panel, each divided by its series' scale (in-sample naive MAE), so
    /// that series of every magnitude calibrate together. Nil for stateful and text models and
    /// runs without validation. Rank 0 alone, with the weights it writes.
    func calibration() -> Calibration? {
        guard case .windows = schedule, !data.isClassification, data.validationCount > 0 else { return nil }
        let stride = max(1, data.validationCount / 4096)
        // Every lead of a model of several, each level rebuilt from the changes before it.
        let H = data.horizon, lag = data.isDifferenced ? data.levelOffset : 0, T = data.seqLen
        var errors = [[Double]](repeating: [], count: H)
        ForwardPass(localStep).windows(Array(Swift.stride(from: data.trainCount, to: data.windowCount, by: stride))) {
            w, output in
            let start = data.startRow(ofWindow: w), last = start + T - 1
            // A series without a scale (too short in training for a naive error) calibrates nothing.
            var scale = 1.0, target = data.normalization.target
            if let panel = data.panel {
                let series = panel.series(ofRow: start)
                scale = panel.scalings.scale(series) ?? .nan
                target = panel.scalings.targetScaling(series)
            }
            guard scale > 0 else { return }
            var recent = LevelRing((0..<lag).map { data.level(row: last, back: lag - 1 - $0) }, lag: lag)
            for h in 0..<H {
                let forecast = recent.next(target.denormalize(Double(output[h])))
                errors[h].append(abs(forecast - data.level(row: last + 1 + h, back: 0)) / scale)
            }
        }
        return Calibration(
            absoluteErrors: errors[0], laterLeads: Array(errors.dropFirst()), perSeriesScale: data.panel != nil)
    }

    /// Checks replicas, then rank 0 writes a checkpoint and moves `latest`.
    func writeCheckpoint(_ report: (TrainingEvent) -> Void) throws {
        try checkReplicas()
        guard let dir = checkpoints else { return }
        // Replicas are identical, so every rank reaches the same verdict here.
        guard network.parameters.buffer.allSatisfy(\.isFinite) else {
            let last = lastCheckpoint.map { "; last good checkpoint: \($0)" } ?? ""
            throw SharedFailure(
                message: "parameters are not finite at step \(progress.step); no checkpoint written\(last)")
        }
        guard let bytes = try checkpointBytes() else {
            // Rank 0 writes; every rank knows what, for messages that name the last good checkpoint.
            lastCheckpoint = dir.path + "/" + CheckpointDirectory.fileName(step: progress.step)
            return
        }
        do {
            lastCheckpoint = try dir.write(bytes, step: progress.step, keep: options.keep, beforeRename: beforeCheckpointRename)
        } catch {
            throw RunError(wrapping: error)
        }
        report(.checkpointWritten(path: lastCheckpoint ?? ""))
    }
}

/// The training loss: its mean over the steps since the last logged one, and its last value.
private struct LossMeter {
    private var sum = 0.0, count = 0
    private(set) var last = Double.nan
    mutating func add(_ loss: Double) {
        sum += loss
        count += 1
        last = loss
    }
    mutating func startWindow() { (sum, count) = (0, 0) }
    var mean: Double { sum / Double(max(count, 1)) }
}
