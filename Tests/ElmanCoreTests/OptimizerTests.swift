import ElmanCore
import Testing

@Suite("Optimisers")
struct OptimizerTests {
    static let kinds: [OptimizerConfig] = [
        OptimizerConfig(kind: .adam, learningRate: 0.01, weightDecay: 0.1),
        OptimizerConfig(kind: .adamw, learningRate: 0.01),
        OptimizerConfig(kind: .sgd, learningRate: 0.1, weightDecay: 0.01, momentum: 0.9, nesterov: true),
        OptimizerConfig(kind: .sgd, learningRate: 0.1),
    ]

    /// A deterministic pseudo-gradient for step `s`.
    func gradient(_ s: Int, count: Int) -> [Float] {
        var rng = SeededGenerator(seed: UInt64(s))
        return (0..<count).map { _ in rng.nextUnitFloat() - 0.5 }
    }

    @Test("restoring a saved state continues bit-identically", arguments: kinds)
    func saveRestore(_ config: OptimizerConfig) throws {
        let n = 50
        let a = Optimizer(config: config, count: n)
        var theta = (0..<n).map { Float($0) / 50 }
        for s in 0..<3 { a.update(parameters: &theta, gradients: gradient(s, count: n), lr: config.learningRate) }
        let saved = a.state, savedTheta = theta
        for s in 3..<6 { a.update(parameters: &theta, gradients: gradient(s, count: n), lr: config.learningRate) }

        let b = Optimizer(config: config, count: n)
        try b.restore(saved)
        var resumed = savedTheta
        for s in 3..<6 { b.update(parameters: &resumed, gradients: gradient(s, count: n), lr: config.learningRate) }
        #expect(resumed == theta)
        #expect(b.state == a.state)
    }

    @Test("hand-computed first Adam and SGD steps")
    func handComputed() {
        // Adam, step 1: m = 0.1 g, v = 0.001 g², m̂ = g, v̂ = g², θ −= lr · g / (|g| + ε) ≈ lr · sign(g)
        let adam = Optimizer(config: OptimizerConfig(kind: .adam, learningRate: 0.5), count: 2)
        var theta: [Float] = [1, 1]
        adam.update(parameters: &theta, gradients: [4, -0.25], lr: 0.5)
        #expect(abs(theta[0] - 0.5) < 1e-6 && abs(theta[1] - 1.5) < 1e-6)
        // SGD with momentum 0.5: b₁ = g, b₂ = 0.5 b₁ + g.
        let sgd = Optimizer(config: OptimizerConfig(kind: .sgd, learningRate: 1, momentum: 0.5), count: 1)
        var p: [Float] = [0]
        sgd.update(parameters: &p, gradients: [1], lr: 1)
        sgd.update(parameters: &p, gradients: [1], lr: 1)
        #expect(p == [-2.5])
    }

    @Test("restore refuses a state of another kind or size")
    func restoreMismatch() {
        let adam = Optimizer(config: OptimizerConfig(kind: .adam), count: 4)
        #expect(throws: ModelConfigError.self) {
            try adam.restore(OptimizerState(step: 1, slots: ["momentum_buffer": [0, 0, 0, 0]]))
        }
        #expect(throws: ModelConfigError.self) {
            try adam.restore(OptimizerState(step: 1, slots: ["exp_avg": [0], "exp_avg_sq": [0]]))
        }
    }

    @Test("clipping follows clip_grad_norm_")
    func clipping() {
        var g: [Float] = [3, 4]
        let norm = g.withUnsafeMutableBufferPointer { GradientClipping.clip($0, maxNorm: 1) }
        #expect(norm == 5)
        #expect(abs(g[0] - 0.6) < 1e-6 && abs(g[1] - 0.8) < 1e-6)
        var small: [Float] = [0.3, 0.4]
        small.withUnsafeMutableBufferPointer { _ = GradientClipping.clip($0, maxNorm: 1) }
        #expect(small == [0.3, 0.4])
    }
}

extension OptimizerConfig: CustomTestStringConvertible {
    public var testDescription: String {
        "\(kind.rawValue) momentum=\(momentum) nesterov=\(nesterov) wd=\(weightDecay)"
    }
}
