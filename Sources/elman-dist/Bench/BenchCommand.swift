import ArgumentParser
import ElmanCore
import ElmanData
import ElmanDistributed
import ElmanRun
import ElmanTraining
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure training throughput on random data (forward, BPTT, all-reduce, optimiser).",
        discussion: """
            Runs the real training loop after a warm-up and prints one line ending in '<n> seq/s'. \
            Under mpirun the batch is global, split across ranks.

            Examples:
              elman-dist bench --input-size 8 --hidden 128 --seq-len 32 --batch-size 64 --steps 200
              mpirun -n 2 elman-dist bench --input-size 8 --hidden 128 --seq-len 32 --batch-size 64
              elman-dist bench --gemm
              mpirun -n 2 elman-dist bench --allreduce
              elman-dist bench --data big.csv --target temp
            """)

    @Option(parsing: .unconditional, help: "Features per step I.") var inputSize = 8
    @Option(parsing: .unconditional, help: "Hidden units H.") var hidden = 128
    @Option(parsing: .unconditional, help: "Layers L.") var layers = 1
    @Option(parsing: .unconditional, help: "Sequence length T.") var seqLen = 32
    @Option(parsing: .unconditional, help: "Global batch size B.") var batchSize = 64
    @Option(parsing: .unconditional, help: "Examples per micro-batch, as train's --micro-batch (default 16).")
    var microBatch: Int?
    @Option(parsing: .unconditional, help: "Measured steps.") var steps = 200
    @Option(parsing: .unconditional, help: "Warm-up steps (not measured).") var warmup = 20
    @Option(help: "last or every.") var head: HeadMode = .last
    @Option(
        parsing: .unconditional,
        help: "Seconds a collective may wait, as train's --collective-timeout (default 600, as train).")
    var collectiveTimeout: Double = 600
    @Flag(help: "Stateful lanes (head on every step, the state carried) instead of independent windows.")
    var stateful = false
    @Option(parsing: .unconditional, help: "Cores per rank, as train's --threads (default: cores / ranks on the node).")
    var threads: Int?
    @Flag(help: "Measure the linked BLAS's sgemm throughput instead (the roofline).") var gemm = false
    @Flag(
        inversion: .prefixedNo,
        help: "With several layers and ranks, reduce each layer's gradient while the layers below run backward.")
    var overlap = true
    @Option(help: "Measure loading this CSV file (with --target) and taking one step, instead of random data.")
    var data: String?
    @Option(help: "With --data: the column to predict.") var target: String?
    @Option(help: ArgumentHelp("With --data: a long panel's series column (as train's --series).", valueName: "column"))
    var series: String?
    @Flag(help: "Measure the all-reduce alone, 4 KiB to 32 MiB, and fit its α–β cost model (run under mpirun).")
    var allreduce = false

    func validate() throws {
        // The model's and the batch's flags are train's rows: the table checks them (same
        // messages as train); bench's own flags are checked here.
        do { _ = try modelOptions() } catch { throw ValidationError(Diagnostics.message(error)) }
        if inputSize < 1 { throw ValidationError("--input-size must be at least 1, got \(inputSize)") }
        if steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps)") }
        if warmup < 0 { throw ValidationError("--warmup must be ≥ 0, got \(warmup)") }
    }

    /// The measured run's options: bench's flags for train's settings applied through the option
    /// table, on a run that only measures (no validation, no scaling, no checkpoints).
    func modelOptions() throws -> TrainingOptions {
        var base = TrainingOptions()
        base.validationFraction = 0
        base.normalize = .none
        base.quiet = true
        var s = SettingList()
        s.add(\.hidden, hidden)
        s.add(\.layers, layers)
        s.add(\.seqLen, seqLen)
        s.add(\.batchSize, batchSize)
        s.add(optional: \.microBatch, microBatch)
        s.add(\.head, stateful ? .every : head)
        s.add(\.stateful, stateful)
        s.add(\.shuffle, !stateful)
        s.add(optional: \.threads, threads)
        var options = try resolveOptions(base: base, settings: s.given, resuming: false).options
        try options.validate()
        options.steps = warmup + steps
        options.replicaCheckEvery = max(1, warmup + steps)
        return options
    }

    func run() throws {
        if gemm {
            BLASThreads.set(threads ?? ProcessInfo.processInfo.activeProcessorCount)
            for (m, n, k) in [
                (1024, 1024, 1024), (128, 512, 512), (64, 128, 128), (64, 32, 32), (seqLen * batchSize, hidden, hidden),
            ] {
                let g = Roofline.sgemmGFLOPs(m: m, n: n, k: k)
                print(
                    String(
                        format: "sgemm %d×%d×%d threads=%d kernels=%@: %.1f GFLOP/s", m, n, k, BLASThreads.current,
                        BLASKernels.current as NSString, g))
            }
            return
        }
        if let data {
            guard let target else { throw ValidationError("--data needs --target") }
            try runDistributed(deadline: collectiveTimeout) { comm in
                let clock = ContinuousClock(), start = clock.now
                var options = TrainingOptions()
                options.steps = 1
                // Every window trains: with the default tenth held out, "first step done" also
                // timed the end-of-run validation (2.3 s of a 10M-row panel's 3.2).
                options.validationFraction = 0
                options.quiet = true
                options.threads = threads
                BLASThreads.set(Trainer.parallelism(options, comm: comm).blasThreads)
                let trainer = try Trainer(
                    comm: comm, options: options, data: DataOptions(
                        source: .csv(path: data), target: target, series: series),
                    start: .fresh)
                let loaded = (clock.now - start).seconds
                _ = try trainer.run()
                let total = (clock.now - start).seconds
                guard comm.isRoot else { return }
                let bytes = Double((try? FileManager.default.attributesOfItem(atPath: data)[.size] as? Int) ?? 0)
                let rows = Double(trainer.data.rowCount)
                let peak = peakResidentBytes()
                if let panel = trainer.data.panel { print("panel: \(panel.count) series") }
                print(
                    String(
                        format:
                            "load %@: %.0f rows, %.1f MB in %.3f s (%.0f MB/s, %.2f M rows/s), first step done at %.3f s, peak memory %.1f MiB (%.0f bytes a row) on rank 0",
                        data as NSString, rows, bytes / 1e6, loaded, bytes / 1e6 / loaded, rows / 1e6 / loaded, total,
                        peak / 1_048_576, peak / max(rows, 1)))
            }
            return
        }
        if allreduce {
            try runDistributed(deadline: collectiveTimeout) { comm in
                guard comm.size > 1 else {
                    throw CommandFailure("--allreduce measures several ranks: run it under mpirun -n 2 or more")
                }
                let samples = try AllReduceCost.measure(comm: comm, repeats: max(3, steps / 20))
                guard comm.isRoot else { return }
                for s in samples {
                    print(
                        String(
                            format: "allreduce ranks=%d bytes=%d: %.4f ms, %.3f Gbit/s", comm.size, s.bytes,
                            s.seconds * 1e3, Double(s.bytes) * 8 / s.seconds / 1e9))
                }
                let f = AllReduceCost.fit(samples)
                print(
                    String(
                        format:
                            "fit ranks=%d, 64 KiB and up: t = α + β·bytes, α = %.1f µs, β = %.4f ns/byte (%.2f Gbit/s), R² = %.4f; 4 KiB: %.1f µs",
                        comm.size, f.alpha * 1e6, f.beta * 1e9, 8 / f.beta / 1e9, f.r2, samples[0].seconds * 1e6))
            }
            return
        }
        try runDistributed(deadline: collectiveTimeout) { comm in
            // Random series: enough rows for 8 distinct batches.
            let rows = stateful ? batchSize * (seqLen * 8 + 1) : batchSize * 8 + seqLen
            var rng = SeededGenerator(seed: 1)
            let columns = (0..<inputSize).map { _ in (0..<rows).map { _ in Double(rng.nextUnitFloat() * 2 - 1) } }
            let series = Series(
                featureColumns: columns, featureNames: (0..<inputSize).map { "f\($0)" },
                target: columns[0], targetName: "f0", vocabulary: nil)
            let options = try modelOptions()
            // BLAS allocates its buffers on first use: do that before the memory baseline.
            _ = Roofline.sgemmGFLOPs(m: 64, n: 64, k: 64, seconds: 0)
            let rssBefore = residentBytes()
            BLASThreads.set(Trainer.parallelism(options, comm: comm).blasThreads)
            let trainer = try Trainer(comm: comm, options: options, series: series)
            let t = StepTimer(measureFrom: warmup, separateWait: comm.size > 1)
            trainer.observers = [t]
            trainer.overlapsReduction = overlap
            _ = try trainer.run()
            let perStep = t.total / Double(max(t.steps, 1))
            // Every rank measured; report the slowest rank's step (the one the others wait for).
            // Averaged over ranks.
            var sums = [perStep, t.allReduce / Double(max(t.steps, 1)), t.wait / Double(max(t.steps, 1))]
            try sums.withUnsafeMutableBufferPointer { try comm.allReduceSum($0) }
            let mean = sums.map { $0 / Double(comm.size) }
            let flops = Roofline.flopsPerStep(trainer.network.config, batch: batchSize, steps: seqLen)
            // Memory the run added, against what it must hold: parameters, gradients, optimiser
            // moments, and activations for this rank's slice of T×B.
            let grown = Double(max(0, residentBytes() - rssBefore))
            let P = Double(trainer.network.layout.count)
            let perRank = Double((batchSize + comm.size - 1) / comm.size)
            let activations =
                Double(layers * (seqLen + 1) + 2 * seqLen) * perRank * Double(hidden) + 2 * Double(seqLen) * perRank
                * Double(inputSize)
            let needed = 4 * (4 * P + activations)
            if comm.isRoot {
                let step = mean[0]
                let share =
                    comm.size > 1
                    ? String(
                        format: "all-reduce %.1f%% of step (+%.1f%% waiting for the slowest rank)",
                        100 * mean[1] / step, 100 * mean[2] / step)
                    : "no all-reduce (1 rank)"
                print(
                    String(
                        format:
                            "bench I=%d H=%d L=%d T=%d B=%d head=%@ ranks=%d replicas=%d threads=%d: %.3f ms/step, %.1f GFLOP/s, %@, memory +%.1f MiB for %.1f MiB of state and activations, %.0f rows/s, %.0f seq/s",
                        inputSize, hidden, layers, seqLen, batchSize,
                        (stateful ? "every, stateful" : head.rawValue) as NSString, comm.size,
                        trainer.replicaCount, BLASThreads.current,
                        step * 1e3, flops / step / 1e9, share as NSString,
                        grown / 1_048_576, needed / 1_048_576, Double(batchSize * seqLen) / step,
                        Double(batchSize) / step))
            }
        }
    }
}

