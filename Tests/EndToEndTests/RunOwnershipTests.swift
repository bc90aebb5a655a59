import ElmanCheckpoint
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A checkpoint directory belongs to one run: no other run deletes or replaces its files.
@Suite("Run ownership", .serialized)
struct RunOwnershipTests {
    func files(_ dir: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) where !name.hasPrefix(".") {
            out[name] = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))
        }
        return out
    }

    @Test("a fresh run into a directory that holds another run is refused, and that run's files stay as they were")
    func freshRunRefused() throws {
        let dir = try Scratch.directory() + "/run"
        let a = try Harness.run([
            "train", "--data", "sine", "--steps", "30", "--checkpoint-every", "5", "--quiet", "--checkpoint-dir", dir,
        ])
        #expect(a.status == 0)
        let before = try files(dir)
        #expect(before.keys.contains(CheckpointDirectory.bestName) && before.keys.contains("latest"))
        let b = try Harness.run(["train", "--data", "sine", "--seed", "7", "--steps", "10", "--checkpoint-dir", dir])
        #expect(b.status == 1)
        #expect(
            b.stderr
                == "error: checkpoint directory \(dir) holds another run's checkpoints (step-00000030.safetensors); continue that run with --resume latest, or choose another --checkpoint-dir\n"
        )
        #expect(try files(dir) == before)
        // The run itself may go on in its directory.
        let resumed = try Harness.run([
            "train", "--resume", "latest", "--checkpoint-dir", dir, "--steps", "35", "--quiet",
        ])
        #expect(resumed.status == 0, "\(resumed.stderr)")
    }

    @Test("a second process on a directory in use is refused at once, naming the process that holds it")
    func lockedDirectory() throws {
        let dir = try Scratch.directory() + "/run"
        let long = try Harness.Running(Harness.binary, FaultTests.longRun(dir, every: 5))
        defer {
            kill(long.process.processIdentifier, SIGKILL)
            _ = long.wait()
        }
        #expect(FaultTests.eventually { FileManager.default.fileExists(atPath: dir + "/latest") })
        let started = Date()
        let second = try Harness.run(["train", "--resume", "latest", "--checkpoint-dir", dir, "--quiet"])
        #expect(second.status == 1 && Date().timeIntervalSince(started) < 20)
        #expect(
            second.stderr.hasPrefix(
                "error: checkpoint directory \(dir) is in use by another run (process \(long.process.processIdentifier) on "
            ),
            "\(second.stderr)")
    }

    @Test("two runs creating one new directory at once: one trains, the other is refused with one line")
    func simultaneousCreation() throws {
        let dir = try Scratch.directory() + "/new/nested/run"
        let args = [
            "train", "--data", "sine", "--steps", "200", "--checkpoint-every", "50", "--quiet", "--checkpoint-dir", dir,
        ]
        let jobs = [
            try Harness.Running(Harness.binary, args), try Harness.Running(Harness.binary, args + ["--seed", "3"]),
        ]
        let results = jobs.map { $0.wait() }
        #expect(results.filter { $0.status == 0 }.count == 1, "\(results.map(\.stderr))")
        let refused = try #require(results.first { $0.status != 0 })
        #expect(refused.errorLines.count == 1)
        #expect(
            refused.stderr.contains("is in use by another run")
                || refused.stderr.contains("holds another run's checkpoints"))
        #expect(!refused.stderr.contains("File exists"))
    }
}
