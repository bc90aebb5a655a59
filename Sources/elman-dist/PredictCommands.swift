import ArgumentParser
import ElmanCheckpoint
import ElmanData
import ElmanInference
import ElmanRun
import Foundation

/// The checkpoint to use: shared by predict, eval, generate and plot.
struct CheckpointArgument: ParsableArguments {
    @Option(
        help: "A checkpoint file, or a checkpoint directory: its best by validation loss (else its latest).")
    var checkpoint: String

    /// Loads the model. A directory means the model to use after training: the best by
    /// validation (best.safetensors), not the last steps after it; `announce` is told which
    /// when that is not the directory's latest.
    func load(announce: (String) -> Void = { printError("note: " + $0) }) throws -> TrainedModel {
        let path = try resolveModelArgument(checkpoint)
        let model: TrainedModel
        do { model = try TrainedModel(path: path) } catch {
            throw CommandFailure("\(path): \(Diagnostics.message(error))")
        }
        // Said only when training went on after its best validation: then the two differ.
        let step = model.checkpoint.optimizerState.step
        if path.hasSuffix("/" + CheckpointDirectory.bestName), let latest = try? resolveCheckpoint(checkpoint),
            let latestStep = CheckpointDirectory.step(ofFile: latest), latestStep > step
        {
            let loss = (try? model.checkpoint.progress.bestValidationLoss).flatMap { $0 }.map { String(format: "%.6g", $0) }
            announce(
                "using \(path), the best by validation loss\(loss.map { " (\($0))" } ?? "") at step \(step); name \(latest) for the latest")
        }
        return model
    }
}

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Next-step predictions for every window, or a forecast from the last values.",
        discussion: """
            Values are in the data's original units. The checkpoint fixes the data pipeline (target, \
            features, --where, --missing, differencing, scaling, window length): --data changes only \
            the source, and every window of it is predicted. Data of exactly T rows (T + 1 for a \
            differenced model), --input, or --horizon give a forecast from the last values instead.

            Examples:
              elman-dist predict --checkpoint runs/temps --out predictions.csv
              elman-dist predict --checkpoint runs/temps --data later.csv
              elman-dist predict --checkpoint runs/temps --horizon 24
              elman-dist predict --checkpoint runs/temps --input 45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61
            """)

    @OptionGroup var model: CheckpointArgument
    @OptionGroup(title: "Data") var data: DataArguments
    @OptionGroup(title: "Panels") var panel: PanelArguments
    @Option(
        parsing: .unconditionalSingleValue,
        help: ArgumentHelp(
            "The last values to forecast from: the target's, comma-separated, or a column's as NAME=v,v,… (once per column the model reads).",
            valueName: "v,v,…|name=v,v,…"))
    var input: [String] = []
    @Option(
        parsing: .unconditional,
        help: "Forecast this many steps past the end by feeding predictions back (default 1 with --input).")
    var horizon: Int?
    @Option(help: "Write CSV here instead of standard output (an existing file needs --force).") var out: String?
    @OptionGroup var overwrite: ForceFlag
    @Option(
        parsing: .unconditional,
        help: "Add lower and upper columns: a prediction interval at this level (0.9: 90%), calibrated on held-out errors.")
    var interval: Double?

    func validate() throws {
        if let horizon, horizon < 1 { throw ValidationError("--horizon must be at least 1, got \(horizon)") }
        try validateInterval(interval)
    }

    func run() throws {
        let m = try model.load()
        let request = try data.request(panel: panel)
        if m.isPanel { return try runPanel(m, request) }
        let series: Series
        if !input.isEmpty {
            guard request.source == nil else { throw ValidationError("--input and --data cannot be combined") }
            series = try Self.inputSeries(m, input)
        } else {
            series = try m.series(request)
        }
        guard series.vocabulary == nil else {
            throw CommandFailure("predict is for numeric series; use generate for text")
        }
        let output = try CommandOutput(
            path: out, force: overwrite.force, inputs: [m.path] + inputPaths(try m.dataOptions(request).source))
        // The interval's half-width in the target's units at each step, and its two columns: one
        // step ahead, or each lead of a model trained with `horizon` (calibrated per lead).
        let steps = horizon ?? 1
        if interval != nil, steps > 1, m.options.leads < steps {
            throw ValidationError(
                "--interval is calibrated per lead for a model trained with --horizon; this one feeds its forecasts back, and the error of later steps grows: give --horizon 1, or train with --horizon \(steps)")
        }
        let calibration = try interval.map { _ in try steps > 1 ? m.leadCalibration(steps) : intervalCalibration(m) }
        let halfWidth = interval.flatMap { calibration?.halfWidth(level: $0) }
        let bounds = { (v: Double, lead: Int) in
            interval.flatMap { level in calibration.map { $0.halfWidth(level: level, lead: lead) } }
                .map { ",\(v - $0),\(v + $0)" } ?? ""
        }
        let boundsHeader = halfWidth == nil ? "" : ",lower,upper"
        // Too few rows for a window with a target: the user has the last values and wants the next.
        let forecast = !input.isEmpty || horizon != nil || (!m.isStateful && series.rowCount <= m.options.seqLen)
        // With a time column, each row carries its time: a forecast's, the series' step on.
        let clock = TimeColumn(series)
        if forecast {
            var step = 0
            try m.forecast(series, horizon: horizon ?? 1) { value in
                // The header with the first value: a forecast refused before it prints nothing.
                if step == 0 { try output.write("step\(clock.header),forecast\(boundsHeader)\n") }
                step += 1
                try output.write("\(step)\(clock.after(step)),\(value)\(bounds(value, step))\n")
            }
        } else {
            let d = try m.dataset(series, whole: request.isNewData)
            // The split column only for the training data; a new file is all of it.
            let split = { (row: Int) in
                request.isNewData
                    ? "" : (m.isTraining(targetRow: row - d.levelOffset, of: d) ? ",train" : ",validation")
            }
            let splitHeader = request.isNewData ? "" : ",split"
            if m.checkpoint.model.head == .every && !m.isStateful {
                guard halfWidth == nil else {
                    throw ValidationError("--interval is for next-step predictions; this model predicts every step of a window")
                }
                try output.write("window,step,row,actual,predicted\(splitHeader)\n")
                for (w, t, x) in m.stepPredictions(d, windows: 0..<d.windowCount) {
                    try output.write("\(w),\(t + 1),\(x.row),\(x.actual),\(x.predicted)\(split(x.row))\n")
                }
            } else {
                try output.write("row\(clock.header),actual,predicted\(boundsHeader)\(splitHeader)\n")
                for x in m.predictions(d, m.selection(d, .all)) {
                    try output.write(
                        "\(x.row)\(clock.at(x.row - d.levelOffset)),\(x.actual),\(x.predicted)\(bounds(x.predicted, 1))\(split(x.row))\n")
                }
            }
        }
        try output.commit()
    }

    /// `predict` for a panel model: every series, a `series` column first; with `--horizon`, a
    /// forecast from each series' own end.
    func runPanel(_ m: TrainedModel, _ request: DataRequest) throws {
        guard input.isEmpty else {
            throw ValidationError("--input is for a model of one series; give a panel model --data with each series' last rows")
        }
        // Intervals: the calibration's quantile of scaled errors times each series' own scale.
        let steps = horizon ?? 1
        if interval != nil, steps > 1, m.options.leads < steps {
            throw ValidationError(
                "--interval is calibrated per lead for a model trained with --horizon; this one feeds its forecasts back, and the error of later steps grows: give --horizon 1, or train with --horizon \(steps)")
        }
        let calibration = try interval.map { _ in try steps > 1 ? m.leadCalibration(steps) : intervalCalibration(m) }
        if let calibration, !calibration.isPerSeries {
            throw CommandFailure("this panel checkpoint's intervals predate per-series calibration: train again")
        }
        let boundsHeader = interval == nil ? "" : ",lower,upper"
        // A series without a scale (too short in training for a naive error) has empty bounds.
        func bounds(_ v: Double, lead: Int, _ member: TrainedModel.Member) -> String {
            guard let interval, let calibration else { return "" }
            guard let scale = member.scale else { return ",," }
            let w = calibration.halfWidth(level: interval, lead: lead) * scale
            return ",\(v - w),\(v + w)"
        }
        let output = try CommandOutput(
            path: out, force: overwrite.force, inputs: [m.path] + inputPaths(try m.dataOptions(request).source))
        if let horizon {
            // Each series needs only a window (and its lag) to forecast from.
            let (members, leftOut) = try m.members(request, minimumRows: m.rowsToForecastFrom)
            if !leftOut.isEmpty { printError("note: \(leftOut.count) series with fewer than \(m.rowsToForecastFrom) rows left out") }
            try output.write(
                "series,step\(members.first.map { TimeColumn($0.series).header } ?? ""),forecast\(boundsHeader)\n")
            for member in members {
                var step = 0
                let clock = TimeColumn(member.series)
                try m.forecast(member.series, horizon: horizon, scaling: member.normalization) { value in
                    step += 1
                    try output.write(
                        "\(csvField(member.id)),\(step)\(clock.after(step)),\(value)\(bounds(value, lead: step, member))\n")
                }
            }
            return try output.commit()
        }
        if interval != nil, m.checkpoint.model.head == .every {
            throw ValidationError("--interval is for next-step predictions; this model predicts every step of a window")
        }
        let (members, leftOut) = try m.members(request)
        if !leftOut.isEmpty { printError("note: \(leftOut.count) series too short for a window left out") }
        let header = members.first.map { TimeColumn($0.series).header } ?? ""
        try output.write("series,row\(header),actual,predicted\(boundsHeader)\(request.isNewData ? "" : ",split")\n")
        for member in members {
            let d = member.data
            let clock = TimeColumn(member.series)
            for x in m.predictions(d, m.selection(d, .all)) {
                let split = request.isNewData ? "" : m.isTraining(targetRow: x.row - d.levelOffset, of: d) ? ",train" : ",validation"
                try output.write(
                    "\(csvField(member.id)),\(x.row)\(clock.at(x.row - d.levelOffset)),\(x.actual),\(x.predicted)\(bounds(x.predicted, lead: 1, member))\(split)\n")
            }
        }
        try output.commit()
    }

    /// The series `--input` gives: the target's values alone (`--input v,v,…`), or named columns
    /// (`--input x=v,v,… --input y=v,v,…`).
    static func inputSeries(_ m: TrainedModel, _ input: [String]) throws -> Series {
        let named = input.map { $0.split(separator: "=", maxSplits: 1).map(String.init) }
        if named.count == 1, named[0].count == 1 { return try m.series(values: try numbers(input[0])) }
        return try m.series(
            columns: try named.map { parts in
                guard parts.count == 2, !parts[0].isEmpty else {
                    throw ValidationError("--input given more than once names its columns: NAME=v,v,…, got '\(parts.joined(separator: "=").prefix(40))'")
                }
                return (parts[0].trimmingCharacters(in: .whitespaces), try numbers(parts[1]))
            })
    }

    /// `--input`'s numbers, each read by the rule a CSV cell is read by.
    static func numbers(_ input: String) throws -> [Double] {
        let fields = input.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        return try fields.enumerated().map { k, field in
            switch NumberText.parse(field) {
            case let .value(v): return v
            case .outOfRange:
                throw ValidationError("--input value \(k + 1), \(field.prefix(40)), is outside float32's range (±3.4e38)")
            case .notANumber:
                throw ValidationError(
                    "--input must be comma-separated decimal numbers; value \(k + 1) is '\(field.prefix(40))'")
            }
        }
    }
}

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a model against naive forecasts, in the data's units.",
        discussion: """
            Without --data: the held-out validation windows of the training data (all of it when \
            nothing was held out, or --split). With --data: every window of that data, through the \
            checkpoint's pipeline. Metrics: MAE, RMSE, MASE (scaled by the last-value forecast's \
            MAE on the training rows) and sMAPE, for the model, the last value, and with --season K \
            the value K steps before. --horizon H reports each lead 1…H with predictions fed back.

            Examples:
              elman-dist eval --checkpoint runs/temps
              elman-dist eval --checkpoint runs/temps --data later.csv --season 24
              elman-dist eval --checkpoint runs/temps --horizon 6 --json
            """)

    @OptionGroup var model: CheckpointArgument
    @OptionGroup(title: "Data") var data: DataArguments
    @OptionGroup(title: "Panels") var panel: PanelArguments
    @Option(help: "Which windows of the training data: validation, train or all (default: validation if held out).")
    var split: TrainedModel.Split?
    @Option(parsing: .unconditional, help: "Also score the seasonal naive forecast: the value this many steps before.")
    var season: Int?
    @Option(
        parsing: .unconditional,
        help: "Score leads 1…H, feeding the model's predictions back (windowed models of the target alone).")
    var horizon: Int?
    @Option(
        parsing: .unconditional,
        help: "Score only the last N predictions, every row before them read as history (a held-out tail of one file).")
    var testSize: Int?
    @Option(
        help: ArgumentHelp(
            "Score only what lies after this date and time (of the model's time column), every row before it read as history.",
            valueName: "date"))
    var cutoff: String?
    @Option(
        parsing: .unconditional,
        help: "A rolling-origin backtest: K folds of --test-size N predictions each, the last K·N of the data, errors per fold and overall.")
    var backtest: Int?
    @Flag(
        help: "With --backtest: train a new model at each fold's origin on the rows before it, with the checkpoint's settings (data-parallel under mpirun).")
    var retrain = false
    @Option(
        parsing: .unconditional,
        help: "Also score a prediction interval at this level (0.9: 90%): coverage, mean width and interval score.")
    var interval: Double?
    @Flag(help: "Print one JSON object (keys in the README).") var json = false

    func validate() throws {
        try validateInterval(interval)
        if let testSize, testSize < 1 { throw ValidationError("--test-size must be at least 1, got \(testSize)") }
        if testSize != nil && split != nil { throw ValidationError("--test-size and --split cannot be combined") }
        if cutoff != nil && (split != nil || testSize != nil) {
            throw ValidationError("--cutoff chooses what is scored: it cannot be combined with --split or --test-size")
        }
        if let backtest {
            guard backtest >= 1 else { throw ValidationError("--backtest must be at least 1, got \(backtest)") }
            guard testSize != nil else { throw ValidationError("--backtest K needs --test-size N: each fold's predictions") }
        }
        if let cutoff, Timestamp.parse(cutoff) == nil {
            throw ValidationError("--cutoff '\(cutoff)' is not a date (2010-01-31, 2010-01-31T13:00, 2010/01/31 13:00 or Jan 31 2010)")
        }
        if let season, season < 1 { throw ValidationError("--season must be at least 1, got \(season)") }
        if let horizon, horizon < 1 { throw ValidationError("--horizon must be at least 1, got \(horizon)") }
    }

    func run() throws {
        let m = try model.load()
        let request = try data.request(panel: panel)
        if request.isNewData, let split, split != .all {
            throw ValidationError("--split chooses within the training data; with --data every window is scored")
        }
        if m.isPanel { return try runPanel(m, request) }
        let series = try m.series(request)
        let d = try m.dataset(series, whole: request.isNewData)
        let cutoffTime = cutoff.flatMap { Timestamp.parse($0) }
        // A backtest's folds: K runs of N predictions, oldest first, ending with the data.
        let folds: [Range<Int>]? = try backtest.map { k in
            let n = testSize ?? 0
            guard case let .windows(all) = try m.lastPredictions(d, count: k * n) else {
                throw CommandFailure("--backtest is for windowed models")
            }
            return (0..<k).map { (all.lowerBound + $0 * n)..<(all.lowerBound + ($0 + 1) * n) }
        }
        if retrain {
            guard let folds else { throw ValidationError("--retrain needs --backtest K --test-size N") }
            return try runRetrainingBacktest(
                m, series, folds: folds, season: season ?? m.dataRecord.options.season, request: request)
        }
        let selection =
            try cutoffTime.map { try m.predictions(after: $0, d, times: series.times) }
            ?? backtest.map { try m.lastPredictions(d, count: $0 * (testSize ?? 0)) }
            ?? testSize.map { try m.lastPredictions(d, count: $0) }
            ?? (request.isNewData ? m.selection(d, .all) : split.map { m.selection(d, $0) } ?? m.defaultSelection(d))
        guard selection.count > 0 else { throw CommandFailure("no \(split?.rawValue ?? "") windows to evaluate") }
        // A seasonal model is compared with the seasonal naive of its season unless told otherwise.
        let season = season ?? m.dataRecord.options.season
        let e = m.evaluate(d, selection, season: season)
        let intervalScore = try interval.map { level in
            IntervalScore(m.predictions(d, selection), level: level, calibration: try intervalCalibration(m))
        }
        var leads: [LeadErrors]? = nil
        if let horizon, case let .windows(windows) = selection {
            // With --interval, each lead's coverage when the model gives every lead at once.
            let perLead = m.options.leads > 1 ? interval : nil
            leads = try m.evaluate(d, windows: windows, horizon: horizon, interval: perLead)
        }
        if horizon != nil && leads == nil { throw CommandFailure("--horizon needs a windowed (not stateful) model") }

        let source = (try m.dataOptions(request)).source.description
        let what =
            cutoff.map { "after \($0)" } ?? backtest.map { "last \($0 * (testSize ?? 0))" } ?? testSize.map { "last \($0)" }
            ?? (request.isNewData ? "all" : (split ?? (d.validationCount > 0 ? .validation : .all)).rawValue)
        let unit = m.dataRecord.targetName
        let foldScores: [BacktestFold]? = folds?.enumerated().map { k, w in
            let firstRow = w.lowerBound + d.seqLen
            return BacktestFold(
                fold: k + 1, firstRow: firstRow + d.levelOffset,
                firstTime: series.times.map { Timestamp.format($0[firstRow]) },
                e: m.evaluate(d, .windows(w), season: season))
        }
        if json {
            var object = EvaluationJSON(e, split: what, data: source, unit: unit, season: season, leads: leads)
            object.interval = intervalScore
            object.checkpoint = m.path
            object.backtest = foldScores
            print(try object.encoded())
            return
        }
        let kind = m.isStateful ? "predictions along one lane, its state carried," : "windows"
        let part =
            cutoffTime != nil
            ? "" : testSize != nil
            ? "last "
            : request.isNewData ? "" : what == "validation" ? "held-out validation " : what == "train" ? "training " : ""
        print(
            "\(e.windows) \(part)\(kind) of \(source)" + (cutoffTime.map { " after \(Timestamp.format($0))" } ?? "")
                + (e.model == nil ? "" : "; errors in \(unit)"))
        guard let mm = e.model, let naive = e.naive else {
            print(
                String(
                    format: "accuracy %.4f (naive: same as previous %.4f), cross-entropy %.4f", e.accuracy ?? 0,
                    e.naiveAccuracy ?? 0, e.crossEntropy ?? 0))
            return
        }
        let g = EvalTable.cell, row = EvalTable.row
        print(row("", ["MAE", "RMSE", "MASE", "sMAPE %"]))
        print(row("model", [g(mm.mae), g(mm.rmse), g(mm.mase), g(mm.smape)]))
        print(row("naive (last value)", [g(naive.mae), g(naive.rmse), g(naive.mase), g(naive.smape)]))
        if let s = e.seasonal, let season {
            print(
                row("seasonal naive (\(season))", [g(s.mae), g(s.rmse), g(s.mase), g(s.smape)]) + "   over \(s.count)")
        }
        // The verdict against the best baseline given: the last value or the seasonal naive.
        var best = (name: "the last-value forecast's", rmse: naive.rmse)
        if let s = e.seasonal, s.rmse.isFinite, s.rmse < naive.rmse, let season {
            best = ("the seasonal naive's (\(season))", s.rmse)
        }
        print(
            !(mm.rmse.isFinite && best.rmse.isFinite)
                ? "no RMSE to compare"
                : best.rmse == 0
                ? String(format: "the naive forecast is exact here (the target does not change); the model's RMSE is %.6g", mm.rmse)
                : mm.rmse < best.rmse
                ? String(format: "the model's RMSE is %.1f%% below ", 100 * (1 - mm.rmse / best.rmse)) + best.name
                : String(format: "the model's RMSE is %.1f%% above ", 100 * (mm.rmse / best.rmse - 1)) + best.name)
        if let i = intervalScore {
            print(
                String(
                    format: "%g%% interval (± %.6g %@, calibrated on %d held-out errors): coverage %.1f%%, mean width %.6g, interval score %.6g",
                    100 * i.level, i.width / 2, unit as NSString, i.calibratedOn, 100 * i.coverage, i.width, i.score))
        }
        if let foldScores { EvalTable.printFolds(foldScores, verdict: "the model's RMSE") }
        if let leads {
            let intervals = leads.first?.interval != nil
            print("")
            print(
                row(
                    "lead",
                    ["model MAE", "model RMSE", "naive MAE", "naive RMSE"]
                        + (intervals ? ["coverage", "width"] : [])))
            for l in leads {
                let i = l.interval.map { [String(format: "%.1f%%", 100 * $0.coverage), g($0.width)] } ?? []
                print(row("\(l.lead)", [g(l.model.mae), g(l.model.rmse), g(l.naive.mae), g(l.naive.rmse)] + i))
            }
        }
    }
}

