import ElmanCheckpoint
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Training under mpirun on this machine (oversubscribed), compared across world sizes.
@Suite("Distributed", .serialized)
struct DistributedTests {
    /// 30 steps with a global batch of 30: slices of 30, 15+15, 10+10+10 and 8+8+7+7 windows.
    static func arguments(_ dir: String, steps: Int = 30, extra: [String] = []) -> [String] {
        [
            "train", "--data", "examples/data/seattle-temps.csv", "--target", "temp", "--hidden", "24", "--seq-len",
            "12",
            "--batch-size", "30", "--steps", String(steps), "--clip-norm", "1", "--quiet", "--checkpoint-dir", dir,
        ] + extra
    }

    /// Trains `arguments(dir)` under mpirun at 1–4 ranks and expects the same weights within 1e-5;
    /// `check(ranks, stdout)` looks at what each run printed.
    func expectSameWeightsAtEveryWorldSize(
        _ arguments: (String) -> [String], check: (Int, String) -> Void = { _, _ in }
    ) throws {
        var results: [[Float]] = []
        for n in 1...4 {
            let dir = try Scratch.directory()
            let r = try Harness.mpi(n, arguments(dir))
            #expect(r.status == 0, "mpirun -n \(n): \(r.stderr)")
            check(n, r.stdout)
            results.append(try Harness.parameters(dir))
        }
        for n in 1..<4 {
            let d = maxDifference(results[0], results[n])
            #expect(d <= 1e-5, "\(n + 1) ranks differ from 1 by \(d)")
        }
    }

    @Test("1, 2, 3 and 4 ranks end with the same weights (batch 30 does not divide by 4)")
    func worldSizeInvariance() throws {
        try expectSameWeightsAtEveryWorldSize { Self.arguments($0) }
    }

    @Test("2 layers, each layer's gradient reduced while the layer below runs backward: the same weights at 1–4 ranks")
    func overlappedReductionWorldSizeInvariance() throws {
        try expectSameWeightsAtEveryWorldSize({
            Self.arguments($0, extra: ["--layers", "2"]).filter { $0 != "--quiet" } + ["--progress", "none"]
        }) { ranks, stdout in
            // The run says whether it overlapped: with one rank there is nothing to reduce.
            let overlapped = stdout.contains("gradients all-reduced layer by layer during backward")
            #expect(overlapped == (ranks > 1), "\(ranks) rank(s): \(stdout)")
        }
    }

    @Test(
        "replicas inside one process: --threads 2 ends at the weights of --threads 1 and of 2 ranks, and repeats bitwise"
    )
    func replicasInsideAProcess() throws {
        func run(_ threads: Int, ranks: Int = 1) throws -> [Float] {
            let dir = try Scratch.directory()
            let args = Self.arguments(dir, extra: ["--threads", String(threads)])
            let r = ranks == 1 ? try Harness.run(args) : try Harness.mpi(ranks, args)
            #expect(r.status == 0, "\(r.stderr)")
            return try Harness.parameters(dir)
        }
        let one = try run(1), two = try run(2), again = try run(2), ranks = try run(1, ranks: 2)
        #expect(maxDifference(one, two) <= 1e-5)
        #expect(maxDifference(ranks, two) <= 1e-5)
        #expect(two == again, "two replicas are not deterministic")
        #expect(one != two, "--threads 2 did not split the batch (the sums would round alike)")
    }

