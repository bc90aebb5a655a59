import ElmanCheckpoint
import Foundation
import TestSupport
import Testing

/// A trained model used on new data through the binary: the checkpoint is the data pipeline.
@Suite("Using a model on new data")
struct InferenceTests {
    /// Trains `arguments` into a new directory; returns it.
    func trained(_ arguments: [String]) throws -> String {
        let dir = try Scratch.directory()
        let r = try Harness.run(["train"] + arguments + ["--quiet", "--checkpoint-dir", dir])
        #expect(r.status == 0, "\(r.stderr)")
        return dir
    }

    /// A copy of `examples/data/NAME` with `edit` applied to its lines (header first).
    func copy(_ name: String, _ edit: ([String]) -> [String] = { $0 }) throws -> String {
        let lines = try String(contentsOfFile: Harness.example(name), encoding: .utf8).split(separator: "\n").map(
            String.init)
        let path = try Scratch.directory() + "/" + name
        try (edit(lines).joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test(
        "eval and predict with only --data equal them with every training flag repeated: differenced, --where, --missing ffill, several features"
    )
    func checkpointIsThePipeline() throws {
        // The second AMZN price blanked (the first has nothing to fill from), so --missing ffill matters.
        var seen = 0
        let stocks = try copy("stocks.csv") { lines in
            lines.map { line in
                guard line.hasPrefix("AMZN,") else { return line }
                seen += 1
                return seen == 2 ? line.split(separator: ",").dropLast().joined(separator: ",") + "," : line
            }
        }
        let weather = try copy("seattle-weather.csv")
        let runs: [[String]] = [
            ["--where", "symbol=AMZN", "--target", "price", "--difference", "--missing", "ffill"],
            ["--target", "temp_max", "--features", "temp_max,temp_min,wind"],
        ]
        for (file, flags) in zip([stocks, weather], runs) {
            let dir = try trained(["--data", file, "--seq-len", "8", "--steps", "30"] + flags)
            for command in [["eval", "--json"], ["predict"]] {
                let bare = try Harness.run([command[0], "--checkpoint", dir, "--data", file] + command.dropFirst())
                let repeated = try Harness.run(
                    [command[0], "--checkpoint", dir, "--data", file] + command.dropFirst() + flags)
                #expect(bare.status == 0 && !bare.stdout.isEmpty, "\(bare.stderr)")
                #expect(bare.stdout == repeated.stdout, "\(command[0]) differs when the flags are repeated")
            }
            // Without the checkpoint's pipeline the same file would be read otherwise: refused.
            let other = try Harness.run(["eval", "--checkpoint", dir, "--data", file, "--target", "date"])
            #expect(other.status != 0)
        }
        let dir = try trained([
            "--data", weather, "--target", "temp_max", "--features", "temp_max,temp_min", "--steps", "5",
        ])
        let contradiction = try Harness.run(["eval", "--checkpoint", dir, "--data", weather, "--features", "temp_max"])
        #expect(contradiction.status == 64)
        #expect(
            contradiction.stderr
                == "error: --features temp_max contradicts the checkpoint, which was trained with --features temp_max,temp_min\n"
        )
    }

    @Test(
        "train --resume takes the same rule: a data flag that repeats the checkpoint is accepted, one that contradicts it is refused"
    )
    func resumeFollowsThePipeline() throws {
        let dir = try trained(["--data", Harness.example("seattle-temps.csv"), "--target", "temp", "--steps", "5"])
        let repeated = try Harness.run([
            "train", "--resume", "latest", "--checkpoint-dir", dir, "--target", "temp", "--steps", "7", "--quiet",
        ])
        #expect(repeated.status == 0, "\(repeated.stderr)")
        let other = try Harness.run(["train", "--resume", "latest", "--checkpoint-dir", dir, "--target", "date"])
        #expect(
            other.status == 64
                && other.stderr
                    == "error: --target date contradicts the checkpoint, which was trained with --target temp\n"
        )
    }

    /// Seattle temperatures: the model (of changes, the default for CSV) on the first 7000 hours,
    /// new data the last 1759.
    func temperatures() throws -> (model: String, later: String, rows: [String]) {
        var rows: [String] = []
        let train = try copy("seattle-temps.csv") { Array($0.prefix(7001)) }
        let later = try copy("seattle-temps.csv") { lines in
            rows = Array(lines.dropFirst(7001))
            return [lines[0]] + rows
        }
        return (try trained(["--data", train, "--target", "temp", "--steps", "40"]), later, rows)
    }

