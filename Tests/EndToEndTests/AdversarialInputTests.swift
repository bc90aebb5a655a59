import ElmanCheckpoint
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Input chosen to break the tool: it must answer with one line naming the real problem and a
/// non-zero exit, never a crash, a hang, unbounded work or a silent wrong answer.
@Suite("Adversarial input", .serialized)
struct AdversarialInputTests {
    /// A model of hourly temperatures (a model of changes, T = 16), trained once.
    static let temps: String = {
        let dir = ((try? Scratch.directory()) ?? "/nonexistent") + "/ck"
        _ = try? Harness.run([
            "train", "--data", Harness.example("seattle-temps.csv"), "--target", "temp", "--steps", "30", "--quiet",
            "--checkpoint-dir", dir,
        ])
        return dir
    }()

    static func write(_ text: String, _ name: String) throws -> String {
        let path = try Scratch.directory() + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Resident memory of a running process, in bytes.
    static func residentBytes(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Int(line.split(separator: " ")[safe: 1] ?? "") ?? 0) * 1024
    }

    @Test("eval --horizon longer than the data is a one-line error, not a crash")
    func horizonBeyondData() throws {
        let lines = try String(contentsOfFile: Harness.example("seattle-temps.csv"), encoding: .utf8)
            .split(separator: "\n").prefix(30)
        let short = try Self.write(lines.joined(separator: "\n") + "\n", "short.csv")
        for horizon in ["13", "24", "1000000"] {
            let r = try Harness.run(["eval", "--checkpoint", Self.temps, "--data", short, "--horizon", horizon])
            #expect(r.status == 1, "--horizon \(horizon): \(r.stderr)")
            #expect(r.stderr == "error: no window is followed by \(horizon) rows to score --horizon \(horizon) (the data has 28 rows, a window 16)\n")
        }
        // One that fits is scored.
        #expect(try Harness.run(["eval", "--checkpoint", Self.temps, "--data", short, "--horizon", "2"]).status == 0)
    }

    @Test("a 100,000-term formula in a config file trains; a wrong one gets a short message, not the formula")
    func longFormula() throws {
        let terms = Array(repeating: "x", count: 100_000).joined(separator: "+")
        let good = try Self.write("data = \"formula:\(terms)\"\npoints = 50\nsteps = 1\nquiet = true\n", "long.toml")
        let r = try Harness.run(["train", "--config", good])
        #expect(r.status == 0, "\(r.stderr.prefix(300))")
        let bad = try Self.write("data = \"formula:\(terms)+\"\n", "bad.toml")
        let b = try Harness.run(["train", "--config", bad])
        #expect(b.status == 64)
        #expect(b.stderr.count < 200 && b.stderr.contains("expression ends too soon at position 200001"), "\(b.stderr.prefix(300))")
    }

