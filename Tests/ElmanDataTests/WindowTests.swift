import ElmanData
import Testing

@Suite("Windows and batches")
struct WindowTests {
    /// A series whose target at row r is r itself, so every filled value names its row.
    func rowSeries(_ n: Int) -> Series {
        let rows = (0..<n).map(Double.init)
        return Series(
            featureColumns: [rows, rows.map { -$0 }], featureNames: ["a", "b"], target: rows, targetName: "a",
            vocabulary: nil)
    }

    @Test("window i covers rows i…i+T−1; head last targets row i+T, head every targets rows i+t+1")
    func windowContract() throws {
        let d = try WindowedDataset(series: rowSeries(10), seqLen: 3, validationFraction: 0, scaling: .fit(.none))
        #expect(d.windowCount == 7)
        var x = [Float](repeating: -1, count: 2 * 3 * 2), y = [Float](repeating: -1, count: 2)
        d.fill(windows: [4, 0], everyStep: false, x: &x, y: &y)
        #expect(x == [4, -4, 5, -5, 6, -6, 0, 0, 1, -1, 2, -2])
        #expect(y == [7, 3])
        var ye = [Float](repeating: -1, count: 6)
        d.fill(windows: [4, 0], everyStep: true, x: &x, y: &ye)
        #expect(ye == [5, 6, 7, 1, 2, 3])
    }

    @Test("validation is the last windows in time order; scaling is fitted on training rows only")
    func splitAndScaling() throws {
        let d = try WindowedDataset(series: rowSeries(104), seqLen: 4, validationFraction: 0.2, scaling: .fit(.minmax))
        #expect(d.windowCount == 100 && d.trainCount == 80 && d.validationCount == 20)
        // Training windows touch rows 0 ..< 84, so min-max maps row 0 → 0 and row 83 → 1.
        #expect(d.normalization.target == ColumnScaling(shift: 0, scale: 83))
        #expect(d.level(row: 100) == 100)
    }

    @Test("a differenced target is scaled by its root mean square and not shifted: 0 stays \"no change\"")
    func differencedTargetKeepsZero() throws {
        // Levels 0, 1, 3, 6, 10, 15 → changes 1, 2, 3, 4, 5; T = 1 and no validation, so the
        // scaling is fitted on every change: rms = √((1+4+9+16+25)/5) = √11.
        let levels: [Double] = [0, 1, 3, 6, 10, 15]
        let series = try Series(
            featureColumns: [levels], featureNames: ["v"], target: levels, targetName: "v", vocabulary: nil
        ).differenced()
        let d = try WindowedDataset(series: series, seqLen: 1, validationFraction: 0, scaling: .fit(.zscore))
        #expect(d.normalization.target == ColumnScaling(shift: 0, scale: 11.0.squareRoot()))
        #expect(d.normalization.target.denormalize(0) == 0)
        // The input feature keeps its z-score (mean 3, population std √2).
        #expect(d.normalization.features == [ColumnScaling(shift: 3, scale: 2.0.squareRoot())])
    }

    @Test("a global batch is split into contiguous near-equal slices: 16 on 3 ranks is 6+5+5")
    func sharding() {
        #expect((0..<3).map { BatchPlan.shard(count: 16, ranks: 3, rank: $0) } == [0..<6, 6..<11, 11..<16])
        #expect((0..<4).map { BatchPlan.shard(count: 2, ranks: 4, rank: $0).count } == [1, 1, 0, 0])
        for n in 1...40 {
            for r in 1...5 {
                let shards = (0..<r).map { BatchPlan.shard(count: n, ranks: r, rank: $0) }
                #expect(shards.first?.lowerBound == 0 && shards.last?.upperBound == n)
                #expect(zip(shards, shards.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
            }
        }
    }

    @Test("each epoch visits every window once; the last batch may be short; steps run into the next epoch")
    func epochs() throws {
        let plan = try BatchPlan(windowCount: 10, batchSize: 4, shuffle: true, seed: 1)
        #expect(plan.batchesPerEpoch == 3)
        #expect(plan.range(ofBatch: 2) == 8..<10)
        let e0 = plan.order(epoch: 0), e1 = plan.order(epoch: 1)
        #expect(e0.sorted() == Array(0..<10) && e1.sorted() == Array(0..<10))
        #expect(e0 != e1)
        #expect(plan.order(epoch: 1) == e1)
        #expect(plan.position(ofStep: 4) == (1, 1))
        let sequential = try BatchPlan(windowCount: 10, batchSize: 4, shuffle: false, seed: 1)
        #expect(sequential.order(epoch: 3) == Array(0..<10))
    }

    @Test("bad sizes are named")
    func badSizes() {
        #expect(throws: DataError.usage("`seqLen` 10 needs at least 11 rows, the data has 10")) {
            try WindowedDataset(series: rowSeries(10), seqLen: 10, validationFraction: 0, scaling: .fit(.zscore))
        }
        #expect(throws: DataError.usage("`batchSize` 11 is larger than the 10 training windows")) {
            try BatchPlan(windowCount: 10, batchSize: 11, shuffle: true, seed: 0)
        }
        #expect(throws: DataError.usage("`seqLen` must be at least 1, got 0")) {
            try WindowedDataset(series: rowSeries(10), seqLen: 0, validationFraction: 0, scaling: .fit(.zscore))
        }
    }
}
