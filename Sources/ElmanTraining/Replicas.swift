import ElmanCore
import ElmanData
import ElmanRun

/// Copies of the network that share a rank's work, one per core the rank uses.
///
/// Work comes as a count of items (micro-batches, validation chunks); replica i takes the
/// i-th contiguous near-equal share and runs it on its own core with single-threaded BLAS.
/// Which replica runs an item never changes what it computes: every item is a fixed shape,
/// and what items produce is summed exactly (`GradientReduction`) or in item order. Each
/// thread touches only its own replica (network, workspace, batch buffers); a call allocates
/// nothing.
final class Replicas: @unchecked Sendable {
    /// One `LocalStep` per replica; the first is the trainer's.
    let steps: [LocalStep]
    private var pool: ReplicaPool?

    // The current call, written before the pool runs and read by every thread.
    private var items = 0
    private var body: ((Int, Range<Int>) -> Void)?

    init(first: LocalStep, count: Int) {
        let network = first.network
        steps =
            [first]
            + (1..<max(1, count)).map { _ in
                LocalStep(network: ElmanNetwork(config: network.config), data: first.data, loss: first.loss)
            }
        if steps.count > 1 { pool = ReplicaPool(parts: steps.count) { [unowned self] in self.part($0) } }
    }

    var count: Int { steps.count }

    /// Copies the first replica's parameters (the trainer's) into the others.
    func shareParameters() {
        let network = steps[0].network
        for r in steps.dropFirst() { r.network.parameters.copy(from: network.parameters, count: network.layout.count) }
    }

    /// The items replica `replica` takes of `items`.
    func share(of items: Int, replica: Int) -> Range<Int> {
        BatchPlan.shard(count: items, ranks: steps.count, rank: replica)
    }

    /// Runs `body(replica, share)` on every replica at once, each with its share of items
    /// 0 ..< `items` (replicas with an empty share are not called), and returns when all have.
    func perform(_ items: Int, _ body: (Int, Range<Int>) -> Void) {
        guard let pool, items > 1 else {
            if items > 0 { body(0, 0..<items) }
            return
        }
        withoutActuallyEscaping(body) { body in
            self.items = items
            self.body = body
            pool.run()
            self.body = nil
        }
    }

    /// Replica `i`'s part of the current call (on its own thread).
    private func part(_ i: Int) {
        let mine = share(of: items, replica: i)
        guard !mine.isEmpty, let body else { return }
        body(i, mine)
    }
}
