import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Everything that decides what the data is, as a user states it.
public struct DataOptions: Equatable, Sendable, Codable {
    public var source: DataSpec
    /// Column to predict (CSV; `y` for formula and sine).
    public var target: String?
    /// Input columns; default: the target alone.
    public var features: [String]?
    /// Keep only rows where a column equals a value, `symbol=AAPL`.
    public var filter: String?
    public var missing: MissingPolicy
    public var grid: SamplingGrid
    /// Model first differences (v[r] − v[r−1]) instead of levels: for trending series such as prices.
    public var difference: Bool
    /// Model seasonal changes v[r] − v[r−season] instead (implies `difference`): the model then
    /// starts as the seasonal-naive forecast. Nil for none (and in checkpoints before it existed).
    public var season: Int?
    /// A panel in long format: the column naming each row's series (`--series`). Nil for one series.
    public var series: String?
    /// A panel in wide format: the columns that are series (`--series-columns`); `["all"]` for
    /// every numeric column. Nil for one series.
    public var seriesColumns: [String]?
    /// The column of each row's date and time (`--time-column`): forecasts carry timestamps
    /// and `eval --cutoff` scores what lies after a date. Nil for none.
    public var timeColumn: String?
    /// Calendar inputs from the time column (`--calendar`), each a sine and cosine column after
    /// the features. Nil for none.
    public var calendar: [CalendarPart]?

    /// The differencing lag of a model of changes: the season, or 1.
    public var lag: Int { season ?? 1 }

    /// Whether the data is a panel of series (long or wide format).
    public var isPanel: Bool { series != nil || seriesColumns != nil }

    public init(
        source: DataSpec, target: String? = nil, features: [String]? = nil, filter: String? = nil,
        missing: MissingPolicy = .error, grid: SamplingGrid = SamplingGrid(), difference: Bool = false,
        season: Int? = nil, series: String? = nil, seriesColumns: [String]? = nil, timeColumn: String? = nil,
        calendar: [CalendarPart]? = nil
    ) {
        self.timeColumn = timeColumn
        self.calendar = calendar
        self.difference = difference || season != nil
        self.season = season
        self.series = series
        self.seriesColumns = seriesColumns
        self.source = source
        self.target = target
        self.features = features
        self.filter = filter
        self.missing = missing
        self.grid = grid
    }
}

/// A series loaded from its source, before any windowing or scaling: values in original units.
public struct Series: Sendable {
    /// Input features, one column each, or nil for text.
    public var featureColumns: [[Double]]
    /// Feature names.
    public var featureNames: [String]
    /// The target column (original units), or for text the character classes.
    public var target: [Double]
    public var targetName: String
    /// For text: the characters, class i = vocabulary[i]; nil for numeric data.
    public var vocabulary: [String]?
    /// When the columns hold differences: the target's levels, `lag` rows longer
    /// (levels[r + lag] = levels[r] + target[r]).
    public var levels: [Double]?
    /// The differencing lag: 0 for levels, 1 for changes from one row to the next, K for
    /// seasonal changes (the value K rows earlier subtracted).
    public var lag = 0
    /// For text: the character classes, compactly (then `target` is empty).
    public var classes: ClassIndices?
    /// For a panel: which rows are whose (levels are then `lag` rows longer per series).
    public var panel: PanelIndex?
    /// With a time column: the time of each row (seconds since 1970), rows as `target`'s.
    public var times: [Double]?
    /// The last this many feature columns are known inputs (calendar): never differenced.
    public var knownColumns = 0
    /// Series of the panel left out for having too few rows, with their row counts.
    public var leftOut: [(id: String, rows: Int)] = []

    public init(
        featureColumns: [[Double]], featureNames: [String], target: [Double], targetName: String,
        vocabulary: [String]?
    ) {
        self.featureColumns = featureColumns
        self.featureNames = featureNames
        self.target = target
        self.targetName = targetName
        self.vocabulary = vocabulary
    }

    /// Number of rows.
    public var rowCount: Int { classes?.count ?? target.count }

    /// The series of differences at `lag`: row r holds v[r+lag] − v[r] of every column (first
    /// differences for lag 1, seasonal ones for a season's length), and `levels` keeps the
    /// target's original values.
    public func differenced(lag: Int = 1) throws(DataError) -> Series {
        guard vocabulary == nil else { throw DataError("`difference` is for numeric series, not text") }
        guard levels == nil else { return self }
        var s = self
        try s.difference(lag: lag)
        return s
    }

