import ElmanCheckpoint
import ElmanRun
import Foundation
import TestSupport
import Testing

/// Bad command lines and bad files: each gets exactly one line on stderr and a non-zero status.
@Suite("Command line")
struct CommandLineTests {
    static let temps = "examples/data/seattle-temps.csv"

    @Test(
        "bad input gets a one-line error and exit status 64 for a usage error, 1 for anything else",
        arguments: [
            (["train"], 64, "error: --data is required (or --resume a run)"),
            (["train", "--frobnicate"], 64, "error: Unknown option '--frobnicate'"),
            (
                ["train", "--data", "sine", "--hidden", "abc"], 64,
                "error: The value 'abc' is invalid for '--hidden <hidden>'"
            ),
            (["train", "--data", "sine", "--hidden=-3"], 64, "error: --hidden must be at least 1, got -3"),
            (["train", "--data", "sine", "--batch-size=0"], 64, "error: --batch-size must be at least 1, got 0"),
            (
                ["train", "--data", "sine", "--stateful", "--head", "last"], 64,
                "error: --stateful training predicts at every step; --head last makes no sense with it"
            ),
            (
                ["train", "--data", "sine", "--stateful", "--shuffle"], 64,
                "error: --stateful training reads each lane in order; --shuffle makes no sense with it"
            ),
            (
                ["train", "--data", "sine", "--stateful", "--batch-size", "500"], 64,
                "error: --batch-size 500 lanes of 800 training rows leave 1 row(s) a lane; at least 2 are needed"
            ),
            (
                ["train", "--data", "/nope.csv", "--target", "x"], 1,
                "error: /nope.csv: cannot open (no such file or directory)"
            ),
            (
                ["train", "--data", temps, "--target", "nope"], 1,
                "error: \(temps): no column 'nope' (columns: date, temp)"
            ),
            (["train", "--data", temps], 64, "error: --target is required for a CSV file (columns: date, temp)"),
            (
                ["train", "--data", temps, "--target", "temp", "--seq-len", "9000"], 64,
                "error: --seq-len 9000 needs at least 9002 rows (of which 9001 changes), the data has 8759"
            ),
            (
                ["train", "--data", temps, "--target", "temp", "--batch-size", "9000"], 64,
                "error: --batch-size 9000 is larger than the 6994 training windows"
            ),
            (
                ["train", "--data", "examples/data/stocks.csv", "--target", "price", "--where", "symbol=XYZ"], 1,
                "error: examples/data/stocks.csv: no rows with symbol=XYZ (values seen: MSFT, AMZN, IBM, GOOG, AAPL)"
            ),
            (
                ["train", "--data", "formula:2*y"], 64,
                "error: formula '2*y': unknown name 'y' (use x, pi, e, sin, cos, tan, exp, log, sqrt, abs, tanh) at position 3"
            ),
            (
                ["train", "--data", "sine", "--val-fraction", "1.5"], 64,
                "error: --val-fraction must be in [0, 1), got 1.5"
            ),
            (
                ["train", "--data", "sine", "--loss", "cross-entropy"], 64,
                "error: --loss cross-entropy needs class targets (text data); use mse for numeric series"
            ),
            (
                ["train", "--data", "sine", "--checkpoint-dir", "/proc/version/run"], 1,
                "error: checkpoint directory /proc/version/run: cannot create directory /proc/version: Not a directory"
            ),
            (["train", "--resume", "latest"], 64, "error: --resume latest needs --checkpoint-dir"),
            (["eval", "--checkpoint", "/nope"], 1, "error: /nope: no such file or directory"),
            (
                ["inspect", "Package.swift"], 1,
                "error: Package.swift: not a valid safetensors file: header length 8387507317777641263 is larger than the 100000000-byte limit (not a safetensors file?)"
            ),
        ] as [([String], Int32, String)])
    func badInput(_ arguments: [String], _ status: Int32, _ message: String) throws {
        let r = try Harness.run(arguments)
        #expect(r.status == status)
        #expect(r.stderr == message + "\n")
    }

