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
/// The lanes are cut into micro-batches (`cut`) as a batch of windows is, and every rank
/// keeps the state of its share of them, one block (layers, lanes of the micro-batch, H) each,
/// so the replica that runs a micro-batch reads and writes one contiguous block. A checkpoint
/// holds all lanes (layers, B, H), so a run resumes at any world size.
final class CarriedState: @unchecked Sendable {
    /// The lanes' micro-batches, the same on every rank.
    let cut: MicroBatches
    /// This rank's micro-batches.
    let blocks: Range<Int>
    /// This rank's lanes, in global lane numbers.
    let lanes: Range<Int>
    /// All lanes of the run (B).
    var laneCount: Int { cut.examples }
    let layers: Int
    let hidden: Int
    /// h: this rank's blocks in order, block j (layers, lanes of j, H): what the next step starts from.
    private let values: UnsafeMutableBufferPointer<Float>

    init(cut: MicroBatches, blocks: Range<Int>, layers: Int, hidden: Int) {
        self.cut = cut
        self.blocks = blocks
        lanes = cut.examples(of: blocks)
        self.layers = layers
        self.hidden = hidden
        values = .allocate(capacity: max(1, layers * lanes.count * hidden))
        values.initialize(repeating: 0)
    }

    deinit { values.deallocate() }

    /// Zero: every epoch starts here.
    func reset() { values.update(repeating: 0) }

    /// Block `j`'s state (layers, lanes of j, H): j's lanes are contiguous, so the block starts
    /// at its first lane's offset among this rank's lanes times layers · H.
    func block(_ j: Int) -> UnsafeMutableBufferPointer<Float> {
        let mine = cut.examples(of: j)
        let start = (mine.lowerBound - lanes.lowerBound) * layers * hidden
        return UnsafeMutableBufferPointer(rebasing: values[start..<start + mine.count * layers * hidden])
    }

    /// Keeps the state `network`'s last forward pass (block `j`'s lanes) ended in, to start
    /// that block's next step from; copied in place, so a step allocates nothing.
    func carry(_ j: Int, from network: ElmanNetwork) { network.copyFinalHidden(into: block(j)) }

    /// Visits every lane of this rank as (layer, global lane, its H values).
    private func forEachLane(_ visit: (Int, Int, UnsafeMutableBufferPointer<Float>) -> Void) {
        let H = hidden
        for j in blocks {
            let b = block(j), mine = cut.examples(of: j)
            for l in 0..<layers {
                for (k, lane) in mine.enumerated() {
                    let at = (l * mine.count + k) * H
                    visit(l, lane, UnsafeMutableBufferPointer(rebasing: b[at..<at + H]))
                }
            }
        }
    }

    /// This rank's lanes of `all`, the state of every lane (layers, B, H).
    func take(from all: [Float]) {
        let H = hidden, B = laneCount
        forEachLane { l, lane, h in
            let src = (l * B + lane) * H
            for i in 0..<H { h[i] = all[src + i] }
        }
    }

    /// Every lane's state (layers, B, H), assembled on every rank (collective): each rank adds
    /// its lanes into zeros, so the sum is the exact concatenation.
    func gathered(_ comm: Communicator) throws -> [Float] {
        let H = hidden, B = laneCount
        var all = [Float](repeating: 0, count: layers * B * H)
        forEachLane { l, lane, h in
            let dst = (l * B + lane) * H
            for i in 0..<H { all[dst + i] = h[i] }
        }
        try all.withUnsafeMutableBufferPointer { try comm.allReduceSum($0) }
        return all
    }

    /// The checkpoint tensor name of the carried state.
    static let tensorName = "hidden"
}