    @Test("a FIFO nobody writes, as --data, as text, as --config and as latest, is refused at once")
    func fifoInputs() throws {
        let dir = try Scratch.directory()
        for name in ["data.csv", "story.txt", "run.toml"] { #expect(mkfifo(dir + "/" + name, 0o644) == 0) }
        let ck = dir + "/ck"
        try FileManager.default.createDirectory(atPath: ck, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try resolveCheckpoint(Self.temps), toPath: ck + "/step-00000030.safetensors")
        #expect(mkfifo(ck + "/latest", 0o644) == 0)
        let started = Date()
        for (args, shown) in [
            (["train", "--data", dir + "/data.csv", "--target", "y"], dir + "/data.csv: not a regular file"),
            (["train", "--data", dir + "/story.txt"], dir + "/story.txt: not a regular file"),
            (["train", "--config", dir + "/run.toml"], dir + "/run.toml: not a regular file"),
            (["eval", "--checkpoint", ck], ck + "/latest is not a checkpoint pointer: not a regular file"),
        ] {
            let r = try Harness.run(args, timeout: 60)
            #expect(r.status != 0 && r.errorLines.count == 1 && r.stderr.contains(shown), "\(args): \(r.stderr)")
        }
        #expect(Date().timeIntervalSince(started) < 60)
    }

    @Test("predict --horizon 1e9 streams its rows in flat memory, and SIGTERM stops it leaving no file behind")
    func endlessForecast() throws {
        let dir = try Scratch.directory()
        let out = dir + "/forecast.csv"
        let job = try Harness.Running(Harness.binary, ["predict", "--checkpoint", Self.temps, "--horizon", "1000000000", "--out", out])
        let pid = job.process.processIdentifier
        func temporary() -> String? {
            ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).first { $0.hasPrefix(".forecast.csv.tmp-") }
        }
        func written() -> Int {
            temporary().flatMap { try? FileManager.default.attributesOfItem(atPath: dir + "/" + $0)[.size] as? Int } ?? 0
        }
        #expect(FaultTests.eventually(60) { written() > 1 << 20 })
        let early = Self.residentBytes(pid)
        #expect(FaultTests.eventually(60) { written() > 8 << 20 })
        let late = Self.residentBytes(pid)
        #expect(late - early < 16 << 20, "resident memory grew from \(early) to \(late) bytes while streaming")
        kill(pid, SIGTERM)
        let r = job.wait(timeout: 60)
        #expect(r.status == 128 + SIGTERM)
        #expect(temporary() == nil && !FileManager.default.fileExists(atPath: out))
    }

    @Test("generate --length 1e12 streams the text as it is sampled, in flat memory; SIGTERM stops it")
    func endlessText() throws {
        let ck = try Scratch.directory() + "/text"
        let t = try Harness.run([
            "train", "--data", Harness.example("recurrence.txt"), "--hidden", "16", "--seq-len", "8", "--steps", "3",
            "--quiet", "--checkpoint-dir", ck,
        ])
        try #require(t.status == 0, "\(t.stderr)")
        let job = try Harness.Running(Harness.binary, ["generate", "--checkpoint", ck, "--length", "1000000000000"])
        let pid = job.process.processIdentifier
        func shown() -> Int { (try? FileManager.default.attributesOfItem(atPath: job.out)[.size] as? Int) ?? 0 }
        #expect(FaultTests.eventually(60) { shown() > 200_000 })
        let early = Self.residentBytes(pid)
        #expect(FaultTests.eventually(60) { shown() > 2_000_000 })
        let late = Self.residentBytes(pid)
        #expect(late - early < 16 << 20, "resident memory grew from \(early) to \(late) bytes while generating")
        kill(pid, SIGTERM)
        #expect(job.wait(timeout: 60).status == 128 + SIGTERM)
    }

