import ArgumentParser
import ElmanCore
import ElmanData
import ElmanDistributed
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
        """)

    @Option(help: "Features per step I.") var inputSize = 8
    @Option(help: "Hidden units H.") var hidden = 128
    @Option(help: "Layers L.") var layers = 1
    @Option(help: "Sequence length T.") var seqLen = 32
    @Option(help: "Global batch size B.") var batchSize = 64
    @Option(help: "Measured steps.") var steps = 200
    @Option(help: "Warm-up steps (not measured).") var warmup = 20
    @Option(help: "last or every.") var head: HeadMode = .last
    @Option(help: "BLAS threads per rank (default: cores / ranks on the node).") var threads: Int?
    @Flag(help: "Measure the linked BLAS's sgemm throughput instead (the roofline).") var gemm = false

    func validate() throws {
        for (name, v) in [("--input-size", inputSize), ("--hidden", hidden), ("--layers", layers), ("--seq-len", seqLen),
                          ("--batch-size", batchSize), ("--steps", steps)] where v < 1 {
            throw ValidationError("\(name) must be at least 1, got \(v)")
        }
        if warmup < 0 { throw ValidationError("--warmup must be ≥ 0") }
    }

    func run() throws {
        if gemm {
            BLASThreads.set(threads ?? ProcessInfo.processInfo.activeProcessorCount)
            for (m, n, k) in [(1024, 1024, 1024), (128, 512, 512), (64, 128, 128), (64, 32, 32), (seqLen * batchSize, hidden, hidden)] {
                let g = Roofline.sgemmGFLOPs(m: m, n: n, k: k)
                print(String(format: "sgemm %d×%d×%d threads=%d: %.1f GFLOP/s", m, n, k, BLASThreads.current, g))
            }
            return
        }
        try runDistributed { comm in
            // Random series: enough rows for 8 distinct batches.
            let rows = batchSize * 8 + seqLen
            var rng = SeededGenerator(seed: 1)
            let columns = (0 ..< inputSize).map { _ in (0 ..< rows).map { _ in Double(rng.nextUnitFloat() * 2 - 1) } }
            let series = Series(featureColumns: columns, featureNames: (0 ..< inputSize).map { "f\($0)" },
                                target: columns[0], targetName: "f0", vocabulary: nil)
            var options = TrainingOptions()
            options.hidden = hidden
            options.layers = layers
            options.seqLen = seqLen
            options.batchSize = batchSize
            options.head = head
            options.validationFraction = 0
            options.normalize = .none
            options.steps = warmup + steps
            options.quiet = true
            options.threads = threads
            options.replicaCheckEvery = max(1, warmup + steps)
            let trainer = try Trainer(comm: comm, options: options, series: series)
            trainer.measureFrom = warmup
            _ = try trainer.run()
            let t = trainer.timings
            let perStep = t.total / Double(max(t.steps, 1))
            // Every rank measured; report the slowest rank's step (the one the others wait for).
            var worst = [perStep, t.allReduce / Double(max(t.steps, 1))]
            var sums = worst
            try sums.withUnsafeMutableBufferPointer { try comm.allReduceSum($0) }
            worst = sums.map { $0 / Double(comm.size) }
            let flops = Roofline.flopsPerStep(trainer.network.config, batch: batchSize, steps: seqLen)
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            if comm.isRoot {
                print(String(format: "bench I=%d H=%d L=%d T=%d B=%d head=%@ ranks=%d threads=%d: %.3f ms/step, %.1f GFLOP/s, all-reduce %.1f%% of step, peak RSS %.1f MiB, %.0f seq/s",
                             inputSize, hidden, layers, seqLen, batchSize, head.rawValue as NSString, comm.size, BLASThreads.current,
                             worst[0] * 1e3, flops / worst[0] / 1e9, 100 * worst[1] / worst[0],
                             Double(usage.ru_maxrss) / 1024, Double(batchSize) / worst[0]))
            }
        }
    }
}
