import ArgumentParser
import ElmanData
import ElmanInference
import ElmanRun
import Foundation

/// The checkpoint to use: shared by predict, eval, generate and plot.
struct CheckpointArgument: ParsableArguments {
    @Option(help: "A checkpoint file, or a checkpoint directory (its latest).") var checkpoint: String

    func load() throws -> TrainedModel {
        let path = try resolveCheckpointArgument(checkpoint)
        do { return try TrainedModel(path: path) } catch {
            throw CommandFailure("\(path): \(Diagnostics.message(error))")
        }
    }
}

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Next-step predictions for every window, or a forecast past the end of the data.",
        discussion: """
            Values are in the data's original units. Without --data the checkpoint's data is used.

            Examples:
              elman-dist predict --checkpoint runs/temps --out predictions.csv
              elman-dist predict --checkpoint runs/temps --horizon 24
            """)

    @OptionGroup var model: CheckpointArgument
    @OptionGroup(title: "Data") var data: DataArguments
    @Option(help: "Forecast this many steps past the end by feeding predictions back.") var horizon: Int?
    @Option(help: "Write CSV here instead of standard output.") var out: String?

    func run() throws {
        let m = try model.load()
        let options = try data.options()
        var csv: String
        if let horizon {
            let series = try Series.load(options ?? m.dataRecord.options, vocabulary: m.dataRecord.vocabulary)
            let values = try m.forecast(series, horizon: horizon)
            csv =
                "step,forecast\n" + values.enumerated().map { "\($0.offset + 1),\($0.element)" }.joined(separator: "\n")
                + "\n"
        } else {
            let d = try m.dataset(options)
            guard !d.isClassification else {
                throw CommandFailure("predict is for numeric series; use generate for text")
            }
            let p = m.predictions(d, m.selection(d, .all))
            csv = "row,actual,predicted,split\n"
            for x in p {
                let split = m.isTraining(targetRow: x.row - d.levelOffset, of: d) ? "train" : "validation"
                csv += "\(x.row),\(x.actual),\(x.predicted),\(split)\n"
            }
        }
        try writeOutput(csv, to: out)
    }
}

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a model against the naive last-value forecast, in original units.",
        discussion: """
            Scores the validation windows when the run held some out, otherwise all windows.

            Examples:
              elman-dist eval --checkpoint runs/temps
              elman-dist eval --checkpoint runs/temps --json
            """)

    @OptionGroup var model: CheckpointArgument
    @OptionGroup(title: "Data") var data: DataArguments
    @Option(help: "Which windows: validation, train or all (default: validation if the run had one).") var split:
        TrainedModel.Split?
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        let m = try model.load()
        let d = try m.dataset(try data.options())
        let selection = split.map { m.selection(d, $0) } ?? m.defaultSelection(d)
        guard selection.count > 0 else { throw CommandFailure("no \(split?.rawValue ?? "") windows to evaluate") }
        let e = m.evaluate(d, selection)
        if json {
            print(try EvaluationJSON(e).encoded())
            return
        }
        print(m.isStateful ? "\(e.windows) predictions along one lane, its state carried" : "\(e.windows) windows")
        if let mm = e.model, let n = e.naive {
            func row(_ name: String, _ cells: [String]) -> String {
                name.padding(toLength: 20, withPad: " ", startingAt: 0)
                    + cells.map { String(repeating: " ", count: max(0, 14 - $0.count)) + $0 }.joined()
            }
            func g(_ v: Double) -> String { String(format: "%.6g", v) }
            print(row("", ["MSE", "RMSE", "MAE"]))
            print(row("model", [g(mm.mse), g(mm.rmse), g(mm.mae)]))
            print(row("naive (last value)", [g(n.mse), g(n.rmse), g(n.mae)]))
            print(
                mm.mse < n.mse
                    ? String(format: "the model's MSE is %.1f%% below the naive forecast's", 100 * (1 - mm.mse / n.mse))
                    : "the model does not beat the naive forecast")
        } else {
            print(
                String(
                    format: "accuracy %.4f (naive: same as previous %.4f), cross-entropy %.4f",
                    e.accuracy ?? 0, e.naiveAccuracy ?? 0, e.crossEntropy ?? 0))
        }
    }
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate text from a character model.",
        discussion:
            "Example:\n  elman-dist generate --checkpoint runs/story --prime 'Once upon' --length 200 --temperature 0.8"
    )

    @OptionGroup var model: CheckpointArgument
    @Option(help: "Text to start from.") var prime = ""
    @Option(help: "Characters to generate.") var length = 200
    @Option(help: "Sampling temperature; 0 picks the most likely character.") var temperature = 1.0
    @Option(help: "Sampling seed.") var seed: UInt64 = 0

    func run() throws {
        let m = try model.load()
        print(try m.generate(prime: prime, length: length, temperature: temperature, seed: seed))
    }
}

/// `eval --json`: one object whose keys are documented in the README and stay stable.
/// A value that is not finite (an empty score) is written as null.
struct EvaluationJSON: Encodable {
    struct Errors: Encodable {
        var mse, rmse, mae: Double?
        init(_ m: ErrorMetrics) {
            mse = m.mse.finite
            rmse = m.rmse.finite
            mae = m.mae.finite
        }
    }
    struct NaiveAccuracy: Encodable { var accuracy: Double? }

    var windows: Int
    var mse, rmse, mae: Double?
    var accuracy, crossEntropy: Double?
    var naive: Naive

    enum Naive: Encodable {
        case errors(Errors)
        case accuracy(NaiveAccuracy)
        func encode(to encoder: Encoder) throws {
            switch self {
            case let .errors(e): try e.encode(to: encoder)
            case let .accuracy(a): try a.encode(to: encoder)
            }
        }
    }

    enum CodingKeys: String, CodingKey {
        case windows, mse, rmse, mae, accuracy, naive
        case crossEntropy = "cross_entropy"
    }

    init(_ e: Evaluation) {
        windows = e.windows
        if let model = e.model, let naive = e.naive {
            mse = model.mse.finite
            rmse = model.rmse.finite
            mae = model.mae.finite
            self.naive = .errors(Errors(naive))
        } else {
            accuracy = e.accuracy?.finite
            crossEntropy = e.crossEntropy?.finite
            naive = .accuracy(NaiveAccuracy(accuracy: e.naiveAccuracy?.finite))
        }
    }

    func encoded() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

extension TrainedModel.Split: ExpressibleByArgument {}

extension Double {
    /// The value, or nil when it is NaN or infinite (JSON has no such numbers).
    var finite: Double? { isFinite ? self : nil }
}
