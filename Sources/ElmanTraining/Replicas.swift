import ElmanCore
import ElmanData
import ElmanRun

/// Copies of the network that share a rank's batch, one per core the rank uses.
///
/// A batch's windows are shared out in contiguous near-equal parts (as a global batch among
/// ranks); each part runs forward (and backward) on its own core with single-threaded BLAS,
/// and the parts' losses and gradients are summed in replica order into the first replica's,
/// which is the trainer's own network. The result depends on the number of replicas only as
/// on the number of ranks (rounding). Each thread touches only its own replica (network,
/// workspace, batch buffers); a call allocates nothing.
final class Replicas: @unchecked Sendable {
    /// One `LocalStep` per replica; the first is the trainer's.
    let steps: [LocalStep]
    private var pool: ReplicaPool?

    /// The windows of the current call: a list (training) or a range (validation).
    enum Windows {
        case list(UnsafeBufferPointer<Int>)
        case range(Range<Int>)

        var count: Int {
            switch self {
            case let .list(b): b.count
            case let .range(r): r.count
            }
        }
    }

    // The current call, written before the pool runs and read by every thread.
    private var windows = Windows.range(0..<0)
    private var parts = 0
    private var gradient = false
    private var scores: [LocalStep.Scored]

    init(first: LocalStep, count: Int) {
        let network = first.network
        steps =
            [first]
            + (1..<max(1, count)).map { _ in
                LocalStep(network: ElmanNetwork(config: network.config), data: first.data, loss: first.loss)
            }
        scores = Array(repeating: .zero, count: steps.count)
        if steps.count > 1 { pool = ReplicaPool(parts: steps.count) { [unowned self] in self.part($0) } }
    }

    var count: Int { steps.count }

    /// Runs `windows` on the replicas and returns the summed loss; with `gradient`, the first
    /// replica's network holds the summed gradient (it must have been zeroed by the caller).
    func run(_ windows: Windows, gradient: Bool) -> LocalStep.Scored {
        let network = steps[0].network, P = network.layout.count
        parts = min(steps.count, windows.count)
        self.windows = windows
        self.gradient = gradient
        for r in steps[1..<parts] {
            r.network.parameters.copy(from: network.parameters, count: P)
            if gradient { r.network.zeroGradients() }
        }
        pool?.run()
        var scored = scores[0]
        for i in 1..<parts {
            scored += scores[i]
            if gradient { network.gradients.add(steps[i].network.gradients, count: P) }
        }
        return scored
    }

    /// Replica `i`'s part of the current call (on its own thread).
    private func part(_ i: Int) {
        guard i < parts else { return }
        let replica = steps[i]
        let mine = BatchPlan.shard(count: windows.count, ranks: parts, rank: i)
        switch windows {
        case let .list(all):
            scores[i] = replica.forward(windows: UnsafeBufferPointer(rebasing: all[mine]), gradient: gradient)
        case let .range(all):
            scores[i] = replica.forward(
                windows: (all.lowerBound + mine.lowerBound)..<(all.lowerBound + mine.upperBound), gradient: gradient)
        }
        if gradient { replica.network.backward() }
    }
}
