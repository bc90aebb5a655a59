import ElmanCore
import ElmanData

extension ModelConfig {
    /// The model a run's options build for a dataset.
    public init(options: TrainingOptions, data: WindowedDataset) {
        self.init(
            inputSize: data.inputSize, hiddenSize: options.hidden, outputSize: data.outputSize,
            layers: options.layers, activation: options.activation, head: options.head)
    }
}
