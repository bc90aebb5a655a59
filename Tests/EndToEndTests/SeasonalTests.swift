import Foundation
import TestSupport
import Testing

/// Models of seasonal changes (`train --season K`) against the seasonal naive, the baseline a
/// forecaster checks first on hourly, daily or monthly data: on data the model never saw.
@Suite("Seasonal models")
struct SeasonalTests {
    /// Hourly temperatures: the first 80% of the rows to train on, and the size of the rest.
    static let split: (train: String, full: String, testSize: Int) = {
        let full = Harness.example("seattle-temps.csv")
        let lines = (try? String(contentsOfFile: full, encoding: .utf8))?.split(separator: "\n") ?? []
        let body = lines.dropFirst()
        let cut = body.count * 8 / 10
        let train = ((try? Scratch.directory()) ?? "/nonexistent") + "/train.csv"
        try? ([lines.first ?? ""] + body.prefix(cut)).joined(separator: "\n").appending("\n").write(
            toFile: train, atomically: true, encoding: .utf8)
        return (train, full, body.count - cut)
    }()

    static func trained(_ extra: [String]) throws -> String {
        let dir = try Scratch.directory()
        let r = try Harness.run(
            ["train", "--data", split.train, "--target", "temp", "--quiet", "--checkpoint-dir", dir] + extra)
        try #require(r.status == 0, "\(r.stderr)")
        return dir
    }

    /// `eval --test-size` on the later 20% as JSON.
    static func scored(_ checkpoint: String, _ extra: [String] = []) throws -> [String: Any] {
        let r = try Harness.run(
            ["eval", "--checkpoint", checkpoint, "--data", split.full, "--test-size", String(split.testSize), "--json"]
                + extra)
        try #require(r.status == 0, "\(r.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    }

    @Test("an untrained model of seasonal changes is exactly the seasonal naive: every prediction, and the errors")
    func startsAsSeasonalNaive() throws {
        // A learning rate of 0: the weights stay as initialised, the head at zero.
        let ck = try Self.trained(["--season", "24", "--lr", "0", "--steps", "2"])
        let json = try Self.scored(ck)
        let seasonal = try #require(json["seasonal"] as? [String: Any])
        #expect(seasonal["season"] as? Int == 24)
        #expect(json["rmse"] as? Double == seasonal["rmse"] as? Double)
        #expect(json["mae"] as? Double == seasonal["mae"] as? Double)
        // Each prediction is the actual value 24 rows earlier, to the bit.
        let r = try Harness.run(["predict", "--checkpoint", ck, "--data", Self.split.full])
        try #require(r.status == 0, "\(r.stderr)")
        var actual: [Int: String] = [:], predicted: [Int: String] = [:]
        for line in r.stdout.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",").map(String.init)
            actual[Int(f[0]) ?? -1] = f[1]
            predicted[Int(f[0]) ?? -1] = f[2]
        }
        let rows = predicted.keys.filter { actual[$0 - 24] != nil }
        #expect(rows.count > 8000)
        for row in rows { #expect(Double(predicted[row] ?? "") == Double(actual[row - 24] ?? ""), "row \(row)") }
    }

    @Test("--season 24 on hourly temperatures: at most half the seasonal naive's RMSE on the later 20%, where the default model loses to it")
    func beatsSeasonalNaive() throws {
        let seasonal = try Self.scored(try Self.trained(["--season", "24"]))
        let model = try #require(seasonal["rmse"] as? Double)
        let baseline = try #require((seasonal["seasonal"] as? [String: Any])?["rmse"] as? Double)
        #expect(seasonal["windows"] as? Int == Self.split.testSize)
        #expect(model <= 0.5 * baseline, "model RMSE \(model), seasonal naive \(baseline)")
        // MASE is scaled by the in-sample seasonal naive (M4): that forecast scores about 1.
        let naiveMASE = try #require((seasonal["seasonal"] as? [String: Any])?["mase"] as? Double)
        #expect(abs(naiveMASE - 1) < 0.5, "seasonal naive MASE \(naiveMASE)")
        // Why the flag: a model of first changes does not keep a 24-step dependency.
        let plain = try Self.scored(try Self.trained([]), ["--season", "24"])
        let plainRMSE = try #require(plain["rmse"] as? Double)
        #expect(plainRMSE > baseline, "the default model reached \(plainRMSE), the seasonal naive \(baseline)")
    }

