import Foundation
import TestSupport
import Testing

/// `--time-column`: forecasts that carry timestamps, and `eval --cutoff DATE`, through the binary.
@Suite("Time columns")
struct TimeColumnTests {
    static func trained(_ data: String, _ extra: [String]) throws -> String {
        let dir = try Scratch.directory()
        let r = try Harness.run(["train", "--data", data, "--quiet", "--steps", "20", "--checkpoint-dir", dir] + extra)
        try #require(r.status == 0, "\(r.stderr)")
        return dir
    }

    static func json(_ arguments: [String]) throws -> [String: Any] {
        let r = try Harness.run(arguments + ["--json"])
        try #require(r.status == 0, "\(r.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    }

    @Test("eval --cutoff scores exactly what --test-size of the rows after that date scores (December of the hourly year: 743 hours)")
    func cutoffIsTheTailAfterTheDate() throws {
        let data = Harness.example("seattle-temps.csv")
        let ck = try Self.trained(data, ["--target", "temp", "--time-column", "date"])
        // The rows dated after 2010-12-01T00:00, counted from the file itself.
        let rows = try String(contentsOfFile: data, encoding: .utf8).split(separator: "\n").dropFirst()
        let after = rows.filter { $0.prefix(16) > "2010/12/01 00:00" }.count
        #expect(after == 743)
        let byDate = try Self.json(["eval", "--checkpoint", ck, "--data", data, "--cutoff", "2010-12-01T00:00"])
        let byCount = try Self.json(["eval", "--checkpoint", ck, "--data", data, "--test-size", String(after)])
        #expect(byDate["windows"] as? Int == after)
        #expect(byDate["rmse"] as? Double == byCount["rmse"] as? Double)
        #expect(byDate["split"] as? String == "after 2010-12-01T00:00")
        // Past the end: one line saying where the data ends.
        let late = try Harness.run(["eval", "--checkpoint", ck, "--data", data, "--cutoff", "2011-06-01"])
        #expect(late.status != 0 && late.stderr.contains("the data ends at 2010-12-31T23:00:00Z"), "\(late.stderr)")
        let bad = try Harness.run(["eval", "--checkpoint", ck, "--cutoff", "2010-02-30"])
        #expect(bad.status == 64 && bad.stderr.contains("is not a date"), "\(bad.stderr)")
    }

    @Test("forecasts carry the series' times on: hours past the hourly year's end, calendar months past a monthly panel's")
    func forecastTimestamps() throws {
        let hourly = try Self.trained(
            Harness.example("seattle-temps.csv"), ["--target", "temp", "--time-column", "date"])
        let r = try Harness.run(["predict", "--checkpoint", hourly, "--horizon", "3"])
        try #require(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map { $0.split(separator: ",").prefix(2).joined(separator: ",") }
        #expect(lines == ["step,time", "1,2011-01-01T00:00:00Z", "2,2011-01-01T01:00:00Z", "3,2011-01-01T02:00:00Z"])
        let monthly = try Self.trained(
            Harness.example("stocks.csv"), ["--target", "price", "--series", "symbol", "--time-column", "date"])
        let p = try Harness.run(["predict", "--checkpoint", monthly, "--horizon", "2"])
        try #require(p.status == 0, "\(p.stderr)")
        let rows = p.stdout.split(separator: "\n").map { $0.split(separator: ",").prefix(3).joined(separator: ",") }
        #expect(rows.prefix(3) == ["series,step,time", "MSFT,1,2010-04-01", "MSFT,2,2010-05-01"])
        // Every window's row carries its own time.
        let w = try Harness.run(["predict", "--checkpoint", hourly])
        #expect(w.stdout.split(separator: "\n").prefix(2).last?.hasPrefix("17,2010-01-01T17:00:00Z,") == true, "\(w.stdout.prefix(200))")
    }

    @Test("a cell of the time column that is not a date is one line naming file, line and value")
    func badTimeIsNamed() throws {
        let path = try Scratch.directory() + "/t.csv"
        try "d,v\n2010-01-01,1\n2010-01-02,2\nyesterday,3\n".write(toFile: path, atomically: true, encoding: .utf8)
        let r = try Harness.run(["train", "--data", path, "--target", "v", "--time-column", "d", "--steps", "1"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("t.csv:4: 'yesterday' in the time column 'd' is not a date"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    @Test("a model with --calendar hour forecasts two days past the end by feed-back, timestamped, with the daily cycle: afternoons warmer than nights by over 3 °F")
    func calendarForecastsPastTheEnd() throws {
        let dir = try Scratch.directory()
        let r = try Harness.run([
            "train", "--data", Harness.example("seattle-temps.csv"), "--target", "temp", "--time-column", "date",
            "--calendar", "hour", "--quiet", "--checkpoint-dir", dir,
        ])
        try #require(r.status == 0, "\(r.stderr)")
        let p = try Harness.run(["predict", "--checkpoint", dir, "--horizon", "48"])
        try #require(p.status == 0, "\(p.stderr)")
        let rows = p.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
        #expect(rows.count == 48)
        #expect(rows.first?[1] == "2011-01-01T00:00:00Z" && rows.last?[1] == "2011-01-02T23:00:00Z")
        let v = rows.compactMap { Double($0[2]) }
        try #require(v.count == 48)
        // 14:00–16:00 and 04:00–06:00 of both days.
        let afternoon = [14, 15, 16, 38, 39, 40].map { v[$0] }.reduce(0, +) / 6
        let night = [4, 5, 6, 28, 29, 30].map { v[$0] }.reduce(0, +) / 6
        #expect(afternoon - night > 3, "afternoon \(afternoon) °F, night \(night) °F")
        // The calendar is read from the time column, which it needs.
        let bad = try Harness.run(["train", "--data", Harness.example("seattle-temps.csv"), "--target", "temp", "--calendar", "hour"])
        #expect(bad.status == 64, "\(bad.stderr)")
        #expect(bad.stderr.contains("--calendar reads the time column: give --time-column"), "\(bad.stderr)")
    }

    @Test("eval --backtest 4 --test-size 100: four consecutive folds ending with the data, whose pooled MSE is the whole tail's, each dated")
    func backtestFoldsPartitionTheTail() throws {
        let data = Harness.example("seattle-temps.csv")
        let ck = try Self.trained(data, ["--target", "temp", "--time-column", "date"])
        let whole = try Self.json(["eval", "--checkpoint", ck, "--data", data, "--test-size", "400"])
        let json = try Self.json(["eval", "--checkpoint", ck, "--data", data, "--test-size", "100", "--backtest", "4"])
        let folds = try #require(json["backtest"] as? [[String: Any]])
        #expect(folds.map { $0["fold"] as? Int } == [1, 2, 3, 4])
        #expect(folds.map { $0["windows"] as? Int } == [100, 100, 100, 100])
        // The file's 8759 rows: the folds' first targets are rows 8359, 8459, 8559 and 8659.
        #expect(folds.map { $0["first_row"] as? Int } == [8359, 8459, 8559, 8659])
        #expect(folds.last?["first_time"] as? String == "2010-12-27T20:00:00Z")  // line 8661 of the file
        let pooled = folds.compactMap { ($0["model"] as? [String: Any])?["mse"] as? Double }.reduce(0, +) / 4
        let mse = try #require(whole["mse"] as? Double)
        #expect(abs(pooled - mse) <= 1e-9 * mse, "folds \(pooled), tail \(mse)")
        #expect(json["mse"] as? Double == mse)
        let bad = try Harness.run(["eval", "--checkpoint", ck, "--backtest", "3"])
        #expect(bad.status == 64 && bad.stderr.contains("--backtest K needs --test-size N"), "\(bad.stderr)")
    }

    @Test("plot puts the time column on the x axis: date ticks for the hourly series, years for the monthly panel")
    func plotTimeAxis() throws {
        let hourly = try Self.trained(Harness.example("seattle-temps.csv"), ["--target", "temp", "--time-column", "date"])
        let svg = try Scratch.directory() + "/t.svg"
        let r = try Harness.run(["plot", "--checkpoint", hourly, "--out", svg])
        try #require(r.status == 0, "\(r.stderr)")
        let text = try String(contentsOfFile: svg, encoding: .utf8)
        #expect(text.contains(">time (UTC)</text>"))
        // The last 500 hours end on 2010-12-31: every x tick a December date, three days apart.
        let ticks = text.components(separatedBy: "text-anchor=\"middle\">2010-12-").dropFirst().map { $0.prefix(2) }
        #expect(ticks.count >= 4 && ticks.count <= 8, "\(ticks)")
        let days = ticks.compactMap { Int($0) }
        #expect(zip(days.dropFirst(), days).allSatisfy { $0 - $1 == 3 }, "\(days)")
        let monthly = try Self.trained(
            Harness.example("stocks.csv"), ["--target", "price", "--series", "symbol", "--time-column", "date"])
        let p = try Harness.run(["plot", "--checkpoint", monthly, "--series", "IBM", "--out", svg, "--force"])
        try #require(p.status == 0, "\(p.stderr)")
        #expect(try String(contentsOfFile: svg, encoding: .utf8).contains("text-anchor=\"middle\">2004</text>"))
    }

    @Test("eval --horizon scores a calendar model by feed-back, the calendar of each later row read from the data: lead 1 is the one-step forecast of the same windows")
    func calendarHorizonEvaluation() throws {
        let data = Harness.example("seattle-temps.csv")
        let ck = try Self.trained(data, ["--target", "temp", "--time-column", "date", "--calendar", "hour"])
        let leads = try Self.json(["eval", "--checkpoint", ck, "--data", data, "--test-size", "300", "--horizon", "3"])
        let scored = try #require(leads["leads"] as? [[String: Any]])
        #expect(scored.count == 3)
        // The windows followed by 3 rows: the last 300 predictions but 2; one step ahead, the
        // same windows are the last 298 predictions of the file without its last 2 rows.
        let lines = try String(contentsOfFile: data, encoding: .utf8).split(separator: "\n")
        let shorter = try Scratch.directory() + "/shorter.csv"
        try (lines.dropLast(2).joined(separator: "\n") + "\n").write(toFile: shorter, atomically: true, encoding: .utf8)
        let one = try Self.json(["eval", "--checkpoint", ck, "--data", shorter, "--test-size", "298"])
        let lead1 = try #require((scored[0]["model"] as? [String: Any])?["mae"] as? Double)
        let oneStep = try #require(one["mae"] as? Double)
        #expect(abs(lead1 - oneStep) <= 1e-6 * oneStep, "lead 1 \(lead1), one step \(oneStep)")
        #expect((scored[0]["model"] as? [String: Any])?["count"] as? Int == 298)
    }
}