    /// `differenced(lag:)` in place: each column's changes are written over its values (row r
    /// reads rows r and r + lag, which no earlier row has overwritten), so a file's columns are
    /// not held twice (5M rows × 3 columns: 120 MB of doubles less at the peak). Only the
    /// target's levels are kept as a copy.
    public mutating func difference(lag: Int = 1) throws(DataError) {
        guard vocabulary == nil else { throw DataError("`difference` is for numeric series, not text") }
        guard levels == nil else { return }
        if let panel { return try differencePanel(panel, lag: lag) }
        guard lag == 1 || lag < rowCount else {
            throw DataError.usage("`season` \(lag) needs more than \(lag) rows; the data has \(rowCount)")
        }
        func diff(_ c: inout [Double]) {
            let n = c.count
            guard n > lag else { return c.removeAll() }
            c.withUnsafeMutableBufferPointer { v in
                for r in 0..<(n - lag) { v[r] = v[r + lag] - v[r] }
            }
            c.removeLast(lag)
        }
        // Known inputs (calendar) are positions, not levels: kept, from the first change's row.
        levels = target
        diff(&target)  // a copy: the levels keep the values
        let known = featureColumns.count - knownColumns
        for f in featureColumns.indices {
            if featureNames[f] == targetName {
                featureColumns[f] = target  // the target's changes as an input: one array (5M rows: 40 MB)
            } else if f < known {
                diff(&featureColumns[f])
            } else {
                featureColumns[f].removeFirst(min(lag, featureColumns[f].count))
            }
        }
        self.lag = lag
        if var t = times {
            times = nil  // the one reference, so that dropping rows does not copy the rest
            t.removeFirst(min(lag, t.count))
            times = t
        }
    }

    /// `differenced(lag:)` series by series: each loses its first `lag` rows to the differences
    /// (a series of no more rows is left out), and its levels stay whole.
    ///
    /// In place, as `difference(lag:)`: kept row r of series s is written at r − lag·(s + 1)
    /// less the rows of series left out before it, never after a row still to be read; the
    /// levels are the target's own array (a copy only when a series is left out).
    private mutating func differencePanel(_ panel: PanelIndex, lag: Int) throws(DataError) {
        var kept: [Range<Int>] = [], ids: [String] = [], ends: [Int] = []
        for s in 0..<panel.count {
            let rows = panel.rows(s)
            guard rows.count > lag else {
                leftOut.append((panel.ids[s], rows.count))
                continue
            }
            kept.append(rows)
            ids.append(panel.ids[s])
            ends.append((ends.last ?? 0) + rows.count - lag)
        }
        guard let count = ends.last else { throw DataError.usage(Series.noSeriesMessage(leftOut, needed: lag + 1)) }
        // Row by row over the kept series: a change (v[r] − v[r − lag]) or, for a position (a
        // known input, a time), the value itself.
        func compact(_ c: inout [Double], changes: Bool) {
            c.withUnsafeMutableBufferPointer { v in
                var o = 0
                for rows in kept {
                    for r in rows.dropFirst(lag) {
                        v[o] = changes ? v[r] - v[r - lag] : v[r]
                        o += 1
                    }
                }
            }
            c.removeLast(c.count - count)
        }
        levels = kept.count == panel.count ? target : kept.flatMap { target[$0] }
        compact(&target, changes: true)  // a copy: the levels keep the values
        let known = featureColumns.count - knownColumns
        for f in featureColumns.indices {
            // The target's own changes as an input share its array (a panel of 10M rows: 80 MB less).
            if featureNames[f] == targetName {
                featureColumns[f] = target
            } else {
                compact(&featureColumns[f], changes: f < known)
            }
        }
        if var t = times {
            times = nil  // the one reference: compacted in place
            compact(&t, changes: false)
            times = t
        }
        self.lag = lag
        self.panel = PanelIndex(ids: ids, ends: ends)
    }

    /// The message for a panel none of whose series has `needed` rows.
    static func noSeriesMessage(_ leftOut: [(id: String, rows: Int)], needed: Int) -> String {
        let most = leftOut.map(\.rows).max() ?? 0
        return "no series of the panel has the \(needed) rows a window needs (\(leftOut.count) series, the longest \(most) rows)"
    }

    /// The first `rows` rows of one series (of its changes, for a differenced series: the levels
    /// keep their `lag` rows more), as the data stood when row `rows` was still to come.
    public func prefix(rows n: Int) -> Series {
        precondition(panel == nil && classes == nil && n <= rowCount, "prefix: one numeric series of at least \(n) rows")
        var s = Series(
            featureColumns: featureColumns.map { Array($0.prefix(n)) }, featureNames: featureNames,
            target: Array(target.prefix(n)), targetName: targetName, vocabulary: nil)
        s.levels = levels.map { Array($0.prefix(n + lag)) }
        s.lag = lag
        s.times = times.map { Array($0.prefix(n)) }
        s.knownColumns = knownColumns
        return s
    }

    /// The series of a panel one by one, each a series of its own (levels included); one
    /// series is itself, named by `id`.
    public func split(id: String = "") -> [(id: String, series: Series)] {
        guard let panel else { return [(id, self)] }
        return (0..<panel.count).map { s in
            let rows = panel.rows(s)
            var one = Series(
                featureColumns: featureColumns.map { Array($0[rows]) }, featureNames: featureNames,
                target: Array(target[rows]), targetName: targetName, vocabulary: nil)
            one.times = times.map { Array($0[rows]) }
            one.knownColumns = knownColumns
            if let levels {
                one.levels = Array(levels[(rows.lowerBound + lag * s)..<(rows.upperBound + lag * (s + 1))])
                one.lag = lag
            }
            return (panel.ids[s], one)
        }
    }

    /// Loads `options.source`. For text, `vocabulary` fixes the classes (from a checkpoint);
    /// characters outside it are an error.
    public static func load(_ options: DataOptions, vocabulary fixed: [String]? = nil) throws(DataError) -> Series {
        var series = try loadLevels(options, vocabulary: fixed)
        if let parts = options.calendar, !parts.isEmpty {
            guard let times = series.times else {
                throw DataError.usage("`calendar` reads the time column: give `timeColumn`")
            }
            series.featureColumns += CalendarPart.columns(parts, times: times)
            series.featureNames += parts.flatMap(\.columnNames)
            series.knownColumns = 2 * parts.count
        }
        if options.difference { try series.difference(lag: options.lag) }
        return series
    }

