/// What a command asks of a trained model's data: perhaps a new source, and settings that
/// must agree with what the model was trained on.
///
/// The checkpoint is the single source of the data pipeline. `DataOptions.resolving(_:)` is
/// the one rule every command (eval, predict, plot, train --resume) uses: only the source
/// may change; a setting that repeats the checkpoint's is accepted, one that contradicts it
/// is an error naming both values.
public struct DataRequest: Equatable, Sendable {
    /// A new source, or nil for the data the model was trained on.
    public var source: DataSpec?
    public var target: String?
    public var features: [String]?
    public var filter: String?
    public var missing: MissingPolicy?
    /// Whether to model changes; nil when not said (a new run then differences CSV series).
    public var difference: Bool?
    /// Model seasonal changes of this period (train's `--season`); nil when not said.
    public var season: Int?
    /// Sampling of a formula or sine source: part of the source, so it may change.
    public var points: Int?
    public var xStep: Double?
    public var xStart: Double?
    /// A long panel's series column; nil when not said.
    public var series: String?
    /// A wide panel's series columns; nil when not said.
    public var seriesColumns: [String]?
    /// The time column; nil when not said.
    public var timeColumn: String?
    /// Calendar inputs; nil when not said.
    public var calendar: [CalendarPart]?

    public init(
        source: DataSpec? = nil, target: String? = nil, features: [String]? = nil, filter: String? = nil,
        missing: MissingPolicy? = nil, difference: Bool? = nil, season: Int? = nil, points: Int? = nil,
        xStep: Double? = nil, xStart: Double? = nil, series: String? = nil, seriesColumns: [String]? = nil,
        timeColumn: String? = nil, calendar: [CalendarPart]? = nil
    ) {
        self.timeColumn = timeColumn
        self.calendar = calendar
        self.series = series
        self.seriesColumns = seriesColumns
        self.season = season
        self.source = source
        self.target = target
        self.features = features
        self.filter = filter
        self.missing = missing
        self.difference = difference
        self.points = points
        self.xStep = xStep
        self.xStart = xStart
    }

    /// Whether the request names data other than the training data (a source or its sampling).
    public var isNewData: Bool { source != nil || points != nil || xStep != nil || xStart != nil }

    /// A new run's data options from the request alone (every setting at its default when unsaid).
    ///
    /// A CSV series or a formula is modelled as changes unless the request says otherwise:
    /// measured series (temperatures, prices, sensors) and formulas leave their training range,
    /// where a model of levels fails and one of changes does not (measured on every bundled
    /// series and on x**2 and 2*x+1: README, "What to expect").
    public func options() throws(DataError) -> DataOptions {
        guard let source else { throw DataError.usage("`data` is required") }
        var grid = SamplingGrid()
        if let points { grid.points = points }
        if let xStep { grid.step = xStep }
        if let xStart { grid.start = xStart }
        if let season {
            guard season >= 2 else { throw DataError.usage("`season` must be at least 2, got \(season)") }
            guard difference != false else {
                throw DataError.usage("`season` models seasonal changes; it cannot be combined with `noDifference`")
            }
            guard !source.isText else { throw DataError.usage("`season` is for numeric series, not text") }
        }
        if calendar != nil, timeColumn == nil {
            throw DataError.usage("`calendar` reads the time column: give `timeColumn`")
        }
        if timeColumn != nil {
            guard source.isCSV else { throw DataError.usage("`timeColumn` names a column of a CSV file") }
        }
        if series != nil || seriesColumns != nil {
            guard source.isCSV else { throw DataError.usage("a panel (`series`, `seriesColumns`) is read from a CSV file") }
        }
        return DataOptions(
            source: source, target: seriesColumns == nil ? target : (target ?? Series.widePanelTarget), features: features,
            filter: filter, missing: missing ?? .error, grid: grid, difference: difference ?? source.differencedByDefault,
            season: season, series: series, seriesColumns: seriesColumns, timeColumn: timeColumn, calendar: calendar)
    }
}

extension DataOptions {
    /// These (a checkpoint's) options with the request's source, after checking that every
    /// setting the request states agrees with them.
    public func resolving(_ request: DataRequest) throws(DataError) -> DataOptions {
        func agree<T: Equatable>(_ name: String, _ asked: T?, _ trained: T, _ show: (T) -> String) throws(DataError) {
            guard let asked, asked != trained else { return }
            let was = show(trained).isEmpty ? "no `\(name)`" : "`\(name)` \(show(trained))"
            throw DataError.usage("`\(name)` \(show(asked)) contradicts the checkpoint, which was trained with \(was)")
        }
        let trainedTarget = target ?? (source.isText ? "char" : "y")
        try agree("target", request.target, trainedTarget) { $0 }
        try agree("features", request.features, features ?? [trainedTarget]) { $0.joined(separator: ",") }
        try agree("where", request.filter, filter ?? "") { $0 }
        try agree("missing", request.missing, missing) { $0.rawValue }
        if let asked = request.difference, asked != difference {
            throw DataError(
                asked
                    ? "`difference` contradicts the checkpoint, which was trained on levels, not differences"
                    : "`noDifference` contradicts the checkpoint, which was trained on differences")
        }
        try agree("season", request.season, season ?? 0) { $0 == 0 ? "" : "\($0)" }
        try agree("series", request.series, series ?? "") { $0 }
        try agree("seriesColumns", request.seriesColumns, seriesColumns ?? []) { $0.joined(separator: ",") }
        try agree("timeColumn", request.timeColumn, timeColumn ?? "") { $0 }
        try agree("calendar", request.calendar, calendar ?? []) { $0.map(\.rawValue).joined(separator: ",") }
        var resolved = self
        if let source = request.source {
            // A model reads one kind of data: a text file given to a CSV model (or the reverse)
            // would otherwise fail later on a setting it never mentioned.
            guard source.kind == self.source.kind else {
                throw DataError.usage(
                    "`data` \(source) is \(source.kind), but the model was trained on \(self.source.kind) (\(self.source))")
            }
            resolved.source = source
            resolved.grid = SamplingGrid()
        }
        if let points = request.points { resolved.grid.points = points }
        if let xStep = request.xStep { resolved.grid.step = xStep }
        if let xStart = request.xStart { resolved.grid.start = xStart }
        return resolved
    }
}
