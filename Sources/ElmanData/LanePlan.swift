/// How stateful training walks the training rows: B lanes read in chunks of T steps.
///
/// The N training rows form B lanes of L = ⌊N/B⌋ rows (lane b holds rows b·L … b·L+L−1;
/// the last N − B·L rows are dropped), as PyTorch's word_language_model `batchify` does.
/// Step k of an epoch feeds rows i … i+s−1 of every lane, i = k·T, s = min(T, L−1−i), and
/// targets rows i+1 … i+s; the hidden state is carried from one step to the next and starts
/// at zero each epoch. Nothing is shuffled, so the step count alone locates a run.
public struct LanePlan: Sendable, Equatable {
    /// B.
    public let lanes: Int
    /// L: rows per lane.
    public let laneLength: Int
    /// T: steps per chunk (the last chunk of an epoch may be shorter).
    public let seqLen: Int
    /// Training rows left over after B·L.
    public let droppedRows: Int
    /// The dataset row of lane 0's first row (the first held-out row for validation lanes).
    public let origin: Int

    public init(rows: Int, lanes: Int, seqLen: Int, origin: Int = 0) throws(DataError) {
        guard lanes >= 1 else { throw DataError.usage("`batchSize` must be at least 1, got \(lanes)") }
        let length = rows / lanes
        guard length >= 2 else {
            throw DataError.usage(
                "`batchSize` \(lanes) lanes of \(rows) training rows leave \(length) row(s) a lane; at least 2 are needed"
            )
        }
        self.lanes = lanes
        laneLength = length
        self.seqLen = seqLen
        droppedRows = rows - lanes * length
        self.origin = origin
    }

    /// The lanes validation reads the `rows` held-out rows in: one lane unless the tail is long,
    /// then as many lanes of at least 100·T rows as fit, at most `maxLanes` (the training lanes).
    ///
    /// One lane is bound by memory bandwidth: every step re-reads W_hh for a single row, while
    /// training reads it once for B rows; lanes make a long validation as cheap per row as a
    /// forward pass of training. Each lane starts from zero, which costs nothing measurable
    /// over 100·T rows. PyTorch's word_language_model batchifies its validation data the same way.
    public static func validationLanes(rows: Int, seqLen: Int, maxLanes: Int) -> Int {
        max(1, min(maxLanes, rows / (100 * seqLen)))
    }

    /// Steps in one epoch: ⌈(L − 1) / T⌉.
    public var batchesPerEpoch: Int { (laneLength - 1 + seqLen - 1) / seqLen }

    /// (epoch, step within the epoch) of global step `step` (0-based).
    public func position(ofStep step: Int) -> (epoch: Int, batch: Int) {
        (step / batchesPerEpoch, step % batchesPerEpoch)
    }

    /// The rows step `batch` of an epoch reads in every lane: its first row offset i and length s.
    public func chunk(_ batch: Int) -> (offset: Int, steps: Int) {
        let i = batch * seqLen
        return (i, min(seqLen, laneLength - 1 - i))
    }

    /// The dataset row of `lane`'s chunk at `offset`.
    public func row(lane: Int, offset: Int) -> Int { origin + lane * laneLength + offset }
}
