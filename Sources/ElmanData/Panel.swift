/// The series of a panel, one after another in the rows of a `Series`: which rows are whose.
///
/// A panel is many series modelled by one network (every store's sales, every sensor): its
/// windows never cross from one series into the next, and each series is scaled on its own.
public struct PanelIndex: Sendable, Equatable {
    /// Series identities, in row order.
    public var ids: [String]
    /// ends[s]: one past the last row of series s, which starts at ends[s − 1] (0 for the first).
    public var ends: [Int]

    public init(ids: [String], ends: [Int]) {
        precondition(ids.count == ends.count, "PanelIndex: one end per series")
        self.ids = ids
        self.ends = ends
    }

    /// Number of series.
    public var count: Int { ids.count }

    /// The rows of series `s`.
    public func rows(_ s: Int) -> Range<Int> { (s == 0 ? 0 : ends[s - 1])..<ends[s] }

    /// The series row `row` belongs to (binary search: a panel of 100,000 series stays fast).
    public func series(ofRow row: Int) -> Int { PanelIndex.bucket(row, ends: ends[...]) }

    /// The position, counted from `ends`' start, of the first of `ends` (ascending) above
    /// `value`: the bucket `value` falls in.
    @inline(__always)
    static func bucket(_ value: Int, ends: ArraySlice<Int>) -> Int {
        var lo = ends.startIndex, hi = ends.endIndex - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if ends[mid] > value { hi = mid } else { lo = mid + 1 }
        }
        return lo - ends.startIndex
    }
}

/// Each series' scaling and MASE scale: the state a panel model keeps per series, as flat
/// arrays (a panel of 100,000 series is three arrays, not 100,000 objects), stored in the
/// checkpoint as tensors.
public struct SeriesScalings: Sendable, Equatable {
    /// Series identities, in the order of the arrays.
    public var ids: [String]
    /// Input features per series (the target's scaling follows them).
    public var features: Int
    /// (S, features + 1, 2) row-major: shift and scale of every feature, then of the target.
    public var values: [Double]
    /// (S): the in-sample naive forecast's MAE in the series' units (MASE's scale); NaN when none.
    public var naiveMAE: [Double]

    public init(ids: [String], features: Int, values: [Double], naiveMAE: [Double]) {
        precondition(values.count == ids.count * (features + 1) * 2 && naiveMAE.count == ids.count)
        self.ids = ids
        self.features = features
        self.values = values
        self.naiveMAE = naiveMAE
    }

    /// Number of series.
    public var count: Int { ids.count }

    /// The scalings of series `s`, as one series' `Normalization`.
    public func normalization(_ s: Int, kind: NormalizationKind) -> Normalization {
        let base = s * (features + 1) * 2
        let column = { (c: Int) in ColumnScaling(shift: values[base + 2 * c], scale: values[base + 2 * c + 1]) }
        return Normalization(kind: kind, features: (0..<features).map(column), target: column(features))
    }

    /// The target's scaling of series `s`.
    @inline(__always)
    public func targetScaling(_ s: Int) -> ColumnScaling {
        let base = (s * (features + 1) + features) * 2
        return ColumnScaling(shift: values[base], scale: values[base + 1])
    }

    /// The MASE scale of series `s`, nil when it has none.
    public func scale(_ s: Int) -> Double? { naiveMAE[s].isNaN ? nil : naiveMAE[s] }

    /// Where each identity is: built once per lookup set, not kept (the arrays are the state).
    public func positions() -> [String: Int] {
        var map = [String: Int](minimumCapacity: ids.count)
        for (s, id) in ids.enumerated() { map[id] = s }
        return map
    }

    /// Refuses what no run writes: repeated or empty identities, scales that are not positive.
    public func validate() throws(DataError) {
        var seen = Set<String>()
        for id in ids {
            guard !id.isEmpty else { throw DataError("the checkpoint's panel has an empty series identity") }
            guard seen.insert(id).inserted else { throw DataError("the checkpoint's panel repeats series '\(id)'") }
        }
        for s in 0..<count {
            for c in 0...features {
                let base = s * (features + 1) * 2 + 2 * c
                guard values[base].isFinite, values[base + 1].isFinite, values[base + 1] > 0 else {
                    throw DataError("the checkpoint's scaling of series '\(ids[s])' is invalid")
                }
            }
        }
    }
}

