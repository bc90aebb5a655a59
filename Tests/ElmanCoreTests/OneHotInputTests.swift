import ElmanCore
import Testing

/// A one-hot input is gathered from W_ih, not multiplied: the same outputs, the same gradients.
@Suite("One-hot inputs")
struct OneHotInputTests {
    /// Forward and backward of `net` on x (B, T, I) with random targets; returns (output, gradients).
    func pass(_ net: ElmanNetwork, _ x: [Float], batch: Int, steps: Int) -> ([Float], [Float]) {
        var rng = SeededGenerator(seed: 4)
        let m = net.config
        let target = (0..<batch * steps).map { _ in Float(rng.nextInt(below: m.outputSize)) }
        net.zeroGradients()
        x.withUnsafeBufferPointer { net.forward($0, batch: batch, steps: steps) }
        _ = target.withUnsafeBufferPointer {
            LossKind.crossEntropy.sumAndGradient(
                prediction: UnsafeBufferPointer(net.output), target: $0, outputs: m.outputSize,
                gradient: net.outputGradient, scale: 1)
        }
        net.backward()
        return (Array(net.output), net.gradients.array)
    }

    @Test("one-hot rows give the GEMM's outputs bit for bit and its gradients to rounding; other rows take the GEMM")
    func gatherEqualsProduct() {
        let m = ModelConfig(inputSize: 70, hiddenSize: 24, outputSize: 70, layers: 2, activation: .tanh, head: .every)
        let (B, T) = (5, 9)
        var rng = SeededGenerator(seed: 12)
        var x = [Float](repeating: 0, count: B * T * 70)
        for row in 0..<B * T { x[row * 70 + rng.nextInt(below: 70)] = 1 }
        let gathered = ElmanNetwork(config: m), multiplied = ElmanNetwork(config: m)
        gathered.initialize(seed: 3)
        multiplied.initialize(seed: 3)
        multiplied.gathersOneHot = false
        let (yg, gg) = pass(gathered, x, batch: B, steps: T)
        let (ym, gm) = pass(multiplied, x, batch: B, steps: T)
        #expect(yg.map(\.bitPattern) == ym.map(\.bitPattern))
        var worst: Float = 0
        for i in gg.indices { worst = max(worst, abs(gg[i] - gm[i]) / max(1e-3, abs(gm[i]))) }
        #expect(worst < 1e-5, "gradients differ by \(worst) (relative)")
        // A row that is not one-hot (a 2) sends the whole batch through the GEMM: still equal.
        x[3 * 70 + 5] = 2
        let (yg2, _) = pass(gathered, x, batch: B, steps: T)
        let (ym2, _) = pass(multiplied, x, batch: B, steps: T)
        #expect(yg2 == ym2)
    }
}
