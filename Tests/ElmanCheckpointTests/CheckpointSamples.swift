import ElmanCheckpoint
import ElmanCore
import Foundation

/// Small checkpoints and files for the checkpoint tests.
enum Samples {
    /// A deterministic checkpoint of a 2-layer model with Adam state.
    static func checkpoint() -> Checkpoint {
        let model = ModelConfig(inputSize: 2, hiddenSize: 3, outputSize: 1, layers: 2, activation: .tanh, head: .last)
        let layout = ParameterLayout(model)
        var rng = SeededGenerator(seed: 11)
        let p = (0..<layout.count).map { _ in rng.nextUnitFloat() - 0.5 }
        let m = (0..<layout.count).map { _ in rng.nextUnitFloat() * 0.01 }
        let v = (0..<layout.count).map { _ in rng.nextUnitFloat() * 0.001 }
        return Checkpoint(
            model: model, parameters: p, optimizer: OptimizerConfig(kind: .adam, learningRate: 0.01),
            optimizerState: OptimizerState(step: 7, slots: ["exp_avg": m, "exp_avg_sq": v]),
            sections: ["progress": "{\"step\":7}"])
    }
}

extension Array where Element == UInt8 {
    /// The bytes with the u64 header length replaced.
    func withHeaderLength(_ n: UInt64) -> [UInt8] {
        var b = self
        for k in 0..<8 { b[k] = UInt8(truncatingIfNeeded: n >> (8 * UInt64(k))) }
        return b
    }

    /// A safetensors file with `header` as its JSON and `data` after it.
    static func safetensors(header: String, data: [UInt8] = []) -> [UInt8] {
        let h = Array(header.utf8)
        return [UInt8](repeating: 0, count: 8).withHeaderLength(UInt64(h.count)).prefix(8) + h + data
    }
}