extension Eval {
    /// `eval` of a panel model: every series scored in its own units, and the M4 aggregates
    /// (mean MASE and mean sMAPE across series) at the top.
    func runPanel(_ m: TrainedModel, _ request: DataRequest) throws {
        if interval != nil, horizon != nil {
            throw ValidationError("--interval with --horizon is scored for one series; for a panel, score the next step (without --horizon)")
        }
        let calibration = try interval.map { _ in try intervalCalibration(m) }
        if let calibration, !calibration.isPerSeries {
            throw CommandFailure("this panel checkpoint's intervals predate per-series calibration: train again")
        }
        var intervals: [String: IntervalScore] = [:]
        let (members, leftOut) = try m.members(request)
        let season = season ?? m.dataRecord.options.season
        var scored: [(id: String, e: Evaluation, leads: [LeadErrors]?)] = []
        for member in members {
            let d = member.data
            let selection: TrainedModel.Selection
            if let cutoff, let time = Timestamp.parse(cutoff) {
                selection = try m.predictions(after: time, d, times: member.series.times)
            } else if let testSize {
                // One rule with a single series' `--test-size`; the message names the series.
                do { selection = try m.lastPredictions(d, count: testSize) } catch {
                    throw CommandFailure("series '\(member.id)': \(Diagnostics.message(error))")
                }
            } else {
                selection = request.isNewData ? m.selection(d, .all) : split.map { m.selection(d, $0) } ?? m.defaultSelection(d)
            }
            guard selection.count > 0 else { continue }
            var leads: [LeadErrors]? = nil
            if let horizon, case let .windows(windows) = selection {
                leads = try m.evaluate(d, windows: windows, horizon: horizon, scale: member.scale)
            }
            scored.append((member.id, m.evaluate(d, selection, season: season, scale: member.scale), leads))
            if let interval, let calibration, let scale = member.scale {
                intervals[member.id] = IntervalScore(
                    m.predictions(d, selection), level: interval, calibration: calibration, scale: scale)
            }
        }
        guard !scored.isEmpty else { throw CommandFailure("no \(split?.rawValue ?? "") windows to evaluate") }
        let summary = PanelSummary(scored.map { ($0.id, $0.e) })
        let source = (try m.dataOptions(request)).source.description
        let what =
            cutoff.map { "after \($0)" } ?? testSize.map { "last \($0)" }
            ?? (request.isNewData ? "all" : (split ?? (m.dataRecord.validationWindows > 0 ? .validation : .all)).rawValue)
        if json {
            var object = PanelEvaluationJSON(
                summary, split: what, data: source, unit: m.dataRecord.targetName, season: season,
                series: scored.map { (id: $0.id, e: $0.e, leads: $0.leads) })
            object.checkpoint = m.path
            object.leftOut = leftOut.map(\.id)
            if let interval, let calibration {
                for k in object.series.indices { object.series[k].interval = intervals[object.series[k].id] }
                object.interval = PanelIntervalJSON(interval, calibration, scored.map(\.id).compactMap { intervals[$0] })
            }
            print(try object.encoded())
            return
        }
        print(
            "\(summary.windows) windows of \(scored.count) series of \(source); errors in each series' own \(m.dataRecord.targetName)"
                + (leftOut.isEmpty ? "" : "; \(leftOut.count) series too short for a window left out"))
        func g(_ v: Double?) -> String { v.flatMap { $0.isFinite ? String(format: "%.4g", $0) : nil } ?? "n/a" }
        func row(_ cells: [String]) -> String {
            cells[0].padding(toLength: 18, withPad: " ", startingAt: 0)
                + cells.dropFirst().map { String(repeating: " ", count: max(0, 11 - $0.count)) + $0 }.joined()
        }
        let shown = scored.count <= 50 ? scored[...] : scored.prefix(20)
        let intervalHeader = interval == nil ? [] : ["coverage", "width"]
        print(row(["series", "windows", "MAE", "RMSE", "MASE", "sMAPE %", "naive MASE"] + intervalHeader))
        for (id, e, _) in shown {
            let i = interval == nil ? [] : intervals[id].map { [String(format: "%.1f%%", 100 * $0.coverage), g($0.width)] } ?? ["n/a", "n/a"]
            print(row([String(id.prefix(18)), "\(e.windows)", g(e.model?.mae), g(e.model?.rmse), g(e.model?.mase), g(e.model?.smape), g(e.naive?.mase)] + i))
        }
        if shown.count < scored.count { print("… \(scored.count - shown.count) more series (--json lists every one)") }
        print("")
        print(row(["", "", "", "", "mean MASE", "mean sMAPE %"]))
        print(row(["model", "", "", "", g(summary.model.mase), g(summary.model.smape)]))
        print(row(["naive (last value)", "", "", "", g(summary.naive.mase), g(summary.naive.smape)]))
        if let s = summary.seasonal, let season {
            print(row(["seasonal (\(season))", "", "", "", g(s.mase), g(s.smape)]))
        }
        if let interval, let calibration {
            let pooled = PanelIntervalJSON(interval, calibration, Array(intervals.values))
            print(
                String(
                    format: "%g%% intervals (± %.4g × each series' naive MAE, calibrated on %d held-out errors): coverage %.1f%% over %d predictions",
                    100 * interval, calibration.halfWidth(level: interval), calibration.count, 100 * pooled.coverage, pooled.predictions))
        }
        var best = (name: "the last value's", mase: summary.naive.mase)
        if let s = summary.seasonal?.mase, let season, s < best.mase { best = ("the seasonal naive's (\(season))", s) }
        let model = summary.model.mase
        print(
            !(model.isFinite && best.mase.isFinite && best.mase > 0)
                ? "no MASE to compare (the checkpoint records no in-sample scale)"
                : String(
                    format: "the model's mean MASE is %.1f%% %@ %@", 100 * abs(1 - model / best.mase),
                    model < best.mase ? "below" : "above", best.name))
    }
}

