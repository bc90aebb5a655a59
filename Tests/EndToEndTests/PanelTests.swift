import ElmanCheckpoint
import Foundation
import TestSupport
import Testing

/// Panels: many series, one model (`--series COLUMN`, `--series-columns`), through the binary.
@Suite("Panels")
struct PanelTests {
    /// Series of very different magnitudes and lengths, rows interleaved as files come: A (40
    /// rows, around 1000), B (25 rows, around 0.05) and C (5 rows: too short for a window of 8).
    static let values: [(id: String, values: [Double])] = [
        ("A", (0..<40).map { 1000 + 10 * sin(Double($0)) + Double($0) }),
        ("B", (0..<25).map { 0.05 + 0.01 * cos(0.7 * Double($0)) }),
        ("C", (0..<5).map { Double($0) }),
    ]

    /// The long file: `id,v`, rows of the series taken in turn while each has rows.
    static let long: String = {
        var text = "id,v\n"
        for r in 0..<40 {
            for (id, v) in values where r < v.count { text += "\(id),\(v[r])\n" }
        }
        return write(text, "panel.csv")
    }()

    static func write(_ text: String, _ name: String) -> String {
        let path = ((try? Scratch.directory()) ?? "/nonexistent") + "/" + name
        try? text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// One series of the panel alone (`--where id=X` reads the same rows).
    static let base = ["--target", "v", "--seq-len", "8", "--hidden", "6", "--no-difference", "--progress", "none"]

    static func train(_ extra: [String], data: String = long, panel: [String] = ["--series", "id"]) throws -> (
        dir: String, stdout: String
    ) {
        let dir = try Scratch.directory()
        let r = try Harness.run(["train", "--data", data, "--checkpoint-dir", dir] + panel + base + extra)
        try #require(r.status == 0, "\(r.stderr)")
        return (dir, r.stdout + r.stderr)
    }

    static func json(_ arguments: [String]) throws -> [String: Any] {
        let r = try Harness.run(arguments + ["--json"])
        try #require(r.status == 0, "\(r.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    }

    /// The last `val_loss` of a metrics file.
    static func validationLoss(_ metrics: String) throws -> Double {
        let lines = try String(contentsOfFile: metrics, encoding: .utf8).split(separator: "\n")
        let losses = lines.compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["val_loss"] as? Double
        }
        return try #require(losses.last)
    }

    @Test("windows are counted per series (32−6 and 17−3 for T 8 and 20% validation) and a series too short for one is left out, named")
    func windowsPerSeries() throws {
        let (_, out) = try Self.train(["--steps", "1", "--val-fraction", "0.2"])
        #expect(out.contains("panel: 2 series, 40 training and 9 validation windows"), "\(out)")
        #expect(out.contains("1 series left out") && out.contains("C (5 rows)"), "\(out)")
    }

    @Test("no window crosses a series: the panel's validation loss of an untrained model is the window-weighted mean of each series' own")
    func noWindowCrossesASeries() throws {
        // The same seed gives the same weights; with lr 0 they stay. Each series alone (`--where`)
        // is scaled on its own rows, as in the panel, so only crossing windows could differ.
        func loss(_ data: [String]) throws -> Double {
            let metrics = try Scratch.directory() + "/m.jsonl"
            let dir = try Scratch.directory()
            let r = try Harness.run(
                ["train", "--data", Self.long, "--checkpoint-dir", dir, "--metrics", metrics] + data + Self.base + [
                    "--steps", "1", "--lr", "0", "--val-fraction", "0.2",
                ])
            try #require(r.status == 0, "\(r.stderr)")
            return try Self.validationLoss(metrics)
        }
        let panel = try loss(["--series", "id"])
        let a = try loss(["--where", "id=A"]), b = try loss(["--where", "id=B"])
        let expected = (6 * a + 3 * b) / 9
        #expect(abs(panel - expected) <= 1e-6 * max(1, abs(expected)), "panel \(panel), series A \(a), B \(b)")
    }

    /// A model whose output is `c` whatever its input: zero weights, head bias c.
    static func constantModel(_ c: Float) throws -> String {
        var w = SafeTensorsWriter()
        let h = 6
        w.add("rnn.weight_ih_l0", shape: [h, 1], values: [Float](repeating: 0, count: h))
        w.add("rnn.weight_hh_l0", shape: [h, h], values: [Float](repeating: 0, count: h * h))
        w.add("rnn.bias_ih_l0", shape: [h], values: [Float](repeating: 0, count: h))
        w.add("rnn.bias_hh_l0", shape: [h], values: [Float](repeating: 0, count: h))
        w.add("fc.weight", shape: [1, h], values: [Float](repeating: 0, count: h))
        w.add("fc.bias", shape: [1], values: [c])
        let path = try Scratch.directory() + "/constant.safetensors"
        try Data(w.serialized()).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("each series is scaled on its own rows: a constant output c predicts mean + c·std of each series, and eval's errors are that, in each series' units, checked by hand")
    func perSeriesScalingAndErrorsByHand() throws {
        let c: Float = 0.5
        let (dir, _) = try Self.train([
            "--init", try Self.constantModel(c), "--lr", "0", "--steps", "1", "--val-fraction", "0",
        ])
        let r = try Harness.run(["predict", "--checkpoint", dir])
        try #require(r.status == 0, "\(r.stderr)")
        var predicted: [String: [Double]] = [:]
        for line in r.stdout.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",").map(String.init)
            predicted[f[0], default: []].append(try #require(Double(f[3])))
        }
        let json = try Self.json(["eval", "--checkpoint", dir])
        let scored = try #require(json["series"] as? [[String: Any]])
        #expect(scored.map { $0["id"] as? String } == ["A", "B"])
        var mases: [Double] = []
        for (k, (id, v)) in Self.values.prefix(2).enumerated() {
            // Population mean and standard deviation of every row (nothing held out).
            let mean = v.reduce(0, +) / Double(v.count)
            let std = (v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count)).squareRoot()
            let expected = mean + Double(c) * std
            let p = try #require(predicted[id])
            #expect(p.count == v.count - 8)
            for x in p { #expect(abs(x - expected) <= 1e-6 * abs(expected), "series \(id): \(x) against \(expected)") }
            // MAE over the targets (rows 8…), MASE by the in-sample last-value MAE.
            let mae = v[8...].reduce(0) { $0 + abs(expected - $1) } / Double(v.count - 8)
            let naive = (1..<v.count).reduce(0) { $0 + abs(v[$1] - v[$1 - 1]) } / Double(v.count - 1)
            let got = scored[k]
            #expect(got["windows"] as? Int == v.count - 8)
            let gotMAE = try #require(got["mae"] as? Double), gotMASE = try #require(got["mase"] as? Double)
            #expect(abs(gotMAE - mae) <= 1e-6 * mae, "series \(id) MAE \(gotMAE), by hand \(mae)")
            #expect(abs(gotMASE - mae / naive) <= 1e-6 * mae / naive, "series \(id) MASE \(gotMASE)")
            mases.append(mae / naive)
        }
        // The panel's MASE is the mean of its series' (M4), and the windows are every series'.
        let mase = try #require(json["mase"] as? Double)
        #expect(abs(mase - (mases[0] + mases[1]) / 2) <= 1e-9 * mase)
        #expect(json["windows"] as? Int == 32 + 17)
        #expect(json["left_out"] as? [String] == ["C"])
    }

    @Test("1, 2 and 3 ranks give the same weights on a panel, and a run stopped at 2 ranks resumes at 3 where a straight run ends")
    func worldSizeInvarianceAndResume() throws {
        let steps = ["--batch-size", "7", "--steps", "12", "--checkpoint-every", "5", "--keep", "5"]
        var weights: [[Float]] = []
        var straight = ""
        for n in 1...3 {
            let dir = try Scratch.directory()
            let r = try Harness.mpi(
                n, ["train", "--data", Self.long, "--series", "id", "--checkpoint-dir", dir, "--threads", "1"] + Self.base + steps)
            try #require(r.status == 0, "mpirun -n \(n): \(r.stderr)")
            weights.append(try Harness.parameters(dir))
            if n == 2 { straight = dir }
        }
        for n in 1..<3 {
            let d = maxDifference(weights[0], weights[n])
            #expect(d <= 1e-5, "\(n + 1) ranks differ from 1 by \(d)")
        }
        // Step 5 of 12, 40 windows in batches of 7: mid-epoch.
        let midpoint = straight + "/" + CheckpointDirectory.fileName(step: 5)
        let resumed = try Scratch.directory()
        let r = try Harness.mpi(3, ["train", "--resume", midpoint, "--checkpoint-dir", resumed, "--quiet"])
        try #require(r.status == 0, "\(r.stderr)")
        let d = maxDifference(weights[1], try Harness.parameters(resumed))
        #expect(d <= 1e-5, "resumed at 3 ranks: differs by \(d)")
    }

    @Test("a wide file whose columns are the series trains exactly as the long file of the same data")
    func wideEqualsLong() throws {
        // Columns of different lengths: a shorter series' later cells are empty.
        var text = "t,A,B\n"
        for r in 0..<40 {
            let b = r < 25 ? String(Self.values[1].values[r]) : ""
            text += "\(r),\(Self.values[0].values[r]),\(b)\n"
        }
        let wide = Self.write(text, "wide.csv")
        let steps = ["--steps", "6", "--val-fraction", "0.2"]
        let (l, _) = try Self.train(steps)
        let dir = try Scratch.directory()
        let r = try Harness.run(
            ["train", "--data", wide, "--series-columns", "A,B", "--missing", "drop", "--checkpoint-dir", dir, "--seq-len",
             "8", "--hidden", "6", "--no-difference", "--progress", "none"] + steps)
        try #require(r.status == 0, "\(r.stderr)")
        #expect(try Harness.parameters(l) == Harness.parameters(dir))
        // `all` picks the numeric columns: t, A and B (t is a series too, of the row numbers).
        let all = try Harness.run(
            ["train", "--data", wide, "--series-columns", "all", "--missing", "drop", "--steps", "1", "--seq-len", "8",
             "--progress", "none"])
        #expect(all.status == 0 && (all.stdout + all.stderr).contains("panel: 3 series"), "\(all.stdout)\(all.stderr)")
    }

    @Test("new data: a series the model never saw is refused by name; a series too short for a window is left out and listed")
    func unknownAndShortSeriesInNewData() throws {
        let (dir, _) = try Self.train(["--steps", "2"])
        let unknown = Self.write("id,v\n" + (0..<12).map { "Z,\($0)" }.joined(separator: "\n") + "\n", "unknown.csv")
        let r = try Harness.run(["eval", "--checkpoint", dir, "--data", unknown])
        #expect(r.status == 1)
        #expect(r.stderr.contains("series 'Z' is not one the model was trained on"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        // A's 40 rows, B's first 5: B is listed as left out, A is scored on all its 32 windows.
        let a = Self.values[0].values.map { "A,\($0)" }, b = Self.values[1].values.prefix(5).map { "B,\($0)" }
        let later = Self.write("id,v\n" + (a + b).joined(separator: "\n") + "\n", "later.csv")
        let json = try Self.json(["eval", "--checkpoint", dir, "--data", later])
        #expect(json["left_out"] as? [String] == ["B"])
        #expect((json["series"] as? [[String: Any]])?.map { $0["windows"] as? Int } == [32])
        // And predict forecasts every series from its own end, a series column first.
        let f = try Harness.run(["predict", "--checkpoint", dir, "--horizon", "3"])
        try #require(f.status == 0, "\(f.stderr)")
        let lines = f.stdout.split(separator: "\n")
        #expect(lines.first == "series,step,forecast")
        #expect(lines.dropFirst().map { $0.split(separator: ",").prefix(2).joined(separator: ",") } == [
            "A,1", "A,2", "A,3", "B,1", "B,2", "B,3",
        ])
    }

    @Test("a panel is refused in one line for stateful training, plot asks which series to draw, and inspect lists the series")
    func statefulRefusedAndPlotNamesSeries() throws {
        let dir = try Scratch.directory()
        let r = try Harness.run(
            ["train", "--data", Self.long, "--series", "id", "--target", "v", "--stateful", "--checkpoint-dir", dir])
        #expect(r.status != 0)
        #expect(r.stderr.contains("stateful training reads one stream"), "\(r.stderr)")
        let (ck, _) = try Self.train(["--steps", "2"])
        let svg = try Scratch.directory() + "/a.svg"
        let p = try Harness.run(["plot", "--checkpoint", ck, "--out", svg])
        #expect(p.status != 0 && p.stderr.contains("name one with --series (A, B)"), "\(p.stderr)")
        let q = try Harness.run(["plot", "--checkpoint", ck, "--series", "B", "--out", svg])
        #expect(q.status == 0, "\(q.stderr)")
        #expect(try String(contentsOfFile: svg, encoding: .utf8).contains("(B)"))
        let i = try Harness.run(["inspect", ck])
        #expect(i.stdout.contains("panel           2 series (column id): A, B"), "\(i.stdout)")
    }

    @Test("a panel's intervals: one calibration of errors in each series' naive MAE, each series' width that times its own scale; predict's bounds are eval's width about the prediction")
    func intervalsScaledPerSeries() throws {
        let (dir, _) = try Self.train(["--steps", "60"])
        let json = try Self.json(["eval", "--checkpoint", dir, "--interval", "0.9"])
        let pooled = try #require(json["interval"] as? [String: Any])
        let q = try #require(pooled["scaled_half_width"] as? Double)
        // The validation windows calibrated the interval (9 errors: q is their largest), so
        // they are covered, less a forecast that rounds differently at the edge.
        #expect(try #require(pooled["coverage"] as? Double) >= 8.0 / 9.0, "\(pooled)")
        var widths: [String: Double] = [:]
        for member in try #require(json["series"] as? [[String: Any]]) {
            let id = try #require(member["id"] as? String)
            let mae = try #require(member["mae"] as? Double), mase = try #require(member["mase"] as? Double)
            let width = try #require((member["interval"] as? [String: Any])?["width"] as? Double)
            // MASE = MAE / scale: the series' scale is MAE / MASE, and its width 2·q·scale.
            #expect(abs(width - 2 * q * mae / mase) <= 1e-9 * width, "\(id): \(width) vs \(2 * q * mae / mase)")
            widths[id] = width
        }
        // A is about 10⁴ times B's size: so are their intervals.
        #expect(try #require(widths["A"]) > 1000 * (try #require(widths["B"])))
        let p = try Harness.run(["predict", "--checkpoint", dir, "--interval", "0.9"])
        try #require(p.status == 0, "\(p.stderr)")
        let lines = p.stdout.split(separator: "\n")
        #expect(lines.first == "series,row,actual,predicted,lower,upper,split")
        for line in lines.dropFirst() {
            let c = line.split(separator: ",", omittingEmptySubsequences: false)
            let predicted = try #require(Double(c[3])), lower = try #require(Double(c[4])), upper = try #require(Double(c[5]))
            let width = try #require(widths[String(c[0])])
            #expect(abs(upper - lower - width) <= 1e-9 * width && abs((upper + lower) / 2 - predicted) <= 1e-9 * width)
        }
    }
}