    private static func loadLevels(_ options: DataOptions, vocabulary fixed: [String]?) throws(DataError) -> Series {
        switch options.source {
        case let .text(path):
            let (classes, vocabulary) = try TextReader.read(path, vocabulary: fixed)
            var series = Series(
                featureColumns: [], featureNames: ["char"], target: [], targetName: "char", vocabulary: vocabulary)
            series.classes = classes
            return series
        case let .csv(path) where options.seriesColumns != nil:
            return try wide(path: path, options)
        case let .csv(path):
            guard let target = options.target else {
                let header = (try? CSVReader.header(path: path)) ?? []
                throw DataError.usage("`target` is required for a CSV file (columns: \(header.joined(separator: ", ")))")
            }
            let features = options.features ?? [target]
            var filter: (String, String)? = nil
            if let f = options.filter {
                let parts = f.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty else {
                    throw DataError.usage("`where` must be COLUMN=VALUE, got '\(f)'")
                }
                filter = (parts[0], parts[1])
            }
            var names = [target]
            for f in features where !names.contains(f) { names.append(f) }
            if let key = options.series {
                guard !names.contains(key) else {
                    throw DataError.usage("`series` \(key) names the series; it cannot also be the target or a feature")
                }
            }
            var reader = CSVReader(columns: names, filter: filter, missing: options.missing, key: options.series)
            reader.time = options.timeColumn
            let table = try reader.read(path: path)
            var series = Series(
                featureColumns: try features.map { (f) throws(DataError) in try table.column(f) },
                featureNames: features, target: try table.column(target), targetName: target, vocabulary: nil)
            series.times = table.times
            if let keys = table.keys { series.group(keys: keys, ids: table.keyValues) }
            return series
        case let .formula(text):
            let f = try Formula(text)
            return try synthetic(options, try options.grid.table(f.evaluate, name: "formula '\(text)'"))
        case .sine:
            return try synthetic(options, try options.grid.table(sin, name: "sine"))
        }
    }

    private static func synthetic(_ options: DataOptions, _ table: Table) throws(DataError) -> Series {
        let target = options.target ?? "y"
        let features = options.features ?? [target]
        return Series(
            featureColumns: try features.map { (f) throws(DataError) in try table.column(f) },
            featureNames: features, target: try table.column(target), targetName: target, vocabulary: nil)
    }
}

/// A series, scaled, split into training and validation, and read as windows or as lanes.
///
/// Two ways to cut it, chosen by `split`:
///
/// - `.windows` (stateless): window i covers rows i … i+T−1. With head `.last` its target is
///   the target column at row i+T; with head `.every` the target of step t is at row i+t+1.
///   Windows 0 ..< trainCount train; the last `validationCount` (in time order) validate.
///   Scaling is fitted on the rows the training windows touch (0 ..< trainCount + T).
/// - `.stream` (stateful truncated BPTT): rows 0 ..< trainCount train and the last
///   `validationCount` rows validate; input row r predicts the target at row r+1. `LanePlan`
///   cuts the training rows into lanes. Scaling is fitted on the training rows.
public struct WindowedDataset: Sendable {
    /// How the rows are cut into training examples.
    public enum Split: String, Sendable, Codable {
        case windows
        case stream
    }

    public let split: Split
    public let seqLen: Int
    /// Input width per step: number of features, or vocabulary size for text (one-hot).
    public let inputSize: Int
    /// 1 for regression, the vocabulary size for text.
    public let outputSize: Int
    public let vocabulary: [String]?
    public let normalization: Normalization
    /// Training windows (`.windows`) or training rows (`.stream`): 0 ..< trainCount.
    public let trainCount: Int
    /// Validation windows or rows: trainCount ..< trainCount + validationCount.
    public let validationCount: Int
    /// Fingerprint of the scaled inputs and targets and the split (hashed on first use).
    public var fingerprint: UInt64 { pendingFingerprint.value }
    /// The fingerprint's last and longest part, every value, hashed when it is first read: a
    /// caller may read it on one core while it does other serial work on another.
    private let pendingFingerprint: PendingFingerprint

    /// Dense inputs (rows × inputSize), scaled; empty for text.
    private let inputs: [Float]
    /// Scaled targets (rows); empty for text.
    private let targets: [Float]
    /// For text: the class of every row (its one-hot input and its target).
    private let classes: ClassIndices?
    /// The target's levels in original units, for reporting without rounding through Float; empty for text.
    private var levels: [Double]
    /// After `dropTrainingLevels()`: for each series, the first of its levels still held (in
    /// the numbering of all of them) and how far down the held ones moved; nil while all are.
    private var levelTrim: LevelTrim? = nil
    /// The differencing lag: dataset row r is level row r + levelOffset (0 for levels, 1 for
    /// first differences, K for seasonal ones).
    public let levelOffset: Int
    /// Targets per window with a head on the last step: the leads 1 … horizon.
    public let horizon: Int
    /// For a panel: where each series' rows and windows are, and its scaling. Nil for one series.
    public let panel: DatasetPanel?

