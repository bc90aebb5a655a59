import ElmanCore
import Testing

@Suite("Fixed-point grid")
struct FixedPointGridTests {
    /// `addends` vectors of `n` values spanning 2^−30 … 2^3 in magnitude, both signs.
    func addends(_ addends: Int, _ n: Int, seed: UInt64) -> [[Float]] {
        var rng = SeededGenerator(seed: seed)
        return (0..<addends).map { _ in
            (0..<n).map { _ in
                let magnitude = Float(sign: .plus, exponent: Int(rng.nextUnitFloat() * 33) - 30, significand: 1)
                return (rng.nextUnitFloat() - 0.5) * magnitude
            }
        }
    }

    /// Σ of `vectors` on the grid of their largest magnitude, added in `order`, in `groups`
    /// partial sums (as ranks would) that are then added together.
    func gridSum(_ vectors: [[Float]], order: [Int], groups: Int) -> [Float] {
        let n = vectors[0].count
        let largest = vectors.flatMap { $0 }.map { Double(abs($0)) }.max() ?? 0
        let grid = FixedPointGrid(maximum: largest, addends: vectors.count)
        var partial = [[Double]](repeating: [Double](repeating: 0, count: n), count: groups)
        for (k, v) in order.enumerated() {
            partial[k % groups].withUnsafeMutableBufferPointer { p in
                grid.accumulate(vectors[v], into: p.baseAddress!, count: n)
            }
        }
        var total = [Double](repeating: 0, count: n)
        for p in partial.reversed() { for i in 0..<n { total[i] += p[i] } }
        var out = [Float](repeating: 0, count: n)
        total.withUnsafeBufferPointer { t in
            out.withUnsafeMutableBufferPointer { grid.values(of: t.baseAddress!, into: $0.baseAddress!, count: n) }
        }
        return out
    }

    @Test("a sum on the grid is the same bits in any order and any grouping, where float32 sums differ")
    func orderFree() {
        let vectors = addends(13, 500, seed: 3)
        let forward = gridSum(vectors, order: Array(0..<13), groups: 1)
        var rng = SeededGenerator(seed: 8)
        for groups in [1, 2, 3, 4, 7] {
            let shuffled = Array(0..<13).shuffled(using: &rng)
            #expect(gridSum(vectors, order: shuffled, groups: groups).map(\.bitPattern) == forward.map(\.bitPattern))
        }
        // The property is not vacuous: float32 sums in these orders do differ.
        let inOrder = (0..<500).map { i in vectors.reduce(Float(0)) { $0 + $1[i] } }
        let reversed = (0..<500).map { i in vectors.reversed().reduce(Float(0)) { $0 + $1[i] } }
        #expect(inOrder != reversed)
    }

    @Test("the grid sum is the exact sum rounded to float32, but for addends below 2^-47 of the largest")
    func accuracy() {
        let vectors = addends(16, 500, seed: 11)
        let sum = gridSum(vectors, order: Array(0..<16), groups: 1)
        let largest = vectors.flatMap { $0 }.map { Double(abs($0)) }.max() ?? 0
        for i in 0..<500 {
            // Float32 addends sum exactly in Double here (their exponents span 33 + 4 bits < 53).
            let exact = vectors.reduce(0.0) { $0 + Double($1[i]) }
            // At most 16 roundings of half a grid step (≤ 2^-47 · largest each), then one to float32.
            let bound = 16 * largest * 0x1p-47 + Double(Float(exact).ulp)
            #expect(abs(Double(sum[i]) - exact) <= bound, "element \(i): \(sum[i]) against \(exact)")
        }
    }

    @Test("the agreed number of addends at the largest magnitude sums below 2^51, on a grid at most 2 bits coarser")
    func noOverflow() {
        for (largest, addends) in [(1.0, 1), (3.999, 16), (1e30, 1000), (1e-30, 3), (0x1p20, 1 << 20), (5.0, 17)] {
            let grid = FixedPointGrid(maximum: largest, addends: addends)
            var q = [0.0]
            q.withUnsafeMutableBufferPointer { grid.accumulate([Float(largest)], into: $0.baseAddress!, count: 1) }
            let all = q[0] * Double(addends)
            // Below 2^51: no partial sum of the addends, in any order, reaches 2^53.
            #expect(all <= 0x1p51, "\(largest) × \(addends): \(all)")
            // And the grid is no coarser than it must be (the largest addend keeps its bits).
            #expect(all > 0x1p49, "\(largest) × \(addends): \(all)")
        }
    }

    @Test("the largest magnitude counts negative values, the tail past 16, and NaN as largest")
    func maximum() {
        var x: [Float] = (0..<37).map { Float($0) * 0.01 }
        x[35] = -7.5
        #expect(FixedPointGrid.maximum(x, count: 37) == 7.5)
        x[3] = -9
        #expect(FixedPointGrid.maximum(x, count: 37) == 9)
        x[20] = .nan
        #expect(FixedPointGrid.maximum(x, count: 37).isNaN)
        #expect(FixedPointGrid.maximum(x, count: 0) == 0)
    }
}
