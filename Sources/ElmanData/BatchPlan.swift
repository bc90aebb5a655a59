/// The order in which training windows are visited: the same on every rank, from the seed alone.
///
/// Global step s belongs to epoch s / batchesPerEpoch and is the (s mod batchesPerEpoch)-th
/// run of `batchSize` consecutive windows in that epoch's order (the last run may be shorter).
/// Nothing but the step count is needed to resume, at any world size.
public struct BatchPlan: Sendable {
    public let windowCount: Int
    public let batchSize: Int
    public let shuffle: Bool
    public let seed: UInt64

    public init(windowCount: Int, batchSize: Int, shuffle: Bool, seed: UInt64) throws(DataError) {
        guard batchSize >= 1 else { throw DataError.usage("`batchSize` must be at least 1, got \(batchSize)") }
        // Window numbers are held as Int32 (an epoch's order of 10M windows: 40 MB, not 80).
        guard windowCount <= Int(Int32.max) else {
            throw DataError.usage("\(windowCount) training windows are more than one run orders (\(Int32.max))")
        }
        guard batchSize <= windowCount else {
            throw DataError.usage("`batchSize` \(batchSize) is larger than the \(windowCount) training windows")
        }
        self.windowCount = windowCount
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.seed = seed
    }

    /// Batches in one epoch (the last may be partial; nothing is dropped).
    public var batchesPerEpoch: Int { (windowCount + batchSize - 1) / batchSize }

    /// (epoch, batch within the epoch) of global step `step` (0-based).
    public func position(ofStep step: Int) -> (epoch: Int, batch: Int) {
        (step / batchesPerEpoch, step % batchesPerEpoch)
    }

    /// The window order of `epoch`: a seeded permutation, or file order.
    ///
    /// As Int32: half the memory of Int, and the shuffle's random reads touch half the cache
    /// lines; the permutation is the same (the shuffle draws the same swaps for any element).
    public func order(epoch: Int) -> [Int32] {
        Self.order(windowCount: windowCount, shuffle: shuffle, seed: seed, epoch: epoch)
    }

    /// The window order of `epoch` for a plan of `windowCount` windows (at most `Int32.max`):
    /// it does not depend on the batch size, so a run may order its first epoch before its
    /// plan is made.
    public static func order(windowCount: Int, shuffle: Bool, seed: UInt64, epoch: Int) -> [Int32] {
        var order = Array(0..<Int32(windowCount))
        if shuffle {
            var rng = DataOrderRandom.generator(seed: seed, stream: UInt64(epoch))
            rng.shuffle(&order)
        }
        return order
    }

    /// Range of positions in the epoch order that batch `batch` covers.
    public func range(ofBatch batch: Int) -> Range<Int> {
        let start = batch * batchSize
        return start..<min(start + batchSize, windowCount)
    }

    /// The contiguous slice of `count` items that `rank` of `ranks` takes: near-equal sizes,
    /// the first (count mod ranks) ranks one larger (16 on 3 ranks: 6, 5, 5).
    public static func shard(count: Int, ranks: Int, rank: Int) -> Range<Int> {
        let base = count / ranks, extra = count % ranks
        let start = rank * base + min(rank, extra)
        return start..<start + base + (rank < extra ? 1 : 0)
    }
}