    @Test("training says when the changes repeat, naming --season; a seasonal model forecasts past the end and says what it needs")
    func hintAndForecast() throws {
        let r = try Harness.run([
            "train", "--data", Self.split.train, "--target", "temp", "--steps", "2", "--progress", "none",
            "--checkpoint-dir", try Scratch.directory(),
        ])
        #expect(r.stdout.contains("the changes of temp repeat every 24 rows (autocorrelation 0.9"), "\(r.stdout)")
        #expect(r.stdout.contains("--season 24 models what the value 24 rows earlier does not explain"))
        let ck = try Self.trained(["--season", "24", "--steps", "50"])
        let forecast = try Harness.run(["predict", "--checkpoint", ck, "--data", Self.split.full, "--horizon", "48"])
        #expect(forecast.status == 0, "\(forecast.stderr)")
        let values = forecast.stdout.split(separator: "\n").dropFirst().compactMap { Double($0.split(separator: ",")[1]) }
        #expect(values.count == 48 && values.allSatisfy { (20...100).contains($0) }, "\(values)")
        let few = try Harness.run(["predict", "--checkpoint", ck, "--input", "50,51,52"])
        #expect(
            few.status == 64
                && few.stderr
                    == "error: the model forecasts from 40 values of temp (a window of 16 seasonal changes, each 24 values apart); --input gives 3\n"
        )
        let leads = try Harness.run(["eval", "--checkpoint", ck, "--horizon", "24", "--json"])
        #expect(leads.status == 0, "\(leads.stderr)")
    }

    @Test("--season is part of the pipeline: a resume that contradicts it, --no-difference with it, or a season of 1 are refused")
    func pipeline() throws {
        let ck = try Self.trained(["--season", "24", "--steps", "3"])
        let resumed = try Harness.run(["train", "--resume", "latest", "--checkpoint-dir", ck, "--season", "12"])
        #expect(resumed.status == 64)
        #expect(resumed.stderr == "error: --season 12 contradicts the checkpoint, which was trained with --season 24\n")
        let same = try Harness.run(["train", "--resume", "latest", "--checkpoint-dir", ck, "--season", "24", "--steps", "5", "--quiet"])
        #expect(same.status == 0, "\(same.stderr)")
        for (flags, message) in [
            (["--season", "24", "--no-difference"], "--season models seasonal changes; it cannot be combined with --no-difference"),
            (["--season", "1"], "--season must be at least 2, got 1"),
        ] {
            let r = try Harness.run(["train", "--data", Self.split.train, "--target", "temp"] + flags)
            #expect(r.status == 64 && r.stderr == "error: \(message)\n", "\(r.stderr)")
        }
        let inspect = try Harness.run(["inspect", ck])
        #expect(inspect.stdout.contains("seasonal changes (lag 24)"))
    }
}

/// Trains on the first 80% of a bundled series' rows, as a forecaster holds out the rest.
enum Holdout {
    /// Trains `train --data FIRST-80% --target TARGET EXTRA` into a new directory; returns the
    /// checkpoint directory and how many rows the later 20% has.
    static func train(_ file: String, target: String, _ extra: [String]) throws -> (checkpoint: String, later: Int) {
        let lines = try String(contentsOfFile: Harness.example(file), encoding: .utf8).split(separator: "\n")
        let cut = (lines.count - 1) * 8 / 10
        let dir = try Scratch.directory()
        try lines.prefix(cut + 1).joined(separator: "\n").appending("\n").write(
            toFile: dir + "/train.csv", atomically: true, encoding: .utf8)
        let t = try Harness.run(
            ["train", "--data", dir + "/train.csv", "--target", target, "--quiet", "--checkpoint-dir", dir + "/ck"]
                + extra)
        try #require(t.status == 0, "\(t.stderr)")
        return (dir + "/ck", lines.count - 1 - cut)
    }
}

