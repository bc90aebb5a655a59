import Testing

@testable import ElmanData

/// A long panel is grouped, differenced and scaled in place, its target's changes read back
/// from its levels: every value must be the one computed here from the file's rows by hand.
@Suite("Panel differencing in place")
struct PanelDifferenceTests {
    /// Rows of three series, interleaved as a file may hold them: "a" (levels near 100), "b"
    /// (near 10⁶), and "c" with two rows only, which a seasonal lag of 2 leaves out.
    let rows: [(id: String, y: Double, x: Double)] = {
        var rows: [(String, Double, Double)] = []
        for t in 0..<9 {
            rows.append(("a", 100 + Double(t * t) * 0.37, Double(t % 3)))
            if t < 2 { rows.append(("c", 5, 1)) }
            rows.append(("b", 1e6 + Double(t) * 1234.5 - Double(t * t * t), Double(t * t) * 0.25))
        }
        return rows
    }()

    /// The panel as the CSV reader leaves it: columns in file order, keys by first appearance.
    func loaded() -> Series {
        let ids = ["a", "c", "b"]
        var series = Series(
            featureColumns: [rows.map(\.x), rows.map(\.y)], featureNames: ["x", "y"], target: rows.map(\.y),
            targetName: "y", vocabulary: nil)
        series.group(keys: rows.map { Int32(ids.firstIndex(of: $0.id) ?? -1) }, ids: ids)
        return series
    }

    /// z-score and root-mean-square scalings of `values`, summed in row order as a reader would.
    func zscore(_ v: [Double]) -> (shift: Double, scale: Double) {
        let mean = v.reduce(0, +) / Double(v.count)
        return (mean, (v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count)).squareRoot())
    }

    @Test("seasonal changes (lag 2) of an interleaved panel, each series scaled on its own: inputs, targets and levels to the bit; the short series left out")
    func changesToTheBit() throws {
        var series = loaded()
        try series.difference(lag: 2)
        #expect(series.leftOut.map(\.id) == ["c"])
        let data = try WindowedDataset(series: series, seqLen: 2, validationFraction: 0, scaling: .fit(.zscore))
        var row = 0
        for id in ["a", "b"] {
            let mine = rows.filter { $0.id == id }
            let y = mine.map(\.y), x = mine.map(\.x)
            let dy = (2..<y.count).map { y[$0] - y[$0 - 2] }, dx = (2..<x.count).map { x[$0] - x[$0 - 2] }
            let zx = zscore(dx), zy = zscore(dy)
            for r in dy.indices {
                let inputs = Array(data.scaledInputs(row: row))
                #expect(inputs == [Float((dx[r] - zx.shift) / zx.scale), Float((dy[r] - zy.shift) / zy.scale)], "\(id) row \(r)")
                // The target's changes centred on the series' own mean change, as the input's.
                #expect(data.scaledTarget(row: row) == Float((dy[r] - zy.shift) / zy.scale), "\(id) row \(r)")
                #expect(data.level(row: row, back: 0) == y[r + 2] && data.level(row: row, back: 2) == y[r])
                row += 1
            }
        }
        #expect(row == data.rowCount)
    }

    @Test("a panel whose rows come grouped gives the interleaved file's series")
    func groupedEqualsInterleaved() throws {
        let interleaved = loaded()
        let ordered = ["a", "c", "b"].flatMap { id in rows.filter { $0.id == id } }
        var grouped = Series(
            featureColumns: [ordered.map(\.x), ordered.map(\.y)], featureNames: ["x", "y"], target: ordered.map(\.y),
            targetName: "y", vocabulary: nil)
        grouped.group(keys: ordered.map { Int32(["a", "c", "b"].firstIndex(of: $0.id) ?? -1) }, ids: ["a", "c", "b"])
        #expect(grouped.featureColumns == interleaved.featureColumns && grouped.target == interleaved.target)
        #expect(grouped.panel?.ends == interleaved.panel?.ends && grouped.panel?.ends == [9, 11, 20])
    }

    @Test("after the training rows' levels are dropped, every level validation reads is the one before, for one series and a panel")
    func droppedLevelsKeepValidation() throws {
        var panel = loaded()
        try panel.difference(lag: 2)
        let one = try Series(
            featureColumns: [rows.map(\.y)], featureNames: ["y"], target: rows.map(\.y), targetName: "y", vocabulary: nil
        ).differenced(lag: 2)
        for series in [panel, one] {
            var data = try WindowedDataset(series: series, seqLen: 2, validationFraction: 0.3, scaling: .fit(.zscore))
            // Validation windows' rows, from each one's first input to its target, and `lag` before.
            let reads = (data.trainCount..<data.windowCount).flatMap { w in
                let start = data.startRow(ofWindow: w)
                return (0...2).flatMap { back in (start..<(start + 3)).map { (row: $0, back: back) } }
            }
            let before = reads.map { data.level(row: $0.row, back: $0.back) }
            data.dropTrainingLevels()
            #expect(reads.map { data.level(row: $0.row, back: $0.back) } == before)
        }
    }
}
