import ElmanCore
import Testing

/// Central-difference gradient checks on configurations the PyTorch fixtures do not cover.
@Suite("Finite differences")
struct FiniteDifferenceTests {
    struct Case: CustomStringConvertible, Sendable {
        var model: ModelConfig
        var loss: LossKind
        var batch: Int
        var steps: Int
        var initialHidden: Bool
        /// Inputs one-hot (as text's), so the network gathers W_ih's columns instead of multiplying.
        var oneHot = false
        var description: String {
            "\(model.layers)×\(model.activation) head=\(model.head) \(loss) B=\(batch) T=\(steps)\(initialHidden ? " h0" : "")\(oneHot ? " one-hot I=\(model.inputSize)" : "")"
        }
    }

    static let cases: [Case] = [
        Case(
            model: ModelConfig(inputSize: 3, hiddenSize: 5, outputSize: 4, layers: 3, activation: .tanh, head: .every),
            loss: .mse, batch: 2, steps: 4, initialHidden: true),
        Case(
            model: ModelConfig(inputSize: 2, hiddenSize: 6, outputSize: 3, layers: 2, activation: .relu, head: .last),
            loss: .crossEntropy, batch: 3, steps: 5, initialHidden: false),
        Case(
            model: ModelConfig(inputSize: 1, hiddenSize: 4, outputSize: 1, layers: 1, activation: .tanh, head: .last),
            loss: .mse, batch: 1, steps: 9, initialHidden: false),
        Case(
            model: ModelConfig(inputSize: 4, hiddenSize: 3, outputSize: 5, layers: 2, activation: .tanh, head: .every),
            loss: .crossEntropy, batch: 2, steps: 3, initialHidden: true),
        Case(
            model: ModelConfig(inputSize: 20, hiddenSize: 5, outputSize: 20, layers: 2, activation: .tanh, head: .every),
            loss: .crossEntropy, batch: 3, steps: 4, initialHidden: true, oneHot: true),
    ]

    @Test("analytic gradients equal central differences", arguments: cases)
    func gradientCheck(_ c: Case) {
        var rng = SeededGenerator(seed: 99)
        let net = ElmanNetwork(config: c.model)
        net.initialize(seed: 5)
        let m = c.model
        var x = (0..<c.batch * c.steps * m.inputSize).map { _ in 2 * rng.nextUnitFloat() - 1 }
        if c.oneHot {
            x = [Float](repeating: 0, count: x.count)
            for row in 0..<c.batch * c.steps { x[row * m.inputSize + rng.nextInt(below: m.inputSize)] = 1 }
        }
        let h0 = c.initialHidden ? (0..<m.layers * c.batch * m.hiddenSize).map { _ in rng.nextUnitFloat() - 0.5 } : nil
        let n = c.loss.targetCount(m, batch: c.batch, steps: c.steps)
        let target: [Float] =
            c.loss == .mse
            ? (0..<n).map { _ in 2 * rng.nextUnitFloat() - 1 }
            : (0..<n).map { _ in Float(rng.nextInt(below: m.outputSize)) }

        func loss() -> Double {
            x.withUnsafeBufferPointer { xb in
                if let h0 {
                    h0.withUnsafeBufferPointer { net.forward(xb, batch: c.batch, steps: c.steps, initialHidden: $0) }
                } else {
                    net.forward(xb, batch: c.batch, steps: c.steps)
                }
            }
            return target.withUnsafeBufferPointer {
                c.loss.sumAndGradient(
                    prediction: UnsafeBufferPointer(net.output), target: $0, outputs: m.outputSize,
                    gradient: net.outputGradient, scale: 1 / Float(n))
            } / Double(n)
        }

        net.zeroGradients()
        let center = loss()
        net.backward()
        let analytic = net.gradients.array

        var worst = 0.0, worstAt = "", kinks = 0
        for i in 0..<net.layout.count {
            let saved = net.parameters[i]
            func slopes(_ eps: Float) -> (central: Double, forward: Double, backward: Double) {
                net.parameters[i] = saved + eps
                let up = loss()
                net.parameters[i] = saved - eps
                let down = loss()
                net.parameters[i] = saved
                return ((up - down) / Double(2 * eps), (up - center) / Double(eps), (center - down) / Double(eps))
            }
            let g = Double(analytic[i])
            func error(_ numeric: Double) -> Double { abs(numeric - g) / max(1e-2, abs(numeric) + abs(g)) }
            // Two step sizes: a relu kink near the edge of the wider interval is outside the narrower.
            let wide = slopes(1e-2), narrow = slopes(3e-3)
            let e = min(error(wide.central), error(narrow.central))
            // A relu kink inside both intervals makes the one-sided slopes disagree; there the loss
            // is not differentiable on the interval and no central difference means anything.
            if c.model.activation == .relu, e >= 2e-2,
                abs(narrow.forward - narrow.backward) > 0.05 * abs(narrow.central) + 1e-5
            {
                kinks += 1
                continue
            }
            if e > worst {
                worst = e; worstAt = "parameter \(i): numeric \(wide.central), \(narrow.central), analytic \(g)"
            }
        }
        #expect(kinks * 10 < net.layout.count, "\(kinks) of \(net.layout.count) parameters sit on a relu kink")
        // Float32 forward passes and a 1e-2 step give about 1e-3 agreement; a wrong term gives O(1).
        #expect(worst < 2e-2, "worst relative gradient error \(worst) at \(worstAt)")
    }
}
