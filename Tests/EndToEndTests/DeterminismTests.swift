import ElmanCheckpoint
import Foundation
import TestSupport
import Testing

/// `--deterministic`: the same bits at 1 process × 1 thread, 1 × 2, and 2, 3 and 4 ranks, and
/// across a resume at another world size: weights, optimiser state, carried state, every
/// logged loss.
@Suite("Determinism", .serialized)
struct DeterminismTests {
    /// The five configurations a run is moved between: (ranks, threads per rank).
    static let configurations = [(1, 1), (1, 2), (2, 1), (3, 1), (4, 1)]

    /// 300 steps windowed, 2 layers (the reduction overlapped with backward at 2+ ranks), batch
    /// 30 in micro-batches of 4 (8 micro-batches: uneven shares at 3 and 4 ranks and 2 threads).
    static func windowed(_ dir: String, steps: Int = 300, deterministic: Bool = true, extra: [String] = []) -> [String] {
        [
            "train", "--data", "examples/data/seattle-temps.csv", "--target", "temp", "--hidden", "16", "--layers", "2",
            "--seq-len", "12", "--batch-size", "30", "--steps", String(steps), "--clip-norm", "1", "--lr", "0.005",
            "--eval-every", "100", "--log-every", "1", "--checkpoint-dir", dir, "--metrics", dir + "/metrics.jsonl",
            "--progress", "none",
        ] + (deterministic ? ["--deterministic", "--micro-batch", "4"] : []) + extra
    }

    /// 300 steps of a 2-layer character model, stateful: 12 lanes in micro-batches of 4
    /// (3 blocks of carried state), crossing epoch boundaries, validated on held-out lanes.
    static func text(_ dir: String, steps: Int = 300, extra: [String] = []) throws -> [String] {
        let corpus = dir + "/corpus.txt"
        let text = try String(contentsOfFile: Fixtures.example("recurrence.txt"), encoding: .utf8)
        try String(repeating: text, count: 8).write(toFile: corpus, atomically: true, encoding: .utf8)
        return [
            "train", "--data", corpus, "--stateful", "--layers", "2", "--hidden", "24", "--seq-len", "16",
            "--batch-size", "12", "--deterministic", "--micro-batch", "4", "--steps", String(steps), "--clip-norm", "5",
            "--lr", "0.005", "--eval-every", "100", "--log-every", "1", "--checkpoint-dir", dir, "--metrics",
            dir + "/metrics.jsonl", "--progress", "none",
        ] + extra
    }

    /// Everything a run's numbers are: the checkpoint's tensors (weights, optimiser slots and
    /// step, carried state) and every logged loss, gradient norm and validation loss.
    struct Outcome: Equatable {
        var tensors: [String: [UInt32]]
        var log: [String]

