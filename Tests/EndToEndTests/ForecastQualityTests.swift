import Foundation
import TestSupport
import Testing

/// Default training against the last-value forecast on data the model never saw, as
/// bench/what_to_expect.sh measures it for the README: train on the first 80% of a bundled
/// series, score `eval --data` on the T+1 rows before the cut and the last 20%.
@Suite("Forecast quality with default settings")
struct ForecastQualityTests {
    struct Case: CustomStringConvertible, Sendable {
        /// A bundled file, or `momentum-N` for the generated series below (seed N).
        var file: String
        var target: String
        var filter: (column: String, value: String)?
        var seed = 0
        /// Model RMSE / last-value RMSE must be at most this.
        var bound: Double
        var description: String { "\(filter?.value ?? file) \(target) seed \(seed) ≤ \(bound)" }
    }

    static let cases: [Case] =
        [
            // Structure: the model must win clearly.
            Case(file: "seattle-temps.csv", target: "temp", bound: 0.8),
            Case(file: "seattle-weather.csv", target: "temp_max", bound: 0.95),
        ]
        // Random walks: the last price is the best forecast; the model may lose at most 2%. An
        // untrained model of changes is the last value by construction, so these cases guard
        // only against training that moves it away; the momentum cases below must learn.
        + ["AMZN", "MSFT", "IBM", "AAPL", "GOOG"].map {
            Case(file: "stocks.csv", target: "price", filter: ("symbol", $0), bound: 1.02)
        }
        // A walk whose changes have momentum (c[t] = 0.6 c[t−1] + ε): the last value's error is a
        // change, the best forecast's an innovation, √(1 − 0.6²) = 0.8 of it. The untrained model
        // scores 1.0, so a regression in learning, scaling or the head breaks the bound.
        + [0, 1, 2].map { Case(file: "momentum-\($0)", target: "y", bound: 0.9) }

    /// The momentum walk of `Case.file` "momentum-N": 1,200 rows, seeded (an LCG and Box–Muller).
    static func momentumWalk(seed: UInt64) -> [String] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Double(state >> 11) + 0.5) / Double(1 << 53)
        }
        var level = 100.0, change = 0.0
        return ["t,y"] + (0..<1200).map { t in
            let noise = (-2 * log(uniform())).squareRoot() * cos(2 * .pi * uniform())
            change = 0.6 * change + noise
            level += change
            return "\(t),\(level)"
        }
    }

    @Test(
        "default training beats the last value on series with structure (and learns a walk's momentum), within 2% of it on random walks",
        arguments: cases)
    func againstLastValue(_ c: Case) throws {
        let lines: [String]
        if c.file.hasPrefix("momentum-") {
            lines = Self.momentumWalk(seed: UInt64(String(c.file.dropFirst(9))) ?? 0)
        } else {
            lines = try String(contentsOfFile: Harness.example(c.file), encoding: .utf8).split(separator: "\n").map(
                String.init)
        }
        let header = lines[0]
        var body = Array(lines.dropFirst())
        if let filter = c.filter {
            let k = try #require(header.split(separator: ",").firstIndex { $0 == filter.column })
            body = body.filter { $0.split(separator: ",", omittingEmptySubsequences: false)[k] == filter.value }
        }
        let cut = body.count * 8 / 10, context = 16 + 1  // T = 16 rows, one more for the first change
        let dir = try Scratch.directory()
        func write(_ name: String, _ rows: ArraySlice<String>) throws -> String {
            let path = dir + "/" + name
            try ([header] + rows).joined(separator: "\n").appending("\n").write(
                toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let train = try write("train.csv", body[..<cut])
        let later = try write("later.csv", body[(cut - context)...])

        let trained = try Harness.run([
            "train", "--data", train, "--target", c.target, "--seed", String(c.seed), "--quiet", "--checkpoint-dir",
            dir + "/run",
        ])
        try #require(trained.status == 0, "\(trained.stderr)")
        let scored = try Harness.run(["eval", "--checkpoint", dir + "/run", "--data", later, "--json"])
        try #require(scored.status == 0, "\(scored.stderr)")
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(scored.stdout.utf8)) as? [String: Any])
        let model = try #require(json["rmse"] as? Double)
        let naive = try #require((json["naive"] as? [String: Any])?["rmse"] as? Double)
        // Every row of the last 20% is scored: the context only gives the first one its history.
        #expect(json["windows"] as? Int == body.count - cut)
        #expect(model / naive <= c.bound, "model RMSE \(model), last value \(naive)")
    }
}

