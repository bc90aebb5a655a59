import ArgumentParser
import ElmanCore
import ElmanData
import ElmanRun
import ElmanTraining
import Foundation

extension Activation: ExpressibleByArgument {}
extension HeadMode: ExpressibleByArgument {}
extension LossKind: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension NormalizationKind: ExpressibleByArgument {}
extension MissingPolicy: ExpressibleByArgument {}
extension NonFinitePolicy: ExpressibleByArgument {}
extension LearningRateSchedule.Decay: ExpressibleByArgument {}

/// Where the data comes from: shared by train, predict, eval and plot.
struct DataArguments: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "CSV file, 'formula:EXPR' (in x), 'sine', or a text file ('text:PATH' or *.txt).",
            valueName: "source"))
    var data: String?

    @Option(help: "CSV column to predict (formula and sine: 'y').")
    var target: String?

    @Option(help: ArgumentHelp("Input columns, comma-separated (default: the target alone).", valueName: "col,col"))
    var features: String?

    @Option(
        name: .customLong("where"),
        help: ArgumentHelp("Keep rows whose COLUMN equals VALUE (long-format files).", valueName: "column=value"))
    var filter: String?

    @Option(
        help: "A missing or non-numeric value in a used column: error, drop (the row) or ffill (repeat the previous).")
    var missing: MissingPolicy?

    @Option(parsing: .unconditional, help: "Formula and sine: number of points (default 1000).")
    var points: Int?

    @Option(parsing: .unconditional, help: "Formula and sine: distance between consecutive x (default 0.1).")
    var xStep: Double?

    @Option(parsing: .unconditional, help: "Formula and sine: first x (default 0).")
    var xStart: Double?

    @Option(
        help: ArgumentHelp(
            "The column of each row's date and time (2010-01-31, 2010-01-31T13:00, 2010/01/31 13:00, Jan 31 2010): forecasts carry timestamps, eval takes --cutoff.",
            valueName: "column"))
    var timeColumn: String?

    @Option(
        help: ArgumentHelp(
            "Calendar inputs from the time column, each a sine/cosine pair: hour, weekday, month (known at every future step).",
            valueName: "part,part"))
    var calendar: String?

    @Flag(
        inversion: .prefixedNo,
        help: """
            Model changes (v[t] − v[t−1]) instead of levels; forecasts add them back (default for CSV files, \
            which are measured series; --no-difference models levels).
            """)
    var difference: Bool?

    /// What the flags say about the data, as a request (settings left out are nil); `season` is
    /// train's `--season`.
    func request(season: Int? = nil, panel: PanelArguments? = nil) throws -> DataRequest {
        let series = panel?.series, seriesColumns = panel?.seriesColumns
        let feats = features.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
        if let feats, feats.isEmpty || feats.contains("") {
            throw ValidationError("--features must name at least one column")
        }
        let columns = seriesColumns.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } }
        if let columns, columns.isEmpty || columns.contains("") {
            throw ValidationError("--series-columns must name at least one column, or be 'all'")
        }
        if series != nil && columns != nil {
            throw ValidationError("--series (a long file) and --series-columns (a wide one) cannot be combined")
        }
        if let series, series.isEmpty { throw ValidationError("--series must name a column") }
        var parts: [CalendarPart]? = nil
        if let calendar {
            parts = []
            for word in calendar.split(separator: ",", omittingEmptySubsequences: false) {
                let w = word.trimmingCharacters(in: .whitespaces)
                guard let part = CalendarPart(rawValue: w) else {
                    throw ValidationError("--calendar takes hour, weekday and month, comma-separated; got '\(w)'")
                }
                guard parts?.contains(part) == false else { throw ValidationError("--calendar names \(w) twice") }
                parts?.append(part)
            }
        }
        return DataRequest(
            source: try data.map { (d) throws(DataError) in try DataSpec(parsing: d) }, target: target, features: feats,
            filter: filter, missing: missing, difference: difference, season: season, points: points, xStep: xStep,
            xStart: xStart, series: series, seriesColumns: columns, timeColumn: timeColumn, calendar: parts)
    }

    /// A new run's data options, or nil when --data was not given.
    func options(season: Int? = nil, panel: PanelArguments? = nil) throws -> DataOptions? {
        let request = try request(season: season, panel: panel)
        guard request.source != nil else {
            if target != nil || features != nil || filter != nil || difference != nil || season != nil
                || request.series != nil || request.seriesColumns != nil || timeColumn != nil || calendar != nil
            {
                throw ValidationError(
                    "--target, --features, --where, --difference, --season, --series, --series-columns and --time-column need --data")
            }
            return nil
        }
        return try request.options()
    }
}

/// Which series a file holds, for a panel: shared by train, predict and eval (plot's `--series`
/// names one series to draw).
struct PanelArguments: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "A panel in long format: the column naming each row's series; one model learns them all, each scaled on its own.",
            valueName: "column"))
    var series: String?

    @Option(
        help: ArgumentHelp(
            "A panel in wide format: these columns are the series (or 'all': every numeric column).",
            valueName: "col,col|all"))
    var seriesColumns: String?
}