/// A panel's aggregates over series: the mean of each series' MASE and sMAPE (the M4
/// convention: every series counts once, whatever its length or units).
struct PanelSummary {
    struct Means {
        var mase: Double
        var smape: Double
    }
    var windows: Int
    var model: Means
    var naive: Means
    var seasonal: Means?

    init(_ scored: [(id: String, e: Evaluation)]) {
        windows = scored.reduce(0) { $0 + $1.e.windows }
        func means(_ pick: (Evaluation) -> ErrorMetrics?) -> Means {
            let metrics = scored.compactMap { pick($0.e) }
            let mase = metrics.compactMap { $0.mase.flatMap { $0.isFinite ? $0 : nil } }
            let smape = metrics.map(\.smape).filter(\.isFinite)
            return Means(
                mase: mase.isEmpty ? .nan : mase.reduce(0, +) / Double(mase.count),
                smape: smape.isEmpty ? .nan : smape.reduce(0, +) / Double(smape.count))
        }
        model = means(\.model)
        naive = means(\.naive)
        seasonal = scored.contains { $0.e.seasonal != nil } ? means(\.seasonal) : nil
    }
}

/// `eval --json` of a panel model: the aggregates where one series' errors are (`mase`,
/// `smape`, `naive`, `windows`), and every series under `series`.
struct PanelEvaluationJSON: Encodable {
    struct Member: Encodable {
        var id: String
        var windows: Int
        var mse, rmse, mae, smape, mase: Double?
        var naive: EvaluationJSON.Errors?
        var seasonal: EvaluationJSON.Errors?
        var leads: [EvaluationJSON.Lead]?
        /// `--interval`: this series' coverage, width (in its units) and interval score.
        var interval: IntervalScore?
    }
    var windows: Int
    var split, data, unit: String
    var interval: PanelIntervalJSON?
    var mase, smape: Double?
    var naive: [String: Double?]
    var seasonal: [String: Double?]?
    var series: [Member]
    var checkpoint: String?
    var leftOut: [String] = []