/// Formulas forecast their held-out tail (which lies beyond the training range) as a user of the
/// seed workflow expects: `train --data 'formula:x**2' --points 1000 --x-step 1 --seq-len 5 --hidden 10`.
@Suite("Formulas that forecast")
struct FormulaForecastTests {
    @Test(
        "with defaults, a formula's held-out tail is forecast at under half the last value's RMSE (relu and tanh)",
        arguments: ["x**2", "2*x+1"], ["tanh", "relu"])
    func heldOutTail(_ formula: String, _ activation: String) throws {
        let ck = try Scratch.directory()
        let t = try Harness.run([
            "train", "--data", "formula:" + formula, "--points", "1000", "--x-step", "1", "--seq-len", "5", "--hidden",
            "10", "--activation", activation, "--quiet", "--checkpoint-dir", ck,
        ])
        try #require(t.status == 0, "\(t.stderr)")
        let r = try Harness.run(["eval", "--checkpoint", ck, "--json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let model = try #require(json["rmse"] as? Double)
        let naive = try #require((json["naive"] as? [String: Any])?["rmse"] as? Double)
        #expect(model < 0.5 * naive, "\(formula) \(activation): model RMSE \(model), last value \(naive)")
    }

    @Test("a model of several input columns takes them by name: --input x=… --input y=… forecasts 51² within 2%")
    func namedInputs() throws {
        let ck = try Scratch.directory()
        let t = try Harness.run([
            "train", "--data", "formula:x**2", "--features", "x,y", "--points", "1000", "--x-step", "1", "--seq-len",
            "5", "--hidden", "10", "--quiet", "--checkpoint-dir", ck,
        ])
        try #require(t.status == 0, "\(t.stderr)")
        let x = "x=45,46,47,48,49,50", y = "y=2025,2116,2209,2304,2401,2500"
        let r = try Harness.run(["predict", "--checkpoint", ck, "--input", x, "--input", y])
        try #require(r.status == 0, "\(r.stderr)")
        let value = try #require(Double(r.stdout.split(separator: "\n").last?.split(separator: ",").last ?? ""))
        #expect(abs(value - 2601) / 2601 < 0.02, "forecast \(value)")
        for (args, message) in [
            (["--input", x], "error: --input needs y=v,v,…\n"),
            (["--input", x, "--input", y, "--input", "z=1,2,3,4,5,6"], "error: --input names z, which the model does not read (it reads x, y; target y)\n"),
            (["--input", "x=1,2", "--input", y], "error: --input columns must have the same number of values, got x: 2, y: 6\n"),
            (["--input", "2025,2116,2209,2304,2401,2500"], "error: this model reads x, y: give each column as --input NAME=v,v,…, or a CSV of 6 rows with --data\n"),
        ] {
            let bad = try Harness.run(["predict", "--checkpoint", ck] + args)
            #expect(bad.status == 64 && bad.stderr == message, "\(args): \(bad.stderr)")
        }
    }

    @Test("the seed's inference: the value after 45², 46², …, 50² is 51² = 2601, within 2%")
    func seedInference() throws {
        let ck = try Scratch.directory()
        let t = try Harness.run([
            "train", "--data", "formula:x**2", "--points", "1000", "--x-step", "1", "--seq-len", "5", "--hidden", "10",
            "--quiet", "--checkpoint-dir", ck,
        ])
        try #require(t.status == 0, "\(t.stderr)")
        // A model of changes reads T + 1 = 6 values: five changes.
        let r = try Harness.run(["predict", "--checkpoint", ck, "--input", "2025,2116,2209,2304,2401,2500"])
        let value = try #require(Double(r.stdout.split(separator: "\n").last?.split(separator: ",").last ?? ""))
        #expect(abs(value - 2601) / 2601 < 0.02, "forecast \(value)")
    }
}
