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

    func validate() throws {
        if (metrics == nil) == (checkpoint == nil) { throw ValidationError("give either --metrics or --checkpoint") }
        if last < 2 { throw ValidationError("--last must be at least 2") }
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
            chart = LineChart(
                title: "Loss (normalised units)", xLabel: "step", yLabel: "loss",
                series: [("training", "#1f77b4", loss), ("validation", "#d62728", val)])
        } else {
            let m = try CheckpointArgument.parse(["--checkpoint", checkpoint ?? ""]).load()
            let request = try data.request()
            inputs = [m.path] + inputPaths(try m.dataOptions(request).source)
            let d = try m.dataset(request)
            guard !d.isClassification else { throw CommandFailure("forecast plots are for numeric series") }
            let p = m.predictions(d, m.selection(d, .all)).suffix(last)
            chart = LineChart(
                title: "Next-step forecast of \(m.dataRecord.targetName)", xLabel: "row",
                yLabel: m.dataRecord.targetName,
                series: [
                    ("actual", "#333333", p.map { (Double($0.row), $0.actual) }),
                    ("forecast", "#d62728", p.map { (Double($0.row), $0.predicted) }),
                ])
            if d.validationCount > 0 {
                chart.marker = Double(d.trainCount + (d.split == WindowedDataset.Split.windows ? d.seqLen : 0))
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

/// A minimal SVG line chart.
struct LineChart {
    var title: String
    var xLabel: String
    var yLabel: String
    var series: [(name: String, color: String, points: [(Double, Double)])]
    /// An x position to mark with a dashed line (the start of validation).
    var marker: Double?

    func svg(width: Double = 900, height: Double = 480) -> String {
        let all = series.flatMap(\.points).filter { $0.0.isFinite && $0.1.isFinite }
        let x0 = all.map(\.0).min() ?? 0, x1 = max(all.map(\.0).max() ?? 1, x0 + 1e-9)
        var y0 = all.map(\.1).min() ?? 0, y1 = all.map(\.1).max() ?? 1
        if y1 - y0 < 1e-12 { y0 -= 1; y1 += 1 }
        let pad = (y1 - y0) * 0.05
        y0 -= pad; y1 += pad
        let left = 70.0, right = 20.0, top = 40.0, bottom = 50.0
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * (width - left - right) }
        func py(_ y: Double) -> Double { top + (y1 - y) / (y1 - y0) * (height - top - bottom) }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        }
        var s =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(f(width / 2))\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">\(esc(title))</text>\n"
        for i in 0...4 {
            let yv = y0 + (y1 - y0) * Double(i) / 4, xv = x0 + (x1 - x0) * Double(i) / 4
            s +=
                "<line x1=\"\(f(left))\" x2=\"\(f(width - right))\" y1=\"\(f(py(yv)))\" y2=\"\(f(py(yv)))\" stroke=\"#e5e5e5\"/>\n"
            s +=
                "<text x=\"\(f(left - 6))\" y=\"\(f(py(yv) + 4))\" text-anchor=\"end\">\(String(format: "%.4g", yv))</text>\n"
            s +=
                "<text x=\"\(f(px(xv)))\" y=\"\(f(height - bottom + 18))\" text-anchor=\"middle\">\(String(format: "%.6g", xv))</text>\n"
        }
        s += "<text x=\"\(f(width / 2))\" y=\"\(f(height - 10))\" text-anchor=\"middle\">\(esc(xLabel))</text>\n"
        s +=
            "<text x=\"16\" y=\"\(f(height / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(f(height / 2)))\">\(esc(yLabel))</text>\n"
        if let m = marker, m >= x0, m <= x1 {
            s +=
                "<line x1=\"\(f(px(m)))\" x2=\"\(f(px(m)))\" y1=\"\(f(top))\" y2=\"\(f(height - bottom))\" stroke=\"#888\" stroke-dasharray=\"4 4\"/>\n"
            s += "<text x=\"\(f(px(m) + 4))\" y=\"\(f(top + 12))\" fill=\"#666\">validation</text>\n"
        }
        for (k, line) in series.enumerated() where !line.points.isEmpty {
            let pts = line.points.filter { $0.0.isFinite && $0.1.isFinite }.map { "\(f(px($0.0))),\(f(py($0.1)))" }
                .joined(separator: " ")
            s += "<polyline fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"1.5\" points=\"\(pts)\"/>\n"
            s +=
                "<rect x=\"\(f(left + 10))\" y=\"\(f(top + 8 + Double(k) * 18))\" width=\"14\" height=\"3\" fill=\"\(line.color)\"/>\n"
            s += "<text x=\"\(f(left + 30))\" y=\"\(f(top + 13 + Double(k) * 18))\">\(esc(line.name))</text>\n"
        }
        return s + "</svg>\n"
    }
}