    /// Whether targets are classes (cross-entropy) rather than values.
    public var isClassification: Bool { vocabulary != nil }
    /// Number of windows (`.windows`) or rows (`.stream`).
    public var windowCount: Int { trainCount + validationCount }
    /// Number of rows.
    public var rowCount: Int { classes?.count ?? targets.count }

    /// Splits the series and fits (or applies) the scaling.
    ///
    /// - Parameters:
    ///   - scaling: a kind to fit on the training rows, or fixed scalings from a checkpoint.
    ///   - split: sliding windows, or one stream for stateful training.
    ///   - horizon: targets per window (head on the last step): rows i+T … i+T+horizon−1, so a
    ///     window needs that many rows after it.
    ///
    /// `series` is consumed: a caller that hands it over (`consume`, as training does) lets each
    /// feature column's doubles go as soon as they are scaled into `inputs`.
    public init(
        series: consuming Series, seqLen T: Int, validationFraction: Double, scaling: ScalingChoice,
        split: Split = .windows, horizon H: Int = 1
    ) throws(DataError) {
        guard T >= 1 else { throw DataError.usage("`seqLen` must be at least 1, got \(T)") }
        guard validationFraction >= 0, validationFraction < 1 else {
            throw DataError.usage("`valFraction` must be in [0, 1), got \(validationFraction)")
        }
        if let index = series.panel {
            guard split == .windows else {
                throw DataError.usage(
                    "stateful training reads one stream, and a panel's series would run into each other: train a panel with windows (without `stateful`)"
                )
            }
            self = try WindowedDataset(
                panel: consume series, index: index, seqLen: T, validationFraction: validationFraction, scaling: scaling,
                horizon: H)
            return
        }
        panel = nil
        let n = series.rowCount
        let train: Int, validation: Int
        switch split {
        case .windows:
            guard n > T + H - 1 else {
                // A model of changes has `lag` rows fewer than the file: count in the file's rows.
                let d = series.lag, rows = T + H
                let what = H > 1 ? "`seqLen` \(T) and `horizon` \(H) need" : "`seqLen` \(T) needs"
                throw DataError.usage(
                    "\(what) at least \(rows + d) rows\(d > 0 ? " (of which \(rows) changes)" : ""), the data has \(n + d)"
                )
            }
            let windows = n - T - (H - 1)
            validation = Int((Double(windows) * validationFraction).rounded())
            train = windows - validation
            guard train >= 1 else {
                throw DataError.usage("`valFraction` \(validationFraction) leaves no training windows (\(windows) in all)")
            }
            guard validationFraction == 0 || validation >= 1 else {
                throw DataError.usage("`valFraction` \(validationFraction) of \(windows) windows is less than one window")
            }
        case .stream:
            validation = Int((Double(n) * validationFraction).rounded())
            train = n - validation
            guard train >= 2 else {
                throw DataError(
                    "`valFraction` \(validationFraction) leaves \(train) training rows of \(n); at least 2 are needed")
            }
            guard validationFraction == 0 || validation >= 2 else {
                throw DataError.usage("`valFraction` \(validationFraction) of \(n) rows holds out fewer than 2 rows")
            }
        }
        self.split = split
        seqLen = T
        horizon = H
        trainCount = train
        validationCount = validation
        vocabulary = series.vocabulary
        classes = series.classes
        levelOffset = series.lag

        let fitRows = 0..<min(n, split == .windows ? train + T + H - 1 : train)
        var fp = Fingerprint()
        if let vocab = series.vocabulary, let classes = series.classes {
            inputSize = vocab.count
            outputSize = vocab.count
            normalization = Normalization(kind: .none, features: [], target: .identity)
            inputs = []
            targets = []
            levels = []
            vocab.forEach { fp.combine($0) }
            fp.combine([Float]())  // the (absent) dense inputs, as numeric data mixes them in
            fp.combineClasses(classes)
        } else {
            inputSize = series.featureColumns.count
            outputSize = H
            let norm: Normalization
            switch scaling {
            case let .fit(kind):
                norm = Normalization(
                    kind: kind,
                    features: series.featureColumns.map { ColumnScaling(fitting: kind, to: $0[fitRows]) },
                    target: ColumnScaling(fitting: kind, to: series.target[fitRows], keepZero: series.levels != nil))
            case let .fixed(fixed):
                guard fixed.features.count == series.featureColumns.count else {
                    throw DataError(
                        "the model was trained on \(fixed.features.count) features, the data has \(series.featureColumns.count)"
                    )
                }
                norm = fixed
            case .fixedPanel:
                throw DataError("the model was trained on a panel of series; the data is one series (give its `series` column)")
            }
            normalization = norm
            // A differenced target's changes are read from its levels from here on, so that the
            // array of them (shared by the target as an input) goes before the inputs are made.
            let changes = LevelChanges(series)
            let isChanges = series.featureNames.map { changes != nil && $0 == series.targetName }
            if changes != nil {
                series.target = []
                for f in isChanges.indices where isChanges[f] { series.featureColumns[f] = [] }
            }
            // Rows scaled in blocks on every core: on one, this was 0.15 s of a 5M × 3 file's
            // load and one step, with the other core idle (`perf script` by time).
            let blocks = Self.rowBlocks(n), I = inputSize
            // Zeroed on every core too (the first touch of 60 MB of fresh pages is the kernel's work).
            var x = Self.filledInParallel(count: n * I, blocks: blocks) { x, rows in
                UnsafeMutableBufferPointer(rebasing: x[rows.lowerBound * I..<rows.upperBound * I]).update(repeating: 0)
            }
            for f in series.featureColumns.indices {
                let scaling = norm.features[f], column = series.featureColumns[f]
                x.withUnsafeMutableBufferPointer { x in
                    Self.inParallel(x, blocks: blocks) { x, rows in
                        if let changes, isChanges[f] {
                            for r in rows { x[r * I + f] = Float(scaling.normalize(changes[r, series: 0])) }
                            return
                        }
                        column.withUnsafeBufferPointer { column in
                            for r in rows { x[r * I + f] = Float(scaling.normalize(column[r])) }
                        }
                    }
                }
                // Scaled into `inputs`: the column's doubles go (5M rows: 40 MB a column).
                series.featureColumns[f] = []
            }
            inputs = x
            let target = series.target
            targets = Self.filledInParallel(count: n, blocks: blocks) { y, rows in
                if let changes {
                    for r in rows { y[r] = Float(norm.target.normalize(changes[r, series: 0])) }
                } else {
                    target.withUnsafeBufferPointer { column in
                        for r in rows { y[r] = Float(norm.target.normalize(column[r])) }
                    }
                }
            }
            levels = series.levels ?? series.target
        }
        let values = vocabulary == nil ? (inputs, targets) : nil
        pendingFingerprint = PendingFingerprint(fp) { [split] fp in
            if let (inputs, targets) = values {
                fp.combine(inputs)
                fp.combine(targets)
            }
            fp.combine(T)
            fp.combine(train)
            fp.combine(validation)
            if H > 1 { fp.combine("horizon \(H)") }  // one lead leaves older fingerprints as they were
            if split == .stream { fp.combine("stream") }
        }
    }

