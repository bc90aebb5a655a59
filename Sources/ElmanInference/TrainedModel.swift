import ElmanCheckpoint
import ElmanCore
import ElmanData
import ElmanRun

#if canImport(Glibc)
import Glibc
#endif

/// A trained model loaded from a checkpoint, for prediction, evaluation and generation.
public final class TrainedModel {
    public let checkpoint: Checkpoint
    public let options: TrainingOptions
    public let dataRecord: DataRecord
    public let network: ElmanNetwork
    /// The checkpoint file it was loaded from.
    public let path: String

    /// Loads and verifies `path` (a checkpoint file).
    public convenience init(path: String) throws {
        try self.init(checkpoint: try Checkpoint.load(path: path), path: path)
    }

    /// The model a checkpoint in memory holds (`path` names it in messages).
    public init(checkpoint: Checkpoint, path: String) throws {
        self.path = path
        self.checkpoint = checkpoint
        options = try checkpoint.trainingOptions
        dataRecord = try checkpoint.dataRecord
        network = ElmanNetwork(config: checkpoint.model)
        network.parameters.assign(checkpoint.parameters)
    }

    /// Whether the model was trained statefully (its state carried along one stream).
    public var isStateful: Bool { options.stateful }

    /// The data options a request resolves to: the checkpoint's pipeline with only the source
    /// changed; a setting that contradicts the checkpoint is an error naming both values.
    public func dataOptions(_ request: DataRequest) throws(DataError) -> DataOptions {
        try dataRecord.options.resolving(request)
    }

    /// The series a request names, through the checkpoint's pipeline (features, differencing, vocabulary).
    public func series(_ request: DataRequest) throws -> Series {
        let series = try Series.load(try dataOptions(request), vocabulary: dataRecord.vocabulary)
        if series.vocabulary == nil && series.featureColumns.count != checkpoint.model.inputSize {
            throw RunError(
                "the model takes \(checkpoint.model.inputSize) feature(s) (\(dataRecord.featureNames.joined(separator: ", "))), the data gives \(series.featureColumns.count)"
            )
        }
        return series
    }

    /// The data a command runs the model on, scaled as in training: the training data with its
    /// validation split, or new data whole (every window of it, nothing held out).
    public func dataset(_ request: DataRequest = DataRequest()) throws -> WindowedDataset {
        try dataset(try series(request), whole: request.isNewData)
    }

    /// `series` split as in training (or `whole`), with the checkpoint's scaling.
    public func dataset(_ series: Series, whole: Bool) throws -> WindowedDataset {
        try WindowedDataset(
            series: series, seqLen: options.seqLen, validationFraction: whole ? 0 : options.validationFraction,
            scaling: dataRecord.panel.map { .fixedPanel($0, dataRecord.normalization.kind) }
                ?? .fixed(dataRecord.normalization),
            split: isStateful ? .stream : .windows, horizon: options.leads)
    }

    /// Rows a forecast needs: T values (stateless) or at least one (stateful), `lag` more when
    /// the model reads differences (one, or a season).
    public var rowsToForecastFrom: Int { (isStateful ? 1 : options.seqLen) + lag }

    /// The differencing lag of the model's data: 0 for levels, 1 for changes, the season for seasonal changes.
    public var lag: Int { dataRecord.options.difference ? dataRecord.options.lag : 0 }

    /// Which predictions to make on a dataset.
    public enum Selection: Sendable, Equatable {
        /// Windows (stateless models): each predicts the row after it, from h = 0.
        case windows(Range<Int>)
        /// One lane (stateful models): the state starts from zero at the first row of `warm`
        /// and is warmed over it, then each row of `scored` predicts the next; `scored` follows
        /// `warm` directly. With `warm` empty, the state starts from zero at `scored`.
        case lane(warm: Range<Int>, scored: Range<Int>)

        /// Number of predictions.
        public var count: Int {
            switch self {
            case let .windows(w): w.count
            case let .lane(_, scored): scored.count
            }
        }
    }

    /// The parts of a dataset `eval` can score.
    public enum Split: String, Sendable, CaseIterable {
        case validation, train, all
    }

    /// The predictions of one split: for a stateful model, the state is warmed over the rows before it.
    public func selection(_ data: WindowedDataset, _ split: Split) -> Selection {
        switch (data.split, split) {
        case (.windows, .validation): .windows(data.trainCount..<data.windowCount)
        case (.windows, .train): .windows(0..<data.trainCount)
        case (.windows, .all): .windows(0..<data.windowCount)
        case (.stream, .validation): .lane(warm: 0..<data.trainCount, scored: data.trainCount..<(data.rowCount - 1))
        case (.stream, .train): .lane(warm: 0..<0, scored: 0..<(data.trainCount - 1))
        case (.stream, .all): .lane(warm: 0..<0, scored: 0..<(data.rowCount - 1))
        }
    }

