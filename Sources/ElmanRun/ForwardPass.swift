import ElmanCore
import ElmanData

/// Forward-only passes over a dataset: the one path that validation, the constant-model check
/// and every inference command (predict, eval, plot) take to the network.
///
/// Two shapes of pass, both on `LocalStep`'s buffers:
///
///     pass.windows(17..<4000) { window, output in … }        // stateless: batches of 256 windows, h0 = 0
///     pass.lanes(from: [0], chunks: LanePass.chunks(rows: 900)) { offset, steps in … }
///                                                            // stateful: lanes carried chunk to chunk
///
/// `output` is the last step's output of a window (O values): its prediction for the row after it.
public struct ForwardPass {
    public let step: LocalStep
    /// Windows per forward call: large enough for efficient GEMMs, small enough to stay in cache.
    public static let batch = 256

    public init(_ step: LocalStep) { self.step = step }

    public var network: ElmanNetwork { step.network }

    /// The summed loss of `windows`, run forward in batches.
    public func score<C: Collection<Int>>(windows: C) -> LocalStep.Scored { self.windows(windows) { _, _ in } }

    /// Runs `windows` forward in batches and calls `visit(window, output)` with each window's
    /// last-step output; returns their summed loss.
    @discardableResult
    public func windows<C: Collection<Int>>(
        _ windows: C, visit: (Int, UnsafeBufferPointer<Float>) throws -> Void
    ) rethrows -> LocalStep.Scored {
        var scored = LocalStep.Scored.zero
        var start = windows.startIndex
        while start != windows.endIndex {
            let end = windows.index(start, offsetBy: Self.batch, limitedBy: windows.endIndex) ?? windows.endIndex
            let batch = windows[start..<end]
            scored += step.forward(windows: batch, gradient: false)
            for (k, w) in batch.enumerated() { try visit(w, network.lastOutput(k)) }
            start = end
        }
        return scored
    }

    /// Runs windows forward in batches and calls `visit(window, t, output)` with the output of
    /// every step t of each (a head on every step: step t of window w predicts row w + t + 1).
    public func everyStep(_ windows: Range<Int>, visit: (Int, Int, UnsafeBufferPointer<Float>) throws -> Void) rethrows {
        let T = step.data.seqLen, O = network.config.outputSize
        for start in stride(from: windows.lowerBound, to: windows.upperBound, by: Self.batch) {
            let batch = start..<min(start + Self.batch, windows.upperBound)
            step.forward(windows: batch, gradient: false)
            for k in 0..<batch.count {
                for t in 0..<T {
                    let offset = (k * T + t) * O
                    try visit(start + k, t, UnsafeBufferPointer(rebasing: network.output[offset..<offset + O]))
                }
            }
        }
    }

    /// Runs lanes of a stream forward chunk by chunk, each lane's state carried from zero: chunk
    /// (offset, steps) feeds rows `starts[b] + offset …` of every lane b. After each chunk,
    /// `visit(offset, steps)` may read `network.output` ((B, steps, O)). `stop` is asked before
    /// each chunk. Returns the summed loss of every step.
    @discardableResult
    public func lanes(
        from starts: [Int], chunks: some Sequence<(offset: Int, steps: Int)>, stop: () -> Bool = { false },
        visit: (Int, Int) throws -> Void
    ) rethrows -> LocalStep.Scored {
        let m = network.config
        var h = [Float](repeating: 0, count: m.layers * starts.count * m.hiddenSize)
        var scored = LocalStep.Scored.zero
        for (offset, steps) in chunks {
            if stop() { break }
            scored += h.withUnsafeBufferPointer {
                step.forward(runsFrom: starts.map { $0 + offset }, steps: steps, initialHidden: $0, gradient: false)
            }
            h = network.finalHidden()
            try visit(offset, steps)
        }
        return scored
    }

    /// Chunks of at most `length` rows covering `rows` rows from offset 0, the last shorter.
    public static func chunks(rows: Int, length: Int = batch) -> [(offset: Int, steps: Int)] {
        stride(from: 0, to: rows, by: length).map { ($0, min(length, rows - $0)) }
    }
}
