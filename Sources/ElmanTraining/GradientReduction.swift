import ElmanCore
import ElmanDistributed

/// The all-reduce of one step's gradient buffer `[gradients | loss sum | term count | stop flag]`
/// over every rank: at once after backward, or overlapped with it.
///
/// Overlapped (several ranks and layers, `overlaps`): backward reports each part of the
/// gradient as soon as it is final (the head, then the layers top down); its reduction starts
/// then, and the recurrence lets the started reductions progress between its time steps.
/// `finish` starts what backward did not (every part, on a rank with no windows this step,
/// so all ranks start the same parts in the same order), then the extra slots, and waits.
final class GradientReduction {
    private let comm: Communicator
    private let network: ElmanNetwork
    /// Whether to overlap when the run allows it (`bench --no-overlap` turns it off).
    var overlaps = true
    /// Parts of this step's gradient whose reduction has started.
    private var started = 0
    /// The first error starting a part's reduction, thrown by `finish`.
    private var failure: CommunicatorError?

    init(comm: Communicator, network: ElmanNetwork) {
        self.comm = comm
        self.network = network
    }

    /// Whether gradients are reduced in parts during backward.
    var overlapping: Bool { overlaps && comm.size > 1 && network.config.layers > 1 }

    /// Backward through the last forward pass, starting each finished part's reduction when overlapping.
    func backward() {
        guard overlapping else { return network.backward() }
        network.backward(final: { self.start($0) }, meanwhile: { self.comm.progress() })
    }

    private func start(_ part: Range<Int>) {
        started += 1
        let g = network.gradients.buffer
        do { try comm.startAllReduceSum(UnsafeMutableBufferPointer(rebasing: g[part])) } catch {
            failure = failure ?? error
        }
    }

    /// Completes the step's all-reduce (see the type's summary).
    func finish() throws {
        guard overlapping else { return try comm.allReduceSum(network.gradients.buffer) }
        defer { started = 0 }
        for part in network.layout.finalOrder.dropFirst(started) { start(part) }
        start(network.layout.count..<network.gradients.buffer.count)
        if let error = failure {
            failure = nil
            throw error
        }
        try comm.finishReductions()
    }
}
