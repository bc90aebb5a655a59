import ElmanCore
import TestSupport
import Testing

/// Reproduces every PyTorch reference case: output, h_n, loss, every gradient, every optimiser step.
@Suite("PyTorch fixtures")
struct TorchFixtureTests {
    @Test("forward and backward match torch", arguments: TorchFixture.all)
    func forwardBackward(_ name: String) throws {
        let fx = try TorchFixture(name)
        let net = try fx.network()
        let loss = try fx.step(net)

        expectClose(Array(net.output), try fx.tensor("expected.output"), "\(name) output")
        expectClose(net.finalHidden(), try fx.tensor("expected.h_n"), "\(name) h_n")
        expectClose([Float(loss)], try fx.tensor("expected.loss"), "\(name) loss")
        for slot in net.layout.slots {
            let grad = Array(net.gradients.buffer[slot.range])
            expectClose(grad, try fx.tensor("grad." + slot.name), "\(name) grad.\(slot.name)")
        }
    }

    @Test(
        "optimiser trajectories match torch",
        arguments: ["adam_clip_trajectory", "sgd_momentum_trajectory"])
    func trajectory(_ name: String) throws {
        let fx = try TorchFixture(name)
        let spec = try #require(fx.config.optimizer)
        let steps = try #require(fx.config.steps)
        let net = try fx.network()
        let config: OptimizerConfig =
            spec.name == "adam"
            ? OptimizerConfig(
                kind: .adam, learningRate: spec.lr, beta1: spec.betas?[0] ?? 0.9,
                beta2: spec.betas?[1] ?? 0.999, epsilon: spec.eps ?? 1e-8)
            : OptimizerConfig(kind: .sgd, learningRate: spec.lr, momentum: spec.momentum ?? 0)
        let optimizer = Optimizer(config: config, count: net.layout.count)
        for s in 1...steps {
            let loss = try fx.step(net)
            expectClose([Float(loss)], try fx.tensor("step\(s).loss"), "\(name) step \(s) loss")
            if let clip = fx.config.clip_norm {
                GradientClipping.clip(
                    UnsafeMutableBufferPointer(rebasing: net.gradients.buffer[0..<net.layout.count]),
                    maxNorm: clip)
            }
            optimizer.update(
                parameters: net.parameters.baseAddress, gradients: net.gradients.baseAddress,
                lr: config.learningRate)
            for slot in net.layout.slots {
                expectClose(
                    Array(net.parameters.buffer[slot.range]), try fx.tensor("step\(s).\(slot.name)"),
                    "\(name) step \(s) \(slot.name)")
            }
        }
        #expect(optimizer.step == steps)
    }

    @Test("parameter layout uses torch's names, shapes and order")
    func layoutMatchesStateDict() throws {
        let fx = try TorchFixture("many_to_many_tanh_ce_2layer")
        let layout = ParameterLayout(fx.model)
        let names = fx.file.tensors.map(\.name).filter { $0.hasPrefix("rnn.") || $0.hasPrefix("fc.") }
        #expect(Set(layout.slots.map(\.name)) == Set(names))
        for slot in layout.slots { #expect(fx.file.info(slot.name)?.shape == slot.shape) }
        #expect(
            layout.slots.map(\.name) == [
                "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
                "rnn.weight_ih_l1", "rnn.weight_hh_l1", "rnn.bias_ih_l1", "rnn.bias_hh_l1",
                "fc.weight", "fc.bias",
            ])
        #expect(layout.count == layout.slots.map(\.count).reduce(0, +))
    }
}
