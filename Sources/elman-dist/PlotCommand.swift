import ArgumentParser
import ElmanInference
import ElmanRun
import ElmanData
import ElmanFiles
import Foundation

struct Plot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw an SVG of training and validation loss, or of forecasts against actual values.",
        discussion: """
            Examples:
              elman-dist plot --metrics runs/temps/metrics.jsonl --out loss.svg
              elman-dist plot --checkpoint runs/temps --out forecast.svg
            """)

    @Option(help: "A metrics file written by train --metrics: plots loss and validation loss.") var metrics: String?
    @Option(help: "A checkpoint (file or directory): plots predictions against actual values.") var checkpoint: String?
    @OptionGroup(title: "Data") var data: DataArguments
    @Option(parsing: .unconditional, help: "Plot only the last N predictions (default 500).") var last = 500
    @Option(help: "The SVG file to write (an existing file needs --force).") var out: String
    @OptionGroup var overwrite: ForceFlag
    @Option(parsing: .unconditional, help: "With --checkpoint: shade a prediction interval at this level (0.9: 90%).")
    var interval: Double?
    @Option(help: ArgumentHelp("With a panel model's --checkpoint: the series to draw.", valueName: "id"))
    var series: String?

    func validate() throws {
        if (metrics == nil) == (checkpoint == nil) { throw ValidationError("give either --metrics or --checkpoint") }
        if last < 2 { throw ValidationError("--last must be at least 2") }
        try validateInterval(interval)
        if interval != nil && metrics != nil { throw ValidationError("--interval goes with --checkpoint") }
    }

    func run() throws {
        var chart: LineChart
        var inputs: [String] = []
        if let metrics {
            inputs = [metrics]
            let text = try Files.readText(metrics)
            var loss: [(Double, Double)] = [], val: [(Double, Double)] = []
            for line in text.split(separator: "\n") {
                guard let point = try? JSONDecoder().decode(LossPoint.self, from: Data(line.utf8)) else { continue }
                if let l = point.loss { loss.append((point.step, l)) }
                if let v = point.valLoss { val.append((point.step, v)) }
            }
            guard loss.count >= 2 else { throw CommandFailure("\(metrics): fewer than two logged steps") }
            // Losses fall over decades: a log axis shows the late steps too (when all are positive).
            chart = LineChart(
                title: "Loss (normalised units)", xLabel: "step", yLabel: "loss",
                series: [("training", "#1f77b4", loss), ("validation", "#d62728", val)],
                logY: (loss + val).allSatisfy { $0.1 > 0 })
        } else {
            let m = try CheckpointArgument.parse(["--checkpoint", checkpoint ?? ""]).load()
            let request = try data.request()
            inputs = [m.path] + inputPaths(try m.dataOptions(request).source)
            let d: WindowedDataset
            var times: [Double]?
            var title = "Next-step forecast of \(m.dataRecord.targetName)"
            if m.isPanel {
                let (members, _) = try m.members(request)
                guard let series else {
                    let ids = members.prefix(8).map(\.id).joined(separator: ", ")
                    throw ValidationError(
                        "the model is of a panel of \(members.count) series: name one with --series (\(ids)\(members.count > 8 ? ", …" : ""))")
                }
                guard let member = members.first(where: { $0.id == series }) else {
                    throw CommandFailure("no series '\(series)' with a window in the data (\(members.count) series)")
                }
                d = member.data
                times = member.series.times
                title += " (\(series))"
            } else {
                if series != nil { throw ValidationError("--series names a series of a panel model; this model is of one series") }
                let one = try m.series(request)
                d = try m.dataset(one, whole: request.isNewData)
                times = one.times
            }
            guard !d.isClassification else { throw CommandFailure("forecast plots are for numeric series") }
            let p = m.predictions(d, m.selection(d, .all)).suffix(last)
            // x: the rows' times with a time column (dataset row = file row − lag), else rows.
            let x = { (row: Int) -> Double in times.map { $0[row - d.levelOffset] } ?? Double(row) }
            chart = LineChart(
                title: title, xLabel: times == nil ? "row" : "time (UTC)",
                yLabel: m.dataRecord.targetName,
                series: [
                    ("actual", "#333333", p.map { (x($0.row), $0.actual) }),
                    ("forecast", "#d62728", p.map { (x($0.row), $0.predicted) }),
                ])
            chart.xTimes = times != nil
            if d.validationCount > 0 {
                let first = d.trainCount + (d.split == WindowedDataset.Split.windows ? d.seqLen : 0)
                chart.marker = times.map { $0[min(first, $0.count - 1)] } ?? Double(first)
            }
            if let level = interval {
                let w = try intervalCalibration(m).halfWidth(level: level)
                chart.band = (
                    String(format: "%g%% interval", 100 * level), p.map { (x($0.row), $0.predicted - w, $0.predicted + w) }
                )
            }
        }
        let output = try OutputFile(path: out, flag: "--out", replace: overwrite.force, inputs: inputs)
        try output.write(chart.svg())
        try output.commit()
        print("wrote \(out)")
    }
}

/// The losses of one metrics line (see `MetricsLine`).
private struct LossPoint: Decodable {
    var step: Double
    var loss: Double?
    var valLoss: Double?
    enum CodingKeys: String, CodingKey {
        case step, loss
        case valLoss = "val_loss"
    }
}