    /// Either fit scalings of a kind on the training rows, or apply given ones.
    public enum ScalingChoice: Sendable {
        case fit(NormalizationKind)
        case fixed(Normalization)
        /// A panel's, series by series (from a checkpoint; every series of the data must be in it).
        case fixedPanel(SeriesScalings, NormalizationKind)
    }

    /// A panel: each series windowed and split on its own, scaled on its own training rows,
    /// and its rows placed one series after another.
    ///
    /// Series s with n rows gives n − T − (H − 1) windows; the last `validationFraction` of them
    /// (in time) validate. The training windows of all series come first (series by series),
    /// then the validation windows, so a `BatchPlan` over `trainCount` draws from every series.
    /// A series without one training window is left out (`leftOut`).
    private init(
        panel series: consuming Series, index: PanelIndex, seqLen T: Int, validationFraction: Double,
        scaling: ScalingChoice, horizon H: Int
    ) throws(DataError) {
        guard series.vocabulary == nil else { throw DataError.usage("a panel is of numeric series, not text") }
        let F = series.featureColumns.count
        let lag = series.lag
        // A differenced target's changes are read from its levels (as for one series): the
        // array of them goes before the inputs are made (10M rows: 80 MB).
        let changes = LevelChanges(series)
        let isChanges = series.featureNames.map { changes != nil && $0 == series.targetName }
        if changes != nil {
            series.target = []
            for f in isChanges.indices where isChanges[f] { series.featureColumns[f] = [] }
        }
        var ids: [String] = [], rowStarts = [0], trainStarts = [0], validationStarts = [0]
        var scalingValues: [Double] = [], naive: [Double] = []
        // The rows of the series kept (those with a training window), each written in place below.
        func splits(_ s: Int) -> (windows: Int, validation: Int) {
            let windows = index.rows(s).count - T - (H - 1)
            return (windows, windows > 0 ? Int((Double(windows) * validationFraction).rounded()) : 0)
        }
        let keptRows = (0..<index.count).reduce(0) { n, s in
            let (w, v) = splits(s)
            return w - v >= 1 ? n + index.rows(s).count : n
        }
        var inputs = [Float](repeating: 0, count: keptRows * F), targets = [Float](repeating: 0, count: keptRows)
        var written = 0
        var levels: [Double] = []
        var leftOut = series.leftOut
        let fixed: (SeriesScalings, [String: Int])? =
            if case let .fixedPanel(scalings, _) = scaling { (scalings, scalings.positions()) } else { nil }
        let kind: NormalizationKind =
            switch scaling {
            case let .fit(k): k
            case let .fixed(n): n.kind
            case let .fixedPanel(_, k): k
            }
        var fp = Fingerprint()
        // When every series has a training window, the series' levels are the dataset's as they
        // are: shared, not copied.
        let keepsEvery = (0..<index.count).allSatisfy { s in
            let w = index.rows(s).count - T - (H - 1)
            return w > 0 && w - Int((Double(w) * validationFraction).rounded()) >= 1
        }
        if keepsEvery { levels = series.levels ?? series.target }
        for s in 0..<index.count {
            let rows = index.rows(s)
            let n = rows.count, (windows, validation) = splits(s)
            guard windows - validation >= 1 else {
                leftOut.append((index.ids[s], n + lag))
                continue
            }
            // This series' scaling: fitted on the rows its training windows touch, or the checkpoint's.
            let fit = rows.lowerBound..<(rows.lowerBound + windows - validation + T + H - 1)
            let norm: Normalization
            switch scaling {
            case .fit:
                // A series' changes are centred on its own mean change, unlike one series' (whose
                // head bias learns the drift): one model cannot learn every series' drift from
                // inputs that are centred per series. Output 0 is then "the last value plus this
                // series' training drift". On 22 monthly employment series (`bench/panel.sh`)
                // the mean MASE went 0.62 -> 0.46 with it.
                let targetScaling =
                    if let changes {
                        ColumnScaling(fitting: kind, to: fit.lazy.map { changes[$0, series: s] })
                    } else {
                        ColumnScaling(fitting: kind, to: series.target[fit], keepZero: series.levels != nil)
                    }
                norm = Normalization(
                    kind: kind,
                    features: series.featureColumns.indices.map { f in
                        if let changes, isChanges[f] {
                            ColumnScaling(fitting: kind, to: fit.lazy.map { changes[$0, series: s] })
                        } else {
                            ColumnScaling(fitting: kind, to: series.featureColumns[f][fit])
                        }
                    },
                    target: targetScaling)
            case let .fixed(one):
                norm = one
            case .fixedPanel:
                guard let (scalings, positions) = fixed, let k = positions[index.ids[s]] else {
                    throw DataError(
                        "series '\(index.ids[s])' is not one the model was trained on; its scaling is unknown (a panel model scores the series it was trained on)"
                    )
                }
                guard scalings.features == F else {
                    throw DataError("the model was trained on \(scalings.features) features, the data has \(F)")
                }
                norm = scalings.normalization(k, kind: kind)
            }
            inputs.withUnsafeMutableBufferPointer { inputs in
                targets.withUnsafeMutableBufferPointer { targets in
                    for r in rows {
                        for f in 0..<F {
                            let v = if let changes, isChanges[f] { changes[r, series: s] } else { series.featureColumns[f][r] }
                            inputs[written * F + f] = Float(norm.features[f].normalize(v))
                        }
                        targets[written] = Float(norm.target.normalize(changes?[r, series: s] ?? series.target[r]))
                        written += 1
                    }
                }
            }
            let seriesLevels =
                series.levels.map { $0[(rows.lowerBound + lag * s)..<(rows.upperBound + lag * (s + 1))] }
                ?? series.target[rows]
            if !keepsEvery { levels.append(contentsOf: seriesLevels) }
            for c in norm.features + [norm.target] { scalingValues += [c.shift, c.scale] }
            // MASE's scale: the naive forecast's MAE over this series' training rows.
            let period = lag > 0 ? lag : 1
            let end = fit.count + lag
            naive.append(
                end > period
                    ? (period..<end).reduce(0.0) {
                    $0 + abs(seriesLevels[seriesLevels.startIndex + $1] - seriesLevels[seriesLevels.startIndex + $1 - period])
                }
                        / Double(end - period) : .nan)
            ids.append(index.ids[s])
            rowStarts.append(written)
            trainStarts.append(trainStarts[trainStarts.count - 1] + windows - validation)
            validationStarts.append(validationStarts[validationStarts.count - 1] + validation)
            fp.combine(index.ids[s])
            fp.combine(n)
        }
        guard !ids.isEmpty else {
            throw DataError.usage(Series.noSeriesMessage(leftOut, needed: T + H + lag))
        }
        split = .windows
        seqLen = T
        horizon = H
        inputSize = F
        outputSize = H
        vocabulary = nil
        classes = nil
        levelOffset = lag
        normalization = Normalization(
            kind: kind, features: [ColumnScaling](repeating: .identity, count: F), target: .identity)
        trainCount = trainStarts[trainStarts.count - 1]
        validationCount = validationStarts[validationStarts.count - 1]
        self.inputs = inputs
        self.targets = targets
        self.levels = levels
        panel = DatasetPanel(
            rowStarts: rowStarts, trainStarts: trainStarts, validationStarts: validationStarts,
            scalings: SeriesScalings(ids: ids, features: F, values: scalingValues, naiveMAE: naive),
            leftOut: leftOut)
        pendingFingerprint = PendingFingerprint(fp) { [inputs, targets, trainCount, validationCount] fp in
            fp.combine(inputs)
            fp.combine(targets)
            fp.combine(T)
            fp.combine(trainCount)
            fp.combine(validationCount)
            if H > 1 { fp.combine("horizon \(H)") }
            fp.combine("panel")
        }
    }