/// The most resident memory this process has had (VmHWM in /proc/self/status).
func peakResidentBytes() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
        let kB = Double(line.split(separator: " ").dropFirst().first ?? "")
    else { return 0 }
    return kB * 1024
}

/// Resident memory of this process now (from /proc/self/statm).
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Times the phases of the measured steps (for `bench`), as a step observer.
final class StepTimer: StepObserver {
    /// First step (0-based) whose time is recorded; earlier ones are warm-up.
    let measureFrom: Int
    /// A barrier before the all-reduce, so waiting for the slowest rank is timed apart from moving the gradients.
    let separateWait: Bool
    private(set) var steps = 0
    /// Data, forward and backward.
    private(set) var compute = 0.0
    /// Waiting for the slowest rank before the all-reduce (only with `separateWait`).
    private(set) var wait = 0.0
    /// The gradient all-reduce.
    private(set) var allReduce = 0.0
    /// Scaling, clipping and the optimiser.
    private(set) var update = 0.0
    var total: Double { compute + wait + allReduce + update }

    private let clock = ContinuousClock()
    private var mark: ContinuousClock.Instant

    init(measureFrom: Int, separateWait: Bool) {
        self.measureFrom = measureFrom
        self.separateWait = separateWait
        mark = clock.now
    }

    func step(_ step: Int, reached point: StepPoint, network: ElmanNetwork, comm: Communicator) throws {
        let measured = step >= measureFrom
        switch point {
        case .start:
            break
        case .computed:
            if measured { compute += lap() }
            if separateWait {
                try comm.barrier()
                if measured { wait += lap() }
            }
        case .reduced:
            if measured { allReduce += lap() }
        case .updated:
            if measured {
                update += lap()
                steps += 1
            }
        }
        if point == .start || point == .updated { mark = clock.now }
    }

    /// Seconds since the last mark, and a new mark.
    private func lap() -> Double {
        let now = clock.now
        defer { mark = now }
        return (now - mark).seconds
    }
}
