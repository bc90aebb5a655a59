import CPrefetch

/// A small, fast, seedable random number generator (xoshiro256**) whose stream is
/// the same on every machine and every Swift version.
///
/// The standard library's algorithms that take a generator (such as `shuffle(using:)`)
/// do not promise a stable sequence across releases, so elman-dist draws everything it
/// must reproduce (initial weights, window order, sampling) through the methods here.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    /// Seeds the four state words from `seed` through SplitMix64, as xoshiro's authors advise.
    public init(seed: UInt64) {
        var z = seed
        func splitMix() -> UInt64 {
            z &+= 0x9E37_79B9_7F4A_7C15
            var x = z
            x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
            x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
            return x ^ (x >> 31)
        }
        s = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// A generator for one named purpose (a stream) derived from a base seed, so that
    /// streams never overlap: `SeededGenerator(seed: 7, stream: 3)` for epoch 3's shuffle.
    public init(seed: UInt64, stream: UInt64) {
        self.init(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03) ^ 0x5851_F42D_4C95_7F2D)
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = rotl(s.3, 45)
        return result
    }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A uniform `Float` in [0, 1) with 24 random bits.
    public mutating func nextUnitFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// A uniform `Double` in [0, 1) with 53 random bits.
    public mutating func nextUnitDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// A uniform integer in 0 ..< bound, without modulo bias (rejection sampling).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "nextInt(below:) needs a positive bound")
        let b = UInt64(bound)
        while true {
            let x = next()
            // Below UInt64.max − b + 1, x is always under the rejection limit (which is above
            // that): the limit's division is needed only for the rare x near the top. The same
            // draws as computing it every time; a 10M-window shuffle spent half its time on it.
            if x <= UInt64.max - b { return Int(x % b) }
            if x < UInt64.max - UInt64.max % b { return Int(x % b) }
        }
    }

    /// Fisher–Yates shuffle with a sequence fixed by this generator.
    ///
    /// Inlinable so that callers in other modules get it specialised: unspecialised, shuffling
    /// 5 M window indices spent most of its time looking up generic metadata.
    @inlinable
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            let j = nextInt(below: i + 1)
            if i != j { array.swapAt(i, j) }
        }
    }

    /// The same shuffle of window numbers (the same draws, the same permutation), with each
    /// swap's random element fetched `ahead` swaps before it is needed.
    ///
    /// The draws do not depend on the array, so they are made early; an epoch's order of 10M
    /// windows (40 MB, beyond the cache) otherwise waits on memory at every swap: it was 10% of
    /// a 10M-row panel's load and one step (`perf record`).
    public mutating func shuffle(_ array: inout [Int32]) {
        let n = array.count
        guard n > 1 else { return }
        let ahead = 16
        array.withUnsafeMutableBufferPointer { a in
            guard let base = a.baseAddress else { return }
            withUnsafeTemporaryAllocation(of: Int.self, capacity: ahead) { ring in
                // ring[(n − 1 − i) % ahead]: the draw of the swap at i, made ahead of it.
                var drawn = n - 1  // the swaps at n − 1 ... drawn + 1 have their draws
                func draw() {
                    let j = nextInt(below: drawn + 1)
                    ring[(n - 1 - drawn) % ahead] = j
                    elman_prefetch_for_write(base + j)
                    drawn -= 1
                }
                while drawn >= 1 && drawn > n - 1 - ahead { draw() }
                for i in stride(from: n - 1, to: 0, by: -1) {
                    let j = ring[(n - 1 - i) % ahead]
                    if drawn >= 1 { draw() }
                    if i != j { a.swapAt(i, j) }
                }
            }
        }
    }
}
