import ElmanCheckpoint
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Every path the tool writes, tried as a careless user and an adversary would: an output never
/// destroys a checkpoint, an input, a device or a file nobody asked to replace.
@Suite("Outputs never destroy anything")
struct OutputSafetyTests {
    /// A model of hourly temperatures, trained once, and a private copy of its data.
    static let model: (dir: String, data: String) = {
        let dir = (try? Scratch.directory()) ?? "/nonexistent"
        let data = dir + "/temps.csv"
        try? FileManager.default.copyItem(atPath: Harness.example("seattle-temps.csv"), toPath: data)
        _ = try? Harness.run([
            "train", "--data", data, "--target", "temp", "--steps", "30", "--quiet", "--checkpoint-dir", dir + "/ck",
        ])
        return (dir, data)
    }()

    static func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    static func kind(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : 0
    }

    @Test("predict --out refuses the checkpoint it reads, another checkpoint of the directory and the input, even with --force")
    func refusesInputsAndCheckpoints() throws {
        let (dir, data) = Self.model
        let checkpoint = try resolveCheckpoint(dir + "/ck")
        let before = try #require(Self.bytes(checkpoint)), dataBefore = try #require(Self.bytes(data))
        for (out, reason) in [
            (checkpoint, "is an input of this command"), (dir + "/ck/best.safetensors", "is a checkpoint directory's best checkpoint"),
            (dir + "/ck/latest", "is a checkpoint directory's latest pointer"),
            (dir + "/ck/step-00000099.safetensors", "is a name the checkpoint directory"),
        ] {
            let r = try Harness.run(["predict", "--checkpoint", checkpoint, "--out", out, "--force"])
            #expect(r.status == 1 && r.errorLines.count == 1 && r.stderr.contains(reason), "\(out): \(r.stderr)")
        }
        let r = try Harness.run(["predict", "--checkpoint", dir + "/ck", "--data", data, "--out", data, "--force"])
        #expect(r.status == 1 && r.stderr.contains("is an input of this command"), "\(r.stderr)")
        #expect(Self.bytes(checkpoint) == before && Self.bytes(data) == dataBefore)
        _ = try Checkpoint.load(path: checkpoint)
        #expect(Self.bytes(dir + "/ck/step-00000099.safetensors") == nil)
    }

    @Test("an existing file is replaced only with --force, and --force replaces it whole")
    func existingFileNeedsForce() throws {
        let (dir, _) = Self.model
        let out = try Scratch.directory() + "/predictions.csv"
        try "keep me\n".write(toFile: out, atomically: true, encoding: .utf8)
        let refused = try Harness.run(["predict", "--checkpoint", dir + "/ck", "--out", out])
        #expect(refused.status == 1)
        #expect(refused.stderr == "error: \(out) exists; give --force to replace it\n")
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "keep me\n")
        let forced = try Harness.run(["predict", "--checkpoint", dir + "/ck", "--out", out, "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        let written = try String(contentsOfFile: out, encoding: .utf8)
        #expect(written.hasPrefix("row,actual,predicted,split\n") && !written.contains("keep me"))
        // A new file needs no --force; the same for plot and export.
        let svg = try Scratch.directory() + "/f.svg"
        #expect(try Harness.run(["plot", "--checkpoint", dir + "/ck", "--out", svg]).status == 0)
        let again = try Harness.run(["plot", "--checkpoint", dir + "/ck", "--out", svg])
        #expect(again.status == 1 && again.stderr.contains("exists; give --force"))
        let exported = try Scratch.directory() + "/m.safetensors"
        #expect(try Harness.run(["export", dir + "/ck", "--out", exported]).status == 0)
        let twice = try Harness.run(["export", dir + "/ck", "--out", exported])
        #expect(twice.status == 1 && twice.stderr.contains("exists; give --force"))
    }

    @Test("--metrics: never the training data or the config, an existing file needs --force, a resumed run appends to its own")
    func metricsFile() throws {
        let scratch = try Scratch.directory()
        let data = scratch + "/my.csv", config = scratch + "/run.toml", metrics = scratch + "/m.jsonl"
        try FileManager.default.copyItem(atPath: Harness.example("seattle-temps.csv"), toPath: data)
        try "steps = 4\n".write(toFile: config, atomically: true, encoding: .utf8)
        let base = ["train", "--data", data, "--target", "temp", "--quiet", "--log-every", "1"]
        let before = try #require(Self.bytes(data))
        let onData = try Harness.run(base + ["--steps", "2", "--metrics", data, "--force"])
        #expect(onData.status == 1 && onData.stderr.contains("is an input of this command"), "\(onData.stderr)")
        let onConfig = try Harness.run(base + ["--config", config, "--metrics", config, "--force"])
        #expect(onConfig.status == 1 && onConfig.stderr.contains("is an input of this command"), "\(onConfig.stderr)")
        #expect(Self.bytes(data) == before)
        #expect(try String(contentsOfFile: config, encoding: .utf8) == "steps = 4\n")

        try "not mine\n".write(toFile: metrics, atomically: true, encoding: .utf8)
        let refused = try Harness.run(base + ["--steps", "2", "--metrics", metrics])
        #expect(refused.status == 1 && refused.stderr.contains("exists; give --force"))
        try FileManager.default.removeItem(atPath: metrics)
        let ck = scratch + "/ck"
        let fresh = try Harness.run(base + ["--steps", "3", "--metrics", metrics, "--checkpoint-dir", ck])
        #expect(fresh.status == 0, "\(fresh.stderr)")
        let resumed = try Harness.run([
            "train", "--resume", "latest", "--checkpoint-dir", ck, "--steps", "5", "--metrics", metrics, "--log-every", "1",
        ])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let steps = try String(contentsOfFile: metrics, encoding: .utf8).split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["step"] as? Int
        }
        #expect(steps == [1, 2, 3, 4, 5])
    }