extension Series {
    /// The rows regrouped series by series (each series' rows in file order, the series in order
    /// of first appearance): a long file may interleave them, as files come.
    ///
    /// In place: each column's old order is freed as its new one is made, and the target read
    /// as a feature shares the target's array.
    mutating func group(keys: [Int32], ids: [String]) {
        // A counting sort: stable, one pass to count and one to place.
        var ends = [Int](repeating: 0, count: ids.count)
        for k in keys { ends[Int(k)] += 1 }
        for s in 1..<max(ends.count, 1) { ends[s] += ends[s - 1] }
        // Series are numbered in order of first appearance, so a file of grouped series has
        // keys that never decrease: then nothing moves (and no order of 10M rows is made).
        let alreadyGrouped = keys.withUnsafeBufferPointer { k in k.indices.dropFirst().allSatisfy { k[$0 - 1] <= k[$0] } }
        if !alreadyGrouped {
            var next = (0..<ids.count).map { $0 == 0 ? 0 : ends[$0 - 1] }
            var order = [Int](repeating: 0, count: keys.count)
            for (r, k) in keys.enumerated() {
                order[next[Int(k)]] = r
                next[Int(k)] += 1
            }
            func reorder(_ c: inout [Double]) {
                let old = c
                c = []
                c = order.map { old[$0] }
            }
            reorder(&target)
            for f in featureColumns.indices {
                if featureNames[f] == targetName { featureColumns[f] = target } else { reorder(&featureColumns[f]) }
            }
            if var t = times {
                times = nil
                reorder(&t)
                times = t
            }
        }
        panel = PanelIndex(ids: ids, ends: ends)
    }

    /// The name of a wide panel's values: its columns are the series, of one quantity.
    public static let widePanelTarget = "value"

    /// A panel in wide format: every column of `options.seriesColumns` (or every numeric
    /// column, for `all`) a series. A cell that is missing is that series' alone: `missing`
    /// drop leaves it out of its series, ffill repeats the series' previous value (leading gaps,
    /// a series that starts later, are left out either way).
    static func wide(path: String, _ options: DataOptions) throws(DataError) -> Series {
        guard options.target == nil || options.target == widePanelTarget, options.features == nil else {
            throw DataError.usage("`seriesColumns` makes every named column a series: give neither `target` nor `features`")
        }
        guard options.filter == nil else {
            throw DataError.usage("`where` keeps rows of a long file; in a wide file (`seriesColumns`) every column is a series")
        }
        var names = options.seriesColumns ?? []
        if names == ["all"] {
            names = try CSVReader.numericColumns(path: path)
            guard !names.isEmpty else { throw DataError("\(path): no column holds a number in the first data row") }
        }
        var reader = CSVReader(columns: names, filter: nil, missing: .error)
        reader.keepsMissing = true
        reader.time = options.timeColumn
        let table = try reader.read(path: path)
        var values: [Double] = [], ends: [Int] = [], times: [Double] = []
        for (c, name) in names.enumerated() {
            let column = table.columns[c]
            guard let first = column.firstIndex(where: { !$0.isNaN }) else {
                throw DataError("\(path): column '\(name)' holds no number")
            }
            for r in first..<column.count {
                var v = column[r]
                if v.isNaN {
                    switch options.missing {
                    case .error:
                        throw DataError(
                            "\(path): missing value in column '\(name)' at data row \(r + 1) (`missing` drop leaves it out of that series; ffill repeats its previous value)"
                        )
                    case .drop: continue
                    case .ffill: v = values[values.count - 1]
                    }
                }
                values.append(v)
                if let t = table.times { times.append(t[r]) }
            }
            ends.append(values.count)
        }
        var series = Series(
            featureColumns: [values], featureNames: [widePanelTarget], target: values, targetName: widePanelTarget,
            vocabulary: nil)
        series.panel = PanelIndex(ids: names, ends: ends)
        if table.times != nil { series.times = times }
        return series
    }
}

/// Where a panel's series lie in a dataset: rows and windows, each a prefix sum over the
/// series (S + 1 entries, the first 0), and each series' scaling.
public struct DatasetPanel: Sendable {
    /// Rows of series s: rowStarts[s] ..< rowStarts[s + 1].
    public let rowStarts: [Int]
    /// Training windows of series s: trainStarts[s] ..< trainStarts[s + 1].
    public let trainStarts: [Int]
    /// Validation windows of series s, counted from the first validation window.
    public let validationStarts: [Int]
    /// Each series' scaling and MASE scale, in dataset order.
    public let scalings: SeriesScalings
    /// Series left out for too few rows (their rows in the file).
    public let leftOut: [(id: String, rows: Int)]

    /// Number of series.
    public var count: Int { scalings.count }

    /// The series dataset row `row` belongs to.
    @inline(__always)
    public func series(ofRow row: Int) -> Int { PanelIndex.bucket(row, ends: rowStarts.dropFirst()) }

    /// The first row of window `w` (training windows first, then validation windows).
    @inline(__always)
    func startRow(ofWindow w: Int, trainCount: Int) -> Int {
        if w < trainCount {
            let s = PanelIndex.bucket(w, ends: trainStarts.dropFirst())
            return rowStarts[s] + (w - trainStarts[s])
        }
        let v = w - trainCount
        let s = PanelIndex.bucket(v, ends: validationStarts.dropFirst())
        // A series' validation windows follow its training windows.
        return rowStarts[s] + (trainStarts[s + 1] - trainStarts[s]) + (v - validationStarts[s])
    }
}