    enum CodingKeys: String, CodingKey {
        case windows, split, data, unit, mase, smape, naive, seasonal, series, checkpoint, interval
        case leftOut = "left_out"
    }

    init(
        _ s: PanelSummary, split: String, data: String, unit: String, season: Int?,
        series: [(id: String, e: Evaluation, leads: [LeadErrors]?)]
    ) {
        windows = s.windows
        self.split = split
        self.data = data
        self.unit = unit
        mase = s.model.mase.finite
        smape = s.model.smape.finite
        naive = ["mase": s.naive.mase.finite, "smape": s.naive.smape.finite]
        if let seasonal = s.seasonal, let season {
            self.seasonal = ["season": Double(season), "mase": seasonal.mase.finite, "smape": seasonal.smape.finite]
        }
        self.series = series.map { (id, e, leads) in
            Member(
                id: id, windows: e.windows, mse: e.model?.mse.finite, rmse: e.model?.rmse.finite,
                mae: e.model?.mae.finite, smape: e.model?.smape.finite, mase: e.model?.mase?.finite,
                naive: e.naive.map(EvaluationJSON.Errors.init), seasonal: e.seasonal.map(EvaluationJSON.Errors.init),
                leads: leads?.map {
                    EvaluationJSON.Lead(lead: $0.lead, model: .init($0.model), naive: .init($0.naive))
                })
        }
    }

}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate text from a character model.",
        discussion:
            "Example:\n  elman-dist generate --checkpoint runs/story --prime 'Once upon' --length 200 --temperature 0.8"
    )

    @OptionGroup var model: CheckpointArgument
    @Option(help: "Text to start from.") var prime = ""
    @Option(parsing: .unconditional, help: "Characters to generate.") var length = 200
    @Option(parsing: .unconditional, help: "Sampling temperature; 0 picks the most likely character.") var temperature =
        1.0
    @Option(parsing: .unconditional, help: "Sampling seed.") var seed: UInt64 = 0

    func validate() throws {
        if length < 0 { throw ValidationError("--length must be at least 0, got \(length)") }
        guard temperature.isFinite, temperature >= 0 else {
            throw ValidationError("--temperature must be a finite number ≥ 0, got \(temperature)")
        }
    }

    func run() throws {
        let m = try model.load()
        // Streamed: any --length runs in constant memory, and the text shows as it is made.
        var pending = 0
        try m.generate(prime: prime, length: length, temperature: temperature, seed: seed) { piece in
            print(piece, terminator: "")
            pending += 1
            if pending >= 4096 {
                pending = 0
                try checkStandardOutput()
            }
        }
        print("")
        try checkStandardOutput()
    }
}