    @Test("a damaged checkpoint fails inspect, and nothing existing is overwritten by export")
    func damagedCheckpoint() throws {
        let dir = try Scratch.directory()
        let train = try Harness.run(["train", "--data", "sine", "--steps", "5", "--quiet", "--checkpoint-dir", dir])
        #expect(train.status == 0)
        let ok = try Harness.run(["inspect", dir])
        #expect(ok.status == 0 && ok.stdout.contains("checksums       all"))
        let file = try resolveCheckpoint(dir)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        bytes[bytes.count - 3] ^= 0x10
        let damaged = dir + "/damaged.safetensors"
        try Data(bytes).write(to: URL(fileURLWithPath: damaged))
        let bad = try Harness.run(["inspect", damaged])
        #expect(bad.status == 1)
        #expect(
            bad.stderr.hasPrefix("error: \(damaged): tensor ")
                && bad.stderr.hasSuffix("fails its checksum (file corrupted)\n"))
        let existing = dir + "/existing.safetensors"
        _ = FileManager.default.createFile(atPath: existing, contents: Data("keep".utf8))
        let export = try Harness.run(["export", dir, "--out", existing])
        #expect(export.status == 1 && export.stderr == "error: \(existing) exists; give --force to replace it\n")
        #expect(FileManager.default.contents(atPath: existing) == Data("keep".utf8))
    }

    @Test("export writes only the model under PyTorch's names")
    func export() throws {
        let dir = try Scratch.directory()
        #expect(
            try Harness.run([
                "train", "--data", "sine", "--steps", "3", "--layers", "2", "--quiet", "--checkpoint-dir", dir,
            ]).status == 0)
        let out = dir + "/model.safetensors"
        #expect(try Harness.run(["export", dir, "--out", out]).status == 0)
        let file = try SafeTensorsFile(bytes: [UInt8](Data(contentsOf: URL(fileURLWithPath: out))))
        #expect(
            Set(file.tensors.map(\.name)) == [
                "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
                "rnn.weight_ih_l1", "rnn.weight_hh_l1", "rnn.bias_ih_l1", "rnn.bias_hh_l1",
                "fc.weight", "fc.bias",
            ])
        let original = try Harness.parameters(dir)
        let exported = try file.tensors.sorted { $0.dataOffsets.lowerBound < $1.dataOffsets.lowerBound }.flatMap {
            try file.floats($0.name)
        }
        #expect(exported == original)
        // --init starts a new run from exported weights: step 0 of that run is the exported model.
        let dir2 = try Scratch.directory()
        let r = try Harness.run([
            "train", "--data", "sine", "--steps", "1", "--lr", "0", "--layers", "2", "--quiet",
            "--init", out, "--checkpoint-dir", dir2,
        ])
        #expect(r.status == 0)
        #expect(try Harness.parameters(dir2) == original)
    }

    @Test("every row of the option table is a train flag, and a resume names a contradicting row by its flag")
    func optionTableIsTheCommandLine() throws {
        let help = try Harness.run(["train", "--help"]).stdout
        // seqLen → --seq-len, written here independently of the tool's own conversion.
        func flag(_ name: String) -> String {
            "--" + name.map { $0.isUppercase ? "-" + $0.lowercased() : String($0) }.joined()
        }
        for field in OptionTable.fields {
            let listed =
                help.contains("  \(flag(field.name)) ") || help.contains("  \(flag(field.name))/")
                || help.contains("  \(flag(field.name))\n")
            #expect(listed, "the option table's \(field.name) has no flag \(flag(field.name))")
        }
        // A resumed run names a contradicting setting by its flag, whichever row it is.
        let dir = try Scratch.directory()
        #expect(
            try Harness.run(["train", "--data", "sine", "--steps", "2", "--quiet", "--checkpoint-dir", dir]).status == 0
        )
        let r = try Harness.run(["train", "--resume", "latest", "--checkpoint-dir", dir, "--batch-size", "7"])
        #expect(
            r.status == 64
                && r.stderr
                    == "error: --batch-size 7 contradicts the checkpoint, which was trained with --batch-size 32\n"
        )
    }

    @Test("--config reads a TOML file of flag names; flags on the command line win")
    func configFile() throws {
        let dir = try Scratch.directory()
        let toml = dir + "/run.toml"
        try """
        # a run
        data = "sine"
        hidden = 7
        layers = 2
        steps = 4
        shuffle = false
        checkpoint_dir = "\(dir)/ck"
        quiet = true
        """.write(toFile: toml, atomically: true, encoding: .utf8)
        let r = try Harness.run(["train", "--config", toml, "--hidden", "9"])
        #expect(r.status == 0, "\(r.stderr)")
        let c = try Checkpoint.load(path: try resolveCheckpoint(dir + "/ck"))
        #expect(c.model.hiddenSize == 9 && c.model.layers == 2)
        try "hidden = [".write(toFile: toml, atomically: true, encoding: .utf8)
        let bad = try Harness.run(["train", "--config", toml])
        #expect(bad.status == 64 && bad.stderr.hasPrefix("error: \(toml):1: Error while parsing array"))
        #expect(bad.stderr.split(separator: "\n").count == 1)
        // Real TOML: a '#' inside a string is not a comment; a table is refused, naming it.
        try "data = \"formula:x # not a comment\"\n".write(toFile: toml, atomically: true, encoding: .utf8)
        let hash = try Harness.run(["train", "--config", toml])
        #expect(hash.status == 64 && hash.stderr.contains("formula 'x # not a comment'"), "\(hash.stderr)")
        try "hidden = 3\n[model]\nlayers = 2\n".write(toFile: toml, atomically: true, encoding: .utf8)
        let table = try Harness.run(["train", "--config", toml])
        #expect(
            table.status == 64
                && table.stderr
                    == "error: \(toml): key 'model' is a table; settings are strings, numbers, booleans or arrays\n"
        )
    }

    @Test(
        "fewer training windows than the default batch: all of them in one batch, said; an explicit --batch-size is refused"
    )
    func defaultBatchFitsShortData() throws {
        // sine with 40 points, T = 16, 20% validation: 40 − 16 = 24 windows, 19 for training.
        let dir = try Scratch.directory()
        let flags = ["train", "--data", "sine", "--points", "40", "--steps", "2"]
        let fitted = try Harness.run(flags + ["--checkpoint-dir", dir + "/a"])
        #expect(fitted.status == 0, "\(fitted.stderr)")
        #expect(
            fitted.stdout.contains("batch size 19: every training window (the default, 32, is more than the data has)"))
        let explicit = try Harness.run(flags + ["--batch-size", "32", "--checkpoint-dir", dir + "/b"])
        #expect(explicit.status != 0)
        #expect(explicit.errorLines == ["error: --batch-size 32 is larger than the 19 training windows"])
    }

    @Test("bench --data reports the load; --allreduce alone and --data without --target are one-line errors")
    func benchModes() throws {
        let load = try Harness.run(["bench", "--data", Harness.example("seattle-temps.csv"), "--target", "temp"])
        #expect(load.status == 0, "\(load.stderr)")
        #expect(load.stdout.contains("8759 rows") && load.stdout.contains("peak memory"), "\(load.stdout)")
        let alone = try Harness.run(["bench", "--allreduce"])
        #expect(alone.status == 1)
        #expect(alone.errorLines == ["error: --allreduce measures several ranks: run it under mpirun -n 2 or more"])
        let untargeted = try Harness.run(["bench", "--data", Harness.example("seattle-temps.csv")])
        #expect(untargeted.status == 64 && untargeted.errorLines == ["error: --data needs --target"])
    }

    @Test("eval --json prints the documented object; predict forecasts a horizon")
    func evalAndPredict() throws {
        let dir = try Scratch.directory()
        #expect(
            try Harness.run(["train", "--data", "sine", "--steps", "60", "--quiet", "--checkpoint-dir", dir]).status
                == 0)
        let e = try Harness.run(["eval", "--checkpoint", dir, "--json"])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as? [String: Any])
        for key in ["mse", "rmse", "mae"] { #expect(obj[key] is Double) }
        let naive = try #require(obj["naive"] as? [String: Any])
        #expect(naive["mse"] is Double && naive["rmse"] is Double && naive["mae"] is Double)
        let p = try Harness.run(["predict", "--checkpoint", dir, "--horizon", "5"])
        #expect(p.status == 0)
        #expect(p.stdout.split(separator: "\n").count == 6 && p.stdout.hasPrefix("step,forecast\n"))
    }

    @Test("a stateful character model trains, reports its lanes, evaluates and generates through the binary")
    func statefulText() throws {
        let dir = try Scratch.directory()
        let text = Harness.example("recurrence.txt")
        let r = try Harness.run([
            "train", "--data", text, "--stateful", "--hidden", "32", "--seq-len", "16", "--batch-size", "8",
            "--epochs", "3", "--checkpoint-dir", dir,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        // 1505 characters, 1204 training rows: 8 lanes of 150, 4 rows dropped, the log says so.
        #expect(
            r.stdout.contains(
                "1204 training / 301 validation rows, stateful in 8 lanes of 150 rows (4 training rows dropped)"))
        let e = try Harness.run(["eval", "--checkpoint", dir, "--json"])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as? [String: Any])
        #expect(obj["windows"] as? Int == 300 && obj["accuracy"] is Double)
        let g = try Harness.run(["generate", "--checkpoint", dir, "--prime", "The ", "--length", "30"])
        #expect(g.status == 0 && g.stdout.hasPrefix("The ") && g.stdout.count == 4 + 30 + 1)
    }

    @Test("--metrics writes one JSON object per logged step; plot draws loss and forecast")
    func metricsAndPlot() throws {
        let dir = try Scratch.directory()
        let metrics = dir + "/m.jsonl"
        let r = try Harness.run([
            "train", "--data", "sine", "--steps", "40", "--log-every", "10", "--eval-every", "20",
            "--metrics", metrics, "--checkpoint-dir", dir + "/ck",
        ])
        #expect(r.status == 0)
        // A pipe gets plain progress lines, no terminal escapes.
        #expect(r.stdout.contains("epoch 1 step 10/40 loss ") && !r.stdout.contains("\u{1B}"))
        let lines = try String(contentsOfFile: metrics, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 4)
        let last = try #require(try JSONSerialization.jsonObject(with: Data(lines[3].utf8)) as? [String: Any])
        #expect(
            last["step"] as? Int == 40 && last["loss"] is Double && last["val_loss"] is Double && last["lr"] is Double)
        for (args, file) in [(["--metrics", metrics], "loss.svg"), (["--checkpoint", dir + "/ck"], "forecast.svg")] {
            let p = try Harness.run(["plot"] + args + ["--out", dir + "/" + file])
            #expect(p.status == 0)
            let svg = try String(contentsOfFile: dir + "/" + file, encoding: .utf8)
            #expect(svg.hasPrefix("<svg") && svg.contains("<polyline"))
        }
    }

    @Test("a character model: eval reports accuracy next to the naive guess, generate continues a prime")
    func characters() throws {
        let dir = try Scratch.directory()
        let r = try Harness.run([
            "train", "--data", "examples/data/recurrence.txt", "--hidden", "32", "--seq-len", "16",
            "--steps", "60", "--lr", "0.01", "--quiet", "--checkpoint-dir", dir,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let e = try Harness.run(["eval", "--checkpoint", dir, "--json"])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as? [String: Any])
        let accuracy = try #require(obj["accuracy"] as? Double)
        let naive = try #require((obj["naive"] as? [String: Any])?["accuracy"] as? Double)
        #expect(accuracy > naive, "accuracy \(accuracy), naive \(naive)")
        let g = try Harness.run(["generate", "--checkpoint", dir, "--prime", "The ", "--length", "30", "--seed", "3"])
        #expect(g.status == 0 && g.stdout.hasPrefix("The ") && g.stdout.count == 35)
        let bad = try Harness.run(["generate", "--checkpoint", dir, "--prime", "T€"])
        #expect(bad.status == 1 && bad.stderr == "error: prime character \"€\" is not in the model's vocabulary\n")
    }
}
