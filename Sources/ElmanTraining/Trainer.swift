import ElmanCheckpoint
import ElmanCore
import ElmanData
import ElmanDistributed
import Foundation

/// How a run starts.
public enum RunStart: Sendable {
    /// Fresh weights from the seed.
    case fresh
    /// Model tensors from a safetensors file (for example one saved by PyTorch).
    case initialize(path: String)
    /// Continue a checkpoint exactly.
    case resume(path: String)
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

/// Data-parallel training: each rank trains a replica on its slice of every global batch.
///
/// One step on every rank:
///
///     take my contiguous slice of the global batch (same order on all ranks, from the seed)
///     forward, loss SUM, backward                    (gradients of the sum of my terms)
///     all-reduce [gradients | loss sum | term count | stop flag]   — one MPI_Allreduce
///     gradients /= global term count                 (exact mean over the global batch)
///     clip, optimiser update                         (identical on every rank)
///
/// Because the reduced values are the same everywhere, every decision taken from them
/// (skip a non-finite step, stop on a signal, stop early) is taken by all ranks together.
public final class Trainer {
    public let comm: Communicator
    public let options: TrainingOptions
    public let data: WindowedDataset
    public let network: ElmanNetwork
    public let optimizer: Optimizer
    let dataRecord: DataRecord
    let plan: BatchPlan
    let totalSteps: Int
    let checkpoints: CheckpointDirectory?
    let log: TrainingLog
    var progress: ProgressRecord
    var lastCheckpoint: String?

    /// Where the time of the measured steps went (for `bench`).
    public struct StepTimings: Sendable {
        public var steps = 0
        /// Data, forward and backward.
        public var compute = 0.0
        /// Waiting for the slowest rank before the all-reduce (only with `separateWait`).
        public var wait = 0.0
        /// The gradient all-reduce.
        public var allReduce = 0.0
        /// Scaling, clipping and the optimiser.
        public var update = 0.0
        public var total: Double { compute + wait + allReduce + update }
    }
    /// Timings of the steps from `measureFrom` on.
    public private(set) var timings = StepTimings()
    /// First step (0-based) whose time is recorded; earlier ones are warm-up.
    public var measureFrom = 0
    /// Benchmarks: a barrier before the all-reduce, so waiting for the slowest rank is timed
    /// apart from moving the gradients.
    public var separateWait = false

    /// Extra slots after the gradients in the reduce buffer: loss sum, term count, stop flag.
    static let tail = 3
    private var x: [Float] = []
    private var y: [Float] = []
    private var epochOrder: (epoch: Int, order: [Int]) = (-1, [])
    private let faults = FaultInjection.fromEnvironment

    /// Prepares a run on every rank: data, fingerprints, model, optimiser, checkpoint directory.
    ///
    /// Every check that can fail on some ranks only is agreed on collectively, so bad input
    /// ends all ranks with one message instead of a hang.
    public convenience init(comm: Communicator, options requested: TrainingOptions, data dataOptions: DataOptions?,
                            start: RunStart, settings: [OptionSetting] = []) throws {
        try self.init(comm: comm, options: requested, data: dataOptions, series: nil, start: start, settings: settings)
    }

    /// Prepares a fresh run on a series already in memory (benchmarks, tests).
    public convenience init(comm: Communicator, options: TrainingOptions, series: Series) throws {
        try self.init(comm: comm, options: options, data: DataOptions(source: .csv(path: "(in memory)")), series: series,
                      start: .fresh, settings: [])
    }

    private init(comm: Communicator, options requested: TrainingOptions, data dataOptions: DataOptions?,
                 series inMemory: Series?, start: RunStart, settings: [OptionSetting]) throws {
        self.comm = comm
        // 1. Options and the checkpoint to resume, if any.
        let resumed: Checkpoint? = try comm.agree {
            guard case let .resume(path) = start else { return nil }
            do { return try Checkpoint.load(path: path) } catch { throw TrainingError("cannot resume from \(path): \(error)") }
        }
        var notes: [String] = []
        let options: TrainingOptions = try comm.agree {
            var base = requested
            if let resumed {
                let (o, n) = try resolveOptions(base: try resumed.trainingOptions, settings: settings, resuming: true)
                base = o
                notes = n
            }
            try base.validate()
            return base
        }
        self.options = options
        BLASThreads.set(options.threads ?? max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, comm.localSize)))

