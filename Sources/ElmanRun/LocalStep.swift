import ElmanCore
import ElmanData

/// The local step that training, validation and inference share: fill a batch of windows
/// from the data, run the network forward, and score the output with the loss.
///
///     let scored = step.forward(windows: 17 ..< 49)   // x (B, T, I), y (B[, T]) filled; forward; loss
///     network.backward()                              // training only: dLoss/dOutput is already written
///
/// The batch buffers are allocated once for the largest batch seen and reused.
public final class LocalStep {
    public let network: ElmanNetwork
    public let data: WindowedDataset
    public let loss: LossKind
    /// x: (B, T, I) row-major inputs of the current batch.
    private var x: [Float] = []
    /// y: (B) or (B, T) targets of the current batch (scaled values or class indices).
    private var y: [Float] = []

    public init(network: ElmanNetwork, data: WindowedDataset, loss: LossKind) {
        self.network = network
        self.data = data
        self.loss = loss
    }

    /// The loss summed over a batch's targets, and how many targets it summed.
    public struct Scored: Sendable, Equatable {
        public var sum: Double
        public var terms: Int
        public static let zero = Scored(sum: 0, terms: 0)
        public static func += (a: inout Scored, b: Scored) {
            a.sum += b.sum
            a.terms += b.terms
        }
    }

    /// Fills the windows starting at `windows`, runs them forward, and returns the summed loss.
    /// With `gradient` (training) the loss's gradient with respect to the output is left in
    /// `network.outputGradient`; without it (validation, inference) only the value is computed.
    @discardableResult
    public func forward<C: Collection<Int>>(windows: C, gradient: Bool = true) -> Scored {
        let model = network.config, T = data.seqLen, B = windows.count
        precondition(B > 0, "forward: empty batch")
        let everyStep = model.head == .every
        let targets = loss.targetCount(model, batch: B, steps: T)
        reserve(inputs: B * T * data.inputSize, targets: B * data.targetsPerWindow(everyStep: everyStep))
        x.withUnsafeMutableBufferPointer { xb in
            y.withUnsafeMutableBufferPointer { yb in
                data.fill(windows: windows, everyStep: everyStep, x: xb, y: yb)
                network.forward(UnsafeBufferPointer(rebasing: xb[0..<B * T * data.inputSize]), batch: B, steps: T)
            }
        }
        return score(targets: targets, gradient: gradient)
    }

    /// Fills runs of `steps` rows from `starts` (lanes' chunks of a stream), runs them forward
    /// from `initialHidden` (L, B, H) (nil: zeros), and returns the summed loss of every step.
    /// `network.finalHidden()` is then the state to carry into the lanes' next chunks.
    @discardableResult
    public func forward<C: Collection<Int>>(
        runsFrom starts: C, steps s: Int, initialHidden: UnsafeBufferPointer<Float>?, gradient: Bool = true
    ) -> Scored {
        let model = network.config, B = starts.count
        precondition(
            B > 0 && s > 0 && model.head == .every, "forward: runs need a batch, steps and a head on every step")
        reserve(inputs: B * s * data.inputSize, targets: B * s)
        x.withUnsafeMutableBufferPointer { xb in
            y.withUnsafeMutableBufferPointer { yb in
                data.fill(runsFrom: starts, steps: s, x: xb, y: yb)
                network.forward(
                    UnsafeBufferPointer(rebasing: xb[0..<B * s * data.inputSize]), batch: B, steps: s,
                    initialHidden: initialHidden)
            }
        }
        return score(targets: loss.targetCount(model, batch: B, steps: s), gradient: gradient)
    }

    /// The loss of the last forward pass against the first `targets` values of `y`.
    private func score(targets: Int, gradient: Bool) -> Scored {
        let sum = y.withUnsafeBufferPointer { yb in
            let prediction = UnsafeBufferPointer(network.output),
                target = UnsafeBufferPointer(rebasing: yb[0..<targets])
            let O = network.config.outputSize
            return gradient
                ? loss.sumAndGradient(
                    prediction: prediction, target: target, outputs: O, gradient: network.outputGradient, scale: 1)
                : loss.sum(prediction: prediction, target: target, outputs: O)
        }
        return Scored(sum: sum, terms: targets)
    }

    private func reserve(inputs: Int, targets: Int) {
        if x.count < inputs { x = [Float](repeating: 0, count: inputs) }
        if y.count < targets { y = [Float](repeating: 0, count: targets) }
    }
}
