import Foundation
import TestSupport
import Testing

/// Default training against the last-value forecast on data the model never saw, as
/// bench/what_to_expect.sh measures it for the README: train on the first 80% of a bundled
/// series, score `eval --data` on the T+1 rows before the cut and the last 20%.
@Suite("Forecast quality with default settings")
struct ForecastQualityTests {
    struct Case: CustomStringConvertible, Sendable {
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
        // Random walks: the last price is the best forecast; the model may lose at most 2%, at
        // every seed (with PyTorch's random head and centred changes, seed 2 lost 4% on MSFT).
        + [0, 1, 2].flatMap { seed in
            ["AMZN", "MSFT", "IBM", "AAPL", "GOOG"].map {
                Case(file: "stocks.csv", target: "price", filter: ("symbol", $0), seed: seed, bound: 1.02)
            }
        }

    @Test(
        "default training beats the last value on series with structure and is within 2% of it on random walks",
        arguments: cases)
    func againstLastValue(_ c: Case) throws {
        let lines = try String(contentsOfFile: Harness.example(c.file), encoding: .utf8).split(separator: "\n")
        let header = String(lines[0])
        var body = lines.dropFirst().map(String.init)
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
