import ElmanCore
import ElmanData
import ElmanDistributed

/// How the loop walks the training data.
enum Schedule {
    /// Independent windows in a seeded order, each from h = 0.
    case windows(BatchPlan)
    /// Lanes of one stream in order, with this rank's lanes' hidden state carried between steps.
    case lanes(LanePlan, CarriedState)

    /// Steps in one epoch.
    var batchesPerEpoch: Int {
        switch self {
        case let .windows(plan): plan.batchesPerEpoch
        case let .lanes(plan, _): plan.batchesPerEpoch
        }
    }

    /// Examples in global step `step`: windows, or rows of every lane for a stateful run.
    func samples(ofStep step: Int) -> Int {
        switch self {
        case let .windows(plan): plan.range(ofBatch: plan.position(ofStep: step).batch).count
        case let .lanes(plan, _): plan.lanes * plan.chunk(plan.position(ofStep: step).batch).steps
        }
    }

    /// (epoch, step within the epoch) of global step `step`.
    func position(ofStep step: Int) -> (epoch: Int, batch: Int) {
        (step / batchesPerEpoch, step % batchesPerEpoch)
    }
}

/// The hidden state of this rank's lanes, carried (detached) from one step to the next.
///
/// Every rank keeps its own contiguous slice of the lanes, as it takes its slice of a batch;
/// a checkpoint holds all lanes, so a run resumes at any world size.
final class CarriedState {
    /// This rank's lanes, in global lane numbers.
    let lanes: Range<Int>
    /// All lanes of the run (B).
    let laneCount: Int
    let layers: Int
    let hidden: Int
    /// h: (layers, lanes.count, H): what the next step starts from.
    private(set) var values: [Float]

    init(lanes: Range<Int>, of laneCount: Int, layers: Int, hidden: Int) {
        self.lanes = lanes
        self.laneCount = laneCount
        self.layers = layers
        self.hidden = hidden
        values = [Float](repeating: 0, count: layers * lanes.count * hidden)
    }

    /// Zero: every epoch starts here.
    func reset() { values.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }

    /// Keeps the state `network`'s last forward pass ended in, (layers, lanes.count, H), to
    /// start the next step from; copied in place, so a step allocates nothing.
    func carry(from network: ElmanNetwork) {
        values.withUnsafeMutableBufferPointer { network.copyFinalHidden(into: $0) }
    }

    /// This rank's slice of `all`, the state of every lane (layers, B, H).
    func take(from all: [Float]) {
        let H = hidden, b = lanes.count
        for l in 0..<layers {
            let src = (l * laneCount + lanes.lowerBound) * H
            values.replaceSubrange(l * b * H..<(l + 1) * b * H, with: all[src..<src + b * H])
        }
    }

    /// Every lane's state (layers, B, H), assembled on every rank (collective): each rank adds
    /// its lanes into zeros, so the sum is the exact concatenation.
    func gathered(_ comm: Communicator) throws -> [Float] {
        let H = hidden, b = lanes.count
        var all = [Float](repeating: 0, count: layers * laneCount * H)
        for l in 0..<layers {
            let dst = (l * laneCount + lanes.lowerBound) * H
            all.replaceSubrange(dst..<dst + b * H, with: values[l * b * H..<(l + 1) * b * H])
        }
        try all.withUnsafeMutableBufferPointer { try comm.allReduceSum($0) }
        return all
    }

    /// The checkpoint tensor name of the carried state.
    static let tensorName = "hidden"
}
