import ElmanCore
import ElmanDistributed

/// Named points of a training step, in the order every rank passes them.
public enum StepPoint: Sendable {
    /// Before the batch is filled.
    case start
    /// The local gradients are complete; the rest of the all-reduce is next (with overlap, the
    /// reductions of the parts backward finished have already started).
    case computed
    /// The all-reduce has summed gradients, loss and counts over every rank.
    case reduced
    /// The optimiser has updated the parameters.
    case updated
}

/// Something that watches the step at its named points: benchmark timing, fault injection.
///
/// The loop calls every observer at every point on every rank. An observer may read the
/// network and, to inject a fault, write it; the loop itself knows nothing of either use.
public protocol StepObserver: AnyObject {
    /// `step` is 0-based: the number of updates done before this one.
    func step(_ step: Int, reached point: StepPoint, network: ElmanNetwork, comm: Communicator) throws
}
