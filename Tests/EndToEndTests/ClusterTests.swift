import ElmanCheckpoint
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The emulated cluster that `launch/testing/cluster.sh up` starts (launch/test.sh does it where
/// the machine allows): two Slurm nodes and two network-namespace hosts, each with its own
/// hostname and /tmp, and a shared directory outside /tmp.
enum Cluster {
    static let environment = ProcessInfo.processInfo.environment

    /// Why the cluster tests cannot run here, or nil when they can.
    static let unavailable: String? = {
        guard let conf = environment["SLURM_CONF"], FileManager.default.fileExists(atPath: conf),
            let shared = environment["ELMAN_CLUSTER_SHARED"], FileManager.default.fileExists(atPath: shared)
        else {
            return "the emulated cluster is not up (as root: eval \"$(launch/testing/cluster.sh up)\")"
        }
        return nil
    }()

    static var available: Bool { unavailable == nil }

    /// A new directory on the cluster's shared filesystem, removed when `body` returns.
    static func withSharedDirectory<T>(_ body: (String) throws -> T) throws -> T {
        let root = environment["ELMAN_CLUSTER_SHARED"] ?? "/nonexistent"
        let path = root + "/test-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try body(path)
    }

    /// `sbatch` of launch/slurm.sbatch with `variables` (the script's settings) and `options`
    /// (which override its #SBATCH lines). With `wait`, returns when the job has ended.
    static func sbatch(_ variables: [String: String], _ options: [String], wait: Bool) throws -> Harness.Result {
        try Harness.Running(
            "/usr/bin/sbatch", (wait ? ["--wait"] : []) + options + ["launch/slurm.sbatch"],
            environment: variables
        ).wait(timeout: 300)
    }

    /// The PIDs of elman-dist processes whose hostname (UTS namespace) is `node`.
    static func ranks(on node: String) throws -> [Int32] {
        let pids = try Harness.Running("/usr/bin/pgrep", ["-x", "elman-dist"]).wait().stdout.split(separator: "\n")
        return try pids.compactMap { Int32($0) }.filter {
            try Harness.Running("/usr/bin/nsenter", ["-t", String($0), "-u", "hostname"]).wait().stdout == node + "\n"
        }
    }

    /// Whether every node of the cluster is idle (no job running or completing on it).
    static var nodesIdle: Bool {
        guard let r = try? Harness.Running("/usr/bin/sinfo", ["-h", "-N", "-o", "%T"]).wait(), r.status == 0 else {
            return false
        }
        let states = r.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        return !states.isEmpty && states.allSatisfy { $0 == "idle" }
    }

    /// Jobs in the queue. A query that fails (slurmctld busy on a loaded machine) is asked
    /// again, never read as an empty queue: that ended a wait for a requeued job before the
    /// job ran again.
    static var slurmJobs: Int {
        for _ in 0..<50 {
            if let r = try? Harness.Running("/usr/bin/squeue", ["-h", "-o", "%i"]).wait(), r.status == 0 {
                return r.stdout.split(separator: "\n").count
            }
            usleep(200_000)
        }
        return 1
    }
}

/// Slurm and multi-host mpirun on the emulated cluster: the launch scripts users run.
@Suite("Cluster", .serialized, .enabled(if: Cluster.available, Comment(rawValue: Cluster.unavailable ?? "")))
struct ClusterTests {
    /// The training both launchers run: hourly temperatures, batch 32 over 4 ranks.
    static let train = [
        "--data", "examples/data/seattle-temps.csv", "--target", "temp", "--batch-size", "32",
    ]
    static let model = ["--hidden", "64", "--seq-len", "12", "--clip-norm", "1"]

    func sbatchVariables(_ run: String, steps: Int, resume: Bool = false) -> [String: String] {
        [
            "BIN": Harness.binary, "DATA": "examples/data/seattle-temps.csv", "TARGET": "temp", "RUN_DIR": run,
            "STEPS": String(steps), "BATCH": "32", "CHECKPOINT_EVERY": "20",
            "EXTRA": (Self.model + ["--quiet"]).joined(separator: " "), "RESUME": resume ? "latest" : "",
        ]
    }

    static let twoNodes = ["--nodes=2", "--ntasks-per-node=2", "--cpus-per-task=1"]

    /// The same run in one process, for reference.
    func oneProcess(steps: Int) throws -> [Float] {
        let dir = try Scratch.directory()
        let r = try Harness.run(
            ["train"] + Self.train + Self.model + ["--steps", String(steps), "--quiet", "--checkpoint-dir", dir])
        try #require(r.status == 0, "\(r.stderr)")
        return try Harness.parameters(dir)
    }

    @Test("sbatch launch/slurm.sbatch on 2 nodes × 2 tasks trains to the weights of one process (≤ 1e-5)")
    func sbatchMatchesOneProcess() throws {
        try Cluster.withSharedDirectory { shared in
            let run = shared + "/run"
            let job = try Cluster.sbatch(
                sbatchVariables(run, steps: 60), Self.twoNodes + ["--output=\(shared)/job.out"], wait: true)
            let output = (try? String(contentsOfFile: shared + "/job.out", encoding: .utf8)) ?? ""
            try #require(job.status == 0, "sbatch: \(job.stderr) job: \(output)")
            let d = maxDifference(try oneProcess(steps: 60), try Harness.parameters(run))
            #expect(d <= 1e-5, "Slurm run differs from one process by \(d)")
        }
    }

    @Test(
        "a node's task killed mid-run ends the job; resubmitted with RESUME=latest it finishes at the uninterrupted weights"
    )
    func nodeLostAndResubmitted() throws {
        try Cluster.withSharedDirectory { shared in
            let run = shared + "/run", steps = 400
            let submitted = try Cluster.sbatch(
                sbatchVariables(run, steps: steps), Self.twoNodes + ["--output=\(shared)/first.out"], wait: false)
            try #require(submitted.status == 0, "\(submitted.stderr)")

            // Once a checkpoint is on disk, kill -9 one of node n2's ranks (a node lost).
            let clock = ContinuousClock(), start = clock.now
            while !FileManager.default.fileExists(atPath: run + "/step-00000020.safetensors") {
                try #require(clock.now - start < .seconds(120), "no checkpoint within 120 s")
                usleep(50_000)
            }
            let victim = try #require(try Cluster.ranks(on: "n2").first, "no rank on n2")
            kill(victim, SIGKILL)
            let killed = clock.now
            while Cluster.slurmJobs > 0 {
                try #require(clock.now - killed < .seconds(120), "the job outlived its lost rank by 120 s")
                usleep(100_000)
            }
            let latest = try String(contentsOfFile: run + "/latest", encoding: .utf8)
            #expect(latest != CheckpointDirectory.fileName(step: steps), "the first job finished before the kill")

            let resumed = try Cluster.sbatch(
                sbatchVariables(run, steps: steps, resume: true), Self.twoNodes + ["--output=\(shared)/second.out"],
                wait: true)
            let output = (try? String(contentsOfFile: shared + "/second.out", encoding: .utf8)) ?? ""
            try #require(resumed.status == 0, "resubmitted job: \(resumed.stderr) \(output)")
            let d = maxDifference(try oneProcess(steps: steps), try Harness.parameters(run))
            #expect(d <= 1e-5, "resumed Slurm run differs from an uninterrupted one by \(d)")
        }
    }

    /// Submits a 2000-step job, lets `interrupt(jobID)` stop it after its first checkpoint, releases
    /// it from the queue at once (Slurm holds a requeued job for a while), and checks that it
    /// ran twice and ended at the weights of an uninterrupted one-process run.
    func requeued(_ interrupt: (String) throws -> Void) throws {
        try Cluster.withSharedDirectory { shared in
            let run = shared + "/run", steps = 2000
            let submitted = try Cluster.sbatch(
                sbatchVariables(run, steps: steps), Self.twoNodes + ["--output=\(shared)/job.out", "--parsable"],
                wait: false)
            try #require(submitted.status == 0, "\(submitted.stderr)")
            let job = submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let clock = ContinuousClock(), start = clock.now
            while !FileManager.default.fileExists(atPath: run + "/step-00000020.safetensors") {
                let output = (try? String(contentsOfFile: shared + "/job.out", encoding: .utf8)) ?? ""
                try #require(Cluster.slurmJobs > 0, "the job ended before its first checkpoint: \(output)")
                try #require(clock.now - start < .seconds(120), "no checkpoint within 120 s: \(output)")
                usleep(50_000)
            }
            try interrupt(job)
            // Requeued, the job waits in PENDING (BeginTime) before it runs again; release it.
            let interrupted = clock.now
            var state = ""
            repeat {
                try #require(clock.now - interrupted < .seconds(60), "the job was not requeued within 60 s: \(state)")
                usleep(200_000)
                state = try Harness.Running("/usr/bin/squeue", ["-h", "-j", job, "-o", "%T"]).wait().stdout
            } while !state.contains("PENDING")
            let stopped = try String(contentsOfFile: run + "/latest", encoding: .utf8)
            #expect(stopped != CheckpointDirectory.fileName(step: steps) + "\n", "the job finished before it was stopped")
            // Released only once its nodes are idle again, and a moment after: started at once,
            // slurmd still held the first run's revoked credential and killed the job at launch
            // ("Killing non-startable batch JobId=5: Job credential revoked", once in a CI run).
            while !Cluster.nodesIdle {
                try #require(clock.now - interrupted < .seconds(60), "the nodes did not become idle within 60 s")
                usleep(200_000)
            }
            sleep(2)
            _ = try Harness.Running("/usr/bin/scontrol", ["update", "jobid=\(job)", "StartTime=now"]).wait()
            // Its second start first (the queue may look empty a moment while it is released),
            // then its end.
            while !((try? String(contentsOfFile: shared + "/job.out", encoding: .utf8)) ?? "").contains("start 1:") {
                try #require(clock.now - interrupted < .seconds(240), "the requeued job did not start again within 240 s")
                usleep(200_000)
            }
            while Cluster.slurmJobs > 0 {
                try #require(clock.now - interrupted < .seconds(240), "the requeued job did not finish within 240 s")
                usleep(200_000)
            }
            let output = (try? String(contentsOfFile: shared + "/job.out", encoding: .utf8)) ?? ""
            #expect(output.contains("start 1:"), "the job did not run a second time: \(output)")
            let done = try String(contentsOfFile: run + "/latest", encoding: .utf8)
            try #require(done == CheckpointDirectory.fileName(step: steps) + "\n", "job output: \(output)")
            let d = maxDifference(try oneProcess(steps: steps), try Harness.parameters(run))
            #expect(d <= 1e-5, "the requeued Slurm run differs from an uninterrupted one by \(d)")
        }
    }

    @Test("a job requeued after its first checkpoint (scontrol requeue) continues by itself to the uninterrupted weights")
    func requeuedByScheduler() throws {
        try requeued { job in
            let r = try Harness.Running("/usr/bin/scontrol", ["requeue", job]).wait()
            try #require(r.status == 0, "scontrol requeue: \(r.stderr)")
        }
    }

    @Test("the time-limit warning (SIGUSR1 to the batch script) checkpoints, requeues, and ends at the uninterrupted weights")
    func timeLimitWarning() throws {
        // What --signal=B:USR1@120 sends before the time limit, sent now.
        try requeued { job in
            let r = try Harness.Running("/usr/bin/scancel", ["--signal=USR1", "--batch", job]).wait()
            try #require(r.status == 0, "scancel --signal=USR1: \(r.stderr)")
        }
    }

    @Test("launch/mpirun-hosts.sh over TCP between two network hosts trains to the weights of one process")
    func mpirunAcrossHosts() throws {
        try Cluster.withSharedDirectory { shared in
            let env = Cluster.environment
            let hostfile = try #require(env["ELMAN_CLUSTER_HOSTFILE"])
            let r = try Harness.Running(
                Harness.root.appendingPathComponent("launch/mpirun-hosts.sh").path,
                [hostfile, "4", Harness.binary, "train"] + Self.train + Self.model + [
                    "--steps", "60", "--quiet", "--checkpoint-dir", shared,
                ],
                environment: [
                    "NETWORK": env["ELMAN_CLUSTER_NETWORK"] ?? "", "AGENT": env["ELMAN_CLUSTER_AGENT"] ?? "",
                ]
            ).wait(timeout: 180)
            try #require(r.status == 0, "\(r.stderr)")
            let d = maxDifference(try oneProcess(steps: 60), try Harness.parameters(shared))
            #expect(d <= 1e-5, "two hosts over TCP differ from one process by \(d)")
        }
    }
}