    /// The last `count` predictions of a dataset, every row before them read as history: a
    /// held-out tail scored with what a forecaster has (`eval --test-size`).
    public func lastPredictions(_ data: WindowedDataset, count: Int) throws -> Selection {
        switch selection(data, .all) {
        case let .windows(all):
            guard count <= all.count else {
                throw RunError.usage("`testSize` \(count) is more than the \(all.count) predictions the data gives")
            }
            return .windows((all.upperBound - count)..<all.upperBound)
        case let .lane(_, scored):
            guard count <= scored.count else {
                throw RunError.usage("`testSize` \(count) is more than the \(scored.count) predictions the data gives")
            }
            return .lane(warm: 0..<(scored.upperBound - count), scored: (scored.upperBound - count)..<scored.upperBound)
        }
    }

    /// The predictions whose targets lie after `cutoff` (seconds since 1970), every row before
    /// them read as history: `eval --cutoff DATE`. `times` are the series' (its rows' times).
    public func predictions(after cutoff: Double, _ data: WindowedDataset, times: [Double]?) throws -> Selection {
        guard let times, times.count == data.rowCount else {
            throw RunError.usage("`cutoff` needs a time column: train with `timeColumn` (the model has none)")
        }
        // The rows the predictions are for: a window's next row, or a lane's next.
        let targets: Range<Int> =
            switch selection(data, .all) {
            case let .windows(w): (w.lowerBound + data.seqLen)..<(w.upperBound + data.seqLen)
            case let .lane(_, scored): (scored.lowerBound + 1)..<(scored.upperBound + 1)
            }
        guard let first = targets.first(where: { times[$0] > cutoff }) else {
            throw RunError.usage(
                "nothing to score after `cutoff` \(Timestamp.format(cutoff)): the data ends at \(Timestamp.format(times[times.count - 1]))")
        }
        guard targets[first...].allSatisfy({ times[$0] > cutoff }), zip(times.dropFirst(), times).allSatisfy({ $0 > $1 })
        else { throw RunError("the time column is not in increasing order, so `cutoff` does not split it in two") }
        guard first > targets.lowerBound else {
            throw RunError.usage(
                "`cutoff` \(Timestamp.format(cutoff)) leaves no history: the first prediction is for \(Timestamp.format(times[first]))")
        }
        return try lastPredictions(data, count: targets.upperBound - first)
    }

    /// Whether the target at `row` lies in the training part of the data.
    public func isTraining(targetRow row: Int, of data: WindowedDataset) -> Bool {
        data.split == .windows ? row - data.seqLen < data.trainCount : row < data.trainCount
    }

    /// The predictions for the held-out part of the training data (validation windows, or the
    /// validation rows after the state is warmed over the training rows), or all when none was held out.
    public func defaultSelection(_ data: WindowedDataset) -> Selection {
        selection(data, data.validationCount > 0 ? .validation : .all)
    }

    /// Calls `visit(targetRow, output)` for every prediction of `selection`: the output of the
    /// step that predicts the target at `targetRow`. Every prediction goes through `ForwardPass`.
    func forEachPrediction(
        _ data: WindowedDataset, _ selection: Selection, visit: (Int, UnsafeBufferPointer<Float>) -> Void
    ) {
        let pass = ForwardPass(LocalStep(network: network, data: data, loss: options.loss))
        switch selection {
        case let .windows(windows):
            // The prediction for row window + T: the last step's output.
            pass.windows(windows) { w, output in visit(w + options.seqLen, output) }
        case let .lane(warm, scored):
            // One lane, its state carried chunk to chunk from the first warm row; the chunks end
            // where the warm rows do (chunk length changes nothing but speed).
            let O = checkpoint.model.outputSize
            let first = warm.isEmpty ? scored.lowerBound : warm.lowerBound
            let chunks =
                ForwardPass.chunks(rows: warm.count)
                + ForwardPass.chunks(rows: scored.count).map { ($0.offset + warm.count, $0.steps) }
            pass.lanes(from: [first], chunks: chunks) { offset, steps in
                let row = first + offset
                guard row >= scored.lowerBound else { return }
                for t in 0..<steps {
                    visit(row + t + 1, UnsafeBufferPointer(rebasing: network.output[t * O..<(t + 1) * O]))
                }
            }
        }
    }
}