    @Test("eval --data scores every window of the new file and says so; predict --data writes every window, unlabelled")
    func newDataMeansAllOfIt() throws {
        let (model, later, rows) = try temperatures()
        let windows = rows.count - 1 - 16  // 1758 changes, T = 16
        let text = try Harness.run(["eval", "--checkpoint", model, "--data", later])
        #expect(text.status == 0)
        #expect(text.stdout.hasPrefix("\(windows) windows of \(later); errors in temp\n"), "\(text.stdout)")
        let json = try Harness.run(["eval", "--checkpoint", model, "--data", later, "--json"])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(
            obj["windows"] as? Int == windows && obj["split"] as? String == "all" && obj["unit"] as? String == "temp")
        for key in ["mae", "rmse", "mse", "smape", "mase"] { #expect(obj[key] is Double, "\(key)") }
        // Without --data: the held-out validation windows of the training data, named as such.
        let own = try Harness.run(["eval", "--checkpoint", model])
        #expect(own.stdout.contains("held-out validation windows of"))
        let p = try Harness.run(["predict", "--checkpoint", model, "--data", later])
        let lines = p.stdout.split(separator: "\n")
        #expect(lines.first == "row,actual,predicted" && lines.count == windows + 1)
        // The actual values are the file's, in its units.
        #expect(lines.last?.split(separator: ",")[1] == rows.last?.split(separator: ",")[1].dropFirst(0))
    }

    @Test(
        "--input of the last T + 1 values (a model of changes) and --data of exactly those rows give the same next value; --horizon continues"
    )
    func forecastFromWhatTheUserHas() throws {
        let (model, later, rows) = try temperatures()
        let last16 = rows.suffix(17)
        let values = last16.map { String($0.split(separator: ",")[1]) }
        let input = try Harness.run(["predict", "--checkpoint", model, "--input", values.joined(separator: ",")])
        let file = try copy("seattle-temps.csv") { [$0[0]] + last16 }
        let fromFile = try Harness.run(["predict", "--checkpoint", model, "--data", file])
        let horizon = try Harness.run(["predict", "--checkpoint", model, "--data", later, "--horizon", "3"])
        #expect(input.status == 0 && input.stdout.hasPrefix("step,forecast\n1,"), "\(input.stderr)")
        #expect(input.stdout == fromFile.stdout)
        let firstOfThree = horizon.stdout.split(separator: "\n").prefix(2).joined(separator: "\n") + "\n"
        #expect(firstOfThree == input.stdout)
        #expect(horizon.stdout.split(separator: "\n").count == 4)
        let short = try Harness.run(["predict", "--checkpoint", model, "--input", "46,47,48"])
        #expect(
            short.status == 64 && short.stderr == "error: the model forecasts from 17 values of temp; --input gives 3\n")
        // The same rule for a file of too few rows: the data is the problem there, not a flag.
        let threeRows = try copy("seattle-temps.csv") { [$0[0]] + rows.suffix(3) }
        let three = try Harness.run(["predict", "--checkpoint", model, "--data", threeRows])
        #expect(three.status == 1 && three.stderr == "error: the model forecasts from 17 values of temp; the data has 3\n")
    }

    @Test("a model with a head on every step gets one predict row per step of every window")
    func everyStepRows() throws {
        let dir = try trained([
            "--data", "sine", "--points", "60", "--head", "every", "--seq-len", "5", "--steps", "10",
        ])
        let p = try Harness.run(["predict", "--checkpoint", dir, "--data", "sine", "--points", "30"])
        let lines = p.stdout.split(separator: "\n")
        #expect(lines.first == "window,step,row,actual,predicted")
        #expect(lines.count == 1 + 25 * 5)  // 30 points, T = 5: 25 windows of 5 steps
        // Step t of window w predicts row w + t (1-based step): window 3, step 2 is row 5.
        #expect(lines.contains { $0.hasPrefix("3,2,5,") })
    }

    @Test("eval --horizon reports every lead for the model and the last value; --season adds the seasonal naive")
    func leadsAndSeasons() throws {
        let (model, later, _) = try temperatures()
        let r = try Harness.run([
            "eval", "--checkpoint", model, "--data", later, "--horizon", "4", "--season", "24", "--json",
        ])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let leads = try #require(obj["leads"] as? [[String: Any]])
        #expect(leads.map { $0["lead"] as? Int } == [1, 2, 3, 4])
        // The last value held for four hours is worse four hours out than one.
        let naiveMAE = leads.compactMap { ($0["naive"] as? [String: Any])?["mae"] as? Double }
        #expect(naiveMAE.count == 4 && naiveMAE[3] > naiveMAE[0])
        let seasonal = try #require(obj["seasonal"] as? [String: Any])
        #expect(seasonal["season"] as? Int == 24 && seasonal["mae"] is Double)
    }

    @Test("export keeps the pipeline: window length, target and the scaling equal to the checkpoint's")
    func exportIsSelfSufficient() throws {
        let (model, _, _) = try temperatures()
        let out = try Scratch.directory() + "/model.safetensors"
        #expect(try Harness.run(["export", model, "--out", out]).status == 0)
        let file = try SafeTensorsFile(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: out))))
        let meta = try #require(
            try JSONSerialization.jsonObject(with: Data((file.metadata["elman_dist_model"] ?? "").utf8))
                as? [String: Any])
        #expect(
            meta["seq_len"] as? Int == 16 && meta["target"] as? String == "temp" && meta["difference"] as? Bool == true
        )
        let ck = try Checkpoint.load(path: try resolveCheckpoint(model))
        let record = try #require(
            try JSONSerialization.jsonObject(with: Data((ck.sections["data"] ?? "").utf8)) as? [String: Any])
        let normalization = try #require(record["normalization"] as? [String: Any])
        let target = try #require(normalization["target"] as? [String: Double])
        let exported = try #require(meta["target_scaling"] as? [String: Double])
        #expect(exported == target)
    }
}
