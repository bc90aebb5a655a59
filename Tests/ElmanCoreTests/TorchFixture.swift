import ElmanCheckpoint
import ElmanCore
import Foundation
import Testing

/// One PyTorch reference case from `Tests/Fixtures/torch`, read with the project's own safetensors reader.
struct TorchFixture {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/torch")

    static let all = [
        "many_to_one_tanh_mse", "many_to_many_relu_mse", "many_to_many_tanh_ce_2layer",
        "many_to_one_tanh_mse_h0", "adam_clip_trajectory", "sgd_momentum_trajectory",
    ]

    struct Config: Decodable {
        var input_size, hidden_size, output_size, num_layers, seq_len, batch: Int
        var nonlinearity, head, loss: String
        var initial_hidden: Bool
        var optimizer: Optimizer?
        var steps: Int?
        var clip_norm: Double?
        struct Optimizer: Decodable {
            var name: String
            var lr: Double
            var betas: [Double]?
            var eps: Double?
            var momentum: Double?
        }
    }

    let name: String
    let file: SafeTensorsFile
    let config: Config

    init(_ name: String) throws {
        self.name = name
        let bytes = try [UInt8](Data(contentsOf: Self.directory.appendingPathComponent(name + ".safetensors")))
        file = try SafeTensorsFile(bytes: bytes)
        let json = try #require(file.metadata["config"])
        config = try JSONDecoder().decode(Config.self, from: Data(json.utf8))
    }

    var model: ModelConfig {
        ModelConfig(
            inputSize: config.input_size, hiddenSize: config.hidden_size, outputSize: config.output_size,
            layers: config.num_layers, activation: Activation(rawValue: config.nonlinearity)!,
            head: HeadMode(rawValue: config.head)!)
    }

    var loss: LossKind { config.loss == "mse" ? .mse : .crossEntropy }

    func tensor(_ name: String) throws -> [Float] { try file.floats(name) }

    /// A network holding the fixture's initial parameters.
    func network() throws -> ElmanNetwork {
        let net = ElmanNetwork(config: model)
        for slot in net.layout.slots {
            let values = try file.floats(slot.name, shape: slot.shape)
            for (i, v) in values.enumerated() { net.parameters[slot.offset + i] = v }
        }
        return net
    }

    /// One forward and backward pass with PyTorch's mean loss; returns the loss.
    @discardableResult
    func step(_ net: ElmanNetwork) throws -> Double {
        let x = try tensor("input"), target = try tensor("target")
        let h0 = config.initial_hidden ? try tensor("h0") : nil
        let B = config.batch, T = config.seq_len
        net.zeroGradients()
        x.withUnsafeBufferPointer { xb in
            if let h0 {
                h0.withUnsafeBufferPointer { net.forward(xb, batch: B, steps: T, initialHidden: $0) }
            } else {
                net.forward(xb, batch: B, steps: T)
            }
        }
        let n = loss.targetCount(model, batch: B, steps: T)
        let sum = target.withUnsafeBufferPointer { tb in
            loss.sumAndGradient(
                prediction: UnsafeBufferPointer(net.output), target: tb, outputs: model.outputSize,
                gradient: net.outputGradient, scale: 1 / Float(n))
        }
        net.backward()
        return sum / Double(n)
    }
}
