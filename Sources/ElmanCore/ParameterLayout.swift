/// One named tensor inside a flat buffer: PyTorch's state_dict name, shape and position.
public struct TensorSlot: Equatable, Hashable, Sendable {
    /// PyTorch's name, e.g. `rnn.weight_ih_l0` or `fc.bias`.
    public var name: String
    /// Row-major shape, e.g. `[H, I]`.
    public var shape: [Int]
    /// Index of the first element in the flat buffer.
    public var offset: Int
    /// Number of elements (product of `shape`).
    public var count: Int { shape.reduce(1, *) }
    /// Elements `offset ..< offset + count`.
    public var range: Range<Int> { offset..<offset + count }
}

/// Where each parameter of a `ModelConfig` lives in the one flat parameter buffer.
///
/// Order and names are those of `torch.nn.RNN` + `torch.nn.Linear` `named_parameters()`:
///
///     rnn.weight_ih_l0 (H, I)   rnn.weight_hh_l0 (H, H)   rnn.bias_ih_l0 (H)   rnn.bias_hh_l0 (H)
///     rnn.weight_ih_l1 (H, H)   ...                                              (one group per layer)
///     fc.weight (O, H)          fc.bias (O)
///
/// The gradient buffer uses the same layout, so one all-reduce moves every gradient.
public struct ParameterLayout: Equatable, Sendable {
    /// Offsets of one recurrent layer's four tensors.
    public struct Layer: Equatable, Sendable {
        public var weightIH: TensorSlot
        public var weightHH: TensorSlot
        public var biasIH: TensorSlot
        public var biasHH: TensorSlot
    }

    /// Recurrent layers, bottom first.
    public let layers: [Layer]
    /// The head's weight (O, H).
    public let headWeight: TensorSlot
    /// The head's bias (O).
    public let headBias: TensorSlot
    /// Total number of parameters.
    public let count: Int

    /// Lays out the parameters of `config`.
    public init(_ config: ModelConfig) {
        var offset = 0
        func slot(_ name: String, _ shape: [Int]) -> TensorSlot {
            let s = TensorSlot(name: name, shape: shape, offset: offset)
            offset += s.count
            return s
        }
        let H = config.hiddenSize
        var layers: [Layer] = []
        for k in 0..<config.layers {
            layers.append(
                Layer(
                    weightIH: slot("rnn.weight_ih_l\(k)", [H, config.inputSize(ofLayer: k)]),
                    weightHH: slot("rnn.weight_hh_l\(k)", [H, H]),
                    biasIH: slot("rnn.bias_ih_l\(k)", [H]),
                    biasHH: slot("rnn.bias_hh_l\(k)", [H])))
        }
        self.layers = layers
        headWeight = slot("fc.weight", [config.outputSize, H])
        headBias = slot("fc.bias", [config.outputSize])
        count = offset
        let head = headWeight.offset..<offset
        finalOrder =
            [head]
            + layers.indices.reversed().map { l in
                layers[l].weightIH.offset..<(l + 1 < layers.count ? layers[l + 1].weightIH.offset : head.lowerBound)
            }
    }

    /// Layer `l`'s four tensors, a contiguous part of the buffer.
    public func range(ofLayer l: Int) -> Range<Int> { finalOrder[layers.count - l] }

    /// The head's weight and bias, the end of the buffer.
    public var headRange: Range<Int> { finalOrder[0] }

    /// The parts of the buffer in the order `backward` finishes them: the head, then the
    /// layers from the top down. Together they cover the buffer once.
    /// Computed once, when the layout is made: the training loop walks it every step.
    public let finalOrder: [Range<Int>]

    /// Every tensor in buffer order.
    public var slots: [TensorSlot] {
        layers.flatMap { [$0.weightIH, $0.weightHH, $0.biasIH, $0.biasHH] } + [headWeight, headBias]
    }

    /// The tensor called `name`, if the model has one.
    public func slot(named name: String) -> TensorSlot? { slots.first { $0.name == name } }
}