    /// `rows` cut into about two blocks a core (at least 64K rows each), for `filledInParallel`.
    static func rowBlocks(_ rows: Int) -> [Range<Int>] {
        let count = max(1, min(2 * systemCores(), rows / 65_536))
        return (0..<count).map { k in rows * k / count..<rows * (k + 1) / count }
    }

    /// An array of `count` floats, `fill(buffer, rows)` writing each block of rows' elements,
    /// the blocks on every core (each writes only its rows' elements).
    static func filledInParallel(
        count: Int, blocks: [Range<Int>], fill: @Sendable (UnsafeMutableBufferPointer<Float>, Range<Int>) -> Void
    ) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            inParallel(buffer, blocks: blocks, body: fill)
            initialized = count
        }
    }

    /// `body(buffer, rows)` for each block of rows, the blocks on every core (each writes only
    /// its rows' elements).
    static func inParallel(
        _ buffer: UnsafeMutableBufferPointer<Float>, blocks: [Range<Int>],
        body: @Sendable (UnsafeMutableBufferPointer<Float>, Range<Int>) -> Void
    ) {
        nonisolated(unsafe) let out = buffer
        DispatchQueue.concurrentPerform(iterations: blocks.count) { body(out, blocks[$0]) }
    }

    /// The first row of window `w`: w itself for one series; for a panel, its series' rows
    /// offset by the window's place among that series' training or validation windows.
    @inline(__always)
    public func startRow(ofWindow w: Int) -> Int {
        guard let panel else { return w }
        return panel.startRow(ofWindow: w, trainCount: trainCount)
    }

    /// The row window `w`'s last step predicts (head on the last step, lead 1).
    public func targetRow(ofWindow w: Int) -> Int { startRow(ofWindow: w) + seqLen }

    /// Number of target values per window: one per step (T), or one per lead (the horizon).
    public func targetsPerWindow(everyStep: Bool) -> Int { everyStep ? seqLen : horizon }

    /// Writes the windows starting at `starts` into a batch.
    ///
    /// - Parameters:
    ///   - x: (B, T, I) row-major, B = starts.count (at least that many elements).
    ///   - y: (B, 1) or (B, T, 1) scaled targets, or (B) / (B, T) class indices.
    public func fill<C: Collection<Int>>(
        windows starts: C, everyStep: Bool,
        x: UnsafeMutableBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>
    ) {
        let T = seqLen
        if everyStep {
            if panel == nil {
                fill(runsFrom: starts, steps: T, x: x, y: y)
            } else {
                fill(runsFrom: starts.map(startRow(ofWindow:)), steps: T, x: x, y: y)
            }
            return
        }
        // Head .last: the inputs of T rows, and the targets of the `horizon` rows after them.
        let I = inputSize, H = horizon
        precondition(x.count >= starts.count * T * I && y.count >= starts.count * H, "fill: batch buffers too small")
        for (b, w) in starts.enumerated() {
            let i = startRow(ofWindow: w)
            fillInputs(row: i, steps: T, into: x.baseAddress.map { $0 + b * T * I })
            for h in 0..<H { y[b * H + h] = target(row: i + T + h) }
        }
    }

    /// Writes runs of `steps` rows starting at `starts` into a batch, each step's target the
    /// next row's: the stream contract (a lane's chunk) and the every-step window contract.
    ///
    /// - Parameters:
    ///   - x: (B, s, I) row-major, B = starts.count, s = steps.
    ///   - y: (B, s) scaled targets or class indices of rows start+1 … start+s.
    public func fill<C: Collection<Int>>(
        runsFrom starts: C, steps s: Int, x: UnsafeMutableBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>
    ) {
        let I = inputSize
        precondition(x.count >= starts.count * s * I && y.count >= starts.count * s, "fill: batch buffers too small")
        for (b, i) in starts.enumerated() {
            fillInputs(row: i, steps: s, into: x.baseAddress.map { $0 + b * s * I })
            for t in 0..<s { y[b * s + t] = target(row: i + t + 1) }
        }
    }

    /// x: (steps, I) inputs of rows `row` ..< row + steps.
    @inline(__always)
    private func fillInputs(row i: Int, steps: Int, into x: UnsafeMutablePointer<Float>?) {
        guard let x else { return }
        let I = inputSize
        if let classes {
            x.update(repeating: 0, count: steps * I)
            for t in 0..<steps { x[t * I + classes[i + t]] = 1 }
        } else {
            inputs.withUnsafeBufferPointer { src in
                guard let base = src.baseAddress else { return }
                x.update(from: base + i * I, count: steps * I)
            }
        }
    }

    /// The scaled target (or class) of row `row`.
    @inline(__always)
    private func target(row: Int) -> Float { classes.map { Float($0[row]) } ?? targets[row] }

    /// Whether rows hold differences (first or seasonal).
    public var isDifferenced: Bool { levelOffset > 0 }

    /// Writes the windows starting at `starts` into arrays (see the buffer version).
    public func fill<C: Collection<Int>>(windows starts: C, everyStep: Bool, x: inout [Float], y: inout [Float]) {
        x.withUnsafeMutableBufferPointer { xb in
            y.withUnsafeMutableBufferPointer { yb in fill(windows: starts, everyStep: everyStep, x: xb, y: yb) }
        }
    }

    /// The target's level in original units at dataset row `row` (which may be −1 when differenced:
    /// the level before the first difference).
    public func level(row: Int) -> Double { levels[levelIndex(row + levelOffset, series: 0)] }

    /// The target's level `back` rows before dataset row `row`, in `row`'s series (a panel's
    /// levels are `levelOffset` rows longer per series): `level(row:)` for one series.
    public func level(row: Int, back: Int) -> Double {
        guard let panel else { return levels[levelIndex(row + levelOffset - back, series: 0)] }
        let s = panel.series(ofRow: row)
        return levels[levelIndex(row + levelOffset * (s + 1) - back, series: s)]
    }

    /// Where level `index` (numbered among all of them) of series `s` is held.
    @inline(__always)
    private func levelIndex(_ index: Int, series s: Int) -> Int {
        guard let trim = levelTrim else { return index }
        precondition(index >= trim.keptFrom[s], "the level of a training row was read after dropTrainingLevels()")
        return index - trim.shift[s]
    }

    /// Frees the target's levels that only training rows have, keeping those validation reads
    /// (the levels before and at its windows' targets, for the interval calibration).
    ///
    /// Training reads no others once set up (the naive MAE and the season hint are taken
    /// first), and they are twice the size of the float32 targets: a 10M-row panel held 80 MB
    /// of them beside 80 MB of inputs and targets. Reading a dropped level stops the program.
    public mutating func dropTrainingLevels() {
        guard !levels.isEmpty, levelTrim == nil else { return }
        var keptFrom: [Int] = [], shift: [Int] = [], kept: [Double] = []
        for s in 0..<(panel?.count ?? 1) {
            // Series s's rows, and the first its validation reads (its first validation window's).
            let rows: Range<Int>, validation: Int?
            if let panel {
                rows = panel.rowStarts[s]..<panel.rowStarts[s + 1]
                let has = panel.validationStarts[s + 1] > panel.validationStarts[s]
                validation = has ? rows.lowerBound + panel.trainStarts[s + 1] - panel.trainStarts[s] : nil
            } else {
                rows = 0..<rowCount
                validation = validationCount > 0 ? trainCount : nil
            }
            let end = rows.upperBound + levelOffset * (s + 1)
            let from = validation.map { $0 + levelOffset * s } ?? end
            keptFrom.append(from)
            shift.append(from - kept.count)
            kept.append(contentsOf: levels[from..<end])
        }
        levels = kept
        levelTrim = LevelTrim(keptFrom: keptFrom, shift: shift)
    }

    /// A model output for dataset row `row` turned into the target's level in original units.
    public func predictedLevel(row: Int, output: Float) -> Double {
        let scaling =
            panel.map { $0.scalings.targetScaling($0.series(ofRow: row)) } ?? normalization.target
        let value = scaling.denormalize(Double(output))
        // A model of changes at lag K forecasts the change from K rows before the target.
        return isDifferenced ? level(row: row, back: levelOffset) + value : value
    }

    /// The scaled inputs of `row` (numeric data): its I features as the model reads them.
    public func scaledInputs(row: Int) -> ArraySlice<Float> { inputs[(row * inputSize)..<((row + 1) * inputSize)] }

    /// The scaled target (or class index) at `row`.
    public func scaledTarget(row: Int) -> Float { target(row: row) }

    /// The dominant period of the target on the training rows (`Seasonality.dominantPeriod`):
    /// the lag at which its changes correlate most; nil for text or too few rows.
    public func dominantPeriod() -> (period: Int, autocorrelation: Double)? {
        guard !isClassification, panel == nil else { return nil }
        let end = min(rowCount, split == .windows ? trainCount + seqLen + horizon - 1 : trainCount)
        // Only the rows the detection reads (its window and one more): no copy of every level.
        let start = max(-levelOffset, end - Seasonality.window - 1)
        return Seasonality.dominantPeriod((start..<end).map { level(row: $0) }[...])
    }

    /// The mean absolute error over the training rows, in the target's units, of the naive
    /// forecast of `period`: the last value (1) or the seasonal naive (a season's length). The
    /// scale of MASE (M4: the seasonal naive's when there is a season). Nil for text.
    public func inSampleNaiveMAE(period: Int = 1) -> Double? {
        guard !isClassification, panel == nil else { return nil }
        let end = min(rowCount, split == .windows ? trainCount + seqLen + horizon - 1 : trainCount)
        // Rows whose level `period` rows earlier is in the data (level row r + offset − period ≥ 0).
        let first = max(0, period - levelOffset)
        guard end > first else { return nil }
        var sum = 0.0
        for r in first..<end { sum += abs(level(row: r) - level(row: r - period)) }
        return sum / Double(end - first)
    }
}

