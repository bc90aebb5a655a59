#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The training objective, as PyTorch's `mse_loss` and `cross_entropy` with mean reduction.
public enum LossKind: String, Codable, Sendable, CaseIterable {
    /// Mean squared error over every output element.
    case mse
    /// Cross-entropy of class logits against integer targets, mean over predictions.
    case crossEntropy = "cross-entropy"

    /// Number of target values for a batch: (B, O) or (B, T, O) for MSE, (B) or (B, T) for CE.
    ///
    /// It is also what the mean divides by: MSE averages over elements, cross-entropy over
    /// predictions, and each has one target value per term.
    public func targetCount(_ config: ModelConfig, batch: Int, steps: Int) -> Int {
        let predictions = config.head == .every ? batch * steps : batch
        return self == .mse ? predictions * config.outputSize : predictions
    }

    /// The SUM of the per-term losses, without a gradient: for validation and evaluation.
    ///
    /// - Parameters: as `sumAndGradient`.
    public func sum(
        prediction: UnsafeBufferPointer<Float>, target: UnsafeBufferPointer<Float>, outputs O: Int
    ) -> Double {
        evaluate(prediction: prediction, target: target, outputs: O, gradient: nil, scale: 0)
    }

    /// Returns the SUM of the per-term losses and writes `scale · d(sum)/d(prediction)` into `gradient`.
    ///
    /// With `scale = 1 / targetCount` the sum divided by `targetCount` and the gradient are those of
    /// PyTorch's mean-reduced loss. Summing and scaling separately lets data-parallel ranks add
    /// their partial sums and divide once by the global count.
    ///
    /// - Parameters:
    ///   - prediction: (N, O) row-major: the network output with N = B or B·T.
    ///   - target: (N, O) values for MSE; (N) class indices in 0..<O (stored as Float) for CE.
    public func sumAndGradient(
        prediction: UnsafeBufferPointer<Float>, target: UnsafeBufferPointer<Float>, outputs O: Int,
        gradient: UnsafeMutableBufferPointer<Float>, scale: Float
    ) -> Double {
        precondition(prediction.count == gradient.count, "loss: gradient is not the prediction's shape")
        return evaluate(prediction: prediction, target: target, outputs: O, gradient: gradient, scale: scale)
    }

    /// The summed loss, and its scaled gradient when `gradient` is given.
    private func evaluate(
        prediction: UnsafeBufferPointer<Float>, target: UnsafeBufferPointer<Float>, outputs O: Int,
        gradient: UnsafeMutableBufferPointer<Float>?, scale: Float
    ) -> Double {
        guard let p = prediction.baseAddress else { return 0 }
        switch self {
        case .mse:
            precondition(target.count == prediction.count, "mse: target is not the prediction's shape")
            var sum = 0.0
            for i in 0..<prediction.count {
                // differentiates L = Σ (p − t)²: dL/dp = 2 (p − t)
                let d = prediction[i] - target[i]
                sum += Double(d) * Double(d)
                gradient?[i] = scale * 2 * d
            }
            return sum
        case .crossEntropy:
            let rows = prediction.count / O
            precondition(target.count == rows, "cross-entropy: need one class index per prediction")
            var sum = 0.0
            for r in 0..<rows {
                let z = r * O  // row r of the logits and of their gradient
                let cls = Int(target[r])
                precondition(cls >= 0 && cls < O, "cross-entropy: class index out of range")
                // L_r = logsumexp(z) − z[cls]
                let lse = VectorMath.logSumExp(p + z, count: O)
                sum += Double(lse) - Double(prediction[z + cls])
                guard let gradient else { continue }
                // differentiates L_r: dL/dz = softmax(z) − onehot(cls), softmax(z) = e^{z − logsumexp(z)}
                for j in z..<z + O { gradient[j] = scale * expf(prediction[j] - lse) }
                gradient[z + cls] -= scale
            }
            return sum
        }
    }
}
