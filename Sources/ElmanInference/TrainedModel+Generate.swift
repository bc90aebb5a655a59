import ElmanCore
import ElmanRun

#if canImport(Glibc)
import Glibc
#endif

/// Text from a character model.
extension TrainedModel {
    /// Generates `length` characters after `prime`, sampling at `temperature` (0: most likely).
    public func generate(prime: String, length: Int, temperature: Double, seed: UInt64) throws -> String {
        var text = ""
        try generate(prime: prime, length: length, temperature: temperature, seed: seed) { text += $0 }
        return text
    }

    /// `generate(prime:length:temperature:seed:)` piece by piece: `emit` gets the prime, then
    /// each character as it is sampled, so any length runs in constant memory.
    public func generate(
        prime: String, length: Int, temperature: Double, seed: UInt64, emit: (String) throws -> Void
    ) throws {
        guard let vocabulary = dataRecord.vocabulary else {
            throw RunError("generate needs a character model (trained on text)")
        }
        guard length >= 0 else { throw RunError.usage("`length` must be ≥ 0") }
        guard temperature.isFinite else { throw RunError.usage("`temperature` must be a finite number, got \(temperature)") }
        guard temperature >= 0 else { throw RunError.usage("`temperature` must be ≥ 0, got \(temperature)") }
        var index: [String: Int] = [:]
        for (i, c) in vocabulary.enumerated() { index[c] = i }
        let V = vocabulary.count, H = checkpoint.model.hiddenSize, L = checkpoint.model.layers
        let primeChars = prime.isEmpty ? [vocabulary[0]] : prime.map(String.init)
        var classes: [Int] = []
        for c in primeChars {
            guard let k = index[c] else {
                throw RunError("prime character \(c.debugDescription) is not in the model's vocabulary")
            }
            classes.append(k)
        }
        var rng = SeededGenerator(seed: seed, stream: 0x3_0000)
        var hidden = [Float](repeating: 0, count: L * H)

        /// Feeds `classes` one-hot from the carried hidden state; returns the last step's logits.
        func step(_ classes: [Int]) -> [Double] {
            let T = classes.count
            var x = [Float](repeating: 0, count: T * V)
            for (t, k) in classes.enumerated() { x[t * V + k] = 1 }
            x.withUnsafeBufferPointer { xb in
                hidden.withUnsafeBufferPointer { network.forward(xb, batch: 1, steps: T, initialHidden: $0) }
            }
            hidden = network.finalHidden()
            return network.lastOutput(0).map(Double.init)
        }

        func sample(_ logits: [Double]) -> Int {
            guard temperature > 0 else { return logits.indices.max { logits[$0] < logits[$1] } ?? 0 }
            let m = logits.max() ?? 0
            let w = logits.map { exp(($0 - m) / temperature) }
            var u = rng.nextUnitDouble() * w.reduce(0, +)
            for (i, wi) in w.enumerated() {
                u -= wi
                if u < 0 { return i }
            }
            return V - 1
        }

        try emit(prime)
        var logits = step(classes)
        for _ in 0..<length {
            let next = sample(logits)
            try emit(vocabulary[next])
            logits = step([next])
        }
    }
}