    @Test("the TCP transport (as between nodes) gives the same result")
    func tcpTransport() throws {
        let a = try Scratch.directory(), b = try Scratch.directory()
        #expect(try Harness.mpi(2, Self.arguments(a)).status == 0)
        let r = try Harness.mpi(2, Self.arguments(b), mca: ["--mca", "btl", "tcp,self"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(maxDifference(try Harness.parameters(a), try Harness.parameters(b)) <= 1e-6)
    }

    @Test("resume under mpirun continues the trajectory, also at another world size")
    func resume() throws {
        let straight = try Scratch.directory()
        #expect(
            try Harness.mpi(2, Self.arguments(straight, steps: 40, extra: ["--checkpoint-every", "20", "--keep", "5"]))
                .status == 0)
        let final = try Harness.parameters(straight)
        let midpoint = straight + "/" + CheckpointDirectory.fileName(step: 20)
        for n in [2, 3] {
            let dir = try Scratch.directory()
            let r = try Harness.mpi(n, ["train", "--resume", midpoint, "--checkpoint-dir", dir, "--quiet"])
            #expect(r.status == 0, "\(r.stderr)")
            let d = maxDifference(final, try Harness.parameters(dir))
            #expect(d <= (n == 2 ? 1e-6 : 1e-5), "resumed at \(n) ranks: differs by \(d)")
        }
    }

    /// Stateful: 7 lanes of one stream (uneven slices on 2–4 ranks), carried state, 2-layer, 30 steps
    /// crossing an epoch boundary (8758 changes: 7006 training rows, lanes of 1000, T = 64: 16 steps an epoch).
    static func statefulArguments(_ dir: String, steps: Int = 30, extra: [String] = []) -> [String] {
        [
            "train", "--data", "examples/data/seattle-temps.csv", "--target", "temp", "--stateful", "--hidden", "16",
            "--layers", "2", "--seq-len", "64", "--batch-size", "7", "--steps", String(steps), "--clip-norm", "1",
            "--lr", "0.01", "--quiet", "--checkpoint-dir", dir,
        ] + extra
    }

    @Test("stateful: 1, 2, 3 and 4 ranks (7 lanes, uneven slices) end with the same weights")
    func statefulWorldSizeInvariance() throws {
        try expectSameWeightsAtEveryWorldSize { Self.statefulArguments($0) }
    }

    @Test(
        "stateful: stopped mid-epoch, resumed at the same and at other world sizes, the run ends where a straight one does"
    )
    func statefulResume() throws {
        let straight = try Scratch.directory()
        let every = ["--checkpoint-every", "9", "--keep", "5"]
        #expect(try Harness.mpi(2, Self.statefulArguments(straight, extra: every)).status == 0)
        let final = try Harness.parameters(straight)
        // Step 9 of 16: mid-epoch, with a carried state, and the resumed part crosses into epoch 2.
        let midpoint = straight + "/" + CheckpointDirectory.fileName(step: 9)
        for n in [2, 1, 3] {
            let dir = try Scratch.directory()
            let r = try Harness.mpi(n, ["train", "--resume", midpoint, "--checkpoint-dir", dir, "--quiet"])
            #expect(r.status == 0, "\(r.stderr)")
            let d = maxDifference(final, try Harness.parameters(dir))
            #expect(n == 2 ? d == 0 : d <= 1e-5, "stateful, resumed at \(n) ranks: differs by \(d)")
        }
    }

    @Test(
        "under mpirun progress is plain lines at --log-every, even where ranks see a terminal; --progress none prints none"
    )
    func progressUnderMPI() throws {
        let args = ["train", "--data", "sine", "--steps", "30", "--log-every", "10"]
        let plain = try Harness.mpi(2, args, environment: ["TERM": "xterm-256color"])
        #expect(plain.status == 0)
        let lines = plain.stdout.split(separator: "\n").filter { $0.contains(" step ") }
        // Steps 10, 20 and 30, and the validation at the end of epoch 1 (step 25): nothing per step.
        #expect(lines.count == 4 && !plain.stdout.contains("\u{1B}"), "\(plain.stdout)")
        let none = try Harness.mpi(2, args + ["--progress", "none"], environment: ["TERM": "xterm-256color"])
        #expect(none.status == 0 && !none.stdout.contains(" step ") && none.stdout.contains("done: 30 steps"))
    }

    @Test("ranks that disagree on their configuration stop with a message naming the rank")
    func mismatch() throws {
        let dir = try Scratch.directory()
        let args =
            ["-n", "1", Harness.binary] + Self.arguments(dir + "/a") + [":", "-n", "1", Harness.binary]
            + Self.arguments(dir + "/b", extra: ["--seed", "5"])
        let r = try Harness.Running(Harness.mpirun, ["--oversubscribe"] + args).wait(timeout: 60)
        #expect(r.status != 0)
        #expect(r.errorLines.count == 1)
        #expect(r.errorLines.first?.hasPrefix("error: rank 1 differs from rank 0 in its configuration") == true)
    }
}

/// The launch wrapper people use on one machine.
@Suite("Launch scripts")
struct LaunchScriptTests {
    @Test("launch/mpirun-local.sh runs more ranks than cores and matches a single process")
    func localWrapper() throws {
        let a = try Scratch.directory(), b = try Scratch.directory()
        #expect(try Harness.run(DistributedTests.arguments(a)).status == 0)
        let r = try Harness.Running(
            Harness.root.appendingPathComponent("launch/mpirun-local.sh").path,
            ["3", Harness.binary] + DistributedTests.arguments(b)
        ).wait()
        #expect(r.status == 0, "\(r.stderr)")
        #expect(maxDifference(try Harness.parameters(a), try Harness.parameters(b)) <= 1e-5)
        let usage = try Harness.Running(Harness.root.appendingPathComponent("launch/mpirun-local.sh").path, ["x"])
            .wait()
        #expect(usage.status == 64)
    }

    @Test("SIGTERM to launch/mpirun-local.sh reaches the ranks: they checkpoint, and it exits 0")
    func wrapperForwardsTerm() throws {
        let dir = try Scratch.directory() + "/run"
        // Started as a shell starts it: the test runner leaves SIGTERM ignored in its children,
        // and bash cannot trap a signal that was ignored when it started.
        let job = try Harness.Running(
            "/usr/bin/env",
            [
                "--default-signal=TERM,INT,HUP", Harness.root.appendingPathComponent("launch/mpirun-local.sh").path,
                "2",
                Harness.binary,
            ] + FaultTests.longRun(dir, every: 1000))
        #expect(FaultTests.eventually { FileManager.default.fileExists(atPath: dir + "/.lock") })
        usleep(1_500_000)
        let signalled = Date()
        kill(job.process.processIdentifier, SIGTERM)
        let r = job.wait(timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(Date().timeIntervalSince(signalled) < 20)
        #expect(try FaultTests.stepOfLatest(dir) > 0)
    }
}
