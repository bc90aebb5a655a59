/// An Elman network, `torch.nn.RNN` + `torch.nn.Linear`, with exact backpropagation through time.
///
/// Layer k, step t (f = tanh or relu):
///
///     h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
///     y   = W_fc h_T + b_fc            (head .last)     or  y_t = W_fc h_t + b_fc  (head .every)
///
/// Parameters live in one flat buffer and gradients in another (same `ParameterLayout`), so
/// an optimiser or an all-reduce sees one contiguous vector. A training step is
///
///     network.zeroGradients()
///     network.forward(input, batch: B, steps: T)
///     let loss = lossFunction(network.output, target, gradient: network.outputGradient)
///     network.backward()
///
/// Every matrix product is one CBLAS call: the input projection of a layer and the weight
/// gradients are single GEMMs over all T steps; only the recurrent product runs per step.
/// A one-hot input (text) is not multiplied: its projection is a gather of W_ih's columns,
/// exact as the product is, and its weight gradient a scatter-add of rows.
public final class ElmanNetwork {
    /// The shape of the network.
    public let config: ModelConfig
    /// Where each tensor lives in `parameters` and `gradients`.
    public let layout: ParameterLayout
    /// All parameters, in `layout` order.
    public let parameters: FloatBuffer
    /// All gradients, in `layout` order, followed by the `gradientTail` spare slots given at init.
    ///
    /// The spare slots let a caller reduce per-step statistics (a loss sum, a sample count)
    /// in the same collective as the gradients; the network never touches them.
    public let gradients: FloatBuffer

    private var workspace: Workspace
    private var batch = 0
    private var steps = 0

    /// Builds a network with zero parameters; call `initialize(seed:)` or load weights.
    public init(config: ModelConfig, gradientTail: Int = 0) {
        self.config = config
        layout = ParameterLayout(config)
        parameters = FloatBuffer(count: layout.count)
        gradients = FloatBuffer(count: layout.count + gradientTail)
        workspace = Workspace(config: config, batch: 1, steps: 1)
    }

    /// Whether a one-hot input (every row a single 1, as text's characters) is gathered
    /// instead of multiplied: on by default; tests turn it off to compare with the GEMM.
    public var gathersOneHot = true

    /// Inputs at least this wide are checked for one-hot rows: a narrower product costs less
    /// than the check.
    public static let oneHotMinimumWidth = 16

    /// Writes the class of each row of x (rows, width) into `classes` and returns true when
    /// every row is one-hot (one element exactly 1, the others exactly 0); false at the first
    /// row that is not (a numeric input stops at its first row).
    static func classes(
        ofOneHot x: UnsafePointer<Float>, rows: Int, width: Int, into classes: UnsafeMutableBufferPointer<Int32>
    ) -> Bool {
        for r in 0..<rows {
            let row = x + r * width
            var found = -1
            for k in 0..<width where row[k] != 0 {
                guard row[k] == 1, found < 0 else { return false }
                found = k
            }
            guard found >= 0 else { return false }
            classes[r] = Int32(found)
        }
        return true
    }

    // MARK: Initialisation

    /// Fills the parameters from a seed as PyTorch initialises `torch.nn.RNN` and `nn.Linear`:
    /// U(−1/√H, 1/√H) for every tensor (fan_in = H for the head too).
    ///
    /// `zeroHead`: the head starts at zero instead, so the untrained model outputs 0 everywhere.
    /// For a series modelled as changes that is "no change", the last-value forecast, and
    /// training moves away from it only as far as the data pull it; with PyTorch's head a model
    /// of a random walk starts at a random offset that a short run never removes
    /// (bench/what_to_expect.sh: up to 12% worse than the last value on monthly prices,
    /// depending on the seed). The recurrent weights get gradients from the second update on.
    public func initialize(seed: UInt64, zeroHead: Bool = false) {
        var rng = SeededGenerator(seed: seed, stream: 0x1_0000)
        let bound = 1 / Float(config.hiddenSize).squareRoot()
        for slot in layout.slots {
            for i in slot.range { parameters[i] = (2 * rng.nextUnitFloat() - 1) * bound }
        }
        guard zeroHead else { return }
        for slot in [layout.headWeight, layout.headBias] {
            parameters.baseAddress.advanced(by: slot.offset).update(repeating: 0, count: slot.count)
        }
    }

    /// Sets every gradient (not the spare tail) to zero.
    public func zeroGradients() { gradients.baseAddress.update(repeating: 0, count: layout.count) }

    // MARK: Results of the last forward pass