        /// The outcome of the run in `dir` after `steps` steps.
        init(_ dir: String, steps: Int = 300) throws {
            let c = try Checkpoint.load(path: dir + "/" + CheckpointDirectory.fileName(step: steps))
            func bits(_ v: [Float]) -> [UInt32] { v.map(\.bitPattern) }
            tensors = ["parameters": bits(c.parameters), "optimizer.step": [UInt32(c.optimizerState.step)]]
            for (name, slot) in c.optimizerState.slots { tensors["optimizer." + name] = bits(slot) }
            for (name, s) in c.state { tensors["state." + name] = bits(s.values) }
            // The numbers of each logged step, without its timings (none for a run without metrics).
            let metrics = (try? String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8)) ?? ""
            let lines = metrics.split(separator: "\n")
            log = try lines.map { line in
                guard var object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    return ""
                }
                object["elapsed"] = nil
                object["samples_per_sec"] = nil
                object["val_seconds"] = nil
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                return String(decoding: data, as: UTF8.self)
            }
        }
    }

    func run(_ ranks: Int, threads: Int, _ arguments: [String]) throws {
        let args = arguments + ["--threads", String(threads)]
        let r = ranks == 1 ? try Harness.run(args, timeout: 300) : try Harness.mpi(ranks, args, timeout: 300)
        #expect(r.status == 0, "\(ranks) rank(s) × \(threads) thread(s): \(r.stderr)")
    }

    /// Runs `arguments` in every configuration and expects every outcome to be the first's, bit for bit.
    func expectSameBitsEverywhere(_ arguments: (String) throws -> [String]) throws {
        var first: Outcome?
        for (ranks, threads) in Self.configurations {
            let dir = try Scratch.directory()
            try run(ranks, threads: threads, try arguments(dir))
            let outcome = try Outcome(dir)
            #expect(outcome.log.count == 300 && outcome.log.contains { $0.contains("val_loss") })
            guard let reference = first else {
                first = outcome
                continue
            }
            for (name, values) in reference.tensors {
                #expect(outcome.tensors[name] == values, "\(ranks) × \(threads): tensor \(name) differs from 1 × 1")
            }
            let differing = zip(reference.log, outcome.log).filter { $0 != $1 }
            #expect(differing.isEmpty, "\(ranks) × \(threads): logged \(differing.first.map { "\($0.1) against 1 × 1's \($0.0)" } ?? "")")
        }
    }

    @Test("windowed, 2 layers, 300 steps: the same bits at 1×1, 1×2, and 2, 3 and 4 ranks")
    func windowedSameBits() throws {
        try expectSameBitsEverywhere { Self.windowed($0) }
    }

    @Test("a stateful character model, 2 layers, 300 steps: the same bits at 1×1, 1×2, and 2, 3 and 4 ranks")
    func textSameBits() throws {
        try expectSameBitsEverywhere { try Self.text($0) }
    }

    @Test("stopped at 2 ranks and resumed at 3 (and at 1 × 2), a run ends in the bits of a straight run")
    func resumeAtAnotherWorldSize() throws {
        for make in [{ (d: String, e: [String]) in Self.windowed(d, extra: e) }, { try Self.text($0, extra: $1) }] {
            let straight = try Scratch.directory()
            try run(1, threads: 1, try make(straight, []))
            let reference = try Outcome(straight)
            // Stop at step 150 (a checkpoint mid-epoch, with carried state for the text model).
            let stopped = try Scratch.directory()
            try run(2, threads: 1, try make(stopped, ["--checkpoint-every", "150", "--keep", "5"]))
            let midpoint = stopped + "/" + CheckpointDirectory.fileName(step: 150)
            for (ranks, threads) in [(3, 1), (1, 2)] {
                let dir = try Scratch.directory()
                try run(
                    ranks, threads: threads,
                    ["train", "--resume", midpoint, "--checkpoint-dir", dir, "--progress", "none", "--log-every", "1"])
                let resumed = try Outcome(dir)
                #expect(
                    resumed.tensors == reference.tensors,
                    "resumed at \(ranks) × \(threads): tensors \(resumed.tensors.keys.filter { resumed.tensors[$0] != reference.tensors[$0] }.sorted()) differ")
            }
        }
    }

    @Test("without --deterministic, 1 × 2 and 2 ranks agree with 1 × 1 to rounding, not bitwise (the cut follows the cores)")
    func defaultAgreesToRounding() throws {
        var outcomes: [[Float]] = []
        for (ranks, threads) in [(1, 1), (1, 2), (2, 1)] {
            let dir = try Scratch.directory()
            try run(ranks, threads: threads, Self.windowed(dir, steps: 30, deterministic: false))
            outcomes.append(try Harness.parameters(dir))
        }
        #expect(maxDifference(outcomes[0], outcomes[1]) <= 1e-5 && maxDifference(outcomes[0], outcomes[2]) <= 1e-5)
        #expect(outcomes[0] != outcomes[1], "one and two micro-batches rounded alike: the test would not see a difference")
    }
}
