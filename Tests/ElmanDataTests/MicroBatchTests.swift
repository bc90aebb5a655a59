import ElmanData
import Testing

@Suite("Micro-batches")
struct MicroBatchTests {
    @Test("a cut by size covers the batch once, in near-equal parts, whatever the workers; shares cover the cut")
    func cutBySize() {
        for (n, m) in [(30, 4), (64, 16), (7, 16), (1, 1), (100, 7)] {
            let cut = MicroBatches(examples: n, size: m)
            #expect(cut.count == (n + m - 1) / m)
            let parts = (0..<cut.count).map(cut.examples(of:))
            #expect(parts.flatMap { Array($0) } == Array(0..<n))
            #expect(parts.allSatisfy { $0.count <= m && $0.count >= parts[0].count - 1 })
            for workers in 1...5 {
                let shares = (0..<workers).map { cut.share(workers: workers, worker: $0) }
                #expect(shares.flatMap { Array($0) } == Array(0..<cut.count))
                #expect(shares.map { cut.examples(of: $0) }.flatMap { Array($0) } == Array(0..<n))
            }
        }
    }

    @Test("a cut by count gives each worker one micro-batch, fewer when examples are fewer")
    func cutByCount() {
        #expect(MicroBatches(examples: 30, count: 4).count == 4)
        #expect(MicroBatches(examples: 3, count: 4).count == 3)
        #expect(MicroBatches(examples: 30, count: 4).examples(of: 0) == 0..<8)
    }
}