/// A series' time column in predict's output: a `time` column (ISO 8601, UTC) after the row
/// or step, the rows' own times, and a forecast's the series' step on from its last. Empty
/// strings when the model has no time column.
struct TimeColumn {
    let times: [Double]?
    let step: TimeStep?
    /// Dates alone, when every time is a midnight.
    let dateOnly: Bool

    init(_ series: Series) {
        times = series.times
        step = series.times.flatMap { TimeStep(inferringFrom: $0) }
        dateOnly = series.times.map(Timestamp.datesOnly) ?? false
    }

    var header: String { times == nil ? "" : ",time" }

    /// ",time" of dataset row `row`.
    func at(_ row: Int) -> String {
        guard let times, times.indices.contains(row) else { return times == nil ? "" : "," }
        return "," + Timestamp.format(times[row], dateOnly: dateOnly)
    }

    /// ",time" of the forecast `k` steps past the end.
    func after(_ k: Int) -> String {
        guard let times, let last = times.last else { return "" }
        return "," + (step.map { Timestamp.format($0.advance(last, by: k), dateOnly: dateOnly) } ?? "")
    }
}

/// One fold of `eval --backtest`: its predictions' errors; JSON `backtest: [{fold, first_row,
/// first_time, windows, model, naive, seasonal}]`.
/// `eval`'s text tables: 26-character names, 13-character cells, six significant digits.
enum EvalTable {
    /// A value, or n/a when it could not be measured.
    static func cell(_ v: Double?) -> String { v.flatMap { $0.isFinite ? String(format: "%.6g", $0) : nil } ?? "n/a" }

