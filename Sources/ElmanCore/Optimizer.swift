#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which update rule, with `torch.optim`'s semantics.
public enum OptimizerKind: String, Codable, Sendable, CaseIterable {
    /// `torch.optim.SGD` (momentum and Nesterov optional; weight decay as L2 on the gradient).
    case sgd
    /// `torch.optim.Adam` (weight decay as L2 on the gradient).
    case adam
    /// `torch.optim.AdamW` (decoupled weight decay).
    case adamw
}

/// Hyperparameters of an optimiser; defaults are `torch.optim`'s.
public struct OptimizerConfig: Codable, Equatable, Sendable {
    public var kind: OptimizerKind
    /// Base learning rate (a schedule may scale it per step).
    public var learningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    public var weightDecay: Double
    public var momentum: Double
    public var nesterov: Bool

    /// A configuration with PyTorch's defaults for `kind` (AdamW's weight decay is 0.01).
    public init(
        kind: OptimizerKind, learningRate: Double? = nil, beta1: Double = 0.9, beta2: Double = 0.999,
        epsilon: Double = 1e-8, weightDecay: Double? = nil, momentum: Double = 0, nesterov: Bool = false
    ) {
        self.kind = kind
        self.learningRate = learningRate ?? (kind == .sgd ? 0.01 : 0.001)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay ?? (kind == .adamw ? 0.01 : 0)
        self.momentum = momentum
        self.nesterov = nesterov
    }

    /// The names of the per-parameter state buffers this rule keeps, as in `torch.optim`.
    public var slotNames: [String] {
        switch kind {
        case .sgd: momentum != 0 ? ["momentum_buffer"] : []
        case .adam, .adamw: ["exp_avg", "exp_avg_sq"]
        }
    }
}

/// Everything an optimiser remembers between steps, as a plain value that can be saved and restored.
public struct OptimizerState: Equatable, Sendable {
    /// Updates applied so far (PyTorch's `step`).
    public var step: Int
    /// Flat per-parameter buffers by name (`exp_avg`, `exp_avg_sq`, `momentum_buffer`), in `ParameterLayout` order.
    public var slots: [String: [Float]]

    public init(step: Int, slots: [String: [Float]]) {
        self.step = step
        self.slots = slots
    }
}

/// Applies `torch.optim` updates to a flat parameter buffer from a flat gradient buffer.
public final class Optimizer {
    public let config: OptimizerConfig
    /// Number of parameters it updates.
    public let count: Int
    /// Updates applied so far.
    public private(set) var step = 0
    private let slots: [String: FloatBuffer]

    /// A fresh optimiser (zero state) for `count` parameters.
    public init(config: OptimizerConfig, count: Int) {
        self.config = config
        self.count = count
        var slots: [String: FloatBuffer] = [:]
        for name in config.slotNames { slots[name] = FloatBuffer(count: count) }
        self.slots = slots
    }

    /// A snapshot of the state.
    public var state: OptimizerState {
        OptimizerState(step: step, slots: slots.mapValues(\.array))
    }

    /// Replaces the state with `state`, which must come from an optimiser of the same kind and size.
    public func restore(_ state: OptimizerState) throws(ModelConfigError) {
        guard Set(state.slots.keys) == Set(slots.keys) else {
            throw ModelConfigError(
                message: "optimizer state has buffers \(state.slots.keys.sorted()), "
                    + "\(config.kind.rawValue) needs \(slots.keys.sorted())")
        }
        for (name, values) in state.slots where values.count != count {
            throw ModelConfigError(message: "optimizer buffer \(name) has \(values.count) values, expected \(count)")
        }
        guard state.step >= 0 else { throw ModelConfigError(message: "optimizer step is negative") }
        for (name, values) in state.slots { slots[name]?.assign(values) }
        step = state.step
    }

    /// Applies one update with learning rate `lr` (the schedule's value for this step).
    ///
    /// - Parameters:
    ///   - parameters: θ (count), updated in place.
    ///   - gradients: g (count); not modified.
    public func update(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, lr: Double) {
        step += 1
        let n = count
        let wd = Float(config.weightDecay)
        switch config.kind {
        case .sgd:
            let mu = Float(config.momentum), rate = Float(lr)
            if config.momentum != 0 {
                guard let bufferStorage = slots["momentum_buffer"] else {
                    preconditionFailure("SGD's momentum buffer is missing from an optimizer built with momentum")
                }
                let b = bufferStorage.baseAddress
                let first = step == 1
                for i in 0..<n {
                    var d = gradients[i]
                    if wd != 0 { d += wd * parameters[i] }  // g ← g + wd·θ
                    b[i] = first ? d : mu * b[i] + d  // b ← μ b + g (b₁ = g)
                    if config.nesterov { d += mu * b[i] } else { d = b[i] }
                    parameters[i] -= rate * d  // θ ← θ − lr·d
                }
            } else {
                for i in 0..<n {
                    var d = gradients[i]
                    if wd != 0 { d += wd * parameters[i] }
                    parameters[i] -= rate * d
                }
            }
        case .adam, .adamw:
            // The slots exist by construction (`init` makes `slotNames`); a missing one is a bug, never a no-op.
            guard let mStore = slots["exp_avg"], let vStore = slots["exp_avg_sq"] else {
                preconditionFailure("Adam's moments are missing from an optimizer built for \(config.kind)")
            }
            let m = mStore.baseAddress, v = vStore.baseAddress
            // 1 − β is formed in Double before rounding, as torch.optim does (1 − Float(0.999) is 1.3e-5 off).
            let oneMinusB1 = Float(1 - config.beta1), oneMinusB2 = Float(1 - config.beta2)
            let b2 = Float(config.beta2), eps = Float(config.epsilon)
            let t = Double(step)
            let stepSize = Float(lr / (1 - pow(config.beta1, t)))  // lr / (1 − β1ᵗ)
            let rootCorrection2 = Float((1 - pow(config.beta2, t)).squareRoot())  // √(1 − β2ᵗ)
            let decoupled = config.kind == .adamw
            let decay = Float(1 - lr * config.weightDecay)
            for i in 0..<n {
                var d = gradients[i]
                if decoupled {
                    parameters[i] *= decay  // θ ← θ (1 − lr·wd)
                } else if wd != 0 {
                    d += wd * parameters[i]  // g ← g + wd·θ
                }
                m[i] += oneMinusB1 * (d - m[i])  // m ← β1 m + (1 − β1) g
                v[i] = b2 * v[i] + oneMinusB2 * d * d  // v ← β2 v + (1 − β2) g²
                let denom = v[i].squareRoot() / rootCorrection2 + eps
                parameters[i] -= stepSize * m[i] / denom  // θ ← θ − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε)
            }
        }
    }
}