        // 2. Data: loaded by every rank; scaling fitted on the training rows, or the checkpoint's.
        let priorData = try resumed?.dataRecord
        let (data, record): (WindowedDataset, DataRecord) = try comm.agree {
            guard let source = dataOptions ?? priorData?.options else { throw TrainingError("--data is required") }
            let series = try inMemory ?? Series.load(source, vocabulary: priorData?.vocabulary)
            if series.vocabulary != nil && options.loss != .crossEntropy {
                throw TrainingError("text data needs --loss cross-entropy")
            }
            if series.vocabulary == nil && options.loss == .crossEntropy {
                throw TrainingError("--loss cross-entropy needs class targets (text data); use mse for numeric series")
            }
            let scaling: WindowedDataset.ScalingChoice = priorData.map { .fixed($0.normalization) } ?? .fit(options.normalize)
            let d = try WindowedDataset(series: series, seqLen: options.seqLen,
                                        validationFraction: options.validationFraction, scaling: scaling)
            if let priorData, priorData.fingerprint != d.fingerprint.hex16 {
                throw TrainingError("the data differs from the checkpoint's (fingerprint \(d.fingerprint.hex16), checkpoint \(priorData.fingerprint)); use --init to start a new run from its weights")
            }
            let r = DataRecord(options: source, normalization: d.normalization, vocabulary: d.vocabulary,
                               featureNames: series.featureNames, targetName: series.targetName,
                               fingerprint: d.fingerprint.hex16, trainWindows: d.trainCount, validationWindows: d.validationCount)
            return (d, r)
        }
        self.data = data
        dataRecord = record
        plan = try comm.agree { try BatchPlan(windowCount: data.trainCount, batchSize: options.batchSize, shuffle: options.shuffle, seed: options.seed) }
        totalSteps = options.steps ?? options.epochs * plan.batchesPerEpoch

        // 3. Every rank must train the same thing on the same data.
        try Self.compareFingerprints(comm: comm, options: options, data: data)

        // 4. Model and optimiser; rank 0's state is broadcast so replicas start identical.
        let model = ModelConfig(options: options, data: data)
        network = ElmanNetwork(config: model, gradientTail: Self.tail)
        optimizer = Optimizer(config: options.optimizer, count: network.layout.count)
        var progress = ProgressRecord(step: 0, epoch: 0, batchInEpoch: 0, bestValidationLoss: nil,
                                      validationsWithoutImprovement: 0, lastValidationLoss: nil,
                                      worldSize: comm.size, stoppedEarly: false)
        // Locals: the closure below may not capture self before every stored property is set.
        let network = self.network, optimizer = self.optimizer
        try comm.agree {
            switch start {
            case .fresh:
                network.initialize(seed: options.seed)
            case let .initialize(path):
                do { network.parameters.assign(try loadModelTensors(path: path, model: model)) } catch { throw TrainingError("--init: \(error)") }
            case .resume:
                guard let resumed else { return }
                guard resumed.model == model else {
                    throw TrainingError("the checkpoint's model \(resumed.model) does not fit this data (\(model))")
                }
                network.parameters.assign(resumed.parameters)
                do { try optimizer.restore(resumed.optimizerState) } catch { throw TrainingError("checkpoint optimizer state: \(error)") }
                var p = try resumed.progress
                if p.worldSize != comm.size { notes.append("resuming at world size \(comm.size) (checkpoint written at \(p.worldSize))") }
                p.worldSize = comm.size
                progress = p
            }
        }
        try Self.broadcastState(comm: comm, network: network, optimizer: optimizer)
        self.progress = progress

