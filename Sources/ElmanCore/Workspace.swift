/// Activation memory for one batch shape, allocated once and reused by every step.
///
/// Everything inside is time-major, so the (B, ·) block of one step is contiguous and
/// the per-step recurrent GEMM and activation run on dense memory. Capacity is set by
/// the largest (B, T) seen; a smaller batch (the last of an epoch) reuses the prefix.
final class Workspace {
    let batchCapacity: Int
    let stepCapacity: Int

    /// x: (T, B, I) time-major copy of the (B, T, I) input.
    let input: FloatBuffer
    /// hidden[l]: (T+1, B, H); slot 0 is h0 of layer l, slot t+1 is h_t.
    let hidden: [FloatBuffer]
    /// Head output, time-major: (T, B, O) for `.every`, (B, O) for `.last`.
    let outputTimeMajor: FloatBuffer
    /// Head output as returned to callers: (B, O) or (B, T, O) batch-major.
    let output: FloatBuffer
    /// dLoss/dOutput, same shape as `output`; written by the loss.
    let outputGradient: FloatBuffer
    /// dLoss/dOutput, time-major (T, B, O) for `.every`.
    let outputGradientTimeMajor: FloatBuffer
    /// Two (T, B, H) buffers: the gradient reaching a layer's outputs and, below it, its input.
    let gradA: FloatBuffer
    let gradB: FloatBuffer
    /// (T · B) ones: column sums for the bias gradients via gemv.
    let ones: FloatBuffer
    /// (H): b_ih + b_hh of the layer being computed.
    let biasSum: FloatBuffer
    /// (T · B): the class of every row of a one-hot input (time-major), when `oneHot`.
    let classes: UnsafeMutableBufferPointer<Int32>
    /// Whether the last forward pass found every input row one-hot and gathered it.
    var oneHot = false
    /// (I, H): W_ih transposed (forward) or dW_ihᵀ accumulated (backward), for one-hot inputs.
    let inputWeightScratch: FloatBuffer

    init(config: ModelConfig, batch: Int, steps: Int) {
        batchCapacity = batch
        stepCapacity = steps
        let B = batch, T = steps, H = config.hiddenSize, O = config.outputSize
        let outputRows = config.head == .every ? T * B : B
        input = FloatBuffer(count: T * B * config.inputSize)
        hidden = (0..<config.layers).map { _ in FloatBuffer(count: (T + 1) * B * H) }
        outputTimeMajor = FloatBuffer(count: outputRows * O)
        output = FloatBuffer(count: outputRows * O)
        outputGradient = FloatBuffer(count: outputRows * O)
        outputGradientTimeMajor = FloatBuffer(count: outputRows * O)
        gradA = FloatBuffer(count: T * B * H)
        gradB = FloatBuffer(count: T * B * H)
        ones = FloatBuffer([Float](repeating: 1, count: T * B))
        biasSum = FloatBuffer(count: H)
        classes = .allocate(capacity: max(1, T * B))
        classes.initialize(repeating: 0)
        inputWeightScratch = FloatBuffer(count: config.inputSize >= ElmanNetwork.oneHotMinimumWidth ? config.inputSize * H : 0)
    }

    deinit { classes.deallocate() }

    func fits(batch: Int, steps: Int) -> Bool { batch <= batchCapacity && steps <= stepCapacity }
}

/// Copies a (rows, cols, width) array to (cols, rows, width): batch-major ⇄ time-major.
@inline(__always)
func transpose3(
    _ src: UnsafePointer<Float>, rows: Int, cols: Int, width: Int, into dst: UnsafeMutablePointer<Float>
) {
    for r in 0..<rows {
        for c in 0..<cols {
            (dst + (c * rows + r) * width).update(from: src + (r * cols + c) * width, count: width)
        }
    }
}