/// Prediction intervals calibrated on held-out errors (split conformal), judged on later data.
@Suite("Prediction intervals")
struct IntervalTests {
    /// `eval --test-size --interval` on the last 20% of a bundled series after training on the first 80%.
    static func coverage(
        file: String, target: String, level: Double, extra: [String] = []
    ) throws -> (coverage: Double, width: Double) {
        let (checkpoint, later) = try Holdout.train(file, target: target, extra)
        let r = try Harness.run([
            "eval", "--checkpoint", checkpoint, "--data", Harness.example(file), "--test-size", String(later),
            "--interval", String(level), "--json",
        ])
        try #require(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let interval = try #require(json["interval"] as? [String: Any])
        #expect(interval["level"] as? Double == level && (interval["calibrated_on"] as? Int ?? 0) > 200)
        return (try #require(interval["coverage"] as? Double), try #require(interval["width"] as? Double))
    }

    @Test(
        "a 90% and a 95% interval cover the later 20% of daily and hourly temperatures within 5 points of their level",
        arguments: [
            ("seattle-weather.csv", "temp_max", 0.9, [String]()), ("seattle-weather.csv", "temp_max", 0.95, []),
            ("seattle-temps.csv", "temp", 0.9, []), ("seattle-temps.csv", "temp", 0.9, ["--season", "24"]),
        ] as [(String, String, Double, [String])])
    func coverageOnLaterData(_ file: String, _ target: String, _ level: Double, _ extra: [String]) throws {
        let (coverage, width) = try Self.coverage(file: file, target: target, level: level, extra: extra)
        #expect(abs(coverage - level) <= 0.05, "coverage \(coverage) at level \(level)")
        #expect(width > 0)
    }

    @Test("a model trained with --horizon 6 has an interval per lead: 90% covers each lead of later hours within 6 points, and widens with the lead")
    func perLead() throws {
        let (checkpoint, later) = try Holdout.train(
            "seattle-temps.csv", target: "temp", ["--season", "24", "--horizon", "6", "--epochs", "3"])
        let r = try Harness.run([
            "eval", "--checkpoint", checkpoint, "--data", Harness.example("seattle-temps.csv"), "--test-size",
            String(later), "--horizon", "6", "--interval", "0.9", "--json",
        ])
        try #require(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let leads = try #require(json["leads"] as? [[String: Any]])
        let intervals = leads.compactMap { $0["interval"] as? [String: Any] }
        try #require(intervals.count == 6, "\(r.stdout)")
        let coverage = intervals.compactMap { $0["coverage"] as? Double }, width = intervals.compactMap { $0["width"] as? Double }
        #expect(coverage.allSatisfy { abs($0 - 0.9) <= 0.06 }, "coverage per lead \(coverage)")
        #expect(width.count == 6 && width[5] > width[0], "width per lead \(width)")
        // predict's columns carry the same per-lead widths, around the forecasts of one pass.
        let p = try Harness.run(["predict", "--checkpoint", checkpoint, "--horizon", "6", "--interval", "0.9"])
        let rows = p.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: ",").compactMap { Double($0) } }
        try #require(rows.count == 6 && rows.allSatisfy { $0.count == 4 }, "\(p.stdout) \(p.stderr)")
        for (k, f) in rows.enumerated() {
            #expect(f[2] < f[1] && f[1] < f[3] && abs((f[3] - f[2]) - width[k]) < 1e-9 * max(1, width[k]), "step \(k + 1): \(f)")
        }
    }

    @Test("predict --interval adds lower and upper columns around every prediction and a one-step forecast")
    func predictColumns() throws {
        let dir = try Scratch.directory()
        let t = try Harness.run([
            "train", "--data", Harness.example("seattle-temps.csv"), "--target", "temp", "--steps", "40", "--quiet",
            "--checkpoint-dir", dir,
        ])
        try #require(t.status == 0, "\(t.stderr)")
        let r = try Harness.run(["predict", "--checkpoint", dir, "--interval", "0.8"])
        let rows = r.stdout.split(separator: "\n")
        #expect(rows.first == "row,actual,predicted,lower,upper,split")
        for row in rows.dropFirst() {
            let f = row.split(separator: ",").compactMap { Double($0) }
            #expect(f.count == 5 && f[3] < f[2] && f[2] < f[4], "\(row)")
        }
        let values = (40...56).map(String.init).joined(separator: ",")
        let forecast = try Harness.run(["predict", "--checkpoint", dir, "--input", values, "--interval", "0.8"])
        #expect(forecast.stdout.hasPrefix("step,forecast,lower,upper\n1,"), "\(forecast.stdout)")
        let far = try Harness.run(["predict", "--checkpoint", dir, "--horizon", "5", "--interval", "0.8"])
        #expect(far.status == 64 && far.stderr.contains("--interval is calibrated per lead for a model trained with --horizon"))
        let bad = try Harness.run(["eval", "--checkpoint", dir, "--interval", "90"])
        #expect(bad.status == 64 && bad.stderr.contains("--interval must be a level between 0 and 1"))
        // Without validation there is nothing to calibrate on; the message's remedy works.
        let none = try Scratch.directory(), some = try Scratch.directory()
        let data = ["--data", Harness.example("seattle-temps.csv"), "--target", "temp", "--steps", "5", "--quiet"]
        #expect(try Harness.run(["train"] + data + ["--val-fraction", "0", "--checkpoint-dir", none]).status == 0)
        let uncalibrated = try Harness.run(["predict", "--checkpoint", none, "--interval", "0.8"])
        #expect(uncalibrated.status == 1 && uncalibrated.stderr.contains("train with --val-fraction above 0"), "\(uncalibrated.stderr)")
        #expect(try Harness.run(["train"] + data + ["--val-fraction", "0.2", "--checkpoint-dir", some]).status == 0)
        #expect(try Harness.run(["predict", "--checkpoint", some, "--interval", "0.8"]).status == 0)
    }
}