    @Test(
        "a device is written through and stays a device; a FIFO nobody reads and a symbolic link are refused at once",
        .enabled(if: geteuid() == 0, "needs root to make device nodes with mknod"))
    func specialFiles() throws {
        let (dir, _) = Self.model
        let scratch = try Scratch.directory()
        // The same devices as /dev/null and /dev/full (major 1, minors 3 and 7), made here.
        #expect(Harness.shell("mknod '\(scratch)/null' c 1 3 && mknod '\(scratch)/full' c 1 7") == 0)
        let toNull = try Harness.run(["predict", "--checkpoint", dir + "/ck", "--out", scratch + "/null"])
        #expect(toNull.status == 0, "\(toNull.stderr)")
        #expect(Self.kind(scratch + "/null") == S_IFCHR)
        let toFull = try Harness.run(["predict", "--checkpoint", dir + "/ck", "--out", scratch + "/full", "--force"])
        #expect(toFull.status == 1)
        #expect(toFull.stderr == "error: writing \(scratch)/full failed: No space left on device\n")
        #expect(Self.kind(scratch + "/full") == S_IFCHR)

        #expect(mkfifo(scratch + "/fifo", 0o644) == 0)
        let started = Date()
        let toFIFO = try Harness.run(["predict", "--checkpoint", dir + "/ck", "--out", scratch + "/fifo"], timeout: 60)
        #expect(toFIFO.status == 1 && toFIFO.stderr.contains("is a FIFO that no process reads"))
        #expect(Date().timeIntervalSince(started) < 30)
        #expect(Self.kind(scratch + "/fifo") == S_IFIFO)

        try "target\n".write(toFile: scratch + "/target.csv", atomically: true, encoding: .utf8)
        #expect(symlink(scratch + "/target.csv", scratch + "/link.csv") == 0)
        let toLink = try Harness.run(["predict", "--checkpoint", dir + "/ck", "--out", scratch + "/link.csv", "--force"])
        #expect(toLink.status == 1 && toLink.stderr.contains("is a symbolic link"))
        #expect(Self.kind(scratch + "/link.csv") == S_IFLNK)
        #expect(try String(contentsOfFile: scratch + "/target.csv", encoding: .utf8) == "target\n")
    }

    @Test("an empty or blank path is a usage error and nothing is written into the working directory or /")
    func blankPaths() throws {
        let (dir, _) = Self.model
        let rootBefore = try FileManager.default.contentsOfDirectory(atPath: "/").sorted()
        for (args, flag) in [
            (["train", "--data", "sine", "--steps", "1", "--checkpoint-dir", ""], "--checkpoint-dir"),
            (["train", "--data", "sine", "--steps", "1", "--metrics", " "], "--metrics"),
        ] {
            let r = try Harness.run(args)
            #expect(r.status == 64 && r.stderr == "error: \(flag) is empty: name a path\n", "\(r.stderr)")
        }
        let out = try Harness.run(["predict", "--checkpoint", dir + "/ck", "--out", "  "])
        #expect(out.status == 1 && out.stderr == "error: --out is empty: name a file to write\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: "/").sorted() == rootBefore)
    }

    @Test("a result that cannot reach standard output is a one-line error and exit 1, not a silent success")
    func lostStandardOutput() throws {
        let (dir, _) = Self.model
        let r = try Harness.Running(
            "/bin/sh", ["-c", "exec \"$0\" predict --checkpoint \"$1\" > /dev/full", Harness.binary, dir + "/ck"]
        ).wait()
        #expect(r.status == 1)
        #expect(r.stderr == "error: cannot write standard output: No space left on device\n")
    }
}
