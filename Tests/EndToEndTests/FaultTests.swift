import ElmanCheckpoint
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Killed ranks, killed writes, signals, NaNs, drifting replicas, unwritable directories.
@Suite("Faults", .serialized)
struct FaultTests {
    /// A long run that writes a checkpoint every few steps.
    static func longRun(_ dir: String, every: Int = 10, extra: [String] = []) -> [String] {
        [
            "train", "--data", "sine", "--points", "4000", "--hidden", "16", "--steps", "1000000", "--checkpoint-every",
            String(every),
            "--quiet", "--checkpoint-dir", dir,
        ] + extra
    }

    /// Waits until `condition` holds, up to `timeout` seconds.
    static func eventually(_ timeout: Double = 60, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return false
    }

    /// Processes whose parent is `pid`.
    static func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { p in
            guard let stat = try? String(contentsOfFile: "/proc/\(p)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && Int32(fields[1]) == pid
        }
    }

    static func stepOfLatest(_ dir: String) throws -> Int {
        try Checkpoint.load(path: try resolveCheckpoint(dir)).optimizerState.step
    }

    @Test("a rank killed with SIGKILL ends the job within 30 s; latest is intact and resumable")
    func killedRank() throws {
        let dir = try Scratch.directory() + "/run"
        let job = try Harness.Running(Harness.mpirun, Harness.mpiArguments(2, Self.longRun(dir)))
        #expect(Self.eventually { FileManager.default.fileExists(atPath: dir + "/latest") })
        #expect(Self.eventually(20) { Self.children(of: job.process.processIdentifier).count == 2 })
        let ranks = Self.children(of: job.process.processIdentifier)
        let victim = try #require(ranks.last)
        let killed = Date()
        kill(victim, SIGKILL)
        let r = job.wait(timeout: 60)
        #expect(Date().timeIntervalSince(killed) < 30)
        #expect(r.status != 0)
        let step = try Self.stepOfLatest(dir)
        #expect(step > 0 && step % 10 == 0)
        let resumed = try Harness.mpi(
            2, ["train", "--resume", "latest", "--checkpoint-dir", dir, "--steps", String(step + 10), "--quiet"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try Self.stepOfLatest(dir) == step + 10)
    }

    @Test("killed while a checkpoint is being written: the previous one and latest stay valid")
    func killedMidWrite() throws {
        let dir = try Scratch.directory() + "/run"
        // Each file sits under a temporary name for 1.5 s before it is renamed into place.
        let job = try Harness.Running(
            Harness.binary, Self.longRun(dir, every: 5), environment: ["ELMAN_DIST_CHECKPOINT_DELAY_MS": "1500"])
        #expect(Self.eventually { FileManager.default.fileExists(atPath: dir + "/latest") })
        let before = try resolveCheckpoint(dir)
        func writingNewStep() -> Bool {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            return names.contains { $0.hasPrefix(".step-") && $0.contains(".tmp-") }
        }
        #expect(Self.eventually(60, writingNewStep))
        kill(job.process.processIdentifier, SIGKILL)
        _ = job.wait(timeout: 30)
        let after = try resolveCheckpoint(dir)
        #expect(after == before)
        _ = try Checkpoint.load(path: after)
        let resumed = try Harness.run([
            "train", "--resume", "latest", "--checkpoint-dir", dir, "--steps", String(try Self.stepOfLatest(dir) + 5),
            "--quiet",
        ])
        #expect(resumed.status == 0, "\(resumed.stderr)")
    }

    @Test("SIGTERM finishes the step, writes a checkpoint and exits 0", arguments: [1, 2])
    func terminate(_ ranks: Int) throws {
        let dir = try Scratch.directory() + "/run"
        let args = Self.longRun(dir, every: 1000).filter { $0 != "--quiet" } + ["--log-every", "1000000"]
        let job =
            ranks == 1
            ? try Harness.Running(Harness.binary, args)
            : try Harness.Running(Harness.mpirun, Harness.mpiArguments(ranks, args))
        // Wait until training runs: its "training …" line is printed as the loop starts.
        #expect(Self.waitUntilTraining(job))
        usleep(500_000)
        // As a scheduler does: every rank gets the signal.
        let targets = ranks == 1 ? [job.process.processIdentifier] : Self.children(of: job.process.processIdentifier)
        #expect(targets.count == ranks)
        for t in targets { kill(t, SIGTERM) }
        let r = job.wait(timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        let step = try Self.stepOfLatest(dir)
        #expect(step > 0)
        #expect(r.stdout.contains("stop requested: finishing at step \(step)"))
    }

    /// Waits until the run prints its "training …" line: its loop is about to run, so a signal
    /// from then on stops it after a step (before, a signal ends the process at once).
    static func waitUntilTraining(_ job: Harness.Running, timeout: Double = 60) -> Bool {
        eventually(timeout) { ((try? String(contentsOfFile: job.out, encoding: .utf8)) ?? "").contains("training ") }
    }

    @Test(
        "SIGHUP (a closed terminal) and a scheduler's signals (SIGUSR1, SIGUSR2, SIGXCPU, SIGALRM) finish the step, write a checkpoint and exit 0, as SIGTERM does",
        arguments: [SIGHUP, SIGUSR1, SIGUSR2, SIGXCPU, SIGALRM])
    func schedulerSignal(_ signal: Int32) throws {
        let dir = try Scratch.directory() + "/run"
        let args = Self.longRun(dir, every: 1000).filter { $0 != "--quiet" } + ["--log-every", "1000000"]
        let job = try Harness.Running(Harness.binary, args)
        #expect(Self.waitUntilTraining(job))
        usleep(300_000)
        kill(job.process.processIdentifier, signal)
        let r = job.wait(timeout: 60)
        #expect(r.status == 0, "signal \(signal): \(r.stderr)")
        let step = try Self.stepOfLatest(dir)
        #expect(step > 0 && r.stdout.contains("stop requested: finishing at step \(step)"))
    }

    @Test("a signal while the data loads ends the process at once (128 + signal), leaving no checkpoint")
    func signalWhileLoading() throws {
        let dir = try Scratch.directory()
        // 1.5 million rows: loading takes long enough that the signal arrives before the first step.
        var csv = "a,b,y\n"
        csv.reserveCapacity(40 << 20)
        for i in 0..<1_500_000 { csv += "\(i % 97).25,\(i % 89).5,\(i % 83).125\n" }
        try csv.write(toFile: dir + "/big.csv", atomically: false, encoding: .utf8)
        let job = try Harness.Running(
            Harness.binary, ["train", "--data", dir + "/big.csv", "--target", "y", "--features", "a,b,y", "--checkpoint-dir", dir + "/run"])
        // 50 ms in: still starting or loading (a signal before the handlers exist ends it the same way).
        usleep(50_000)
        let sent = Date()
        kill(job.process.processIdentifier, SIGTERM)
        let r = job.wait(timeout: 60)
        #expect(r.status == 128 + SIGTERM, "\(r.stderr)")
        #expect(Date().timeIntervalSince(sent) < 20)
        let left = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/run")) ?? []
        #expect(!left.contains { $0.hasSuffix(".safetensors") || $0 == "latest" }, "\(left)")
    }

    @Test("train | head -2: the closed pipe stops training after the step, with a checkpoint and exit 0")
    func closedPipe() throws {
        let dir = try Scratch.directory() + "/run"
        let status = dir + ".status"
        let args = Self.longRun(dir, every: 1000).filter { $0 != "--quiet" } + ["--log-every", "1"]
        let command = ([Harness.binary] + args).map { "'\($0)'" }.joined(separator: " ")
        let job = try Harness.Running(
            "/bin/bash", ["-c", "\(command) | head -2 > /dev/null; echo ${PIPESTATUS[0]} > '\(status)'"])
        let r = job.wait(timeout: 60)
        #expect(r.status == 0)
        #expect((try? String(contentsOfFile: status, encoding: .utf8)) == "0\n")
        #expect(try Self.stepOfLatest(dir) > 0)
    }

    @Test("SIGTERM during a long validation stops it: a checkpoint is on disk within seconds, exit 0")
    func stopDuringValidation() throws {
        let dir = try Scratch.directory() + "/run"
        // 2 M points, half held out: one validation of a million 64-step windows takes about 30 s here.
        let job = try Harness.Running(
            Harness.binary,
            [
                "train", "--data", "sine", "--points", "2000000", "--val-fraction", "0.5", "--eval-every", "3",
                "--hidden", "64", "--seq-len", "64", "--steps", "1000", "--checkpoint-dir", dir, "--log-every", "1",
            ])
        // Step 2's line is printed; step 3 takes milliseconds, then its validation about 30 s.
        #expect(
            Self.eventually { ((try? String(contentsOfFile: job.out, encoding: .utf8)) ?? "").contains("step 2/1000") })
        usleep(500_000)
        let signalled = Date()
        kill(job.process.processIdentifier, SIGTERM)
        let r = job.wait(timeout: 60)
        #expect(
            Date().timeIntervalSince(signalled) < 15, "the run took \(Date().timeIntervalSince(signalled)) s to stop")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Self.stepOfLatest(dir) == 3 && r.stdout.contains("stop requested: finishing at step 3"))
    }

    @Test(
        "a hung rank (kill -STOP) under mpirun -n 2 stops the job within the deadline, one line naming it and the last good checkpoint",
        arguments: [1, 0])
    func hungRank(_ stopped: Int) throws {
        let dir = try Scratch.directory() + "/run"
        let job = try Harness.Running(
            Harness.mpirun, Harness.mpiArguments(2, Self.longRun(dir, every: 200) + ["--collective-timeout", "4"]))
        #expect(Self.eventually { FileManager.default.fileExists(atPath: dir + "/latest") })
        let ranks = Self.children(of: job.process.processIdentifier).sorted()
        #expect(ranks.count == 2)
        let target = ranks[stopped]  // mpirun starts rank 0 first
        kill(target, SIGSTOP)
        defer { kill(target, SIGKILL) }
        let signalled = Date()
        let r = job.wait(timeout: 60)
        // The deadline, and when rank 0 is the one missing, the others' wait for its word.
        #expect(Date().timeIntervalSince(signalled) < 30)
        #expect(r.status != 0)
        #expect(r.errorLines.count == 1, "\(r.stderr)")
        let line = try #require(r.errorLines.first)
        // Usually the step's all-reduce; the all-gather of a replica check when it strikes at a checkpoint.
        #expect(line.hasPrefix("error: rank \(stopped) did not reach the all-"), "\(line)")
        #expect(line.contains(" within 4 s (step "), "\(line)")
        #expect(line.contains("; last good checkpoint: \(dir)/step-"))
        _ = try Checkpoint.load(path: try resolveCheckpoint(dir))
    }

    @Test("a second signal exits at once, even while the final checkpoint is being written")
    func secondSignal() throws {
        let dir = try Scratch.directory() + "/run"
        // The first signal leads to a final checkpoint, held under its temporary name for 120 s:
        // exiting "at once" (within 20 s, a bound a loaded machine keeps) cannot be the write finishing.
        let args = Self.longRun(dir, every: 1_000_000).filter { $0 != "--quiet" } + ["--log-every", "1000000"]
        let job = try Harness.Running(Harness.binary, args, environment: ["ELMAN_DIST_CHECKPOINT_DELAY_MS": "120000"])
        #expect(Self.eventually { FileManager.default.fileExists(atPath: dir) })
        usleep(500_000)
        kill(job.process.processIdentifier, SIGTERM)
        // Two signals sent back to back merge into one (they do not queue), so wait until
        // the first is acknowledged before sending the second.
        #expect(
            Self.eventually(20) {
                ((try? String(contentsOfFile: job.out, encoding: .utf8)) ?? "").contains("stop requested")
            })
        let second = Date()
        kill(job.process.processIdentifier, SIGTERM)
        let r = job.wait(timeout: 30)
        #expect(r.status == 128 + SIGTERM)
        #expect(Date().timeIntervalSince(second) < 20)
        #expect(!FileManager.default.fileExists(atPath: dir + "/latest"))
    }

    @Test("a NaN gradient stops training, naming the step and the last good checkpoint")
    func nanStops() throws {
        let dir = try Scratch.directory() + "/run"
        let r = try Harness.run(
            [
                "train", "--data", "sine", "--steps", "20", "--checkpoint-every", "5", "--quiet", "--checkpoint-dir",
                dir,
            ],
            environment: ["ELMAN_DIST_TEST_NAN_GRADIENT": "7:0"])
        #expect(r.status == 1)
        #expect(
            r.stderr
                == "error: gradient norm is nan at step 7; last good checkpoint: \(dir)/step-00000005.safetensors\n")
        #expect(try Self.stepOfLatest(dir) == 5)
    }

    @Test("--on-nonfinite skip skips the update on every rank, even when one rank alone sees the NaN")
    func nanSkipped() throws {
        let dir = try Scratch.directory() + "/run"
        let job = try Harness.Running(
            Harness.mpirun,
            Harness.mpiArguments(
                2,
                [
                    "train", "--data", "sine", "--steps", "20", "--on-nonfinite", "skip", "--replica-check-every", "1",
                    "--checkpoint-dir", dir,
                ]), environment: ["ELMAN_DIST_TEST_NAN_GRADIENT": "7:1"])
        let r = job.wait()
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("step 7: gradient norm is nan; update skipped on every rank"))
        #expect(try Checkpoint.load(path: try resolveCheckpoint(dir)).parameters.allSatisfy(\.isFinite))
    }

    @Test("replicas that drift apart are caught, naming the rank")
    func drift() throws {
        let job = try Harness.Running(
            Harness.mpirun,
            Harness.mpiArguments(
                2, ["train", "--data", "sine", "--steps", "20", "--replica-check-every", "5", "--quiet"]),
            environment: ["ELMAN_DIST_TEST_DRIFT": "3:1"])
        let r = job.wait()
        #expect(r.status != 0)
        #expect(r.errorLines == ["error: replicas have drifted: rank 1 parameters differ from rank 0's at step 5"])
    }

    @Test("a checkpoint directory without write permission is refused before the first step")
    func unwritable() throws {
        let base = try Scratch.directory()
        let dir = base + "/locked"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        chmod(dir, 0o555)
        chmod(base, 0o755)
        // Root ignores permission bits, so the binary then runs as nobody, from a copy in a
        // world-readable directory (the checkout may not be readable by nobody).
        let asRoot = geteuid() == 0
        var binary = Harness.binary
        if asRoot {
            binary = base + "/elman-dist"
            try FileManager.default.copyItem(atPath: Harness.binary, toPath: binary)
        }
        let executable = asRoot ? "/usr/bin/setpriv" : binary
        let prefix = asRoot ? ["--reuid=65534", "--regid=65534", "--clear-groups", binary] : []
        let r = try Harness.Running(
            executable, prefix + ["train", "--data", "sine", "--steps", "5", "--checkpoint-dir", dir],
            environment: ["HOME": "/tmp", "TMPDIR": "/tmp"], directory: "/tmp"
        ).wait()
        #expect(r.status == 1)
        #expect(r.stderr == "error: checkpoint directory \(dir) is not writable: Permission denied\n")
        #expect(!r.stdout.contains("step 1/"))
    }

    /// Whether this process may mount a small tmpfs (root on Linux): the honest way to fill a disk.
    static let canMount: Bool = {
        guard geteuid() == 0, let dir = try? Scratch.directory() else { return false }
        let ok = Harness.shell("mount -t tmpfs -o size=64k tmpfs '\(dir)' && umount '\(dir)'") == 0
        return ok
    }()

    @Test(
        "a disk that fills up mid-run keeps the previous checkpoint and stops with a clear message",
        .enabled(if: FaultTests.canMount, "needs root to mount a 64 KiB tmpfs"))
    func diskFull() throws {
        let dir = try Scratch.directory()
        #expect(Harness.shell("mount -t tmpfs -o size=64k tmpfs '\(dir)'") == 0)
        defer { _ = Harness.shell("umount '\(dir)'") }
        // Each checkpoint is about 17 KiB; with three kept the disk is full within a few writes.
        let r = try Harness.run([
            "train", "--data", "sine", "--steps", "200", "--checkpoint-every", "5", "--quiet", "--checkpoint-dir", dir,
        ])
        #expect(r.status == 1)
        let line = try #require(r.errorLines.first)
        // The disk may fill on the checkpoint or on the pointer to it; either leaves latest valid.
        #expect(line.hasPrefix("error: writing \(dir)/"))
        #expect(line.hasSuffix("failed: No space left on device; the previous checkpoint is intact"))
        #expect(r.errorLines.count == 1)
        let latest = try resolveCheckpoint(dir)
        _ = try Checkpoint.load(path: latest)
        #expect(try Self.stepOfLatest(dir) % 5 == 0)
    }

    @Test(
        "a metrics file on a disk that fills up: one line, training stops after the step with a checkpoint, exit 1",
        .enabled(if: FaultTests.canMount, "needs root to mount a 64 KiB tmpfs"))
    func metricsDiskFull() throws {
        let full = try Scratch.directory(), run = try Scratch.directory() + "/run"
        #expect(Harness.shell("mount -t tmpfs -o size=64k tmpfs '\(full)'") == 0)
        defer { _ = Harness.shell("umount '\(full)'") }
        let r = try Harness.run([
            "train", "--data", "sine", "--steps", "100000", "--log-every", "1", "--quiet", "--metrics", full + "/m.jsonl",
            "--checkpoint-dir", run,
        ])
        #expect(r.status == 1)
        #expect(r.errorLines.first == "error: --metrics: writing \(full)/m.jsonl failed: No space left on device; stopping after this step")
        #expect(r.errorLines.last == "error: --metrics: writing \(full)/m.jsonl failed: No space left on device")
        let step = try Self.stepOfLatest(run)
        #expect(step > 0 && step < 100000)
    }
}