    static func row(_ name: String, _ cells: [String]) -> String {
        name.padding(toLength: 26, withPad: " ", startingAt: 0)
            + cells.map { String(repeating: " ", count: max(0, 13 - $0.count)) + $0 }.joined()
    }

    /// A backtest's folds, a row each (and `pooled`, the row over all of them, when given),
    /// then how many folds the model won: "`verdict` is below every baseline's in W of K folds".
    static func printFolds(_ folds: [BacktestFold], pooled: [Double?]? = nil, verdict: String) {
        print("")
        print(row("fold (first target)", ["model RMSE", "naive RMSE", "season RMSE", "model MASE"]))
        for f in folds {
            print(
                row(
                    "\(f.fold) (\(f.firstTime ?? String(f.firstRow)))",
                    [cell(f.e.model?.rmse), cell(f.e.naive?.rmse), cell(f.e.seasonal?.rmse), cell(f.e.model?.mase)]))
        }
        if let pooled { print(row("all folds", pooled.map(cell) + [""])) }
        let wins = folds.filter {
            ($0.e.model?.rmse ?? .infinity) < min($0.e.naive?.rmse ?? .infinity, $0.e.seasonal?.rmse ?? .infinity)
        }.count
        print("\(verdict) is below every baseline's in \(wins) of \(folds.count) folds")
    }
}