extension Fingerprint {
    /// Mixes in class indices exactly as the Float array of them, without building that array.
    mutating func combineClasses(_ classes: ClassIndices) {
        combine(classes.count)
        var chunk = [Float](repeating: 0, count: 4096)
        var start = 0
        while start < classes.count {
            let n = min(chunk.count, classes.count - start)
            for k in 0..<n { chunk[k] = Float(classes[start + k]) }
            chunk.withUnsafeBytes { combine(bytes: UnsafeRawBufferPointer(rebasing: $0[0..<4 * n])) }
            start += n
        }
    }
}

/// Which of a dataset's levels `dropTrainingLevels()` kept: for each series, the first held
/// (numbered among all of them) and how far down the held ones moved.
struct LevelTrim: Sendable {
    var keptFrom: [Int]
    var shift: [Int]
}

/// A differenced series' target changes, read from its levels: row r of series s is
/// levels[r + lag·(s + 1)] − levels[r + lag·s], the subtraction `Series.difference(lag:)` made
/// (so the same bits), without an array of them beside the levels.
struct LevelChanges {
    private let levels: [Double]
    private let lag: Int

    /// The changes of `series`, or nil when it holds levels (it was not differenced).
    init?(_ series: borrowing Series) {
        guard let levels = series.levels, series.lag > 0 else { return nil }
        self.levels = levels
        lag = series.lag
    }

    @inline(__always) subscript(r: Int, series s: Int) -> Double { levels[r + lag * (s + 1)] - levels[r + lag * s] }
}