    @Test("numbers on the command line pass a CSV cell's checks: negatives are values, 1e39 and 0x10 are refused")
    func commandLineNumbers() throws {
        let rest = ",41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56"
        let negative = try Harness.run(["predict", "--checkpoint", Self.temps, "--input", "-5" + rest])
        #expect(negative.status == 0, "\(negative.stderr)")
        #expect(negative.stdout.hasPrefix("step,forecast\n1,"))
        let huge = try Harness.run(["predict", "--checkpoint", Self.temps, "--input", "1e39" + rest])
        #expect(huge.status == 64 && huge.stderr == "error: --input value 1, 1e39, is outside float32's range (±3.4e38)\n")
        let hex = try Harness.run(["predict", "--checkpoint", Self.temps, "--input", "0x10" + rest])
        #expect(hex.status == 64 && hex.stderr.contains("value 1 is '0x10'"))
        // The same rule in a CSV file: pandas reads 0x10 as text, and so does elman-dist.
        let csv = try Self.write("a\n1\n0x10\n3\n4\n", "hex.csv")
        let r = try Harness.run(["train", "--data", csv, "--target", "a", "--seq-len", "1", "--steps", "1"])
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("error: \(csv):3: non-numeric value '0x10' in column 'a'"))
    }

    @Test("--init is strict: a 2-layer file for a 1-layer model (four tensors too many) is refused; it starts a 2-layer model")
    func strictInit() throws {
        let two = try Scratch.directory()
        #expect(try Harness.run(["train", "--data", "sine", "--layers", "2", "--steps", "2", "--quiet", "--checkpoint-dir", two]).status == 0)
        let exported = try Scratch.directory() + "/two.safetensors"
        #expect(try Harness.run(["export", two, "--out", exported]).status == 0)
        let r = try Harness.run(["train", "--data", "sine", "--init", exported, "--steps", "1", "--quiet"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("4 tensor(s) the model does not have (rnn.bias_hh_l1, rnn.bias_ih_l1"), "\(r.stderr)")
        // The same file starts a 2-layer model.
        let same = try Harness.run(["train", "--data", "sine", "--layers", "2", "--init", exported, "--steps", "1", "--quiet"])
        #expect(same.status == 0, "\(same.stderr)")
    }

    @Test("an unmeasurable metric is null in JSON and n/a in the table, never a perfect 0")
    func unmeasurable() throws {
        let json = try Harness.run(["eval", "--checkpoint", Self.temps, "--season", "100000", "--json"])
        #expect(json.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let seasonal = try #require(object["seasonal"] as? [String: Any])
        #expect(seasonal["count"] as? Int == 0)
        for key in ["mae", "rmse", "mse", "smape", "mase"] { #expect(seasonal[key] is NSNull, "\(key): \(seasonal[key] ?? "absent")") }
        let table = try Harness.run(["eval", "--checkpoint", Self.temps, "--season", "100000"])
        let row = try #require(table.stdout.split(separator: "\n").first { $0.hasPrefix("seasonal naive") })
        #expect(row.split(separator: " ").filter { $0 == "n/a" }.count == 4, "\(row)")
    }

    @Test("a constant series is compared in words, not as 'inf% above'")
    func constantSeries() throws {
        let csv = try Self.write("a\n" + String(repeating: "5\n", count: 100), "constant.csv")
        let ck = try Scratch.directory()
        #expect(try Harness.run(["train", "--data", csv, "--target", "a", "--steps", "3", "--quiet", "--checkpoint-dir", ck]).status == 0)
        let r = try Harness.run(["eval", "--checkpoint", ck])
        #expect(r.status == 0 && !r.stdout.contains("inf") && !r.stdout.contains("nan"), "\(r.stdout)")
        #expect(r.stdout.contains("the naive forecast is exact here (the target does not change)"))
    }

    @Test("a resume with nothing to do says so, even when the run was --quiet")
    func nothingToDo() throws {
        let ck = try Scratch.directory()
        #expect(try Harness.run(["train", "--data", "sine", "--steps", "6", "--quiet", "--checkpoint-dir", ck]).status == 0)
        let r = try Harness.run(["train", "--resume", "latest", "--checkpoint-dir", ck, "--steps", "4"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("nothing to do: the checkpoint is at step 6 and the run ends at step 4; give a larger --steps to continue"))
        // The suggestion, followed.
        let followed = try Harness.run(["train", "--resume", "latest", "--checkpoint-dir", ck, "--steps", "9", "--quiet"])
        #expect(followed.status == 0, "\(followed.stderr)")
        #expect(try Checkpoint.load(path: try resolveCheckpoint(ck)).optimizerState.step == 9)
    }

    @Test("an option given twice is a usage error (exit 64), as is every usage error")
    func usageErrors() throws {
        let data = Harness.example("seattle-temps.csv")
        let twice = try Harness.run(["train", "--data", data, "--target", "temp", "--where", "a=1", "--where", "b=2"])
        #expect(twice.status == 64 && twice.stderr == "error: --where is given twice; give it once (each option takes one value)\n")
        for args in [
            ["train", "--data", data], ["train", "--data", "sine", "--hidden", "0"], ["train", "--data", "sine", "--bogus"],
            ["train", "--data", "sine", "--batch-size", "100000"], ["train", "--resume", "latest"],
            ["train", "--data", "sine", "--stateful", "--shuffle"],
        ] {
            let r = try Harness.run(args)
            #expect(r.status == 64 && r.errorLines.count == 1, "\(args): \(r.status) \(r.stderr)")
        }
    }

    @Test("a cut list says how many more there are, and a hint is given only when following it works")
    func honestHints() throws {
        // 50 stores; the filter names one that does not exist.
        var csv = "store,sales\n"
        for day in 0..<4 { for store in 1...50 { csv += "\(store),\(day * 10 + store)\n" } }
        let stores = try Self.write(csv, "stores.csv")
        let r = try Harness.run(["train", "--data", stores, "--target", "sales", "--where", "store=99"])
        #expect(r.stderr.contains("(values seen: 1, 2, 3, 4, 5, 6, 7, 8, … and 42 more)"), "\(r.stderr)")

        // A date column used as a feature: no hint, since dropping its rows would leave none.
        let data = Harness.example("seattle-temps.csv")
        let date = try Harness.run(["train", "--data", data, "--target", "temp", "--features", "date,temp"])
        #expect(date.status == 1 && !date.stderr.contains("would keep"), "\(date.stderr)")
        #expect(date.stderr.contains("no row has a number in every used column, so --missing drop or ffill would leave no data"))
        // A gap in the middle: the hint names what drop and ffill would do, and following it works.
        let gap = try Self.write("a\n1\n2\nNA\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", "gap.csv")
        let missing = try Harness.run(["train", "--data", gap, "--target", "a", "--seq-len", "2", "--steps", "1"])
        #expect(missing.stderr.contains("(--missing drop would keep 11 of 12 rows; ffill would repeat the previous value)"), "\(missing.stderr)")
        for policy in ["drop", "ffill"] {
            let followed = try Harness.run(["train", "--data", gap, "--target", "a", "--seq-len", "2", "--steps", "1", "--missing", policy, "--quiet"])
            #expect(followed.status == 0, "--missing \(policy): \(followed.stderr)")
        }
    }

    @Test("messages name the real problem: x-start, a huge latest, text for a CSV model, temperature, CR line ends")
    func realProblems() throws {
        let xStart = try Harness.run(["train", "--data", "sine", "--x-start", "inf"])
        #expect(xStart.stderr == "error: --x-start must be a finite number, got inf\n")
        let ck = try Scratch.directory()
        try FileManager.default.copyItem(atPath: try resolveCheckpoint(Self.temps), toPath: ck + "/step-00000030.safetensors")
        #expect(FileManager.default.createFile(atPath: ck + "/latest", contents: Data(count: 10_000_000)))
        let latest = try Harness.run(["eval", "--checkpoint", ck])
        #expect(latest.stderr == "error: \(ck)/latest is not a checkpoint pointer: larger than 4096 bytes (10000000 bytes)\n")
        let text = try Self.write("some text\n", "notes.txt")
        let kind = try Harness.run(["eval", "--checkpoint", Self.temps, "--data", text])
        #expect(kind.status == 64 && kind.stderr.contains("is text, but the model was trained on a CSV file"), "\(kind.stderr)")
        let chars = try Scratch.directory()
        #expect(try Harness.run(["train", "--data", Harness.example("recurrence.txt"), "--steps", "1", "--quiet", "--checkpoint-dir", chars]).status == 0)
        let temperature = try Harness.run(["generate", "--checkpoint", chars, "--temperature", "inf"])
        #expect(temperature.stderr == "error: --temperature must be a finite number ≥ 0, got inf\n")
        // Old Mac line ends (CR alone) are line ends, as pandas reads them: rows, not column names.
        let cr = try Self.write("date,temp\r1,10\r2,11\r3,13\r4,12\r5,15\r6,14\r", "cr.csv")
        let r = try Harness.run(["train", "--data", cr, "--target", "temp", "--seq-len", "2", "--steps", "1", "--val-fraction", "0"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("training 1×32 tanh RNN") && r.stdout.contains("3 training / 0 validation windows"), "\(r.stdout)")
    }

    @Test("a directory holding only best.safetensors: the refusal names a command, and that command continues the run")
    func onlyBestCheckpoint() throws {
        let ck = try Scratch.directory()
        #expect(try Harness.run(["train", "--data", "sine", "--steps", "10", "--eval-every", "5", "--quiet", "--checkpoint-dir", ck]).status == 0)
        for name in try FileManager.default.contentsOfDirectory(atPath: ck) where name != "best.safetensors" && name != ".lock" {
            try FileManager.default.removeItem(atPath: ck + "/" + name)
        }
        let fresh = try Harness.run(["train", "--data", "sine", "--steps", "10", "--checkpoint-dir", ck])
        #expect(fresh.status == 1 && fresh.stderr.contains("continue that run with --resume latest"), "\(fresh.stderr)")
        let followed = try Harness.run(["train", "--resume", "latest", "--checkpoint-dir", ck, "--steps", "15", "--quiet"])
        #expect(followed.status == 0, "\(followed.stderr)")
        #expect(try Checkpoint.load(path: try resolveCheckpoint(ck)).optimizerState.step == 15)
    }

    @Test("other data on resume: the refusal suggests --init, and --init with that checkpoint starts a new run from its weights")
    func otherDataSuggestsInit() throws {
        let ck = try Scratch.directory()
        let lines = try String(contentsOfFile: Harness.example("seattle-temps.csv"), encoding: .utf8).split(separator: "\n")
        let later = try Self.write(([lines[0]] + lines.suffix(2000)).joined(separator: "\n") + "\n", "later.csv")
        let first = try Harness.run([
            "train", "--data", Harness.example("seattle-temps.csv"), "--target", "temp", "--steps", "5", "--quiet", "--checkpoint-dir", ck,
        ])
        #expect(first.status == 0, "\(first.stderr)")
        let resumed = try Harness.run(["train", "--resume", "latest", "--checkpoint-dir", ck, "--data", later, "--steps", "10"])
        #expect(resumed.status == 1 && resumed.stderr.contains("use --init to start a new run from its weights"), "\(resumed.stderr)")
        let started = try Harness.run([
            "train", "--init", try resolveCheckpoint(ck), "--data", later, "--target", "temp", "--steps", "3", "--quiet",
        ])
        #expect(started.status == 0, "\(started.stderr)")
    }

    @Test("inspect shows the pipeline's filter, and the done line names the last step's loss apart from the progress mean")
    func namesWhatItShows() throws {
        let ck = try Scratch.directory()
        let r = try Harness.run([
            "train", "--data", Harness.example("stocks.csv"), "--where", "symbol=IBM", "--target", "price", "--steps", "4",
            "--progress", "plain", "--log-every", "2", "--checkpoint-dir", ck,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("done: 4 steps, last step's loss "), "\(r.stdout)")
        let inspect = try Harness.run(["inspect", ck])
        #expect(inspect.stdout.contains("pipeline        where symbol=IBM, missing error, changes (differenced)"), "\(inspect.stdout)")
    }

    @Test("--resume auto starts a run in an empty directory and continues it the next time, as a requeued job does")
    func resumeAuto() throws {
        let ck = try Scratch.directory() + "/run"
        let args = ["train", "--data", "sine", "--checkpoint-dir", ck, "--resume", "auto", "--quiet"]
        #expect(try Harness.run(args + ["--steps", "8"]).status == 0)
        #expect(try Harness.run(args + ["--steps", "16"]).status == 0)
        let straight = try Scratch.directory()
        #expect(try Harness.run(["train", "--data", "sine", "--steps", "16", "--quiet", "--checkpoint-dir", straight]).status == 0)
        #expect(try Harness.parameters(ck) == Harness.parameters(straight))
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
