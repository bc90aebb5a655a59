import ArgumentParser
import ElmanCheckpoint
import ElmanCore
import ElmanData
import ElmanDistributed
import ElmanInference
import ElmanRun
import ElmanTraining
import Foundation

extension Eval {
    /// `eval --backtest K --test-size N --retrain`: at each fold's origin a new model is trained,
    /// with the checkpoint's settings and seed, on the rows before the fold alone (its own
    /// scaling and validation tail), then scores the fold with every row before it as history.
    /// Under mpirun every rank trains each fold together (data-parallel); rank 0 prints.
    ///
    /// - Parameters:
    ///   - folds: the folds' windows in `series`' windows (oldest first, ending with the data).
    func runRetrainingBacktest(
        _ m: TrainedModel, _ series: Series, folds: [Range<Int>], season: Int?, request: DataRequest
    ) throws {
        guard !m.isPanel, !m.isStateful, series.vocabulary == nil else {
            throw ValidationError("--retrain is for a windowed model of one numeric series")
        }
        let pipeline = try m.dataOptions(request)
        var options = m.options
        options.checkpointDirectory = nil
        options.metricsPath = nil
        options.quiet = true
        let T = options.seqLen
        try runDistributed { comm in
            BLASThreads.set(Trainer.parallelism(options, comm: comm).blasThreads)
            var scores: [BacktestFold] = []
            for (k, windows) in folds.enumerated() {
                // The rows before the fold's first target: what was known at its origin.
                let origin = windows.lowerBound + T
                let trainer = try Trainer(
                    comm: comm, options: options, series: series.prefix(rows: origin), source: pipeline)
                trainer.stopRequested = { StopSignal.isRequested }
                let summary = try trainer.run()
                if summary.interrupted { throw CommandFailure("interrupted while training fold \(k + 1)") }
                guard let checkpoint = try trainer.checkpoint() else { continue }  // rank 0 scores
                let model = try TrainedModel(checkpoint: checkpoint, path: "(fold \(k + 1))")
                let d = try model.dataset(series, whole: true)
                scores.append(
                    BacktestFold(
                        fold: k + 1, firstRow: origin + d.levelOffset,
                        firstTime: series.times.map { Timestamp.format($0[origin]) },
                        e: model.evaluate(d, .windows(windows), season: season)))
                if !json {
                    print("fold \(k + 1): trained \(summary.steps) steps on the \(origin + d.levelOffset) rows before it")
                }
            }
            guard comm.isRoot else { return }
            try printRetrained(scores, unit: m.dataRecord.targetName, source: pipeline.source.description)
        }
    }

    /// The folds' errors and the pooled errors of all their predictions (each fold's own model).
    private func printRetrained(_ folds: [BacktestFold], unit: String, source: String) throws {
        // Pooled over every fold's predictions: mean squared and absolute errors weighted by count.
        func pooled(_ pick: (Evaluation) -> ErrorMetrics?) -> (rmse: Double, mae: Double)? {
            let parts = folds.compactMap { pick($0.e) }.filter { $0.count > 0 }
            guard !parts.isEmpty else { return nil }
            let n = Double(parts.reduce(0) { $0 + $1.count })
            return (
                (parts.reduce(0) { $0 + $1.mse * Double($1.count) } / n).squareRoot(),
                parts.reduce(0) { $0 + $1.mae * Double($1.count) } / n
            )
        }
        let model = pooled(\.model), naive = pooled(\.naive), seasonal = pooled(\.seasonal)
        if json {
            print(
                try RetrainedBacktestJSON(
                    data: source, unit: unit, windows: folds.reduce(0) { $0 + $1.e.windows }, rmse: model?.rmse,
                    mae: model?.mae, naive: .init(rmse: naive?.rmse, mae: naive?.mae),
                    seasonal: seasonal.map { .init(rmse: $0.rmse, mae: $0.mae) }, backtest: folds
                ).encoded())
            return
        }
        EvalTable.printFolds(
            folds, pooled: [model?.rmse, naive?.rmse, seasonal?.rmse],
            verdict: "retrained at every origin: the model's RMSE")
    }
}

/// `eval --backtest --retrain --json`: the pooled errors of every fold's own model, and the folds.
struct RetrainedBacktestJSON: Encodable {
    struct Errors: Encodable {
        var rmse, mae: Double?
    }
    let retrained = true
    var data, unit: String
    var windows: Int
    var rmse, mae: Double?
    var naive: Errors
    var seasonal: Errors?
    var backtest: [BacktestFold]

    enum CodingKeys: String, CodingKey { case retrained, data, unit, windows, rmse, mae, naive, seasonal, backtest }
}