        // 5. Checkpoints and logs: problems found before the first step.
        let directory = options.checkpointDirectory.map(CheckpointDirectory.init)
        checkpoints = directory
        let resuming: Bool = if case .resume = start { true } else { false }
        log = try comm.agree {
            if comm.isRoot { try directory?.prepare() }
            return try TrainingLog(enabled: comm.isRoot, quiet: options.quiet, metricsPath: options.metricsPath,
                                   appendMetrics: resuming)
        }
        if case let .resume(path) = start { lastCheckpoint = path }
        for note in notes { log.say(note) }
        let perRank = (options.batchSize + comm.size - 1) / comm.size
        x = [Float](repeating: 0, count: perRank * options.seqLen * data.inputSize)
        y = [Float](repeating: 0, count: perRank * data.targetsPerWindow(everyStep: options.head == .every))
    }

    /// Compares a fingerprint of the options and of the data across ranks.
    static func compareFingerprints(comm: Communicator, options: TrainingOptions, data: WindowedDataset) throws {
        guard comm.size > 1 else { return }
        // Sorted keys: JSONEncoder's default order varies between processes (hash seeding).
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var config = Fingerprint()
        config.combine(String(decoding: (try? encoder.encode(options.fixed)) ?? Data(), as: UTF8.self))
        config.combine(String(decoding: (try? encoder.encode(options.optimizer)) ?? Data(), as: UTF8.self))
        config.combine(options.steps ?? -options.epochs)
        let all = try comm.allGather([config.value, data.fingerprint])
        for r in 1 ..< comm.size {
            for (k, what) in ["configuration", "data"].enumerated() where all[2 * r + k] != all[k] {
                let message = "rank \(r) differs from rank 0 in its \(what) (fingerprint \(all[2 * r + k].hex16), rank 0 \(all[k].hex16))"
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

    // MARK: The loop

    /// Trains until the step or epoch budget, early stopping, a signal, or an error.
    public func run() throws -> TrainingSummary {
        let P = network.layout.count
        let model = network.config
        let everyStep = model.head == .every
        let termsPerWindow = options.loss.targetCount(model, batch: 1, steps: options.seqLen)
        let started = Date()
        let startStep = progress.step
        var windowLoss = 0.0, windowSteps = 0
        var lastLoss = Double.nan
        var interrupted = false
        if startStep >= totalSteps {
            log.say("nothing to do: the checkpoint is at step \(startStep) of \(totalSteps)")
        } else {
            log.say("training \(model.layers)×\(model.hiddenSize) \(model.activation.rawValue) RNN, \(P) parameters, "
                    + "\(data.trainCount) training / \(data.validationCount) validation windows, "
                    + "batch \(options.batchSize) on \(comm.size) rank\(comm.size == 1 ? "" : "s"), steps \(startStep + 1)…\(totalSteps)")
        }

        while progress.step < totalSteps {
            let step = progress.step
            let (epoch, batch) = plan.position(ofStep: step)
            if epochOrder.epoch != epoch { epochOrder = (epoch, plan.order(epoch: epoch)) }
            let global = epochOrder.order[plan.range(ofBatch: batch)]
            let mine = BatchPlan.shard(count: global.count, ranks: comm.size, rank: comm.rank)
            let myWindows = global[(global.startIndex + mine.lowerBound) ..< (global.startIndex + mine.upperBound)]

            let t0 = monotonicSeconds()
            network.zeroGradients()
            let g = network.gradients.baseAddress
            g[P] = 0
            g[P + 1] = 0
            if !myWindows.isEmpty {
                let b = myWindows.count
                x.withUnsafeMutableBufferPointer { xb in
                    y.withUnsafeMutableBufferPointer { yb in
                        data.fill(windows: myWindows, everyStep: everyStep, x: xb, y: yb)
                        network.forward(UnsafeBufferPointer(rebasing: xb[0 ..< b * options.seqLen * data.inputSize]),
                                        batch: b, steps: options.seqLen)
                        let nTargets = options.loss.targetCount(model, batch: b, steps: options.seqLen)
                        let sum = options.loss.sumAndGradient(
                            prediction: UnsafeBufferPointer(network.output),
                            target: UnsafeBufferPointer(rebasing: yb[0 ..< nTargets]),
                            outputs: model.outputSize, gradient: network.outputGradient, scale: 1)
                        network.backward()
                        g[P] = Float(sum)
                        g[P + 1] = Float(b * termsPerWindow)
                    }
                }
            }
            if let f = faults.nanGradient, f.step == step + 1, f.rank == comm.rank { g[0] = .nan }
            g[P + 2] = StopSignal.isRequested ? 1 : 0
            let t0b = monotonicSeconds()
            if separateWait { try comm.barrier() }
            let t1 = monotonicSeconds()
            try comm.allReduceSum(network.gradients.buffer)
            let t2 = monotonicSeconds()

            let terms = Double(g[P + 1])
            let loss = Double(g[P]) / terms
            let stopRequested = g[P + 2] > 0
            let scale = Float(1 / terms)
            for i in 0 ..< P { g[i] *= scale }
            let gradients = UnsafeMutableBufferPointer(start: g, count: P)
            let norm = GradientClipping.norm(UnsafeBufferPointer(gradients))

            if !loss.isFinite || !norm.isFinite {
                let what = !loss.isFinite ? "loss is \(loss)" : "gradient norm is \(norm)"
                switch options.onNonFinite {
                case .stop:
                    let last = lastCheckpoint.map { "; last good checkpoint: \($0)" } ?? "; no checkpoint was written"
                    throw SharedFailure(message: "\(what) at step \(step + 1)\(last)")
                case .skip:
                    log.say("step \(step + 1): \(what); update skipped on every rank")
                    log.record([("step", step + 1), ("skipped", "non-finite")])
                    advance()
                    continue
                }
            }
            if let clip = options.clipNorm { GradientClipping.clip(gradients, maxNorm: clip) }
            let lr = options.schedule.rate(base: options.optimizer.learningRate, step: step, total: totalSteps)
            optimizer.update(parameters: network.parameters.baseAddress, gradients: g, lr: lr)
            if step >= measureFrom {
                timings.steps += 1
                timings.compute += t0b - t0
                timings.wait += t1 - t0b
                timings.allReduce += t2 - t1
                timings.update += monotonicSeconds() - t2
            }
            advance()
            if let f = faults.drift, f.step == progress.step, f.rank == comm.rank { network.parameters[0] += 1e-3 }
            lastLoss = loss
            windowLoss += loss
            windowSteps += 1

            // Validation at epoch ends (or every evalEvery steps).
            let epochEnded = progress.batchInEpoch == 0
            let validateNow = data.validationCount > 0 && (options.evalEvery.map { progress.step % $0 == 0 } ?? epochEnded)
            var validationLoss: Double? = nil
            if validateNow || (data.validationCount > 0 && progress.step == totalSteps) {
                let v = try validate()
                validationLoss = v
                progress.lastValidationLoss = v
                if v < (progress.bestValidationLoss ?? .infinity) {
                    progress.bestValidationLoss = v
                    progress.validationsWithoutImprovement = 0
                    if let dir = checkpoints, comm.isRoot { try dir.writeBest(checkpointBytes()) }
                } else {
                    progress.validationsWithoutImprovement += 1
                }
            }

            // Progress.
            let elapsed = Date().timeIntervalSince(started)
            let done = progress.step - startStep
            let rate = Double(done * options.batchSize) / max(elapsed, 1e-9)
            let eta = Double(totalSteps - progress.step) * elapsed / Double(max(done, 1))
            let persist = progress.step % options.logEvery == 0 || validationLoss != nil || progress.step == totalSteps
            if log.enabled && (persist || log.live) {
                let meanLoss = windowLoss / Double(max(windowSteps, 1))
                var line = "epoch \(epoch + 1) step \(progress.step)/\(totalSteps) loss \(formatLoss(meanLoss))"
                if let v = progress.lastValidationLoss { line += " val \(formatLoss(v))" }
                line += String(format: " %.0f seq/s", rate) + " ETA " + formatDuration(eta)
                log.progress(line, persist: persist)
                if persist {
                    log.record([("step", progress.step), ("epoch", epoch + 1), ("loss", meanLoss), ("val_loss", validationLoss),
                                ("lr", lr), ("grad_norm", norm), ("samples_per_sec", rate), ("elapsed", elapsed)])
                    windowLoss = 0
                    windowSteps = 0
                }
            }

            if progress.step % options.replicaCheckEvery == 0 { try checkReplicas() }
            let earlyStop = options.earlyStop.map { progress.validationsWithoutImprovement >= $0 } ?? false
            if earlyStop {
                progress.stoppedEarly = true
                log.say("early stop: validation loss has not improved for \(options.earlyStop ?? 0) validations (best \(formatLoss(progress.bestValidationLoss ?? .nan)))")
            }
            if stopRequested {
                interrupted = true
                log.say("stop requested: finishing at step \(progress.step)")
            }
            let last = progress.step == totalSteps || earlyStop || stopRequested
            if let every = options.checkpointEvery, progress.step % every == 0, !last { try writeCheckpoint() }
            if last { break }
        }
        log.endLive()
        if checkpoints != nil && progress.step > startStep { try writeCheckpoint() }
        return TrainingSummary(steps: progress.step, finalLoss: lastLoss, validationLoss: progress.lastValidationLoss,
                               bestValidationLoss: progress.bestValidationLoss, checkpoint: lastCheckpoint, stoppedEarly: progress.stoppedEarly, interrupted: interrupted)
    }

    /// Moves the global cursor one step on.
    private func advance() {
        progress.step += 1
        let (e, b) = plan.position(ofStep: progress.step)
        progress.epoch = e
        progress.batchInEpoch = b
    }

    /// Mean loss over the validation windows, each rank evaluating a contiguous share.
    func validate() throws -> Double {
        let model = network.config
        let everyStep = model.head == .every
        let share = BatchPlan.shard(count: data.validationCount, ranks: comm.size, rank: comm.rank)
        var sums = [0.0, 0.0]
        let perRank = x.count / (options.seqLen * data.inputSize)
        var start = share.lowerBound
        while start < share.upperBound {
            let end = min(start + perRank, share.upperBound)
            let windows = (data.trainCount + start) ..< (data.trainCount + end)
            let b = windows.count
            x.withUnsafeMutableBufferPointer { xb in
                y.withUnsafeMutableBufferPointer { yb in
                    data.fill(windows: windows, everyStep: everyStep, x: xb, y: yb)
                    network.forward(UnsafeBufferPointer(rebasing: xb[0 ..< b * options.seqLen * data.inputSize]), batch: b, steps: options.seqLen)
                    let n = options.loss.targetCount(model, batch: b, steps: options.seqLen)
                    sums[0] += options.loss.sumAndGradient(prediction: UnsafeBufferPointer(network.output),
                                                           target: UnsafeBufferPointer(rebasing: yb[0 ..< n]),
                                                           outputs: model.outputSize, gradient: network.outputGradient, scale: 1)
                    sums[1] += Double(options.loss.targetCount(model, batch: b, steps: options.seqLen))
                }
            }
            start = end
        }
        try sums.withUnsafeMutableBufferPointer { try comm.allReduceSum($0) }
        return sums[0] / sums[1]
    }

    /// Every rank's parameter checksum must be rank 0's.
    func checkReplicas() throws {
        guard comm.size > 1 else { return }
        let mine = UInt64(CRC32C.checksum(UnsafeRawBufferPointer(network.parameters.buffer)))
        let all = try comm.allGather([mine])
        let drifted = all.enumerated().filter { $0.element != all[0] }.map(\.offset)
        if !drifted.isEmpty {
            throw SharedFailure(message: "replicas have drifted: rank \(drifted.map(String.init).joined(separator: ", ")) parameters differ from rank 0's at step \(progress.step)")
        }
    }

    /// The current state as checkpoint bytes.
    func checkpointBytes() -> [UInt8] {
        var c = Checkpoint(model: network.config, parameters: network.parameters.array, optimizer: options.optimizer,
                           optimizerState: optimizer.state)
        c.setSection(SectionKey.training, options)
        c.setSection(SectionKey.data, dataRecord)
        c.setSection(SectionKey.progress, progress)
        return c.serialized()
    }

    /// Checks replicas, then rank 0 writes a checkpoint and moves `latest`.
    func writeCheckpoint() throws {
        try checkReplicas()
        guard comm.isRoot, let dir = checkpoints else { return }
        guard network.parameters.buffer.allSatisfy(\.isFinite) else {
            let last = lastCheckpoint.map { "; last good checkpoint: \($0)" } ?? ""
            throw SharedFailure(message: "parameters are not finite at step \(progress.step); no checkpoint written\(last)")
        }
        do {
            lastCheckpoint = try dir.write(checkpointBytes(), step: progress.step, keep: options.keep)
        } catch {
            throw TrainingError("\(error)")
        }
        log.say("checkpoint \(lastCheckpoint ?? "")")
    }
}