/// What inference uses after training, and plots people read.
@Suite("After training")
struct AfterTrainingTests {
    @Test("a checkpoint directory means its best model by validation: eval says which, and a file picks another")
    func bestCheckpoint() throws {
        let ck = try Scratch.directory()
        let data = ["--data", Harness.example("seattle-temps.csv"), "--target", "temp"]
        #expect(try Harness.run(["train"] + data + ["--steps", "20", "--eval-every", "10", "--quiet", "--checkpoint-dir", ck]).status == 0)
        // Twenty more steps at a learning rate that ruins the model: validation only gets worse.
        let ruined = try Harness.run([
            "train", "--resume", "latest", "--checkpoint-dir", ck, "--steps", "40", "--lr", "0.5", "--clip-norm", "1", "--quiet",
        ])
        #expect(ruined.status == 0, "\(ruined.stderr)")
        let r = try Harness.run(["eval", "--checkpoint", ck, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("note: using \(ck)/best.safetensors, the best by validation loss"), "\(r.stderr)")
        #expect(r.stderr.contains("name \(ck)/step-00000040.safetensors for the latest"))
        let best = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(best["checkpoint"] as? String == ck + "/best.safetensors")
        let latest = try Harness.run(["eval", "--checkpoint", ck + "/step-00000040.safetensors", "--json"])
        let last = try #require(try JSONSerialization.jsonObject(with: Data(latest.stdout.utf8)) as? [String: Any])
        #expect(latest.stderr.isEmpty)
        let bestRMSE = try #require(best["rmse"] as? Double), lastRMSE = try #require(last["rmse"] as? Double)
        #expect(bestRMSE < lastRMSE, "best \(bestRMSE), latest \(lastRMSE)")
    }

    @Test("plots: y ticks at round 1-2-5 steps, the loss on a log scale, the interval as a band")
    func plots() throws {
        let ck = try Scratch.directory()
        let metrics = ck + "/metrics.jsonl"
        #expect(
            try Harness.run([
                "train", "--data", Harness.example("seattle-temps.csv"), "--target", "temp", "--steps", "60",
                "--log-every", "5", "--quiet", "--metrics", metrics, "--checkpoint-dir", ck + "/run",
            ]).status == 0)
        let loss = ck + "/loss.svg", forecast = ck + "/forecast.svg"
        #expect(try Harness.run(["plot", "--metrics", metrics, "--out", loss]).status == 0)
        #expect(try Harness.run(["plot", "--checkpoint", ck + "/run", "--interval", "0.9", "--out", forecast]).status == 0)
        let lossSVG = try String(contentsOfFile: loss, encoding: .utf8)
        #expect(lossSVG.contains("loss (log scale)"))
        let forecastSVG = try String(contentsOfFile: forecast, encoding: .utf8)
        #expect(forecastSVG.contains("<polygon") && forecastSVG.contains("90% interval"))
        // The y labels (text-anchor end) are evenly spaced multiples of 1, 2 or 5 × 10ⁿ.
        let labels = try Regex(#"text-anchor="end">([-0-9.e+]+)<"#)
        let values = forecastSVG.matches(of: labels).compactMap { Double($0.output[1].substring ?? "") }
        #expect(values.count >= 3, "\(values)")
        let step = values[1] - values[0]
        let mantissa = step / pow(10, floor(log10(step)))
        #expect([1.0, 2, 5].contains { abs(mantissa - $0) < 1e-6 }, "step \(step)")
        for v in values { #expect(abs(v / step - (v / step).rounded()) < 1e-6, "\(v) is not a multiple of \(step)") }
    }
}

/// Many steps in one pass: `train --horizon H` gives the head one output per lead.
@Suite("Multi-step heads")
struct MultiStepTests {
    static let weather = Harness.example("seattle-weather.csv")

    /// Trains on the first 80% of the daily weather with `extra`; returns the checkpoint directory
    /// and the number of later rows.
    static func trained(_ extra: [String]) throws -> (String, Int) {
        try Holdout.train("seattle-weather.csv", target: "temp_max", extra)
    }

    static func leads(_ checkpoint: String, _ later: Int, _ horizon: Int) throws -> [[String: Any]] {
        // The last `later` rows' windows, each followed by the 6 rows its leads forecast.
        let r = try Harness.run([
            "eval", "--checkpoint", checkpoint, "--data", weather, "--test-size", String(later - horizon + 1),
            "--horizon", String(horizon), "--json",
        ])
        try #require(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        return try #require(json["leads"] as? [[String: Any]])
    }

    @Test("a model of 4 inputs trained with --horizon 6 forecasts 6 days at once and beats the last value at every lead on later data")
    func fourInputsSixLeads() throws {
        let (ck, later) = try Self.trained(["--features", "precipitation,temp_max,temp_min,wind", "--horizon", "6"])
        let forecast = try Harness.run(["predict", "--checkpoint", ck, "--data", Self.weather, "--horizon", "6"])
        #expect(forecast.status == 0, "\(forecast.stderr)")
        let values = forecast.stdout.split(separator: "\n").dropFirst().compactMap { Double($0.split(separator: ",")[1]) }
        #expect(values.count == 6 && values.allSatisfy { (-20...50).contains($0) }, "\(values)")
        let leads = try Self.leads(ck, later, 6)
        #expect(leads.count == 6)
        for lead in leads {
            let model = try #require((lead["model"] as? [String: Any])?["rmse"] as? Double)
            let naive = try #require((lead["naive"] as? [String: Any])?["rmse"] as? Double)
            #expect(model < naive, "lead \(lead["lead"] ?? "?"): model \(model), last value \(naive)")
        }
        let far = try Harness.run(["predict", "--checkpoint", ck, "--data", Self.weather, "--horizon", "7"])
        #expect(far.status == 64 && far.stderr.hasSuffix("error: the model forecasts 6 steps at once; --horizon 7 is more than its head gives\n"), "\(far.stderr)")
        #expect(far.stdout.isEmpty, "a refused forecast printed \(far.stdout)")
    }

    @Test("an untrained model of changes with --horizon 6 is the last value at every lead, exactly")
    func startsAsLastValue() throws {
        let (ck, later) = try Self.trained(["--horizon", "6", "--lr", "0", "--steps", "2"])
        for lead in try Self.leads(ck, later, 6) {
            let model = lead["model"] as? [String: Any], naive = lead["naive"] as? [String: Any]
            #expect(model?["rmse"] as? Double == naive?["rmse"] as? Double && model?["mae"] as? Double == naive?["mae"] as? Double)
        }
    }

    @Test("--horizon defines the trajectory: another on resume, or with --stateful or --head every, is refused")
    func refusals() throws {
        let (ck, _) = try Self.trained(["--horizon", "3", "--steps", "2"])
        let resumed = try Harness.run(["train", "--resume", "latest", "--checkpoint-dir", ck, "--horizon", "4"])
        #expect(resumed.status == 64 && resumed.stderr == "error: --horizon 4 contradicts the checkpoint, which was trained with --horizon 3\n")
        for flags in [["--stateful"], ["--head", "every"]] {
            let r = try Harness.run(["train", "--data", Self.weather, "--target", "temp_max", "--horizon", "3"] + flags)
            #expect(r.status == 64 && r.stderr.contains("--horizon 3 forecasts several leads from a window's last step"), "\(r.stderr)")
        }
    }
}
