import ElmanCore
import Testing

@Suite("Seeded generator")
struct SeededGeneratorTests {
    @Test("the stream is fixed: these values are part of every checkpoint's reproducibility")
    func fixedStream() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42), c = SeededGenerator(seed: 43)
        let xs = (0..<4).map { _ in a.next() }
        #expect(xs == (0..<4).map { _ in b.next() })
        #expect(xs != (0..<4).map { _ in c.next() })
        // xoshiro256** seeded by SplitMix64(1), computed independently in Python; a change
        // here would silently change every seeded run and every resumed trajectory.
        var g = SeededGenerator(seed: 1)
        #expect(g.next() == Self.firstValueForSeed1)
    }

    static let firstValueForSeed1: UInt64 = 12_966_619_160_104_079_557

    @Test("shuffle is a permutation and uniform enough")
    func shuffle() {
        var g = SeededGenerator(seed: 7)
        var counts = [Int](repeating: 0, count: 5)
        for _ in 0..<5000 {
            var a = Array(0..<5)
            g.shuffle(&a)
            #expect(a.sorted() == Array(0..<5))
            counts[a[0]] += 1
        }
        for c in counts { #expect(abs(c - 1000) < 150) }
    }

    @Test("the prefetching shuffle of window numbers gives the plain Fisher–Yates permutation and leaves the generator where it does")
    func windowShuffleIsThePlainOne() {
        for (n, seed) in [(1, 1), (2, 2), (15, 3), (16, 4), (17, 5), (100_003, 6)] as [(Int, UInt64)] {
            var plain = SeededGenerator(seed: seed), prefetching = plain
            var reference = Array(0..<n)  // [Int]: the generic loop
            plain.shuffle(&reference)
            var windows = Array(0..<Int32(n))
            prefetching.shuffle(&windows)
            #expect(windows.map(Int.init) == reference, "n \(n)")
            #expect(plain.next() == prefetching.next(), "n \(n)")
        }
    }

    @Test("initialisation fills PyTorch's U(−1/√H, 1/√H); with zeroHead the head is zero and the output 0")
    func initBounds() {
        let net = ElmanNetwork(config: ModelConfig(inputSize: 3, hiddenSize: 16, outputSize: 2, layers: 2))
        net.initialize(seed: 3)
        let bound: Float = 0.25
        let layout = net.layout
        for slot in layout.slots {
            let values = slot.range.map { net.parameters[$0] }
            #expect(values.allSatisfy { abs($0) <= bound }, "\(slot.name)")
            #expect(values.contains { abs($0) > 0.2 } || slot.count < 4, "\(slot.name)")
        }
        let zeroHead = ElmanNetwork(config: net.config)
        zeroHead.initialize(seed: 3, zeroHead: true)
        for slot in layout.slots {
            let head = slot.name.hasPrefix("fc.")
            #expect(
                slot.range.allSatisfy { zeroHead.parameters[$0] == (head ? 0 : net.parameters[$0]) }, "\(slot.name)")
        }
        let x: [Float] = (0..<4 * 5 * 3).map { Float($0 % 7) - 3 }
        x.withUnsafeBufferPointer { zeroHead.forward($0, batch: 4, steps: 5) }
        #expect(zeroHead.output.allSatisfy { $0 == 0 })
        let again = ElmanNetwork(config: net.config)
        again.initialize(seed: 3)
        #expect(again.parameters.array == net.parameters.array)
    }
}
