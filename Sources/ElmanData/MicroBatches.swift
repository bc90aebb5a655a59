/// The decomposition of a batch into micro-batches: the unit that ranks and threads share out,
/// and whose gradients are summed exactly.
///
/// Cut by size (`init(examples:size:)`), a batch of n examples (windows, or the lanes of a
/// stateful run) becomes ⌈n / m⌉ near-equal contiguous micro-batches of at most m. That cut
/// depends on n and m alone, never on how many ranks or threads there are, so every
/// micro-batch is computed by the same calls on the same shapes wherever it runs, and gives
/// the same bits. Cut by count (`init(examples:count:)`, one micro-batch per worker), the
/// shapes follow the workers, and results agree across world sizes only to rounding:
///
///     let cut = MicroBatches(examples: 64, size: 16)         // 4 micro-batches of 16
///     let mine = cut.share(workers: 3, worker: 0)            // micro-batches 0 ..< 2 on worker 0
///     cut.examples(of: 1)                                    // examples 16 ..< 32
public struct MicroBatches: Equatable, Sendable {
    /// n: examples in the batch.
    public let examples: Int
    /// How many micro-batches: ⌈n / m⌉ (0 for an empty batch).
    public let count: Int

    /// Cuts `examples` into micro-batches of at most `size`.
    public init(examples: Int, size: Int) {
        precondition(size >= 1 && examples >= 0, "MicroBatches: size \(size), examples \(examples)")
        self.examples = examples
        count = (examples + size - 1) / size
    }

    /// Cuts `examples` into `count` near-equal micro-batches (fewer if there are fewer examples).
    public init(examples: Int, count: Int) {
        precondition(count >= 1 && examples >= 0, "MicroBatches: count \(count), examples \(examples)")
        self.examples = examples
        self.count = min(count, examples)
    }

    /// The examples of micro-batch `j`: near-equal contiguous parts, the first ones one larger.
    public func examples(of j: Int) -> Range<Int> { BatchPlan.shard(count: examples, ranks: count, rank: j) }

    /// The micro-batches `worker` of `workers` computes: a contiguous near-equal share.
    public func share(workers: Int, worker: Int) -> Range<Int> {
        BatchPlan.shard(count: count, ranks: workers, rank: worker)
    }

    /// The examples of micro-batches `js` (contiguous), as one range.
    public func examples(of js: Range<Int>) -> Range<Int> {
        js.isEmpty ? 0..<0 : examples(of: js.lowerBound).lowerBound..<examples(of: js.upperBound - 1).upperBound
    }

    /// The micro-batch size of `--deterministic`: 16 examples, so that the default batch of
    /// 32 still gives two cores one micro-batch each and a batch of 256 gives 16 workers one.
    public static let defaultSize = 16
}
