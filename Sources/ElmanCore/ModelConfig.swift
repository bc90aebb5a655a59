/// The nonlinearity of the recurrent layers, as `torch.nn.RNN(nonlinearity:)`.
public enum Activation: String, Codable, Sendable, CaseIterable {
    case tanh
    case relu
}

/// Where the linear head reads the recurrent output.
public enum HeadMode: String, Codable, Sendable, CaseIterable {
    /// Many-to-one: the head sees the last hidden state only; output (B, O).
    case last
    /// Many-to-many: the head sees every step; output (B, T, O).
    case every
}

/// The shape of an Elman network: `torch.nn.RNN(I, H, L, nonlinearity)` + `torch.nn.Linear(H, O)`.
public struct ModelConfig: Codable, Equatable, Hashable, Sendable {
    /// Features per time step, I.
    public var inputSize: Int
    /// Hidden units per layer, H.
    public var hiddenSize: Int
    /// Outputs of the head, O (classes for cross-entropy).
    public var outputSize: Int
    /// Stacked recurrent layers, L.
    public var layers: Int
    /// Nonlinearity of every recurrent layer.
    public var activation: Activation
    /// Whether the head reads the last step or every step.
    public var head: HeadMode

    /// Creates a configuration; call `validate()` before building a network from user input.
    public init(
        inputSize: Int, hiddenSize: Int, outputSize: Int, layers: Int = 1,
        activation: Activation = .tanh, head: HeadMode = .last
    ) {
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.outputSize = outputSize
        self.layers = layers
        self.activation = activation
        self.head = head
    }

    /// Input width of recurrent layer `layer`: I for the first, H above it.
    public func inputSize(ofLayer layer: Int) -> Int { layer == 0 ? inputSize : hiddenSize }

    /// Bytes a training step needs on one rank, computed before anything is allocated: the
    /// parameters, their gradients and `optimizerSlots` optimiser buffers, and the activation
    /// workspace for `batch` windows of `steps` (see `Workspace`). Nil when it overflows.
    public func trainingBytes(batch B: Int, steps T: Int, optimizerSlots: Int) -> Int? {
        let H = hiddenSize, O = outputSize
        // Every product in Int with overflow checks: hostile sizes must not trap.
        func product(_ factors: Int...) -> Int? {
            var p = 1
            for f in factors {
                let (r, o) = p.multipliedReportingOverflow(by: f)
                if o { return nil }
                p = r
            }
            return p
        }
        guard let perLayer = product(H, H + H + 2), let first = product(H, inputSize - H),
            let parameters = product(perLayer, layers).map({ $0 + first + H * O + O }),
            let state = product(parameters, 2 + optimizerSlots),
            let hidden = product(layers, T + 1, B, H), let grads = product(2, T, B, H),
            let io = product(2, T, B, max(inputSize, O)).map({ $0 + T * B })
        else { return nil }
        let (floats, o) = state.addingReportingOverflow(hidden + grads + io)
        return o ? nil : product(floats, 4)
    }

    /// Checks that every size is positive and the parameter count fits in memory.
    public func validate() throws(ModelConfigError) {
        for (name, value) in [
            ("input size", inputSize), ("hidden size", hiddenSize),
            ("output size", outputSize), ("layers", layers),
        ] where value < 1 {
            throw ModelConfigError(message: "\(name) must be at least 1, got \(value)")
        }
        // A layout holds four tensors a layer: a stored count beyond this is hostile, not a model.
        guard layers <= 1000 else { throw ModelConfigError(message: "layers must be at most 1000, got \(layers)") }
        let limit = 1 << 31
        let (h2, overflow) = hiddenSize.multipliedReportingOverflow(by: hiddenSize + inputSize + outputSize + 2)
        if overflow || h2.multipliedReportingOverflow(by: layers).overflow || h2 * layers > limit {
            throw ModelConfigError(message: "model too large: \(layers) layers of \(hiddenSize) hidden units")
        }
    }
}

/// A model configuration that cannot be built, with the reason.
public struct ModelConfigError: Error, CustomStringConvertible, Equatable {
    /// What is wrong, in one line.
    public var message: String
    public var description: String { message }
}
