import Foundation
import TestSupport
import Testing

/// `eval --backtest K --test-size N --retrain`: a new model at every origin.
@Suite("Retrained backtest", .serialized)
struct RetrainedBacktestTests {
    static let temps = Harness.example("seattle-temps.csv")

    /// The folds' model RMSEs of `eval … --json` (under `ranks` ranks when more than one).
    func foldRMSE(_ arguments: [String], ranks: Int = 1) throws -> [Double] {
        let r = ranks == 1 ? try Harness.run(arguments) : try Harness.mpi(ranks, arguments)
        try #require(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(json["retrained"] as? Bool == true && json["windows"] as? Int == 400)
        let folds = try #require(json["backtest"] as? [[String: Any]])
        return folds.compactMap { ($0["model"] as? [String: Any])?["rmse"] as? Double }
    }

    @Test("each fold scores a model trained on the rows before it alone: equal to training by hand on that prefix, and at 2 ranks")
    func foldsEqualHandTraining() throws {
        let dir = try Scratch.directory()
        let train = ["--target", "temp", "--steps", "40", "--deterministic", "--quiet"]
        #expect(try Harness.run(["train", "--data", Self.temps] + train + ["--checkpoint-dir", dir + "/ck"]).status == 0)
        let eval = [
            "eval", "--checkpoint", dir + "/ck", "--data", Self.temps, "--backtest", "2", "--test-size", "200", "--retrain",
            "--json",
        ]
        let folds = try foldRMSE(eval)
        try #require(folds.count == 2)
        // By hand: the file's first 8,359 data rows train fold 1's model; the next 200 are its fold.
        let lines = try String(contentsOfFile: Self.temps, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 8760, "the file changed: \(lines.count) lines")
        func write(_ rows: Int, _ name: String) throws -> String {
            let path = dir + "/" + name
            try (lines.prefix(rows + 1).joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let prefix = try write(8359, "prefix.csv"), upTo = try write(8559, "upto.csv")
        #expect(try Harness.run(["train", "--data", prefix] + train + ["--checkpoint-dir", dir + "/f1"]).status == 0)
        let byHand = try Harness.run([
            "eval", "--checkpoint", dir + "/f1/step-00000040.safetensors", "--data", upTo, "--test-size", "200", "--json",
        ])
        let hand = try #require(try JSONSerialization.jsonObject(with: Data(byHand.stdout.utf8)) as? [String: Any])
        #expect(hand["rmse"] as? Double == folds[0], "fold 1 \(folds[0]) against training by hand \(hand["rmse"] ?? "")")
        // Without retraining the folds score the checkpoint's own model: other numbers.
        let same = try Harness.run(Array(eval.filter { $0 != "--retrain" }))
        #expect(same.status == 0 && !same.stdout.contains("\"retrained\""))
        // Data-parallel: every rank trains each fold; the deterministic run gives the same bits.
        #expect(try foldRMSE(eval, ranks: 2) == folds)
        let refused = try Harness.run(["eval", "--checkpoint", dir + "/ck", "--data", Self.temps, "--retrain"])
        #expect(refused.status == 64 && refused.stderr.contains("--retrain needs --backtest K --test-size N"), "\(refused.stderr)")
    }
}