struct BacktestFold: Encodable {
    var fold: Int
    /// The row of the fold's first target (in the file's rows), and its time with a time column.
    var firstRow: Int
    var firstTime: String?
    var e: Evaluation

    enum CodingKeys: String, CodingKey {
        case fold, windows, model, naive, seasonal
        case firstRow = "first_row", firstTime = "first_time"
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(fold, forKey: .fold)
        try c.encode(firstRow, forKey: .firstRow)
        try c.encode(firstTime, forKey: .firstTime)
        try c.encode(e.windows, forKey: .windows)
        try c.encode(e.model.map(EvaluationJSON.Errors.init), forKey: .model)
        try c.encode(e.naive.map(EvaluationJSON.Errors.init), forKey: .naive)
        try c.encode(e.seasonal.map(EvaluationJSON.Errors.init), forKey: .seasonal)
    }
}

/// A CSV field: quoted when it holds a comma, a quote or a line break (a series identity may).
func csvField(_ s: String) -> String {
    guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
    return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}

/// `eval --json`: one object whose keys are documented in the README and stay stable.
/// A value that is not finite (or not measured) is null.
struct EvaluationJSON: Encodable {
    /// Errors of one forecaster.
    struct Errors: Encodable {
        var mse, rmse, mae, smape, mase: Double?
        var count: Int
        enum CodingKeys: String, CodingKey { case mse, rmse, mae, smape, mase, count }
        /// Every key, a value not measured as null (the synthesized encoding would leave it out).
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(mse, forKey: .mse)
            try c.encode(rmse, forKey: .rmse)
            try c.encode(mae, forKey: .mae)
            try c.encode(smape, forKey: .smape)
            try c.encode(mase, forKey: .mase)
            try c.encode(count, forKey: .count)
        }
        init(_ m: ErrorMetrics) {
            mse = m.mse.finite
            rmse = m.rmse.finite
            mae = m.mae.finite
            smape = m.smape.finite
            mase = m.mase?.finite
            count = m.count
        }
    }
    struct Lead: Encodable {
        var lead: Int
        var model, naive: Errors
        /// `--interval`: the lead's coverage and width (a model trained with `horizon`).
        var interval: LeadInterval?
    }
    struct Seasonal: Encodable {
        var season: Int
        var errors: Errors
        func encode(to encoder: Encoder) throws {
            try errors.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(season, forKey: .season)
        }
        enum CodingKeys: String, CodingKey { case season }
    }

    var windows: Int
    var split, data: String
    var unit: String?
    // The model's errors at the top level (regression), or its accuracy (text).
    var mse, rmse, mae, smape, mase: Double?
    var accuracy, crossEntropy: Double?
    var naive: [String: Double?]
    var seasonal: Seasonal?
    var leads: [Lead]?
    var interval: IntervalScore?
    /// The checkpoint file scored.
    var checkpoint: String?
    /// A backtest's folds.
    var backtest: [BacktestFold]?

    enum CodingKeys: String, CodingKey {
        case windows, split, data, unit, mse, rmse, mae, smape, mase, accuracy, naive, seasonal, leads, interval
        case checkpoint, backtest
        case crossEntropy = "cross_entropy"
    }

    init(_ e: Evaluation, split: String, data: String, unit: String, season: Int?, leads: [LeadErrors]?) {
        windows = e.windows
        self.split = split
        self.data = data
        if let model = e.model, let n = e.naive {
            self.unit = unit
            (mse, rmse, mae, smape, mase) = (
                model.mse.finite, model.rmse.finite, model.mae.finite, model.smape.finite, model.mase?.finite
            )
            naive = [
                "mse": n.mse.finite, "rmse": n.rmse.finite, "mae": n.mae.finite, "smape": n.smape.finite,
                "mase": n.mase?.finite,
            ]
            if let s = e.seasonal, let season { seasonal = Seasonal(season: season, errors: Errors(s)) }
            self.leads = leads?.map {
                Lead(lead: $0.lead, model: Errors($0.model), naive: Errors($0.naive), interval: $0.interval)
            }
        } else {
            accuracy = e.accuracy?.finite
            crossEntropy = e.crossEntropy?.finite
            naive = ["accuracy": e.naiveAccuracy?.finite]
        }
    }

}