    /// Head output of the last forward pass: (B, O) for `.last`, (B, T, O) for `.every`.
    public var output: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: workspace.output.baseAddress, count: outputCount)
    }

    /// dLoss/dOutput for `backward()`, same shape as `output`; the loss writes it.
    public var outputGradient: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: workspace.outputGradient.baseAddress, count: outputCount)
    }

    /// The output of batch element `b` at the last step of the last forward pass: (O) values,
    /// whichever the head (with a head on every step, the last of its T outputs).
    public func lastOutput(_ b: Int) -> UnsafeBufferPointer<Float> {
        let O = config.outputSize
        let offset = config.head == .every ? (b * steps + steps - 1) * O : b * O
        return UnsafeBufferPointer(rebasing: output[offset..<offset + O])
    }

    private var outputCount: Int {
        (config.head == .every ? steps * batch : batch) * config.outputSize
    }

    /// Final hidden state of every layer, (L, B, H), as `torch.nn.RNN` returns `h_n`.
    public func finalHidden() -> [Float] {
        var out = [Float](repeating: 0, count: config.layers * batch * config.hiddenSize)
        out.withUnsafeMutableBufferPointer { copyFinalHidden(into: $0) }
        return out
    }

    /// Copies the final hidden state (L, B, H) into `out` (exactly that many floats), allocating nothing.
    public func copyFinalHidden(into out: UnsafeMutableBufferPointer<Float>) {
        let B = batch, H = config.hiddenSize
        precondition(out.count == config.layers * B * H, "copyFinalHidden: out is not (L, B, H)")
        guard let base = out.baseAddress else { return }
        for l in 0..<config.layers {
            (base + l * B * H).update(from: workspace.hidden[l].baseAddress + steps * B * H, count: B * H)
        }
    }

    // MARK: Forward

    /// Runs the network on a batch.
    ///
    /// - Parameters:
    ///   - input: x (B, T, I) row-major, batch-major as PyTorch's `batch_first=True`.
    ///   - batch: B.
    ///   - steps: T.
    ///   - initialHidden: h0 (L, B, H), or nil for zeros.
    public func forward(
        _ input: UnsafeBufferPointer<Float>, batch B: Int, steps T: Int,
        initialHidden: UnsafeBufferPointer<Float>? = nil
    ) {
        let I = config.inputSize, H = config.hiddenSize, O = config.outputSize, L = config.layers
        guard B > 0, T > 0, input.count == B * T * I, let x0 = input.baseAddress else {
            preconditionFailure("forward: input is not (B, T, I) = (\(B), \(T), \(I))")
        }
        let h0Base = initialHidden?.baseAddress
        precondition(
            initialHidden == nil || (initialHidden?.count == L * B * H && h0Base != nil), "forward: h0 is not (L, B, H)"
        )
        if !workspace.fits(batch: B, steps: T) {
            workspace = Workspace(
                config: config, batch: max(B, workspace.batchCapacity),
                steps: max(T, workspace.stepCapacity))
        }
        batch = B
        steps = T
        let ws = workspace
        let p = parameters.baseAddress

        // x: (B, T, I) → (T, B, I)
        transpose3(x0, rows: B, cols: T, width: I, into: ws.input.baseAddress)

        for l in 0..<L {
            let slots = layout.layers[l]
            let In = config.inputSize(ofLayer: l)
            let x = l == 0 ? ws.input.baseAddress : ws.hidden[l - 1].baseAddress + B * H  // (T·B, In)
            let h = ws.hidden[l].baseAddress  // (T+1, B, H)

            // h[0] = h0[l] (B, H)
            if let h0 = h0Base {
                h.update(from: h0 + l * B * H, count: B * H)
            } else {
                h.update(repeating: 0, count: B * H)
            }
            // b = b_ih + b_hh (H)
            let bias = ws.biasSum.baseAddress
            for j in 0..<H { bias[j] = p[slots.biasIH.offset + j] + p[slots.biasHH.offset + j] }
            if l == 0 {
                ws.oneHot = gathersOneHot && In >= Self.oneHotMinimumWidth
                    && Self.classes(ofOneHot: x, rows: T * B, width: In, into: ws.classes)
            }
            if l == 0 && ws.oneHot {
                // pre[1...T] = x · W_ihᵀ with every row of x one-hot: row r's product is column
                // c_r of W_ih, exactly as the GEMM's (one nonzero term, times 1).
                // Wt (In, H) = W_ihᵀ, then pre[r] = Wt[c_r]   x: (T·B) classes
                let wt = ws.inputWeightScratch.baseAddress, w = p + slots.weightIH.offset
                for j in 0..<H {
                    for k in 0..<In { wt[k * H + j] = w[j * In + k] }
                }
                for r in 0..<T * B { (h + B * H + r * H).update(from: wt + Int(ws.classes[r]) * H, count: H) }
            } else {
                // pre[1...T] = x · W_ihᵀ        x: (T·B, In), W_ih: (H, In)  — all steps in one GEMM
                BLAS.gemm(
                    transposeB: true, m: T * B, n: H, k: In,
                    a: x, lda: In, b: p + slots.weightIH.offset, ldb: In,
                    beta: 0, c: h + B * H, ldc: H)
            }
            for t in 0..<T {
                let prev = h + t * B * H, cur = h + (t + 1) * B * H
                // pre_t += h_{t-1} · W_hhᵀ   h_{t-1}: (B, H), W_hh: (H, H)
                BLAS.gemm(
                    transposeB: true, m: B, n: H, k: H,
                    a: prev, lda: H, b: p + slots.weightHH.offset, ldb: H,
                    beta: 1, c: cur, ldc: H)
                // h_t = f(pre_t + b), b broadcast over the B rows
                VectorMath.activate(config.activation, cur, rows: B, width: H, bias: bias)
            }
        }

        // Head.
        let top = ws.hidden[L - 1].baseAddress
        let rows = config.head == .every ? T * B : B
        let y = config.head == .every ? ws.outputTimeMajor.baseAddress : ws.output.baseAddress
        // y = b_fc broadcast over rows
        for r in 0..<rows { (y + r * O).update(from: p + layout.headBias.offset, count: O) }
        // y += h · W_fcᵀ     h: (rows, H) = h_T (B, H) for .last, h_{1...T} (T·B, H) for .every
        let hIn = config.head == .every ? top + B * H : top + T * B * H
        BLAS.gemm(
            transposeB: true, m: rows, n: O, k: H,
            a: hIn, lda: H, b: p + layout.headWeight.offset, ldb: H,
            beta: 1, c: y, ldc: O)
        if config.head == .every {
            // y: (T, B, O) → (B, T, O)
            transpose3(y, rows: T, cols: B, width: O, into: ws.output.baseAddress)
        }
    }

    // MARK: Backward

    /// Backpropagates `outputGradient` through the last forward pass, adding every
    /// parameter's gradient into `gradients` (call `zeroGradients()` first for a fresh step).
    ///
    /// - Parameters:
    ///   - final: called with each part of `gradients` as soon as nothing more is added to it
    ///     (`layout.finalOrder`: the head, then the layers from the top down), so a caller can
    ///     start reducing it while the layers below run.
    ///   - meanwhile: called between the steps of each layer's recurrence (to let those
    ///     reductions progress).
    public func backward(final: (Range<Int>) -> Void = { _ in }, meanwhile: () -> Void = {}) {
        let B = batch, T = steps, H = config.hiddenSize, O = config.outputSize, L = config.layers
        precondition(B > 0, "backward() before forward()")
        let ws = workspace
        let p = parameters.baseAddress, g = gradients.baseAddress
        let top = ws.hidden[L - 1].baseAddress
        var dH = ws.gradA.baseAddress  // dLoss/dh for the layer being processed, (T, B, H)
        var dBelow = ws.gradB.baseAddress  // dLoss/dx of that layer = dLoss/dh of the layer below

        // Head: differentiates y = h · W_fcᵀ + b_fc.
        let rows = config.head == .every ? T * B : B
        let dy: UnsafeMutablePointer<Float>
        let hIn: UnsafeMutablePointer<Float>
        if config.head == .every {
            // dy: (B, T, O) → (T, B, O)
            dy = ws.outputGradientTimeMajor.baseAddress
            transpose3(ws.outputGradient.baseAddress, rows: B, cols: T, width: O, into: dy)
            hIn = top + B * H
        } else {
            dy = ws.outputGradient.baseAddress
            hIn = top + T * B * H
        }
        // dW_fc += dyᵀ · h      dy: (rows, O), h: (rows, H)
        BLAS.gemm(
            transposeA: true, m: O, n: H, k: rows, a: dy, lda: O, b: hIn, ldb: H,
            beta: 1, c: g + layout.headWeight.offset, ldc: H)
        // db_fc += dyᵀ · 1
        BLAS.gemvTransposed(
            rows: rows, cols: O, a: dy, x: ws.ones.baseAddress,
            beta: 1, y: g + layout.headBias.offset)
        // dh = dy · W_fc        (rows, O) · (O, H); for .last only step T−1 receives it
        if config.head == .every {
            BLAS.gemm(
                m: T * B, n: H, k: O, a: dy, lda: O, b: p + layout.headWeight.offset, ldb: H,
                beta: 0, c: dH, ldc: H)
        } else {
            // Only h_T feeds the head; the top layer's earlier dh_t come from the recurrence alone,
            // which overwrites them (β = 0 below) instead of adding to zeros.
            BLAS.gemm(
                m: B, n: H, k: O, a: dy, lda: O, b: p + layout.headWeight.offset, ldb: H,
                beta: 0, c: dH + (T - 1) * B * H, ldc: H)
        }
        final(layout.headRange)

        for l in stride(from: L - 1, through: 0, by: -1) {
            let slots = layout.layers[l]
            let In = config.inputSize(ofLayer: l)
            let x = l == 0 ? ws.input.baseAddress : ws.hidden[l - 1].baseAddress + B * H  // (T·B, In)
            let h = ws.hidden[l].baseAddress  // (T+1, B, H)
            // Whether dH[t] already holds a gradient from above (the head or the layer above).
            let fromAbove: Float = (l == L - 1 && config.head == .last) ? 0 : 1

            // Recurrence, newest step first. On entry dH[t] holds the gradient from above;
            // adding the gradient from step t+1 makes it dh_t, and it is turned into dpre_t in place.
            for t in stride(from: T - 1, through: 0, by: -1) {
                let dCur = dH + t * B * H
                // differentiates h_t = f(pre_t): dpre_t = dh_t ⊙ f'(pre_t)
                VectorMath.multiplyByDerivative(
                    config.activation, output: h + (t + 1) * B * H,
                    grad: dCur, count: B * H)
                if t > 0 {
                    // differentiates pre_t += h_{t-1} · W_hhᵀ:  dh_{t-1} += dpre_t · W_hh
                    BLAS.gemm(
                        m: B, n: H, k: H, a: dCur, lda: H, b: p + slots.weightHH.offset, ldb: H,
                        beta: fromAbove, c: dCur - B * H, ldc: H)
                }
                meanwhile()
            }
            // dH now holds dpre (T·B, H) for every step.
            if l == 0 && ws.oneHot {
                // differentiates pre[r] = W_ih[:, c_r]: dW_ih[:, c_r] += dpre[r], a scatter-add
                // of rows, summed in row order into dW_ihᵀ (In, H), then added to dW_ih (H, In).
                let gt = ws.inputWeightScratch.baseAddress, gw = g + slots.weightIH.offset
                gt.update(repeating: 0, count: In * H)
                for r in 0..<T * B {
                    let row = gt + Int(ws.classes[r]) * H, d = dH + r * H
                    for j in 0..<H { row[j] += d[j] }
                }
                for j in 0..<H {
                    for k in 0..<In { gw[j * In + k] += gt[k * H + j] }
                }
            } else {
                // dW_ih += dpreᵀ · x          (H, T·B) · (T·B, In)
                BLAS.gemm(
                    transposeA: true, m: H, n: In, k: T * B, a: dH, lda: H, b: x, ldb: In,
                    beta: 1, c: g + slots.weightIH.offset, ldc: In)
            }
            // dW_hh += dpreᵀ · h_{0...T-1}  (H, T·B) · (T·B, H)
            BLAS.gemm(
                transposeA: true, m: H, n: H, k: T * B, a: dH, lda: H, b: h, ldb: H,
                beta: 1, c: g + slots.weightHH.offset, ldc: H)
            // db_ih += dpreᵀ · 1,  db_hh += dpreᵀ · 1
            BLAS.gemvTransposed(
                rows: T * B, cols: H, a: dH, x: ws.ones.baseAddress,
                beta: 1, y: g + slots.biasIH.offset)
            BLAS.gemvTransposed(
                rows: T * B, cols: H, a: dH, x: ws.ones.baseAddress,
                beta: 1, y: g + slots.biasHH.offset)
            final(layout.range(ofLayer: l))
            if l > 0 {
                // differentiates pre += x · W_ihᵀ:  dx = dpre · W_ih   (T·B, H) · (H, In)
                BLAS.gemm(
                    m: T * B, n: In, k: H, a: dH, lda: H, b: p + slots.weightIH.offset, ldb: In,
                    beta: 0, c: dBelow, ldc: In)
                swap(&dH, &dBelow)
            }
        }
    }
}
