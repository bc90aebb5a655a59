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

    public init(
        source: DataSpec, target: String? = nil, features: [String]? = nil, filter: String? = nil,
        missing: MissingPolicy = .error, grid: SamplingGrid = SamplingGrid(), difference: Bool = false
    ) {
        self.difference = difference
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
    /// When the columns hold first differences: the target's levels, one row longer
    /// (levels[r + 1] = levels[r] + target[r]).
    public var levels: [Double]?

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
    public var rowCount: Int { target.count }

    /// The series of first differences: row r holds v[r+1] − v[r] of every column, and
    /// `levels` keeps the target's original values.
    public func differenced() throws(DataError) -> Series {
        guard vocabulary == nil else { throw DataError("`difference` is for numeric series, not text") }
        guard levels == nil else { return self }
        func diff(_ c: [Double]) -> [Double] { zip(c.dropFirst(), c).map { $0 - $1 } }
        var s = Series(
            featureColumns: featureColumns.map(diff), featureNames: featureNames, target: diff(target),
            targetName: targetName, vocabulary: nil)
        s.levels = target
        return s
    }

    /// Loads `options.source`. For text, `vocabulary` fixes the classes (from a checkpoint);
    /// characters outside it are an error.
    public static func load(_ options: DataOptions, vocabulary fixed: [String]? = nil) throws(DataError) -> Series {
        let series = try loadLevels(options, vocabulary: fixed)
        return options.difference ? try series.differenced() : series
    }

    private static func loadLevels(_ options: DataOptions, vocabulary fixed: [String]?) throws(DataError) -> Series {
        switch options.source {
        case let .text(path):
            let text = try readFile(path)
            let chars = text.map(String.init)
            guard chars.count >= 2 else { throw DataError("\(path): needs at least 2 characters of text") }
            let vocabulary = fixed ?? Array(Set(chars)).sorted()
            var index: [String: Int] = [:]
            for (i, c) in vocabulary.enumerated() { index[c] = i }
            var classes = [Double]()
            classes.reserveCapacity(chars.count)
            for c in chars {
                guard let k = index[c] else {
                    throw DataError("\(path): character \(c.debugDescription) is not in the model's vocabulary")
                }
                classes.append(Double(k))
            }
            return Series(
                featureColumns: [], featureNames: ["char"], target: classes, targetName: "char", vocabulary: vocabulary)
        case let .csv(path):
            guard let target = options.target else {
                let header = (try? CSVReader.header(path: path)) ?? []
                throw DataError("`target` is required for a CSV file (columns: \(header.joined(separator: ", ")))")
            }
            let features = options.features ?? [target]
            var filter: (String, String)? = nil
            if let f = options.filter {
                let parts = f.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty else {
                    throw DataError("`where` must be COLUMN=VALUE, got '\(f)'")
                }
                filter = (parts[0], parts[1])
            }
            var names = [target]
            for f in features where !names.contains(f) { names.append(f) }
            let table = try CSVReader(columns: names, filter: filter, missing: options.missing).read(path: path)
            return Series(
                featureColumns: try features.map { (f) throws(DataError) in try table.column(f) },
                featureNames: features, target: try table.column(target), targetName: target, vocabulary: nil)
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

/// A series cut into windows of `seqLen` rows, scaled, and split into training and validation.
///
/// The window contract: window i covers rows i … i+T−1. With head `.last` its target is the
/// target column at row i+T; with head `.every` the target of step t is at row i+t+1. Windows
/// 0 ..< trainCount train; the last `validationCount` (in time order) validate. Scaling is fitted
/// on the rows the training windows touch (0 ..< trainCount + T) and nothing after them.
public struct WindowedDataset: Sendable {
    public let seqLen: Int
    /// Input width per step: number of features, or vocabulary size for text (one-hot).
    public let inputSize: Int
    /// 1 for regression, the vocabulary size for text.
    public let outputSize: Int
    public let vocabulary: [String]?
    public let normalization: Normalization
    /// Training windows are 0 ..< trainCount.
    public let trainCount: Int
    /// Validation windows are trainCount ..< trainCount + validationCount.
    public let validationCount: Int
    /// Fingerprint of the scaled inputs and targets and the split.
    public let fingerprint: UInt64

    /// Dense inputs (rows × inputSize), scaled; empty for text.
    private let inputs: [Float]
    /// Scaled targets, or class indices for text (rows).
    private let targets: [Float]
    /// The target's levels in original units, for reporting without rounding through Float.
    private let levels: [Double]
    /// 1 when rows hold first differences (dataset row r is level row r + 1), else 0.
    public let levelOffset: Int

    /// Whether targets are classes (cross-entropy) rather than values.
    public var isClassification: Bool { vocabulary != nil }
    /// Number of windows.
    public var windowCount: Int { trainCount + validationCount }

    /// Windows the series and fits (or applies) the scaling.
    ///
    /// - Parameters:
    ///   - scaling: a kind to fit on the training rows, or fixed scalings from a checkpoint.
    public init(
        series: Series, seqLen T: Int, validationFraction: Double,
        scaling: ScalingChoice
    ) throws(DataError) {
        guard T >= 1 else { throw DataError("`seqLen` must be at least 1, got \(T)") }
        guard validationFraction >= 0, validationFraction < 1 else {
            throw DataError("`valFraction` must be in [0, 1), got \(validationFraction)")
        }
        let n = series.rowCount
        guard n > T else {
            throw DataError("sequence length \(T) needs at least \(T + 1) rows, the data has \(n)")
        }
        let windows = n - T
        let validation = Int((Double(windows) * validationFraction).rounded())
        let train = windows - validation
        guard train >= 1 else {
            throw DataError("`valFraction` \(validationFraction) leaves no training windows (\(windows) in all)")
        }
        guard validationFraction == 0 || validation >= 1 else {
            throw DataError("`valFraction` \(validationFraction) of \(windows) windows is less than one window")
        }
        seqLen = T
        levels = series.levels ?? series.target
        levelOffset = series.levels == nil ? 0 : 1
        trainCount = train
        validationCount = validation
        vocabulary = series.vocabulary

        let fitRows = 0..<min(n, train + T)
        var fp = Fingerprint()
        if let vocab = series.vocabulary {
            inputSize = vocab.count
            outputSize = vocab.count
            normalization = Normalization(kind: .none, features: [], target: .identity)
            inputs = []
            targets = series.target.map(Float.init)
            vocab.forEach { fp.combine($0) }
        } else {
            inputSize = series.featureColumns.count
            outputSize = 1
            let norm: Normalization
            switch scaling {
            case let .fit(kind):
                norm = Normalization(
                    kind: kind,
                    features: series.featureColumns.map { ColumnScaling(fitting: kind, to: $0[fitRows]) },
                    target: ColumnScaling(fitting: kind, to: series.target[fitRows]))
            case let .fixed(fixed):
                guard fixed.features.count == series.featureColumns.count else {
                    throw DataError(
                        "the model was trained on \(fixed.features.count) features, the data has \(series.featureColumns.count)"
                    )
                }
                norm = fixed
            }
            normalization = norm
            var x = [Float](repeating: 0, count: n * inputSize)
            for (f, column) in series.featureColumns.enumerated() {
                for r in 0..<n { x[r * inputSize + f] = Float(norm.features[f].normalize(column[r])) }
            }
            inputs = x
            targets = series.target.map { Float(norm.target.normalize($0)) }
        }
        fp.combine(inputs)
        fp.combine(targets)
        fp.combine(T)
        fp.combine(train)
        fp.combine(validation)
        fingerprint = fp.value
    }

    /// Either fit scalings of a kind on the training rows, or apply given ones.
    public enum ScalingChoice: Sendable {
        case fit(NormalizationKind)
        case fixed(Normalization)
    }

    /// Number of target values per window: 1 or T (one per step).
    public func targetsPerWindow(everyStep: Bool) -> Int { everyStep ? seqLen : 1 }

    /// Writes the windows starting at `starts` into a batch.
    ///
    /// - Parameters:
    ///   - x: (B, T, I) row-major, B = starts.count (at least that many elements).
    ///   - y: (B, 1) or (B, T, 1) scaled targets, or (B) / (B, T) class indices.
    public func fill<C: Collection<Int>>(
        windows starts: C, everyStep: Bool,
        x: UnsafeMutableBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>
    ) {
        let T = seqLen, I = inputSize
        let perWindow = everyStep ? T : 1
        precondition(
            x.count >= starts.count * T * I && y.count >= starts.count * perWindow, "fill: batch buffers too small")
        for (b, i) in starts.enumerated() {
            let xb = UnsafeMutableBufferPointer(rebasing: x[b * T * I..<(b + 1) * T * I])
            if isClassification {
                xb.update(repeating: 0)
                for t in 0..<T { xb[t * I + Int(targets[i + t])] = 1 }
            } else {
                _ = xb.update(fromContentsOf: inputs[i * I..<(i + T) * I])
            }
            if everyStep {
                for t in 0..<T { y[b * perWindow + t] = targets[i + t + 1] }
            } else {
                y[b] = targets[i + T]
            }
        }
    }

    /// Whether rows hold first differences.
    public var isDifferenced: Bool { levelOffset == 1 }

    /// Writes the windows starting at `starts` into arrays (see the buffer version).
    public func fill<C: Collection<Int>>(windows starts: C, everyStep: Bool, x: inout [Float], y: inout [Float]) {
        x.withUnsafeMutableBufferPointer { xb in
            y.withUnsafeMutableBufferPointer { yb in fill(windows: starts, everyStep: everyStep, x: xb, y: yb) }
        }
    }

    /// The target's level in original units at dataset row `row` (which may be −1 when differenced:
    /// the level before the first difference).
    public func level(row: Int) -> Double { levels[row + levelOffset] }

    /// A model output for dataset row `row` turned into the target's level in original units.
    public func predictedLevel(row: Int, output: Float) -> Double {
        let value = normalization.target.denormalize(Double(output))
        return isDifferenced ? level(row: row - 1) + value : value
    }

    /// The scaled target at `row`.
    public func scaledTarget(row: Int) -> Float { targets[row] }
}