extension TrainedModel.Split: ExpressibleByArgument {}

extension Encodable {
    /// The value as one line of JSON with sorted keys: `eval --json`'s objects.
    func encoded() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

extension Double {
    /// The value, or nil when it is NaN or infinite (JSON has no such numbers).
    var finite: Double? { isFinite ? self : nil }
}

/// Checks an `--interval` level.
func validateInterval(_ level: Double?) throws {
    guard let level else { return }
    guard level > 0, level < 1 else { throw ValidationError("--interval must be a level between 0 and 1 (0.9 for 90%), got \(level)") }
}

/// The model's interval calibration, or a one-line error saying why it has none.
func intervalCalibration(_ m: TrainedModel) throws -> Calibration {
    guard let calibration = m.checkpoint.calibration else {
        throw CommandFailure(
            m.isStateful || m.dataRecord.vocabulary != nil
                ? "--interval is for windowed models of numeric series"
                : "this checkpoint has no interval calibration (it held out no validation windows, or predates intervals): train with --val-fraction above 0"
        )
    }
    return calibration
}

/// A panel's intervals over all its series (`eval --interval --json`, key `interval`): the
/// pooled coverage, and the half-width in units of each series' scale (in-sample naive MAE).
struct PanelIntervalJSON: Encodable {
    var level: Double
    var coverage: Double
    var predictions: Int
    var scaledHalfWidth: Double
    var calibratedOn: Int

    enum CodingKeys: String, CodingKey {
        case level, coverage, predictions
        case scaledHalfWidth = "scaled_half_width"
        case calibratedOn = "calibrated_on"
    }

    init(_ level: Double, _ calibration: Calibration, _ series: [IntervalScore]) {
        self.level = level
        predictions = series.reduce(0) { $0 + $1.predictions }
        coverage = series.reduce(0.0) { $0 + $1.coverage * Double($1.predictions) } / Double(max(predictions, 1))
        scaledHalfWidth = calibration.halfWidth(level: level)
        calibratedOn = calibration.count
    }
}

/// How a prediction interval did on scored predictions: `eval --interval`, JSON key `interval`.
struct IntervalScore: Encodable {
    var level: Double
    /// The share of actual values inside [prediction − w/2, prediction + w/2].
    var coverage: Double
    /// The interval's width, in the target's units (the same for every prediction).
    var width: Double
    /// The mean interval (Winkler) score: width, plus 2/α times how far each miss lies outside.
    var score: Double
    /// How many held-out errors calibrated it.
    var calibratedOn: Int
    /// How many predictions were scored.
    var predictions: Int

    enum CodingKeys: String, CodingKey {
        case level, coverage, width, score
        case calibratedOn = "calibrated_on"
    }

    /// `scale`: what the calibration's unit is worth in the target's (a panel series' naive MAE).
    init(_ predictions: [Prediction], level: Double, calibration: Calibration, scale: Double = 1) {
        self.level = level
        self.predictions = predictions.count
        let halfWidth = calibration.halfWidth(level: level) * scale
        width = 2 * halfWidth
        calibratedOn = calibration.count
        let alpha = 1 - level
        var inside = 0, total = 0.0
        for p in predictions {
            let lower = p.predicted - halfWidth, upper = p.predicted + halfWidth
            if p.actual >= lower && p.actual <= upper { inside += 1 }
            total += width + 2 / alpha * (max(0, lower - p.actual) + max(0, p.actual - upper))
        }
        let n = Double(max(predictions.count, 1))
        coverage = Double(inside) / n
        score = total / n
    }
}
