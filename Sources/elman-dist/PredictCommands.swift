import ArgumentParser
import ElmanData
import ElmanTraining
import Foundation

/// The checkpoint to use: shared by predict, eval, generate and plot.
struct CheckpointArgument: ParsableArguments {
    @Option(help: "A checkpoint file, or a checkpoint directory (its latest).") var checkpoint: String

    func load() throws -> TrainedModel {
        let path = try resolveCheckpointArgument(checkpoint)
        do { return try TrainedModel(path: path) } catch { throw RuntimeFailure("\(path): \(error)") }
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
            csv = "step,forecast\n" + values.enumerated().map { "\($0.offset + 1),\($0.element)" }.joined(separator: "\n") + "\n"
        } else {
            let d = try m.dataset(options)
            guard !d.isClassification else { throw RuntimeFailure("predict is for numeric series; use generate for text") }
            let p = m.predictions(d, windows: 0 ..< d.windowCount)
            csv = "row,actual,predicted,split\n"
            for x in p {
                csv += "\(x.row),\(x.actual),\(x.predicted),\(x.row - d.levelOffset - d.seqLen < d.trainCount ? "train" : "validation")\n"
            }
        }
        if let out {
            guard FileManager.default.createFile(atPath: out, contents: Data(csv.utf8)) else { throw RuntimeFailure("cannot write \(out)") }
        } else {
            print(csv, terminator: "")
        }
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

    enum Split: String, ExpressibleByArgument, CaseIterable { case validation, train, all }

    @OptionGroup var model: CheckpointArgument
    @OptionGroup(title: "Data") var data: DataArguments
    @Option(help: "Which windows: validation, train or all (default: validation if the run had one).") var split: Split?
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        let m = try model.load()
        let d = try m.dataset(try data.options())
        let windows: Range<Int> = switch split {
        case .validation?: d.trainCount ..< d.windowCount
        case .train?: 0 ..< d.trainCount
        case .all?: 0 ..< d.windowCount
        case nil: m.defaultWindows(d)
        }
        guard !windows.isEmpty else { throw RuntimeFailure("no \(split?.rawValue ?? "") windows to evaluate") }
        let e = m.evaluate(d, windows: windows)
        if json {
            func num(_ v: Double) -> String { v.isFinite ? "\(v)" : "null" }
            if let mm = e.model, let n = e.naive {
                print("{\"mse\":\(num(mm.mse)),\"rmse\":\(num(mm.rmse)),\"mae\":\(num(mm.mae)),\"naive\":{\"mse\":\(num(n.mse)),\"rmse\":\(num(n.rmse)),\"mae\":\(num(n.mae))},\"windows\":\(e.windows)}")
            } else {
                print("{\"accuracy\":\(num(e.accuracy ?? .nan)),\"cross_entropy\":\(num(e.crossEntropy ?? .nan)),\"naive\":{\"accuracy\":\(num(e.naiveAccuracy ?? .nan))},\"windows\":\(e.windows)}")
            }
            return
        }
        print("\(e.windows) windows")
        if let mm = e.model, let n = e.naive {
            func row(_ name: String, _ cells: [String]) -> String {
                name.padding(toLength: 20, withPad: " ", startingAt: 0)
                    + cells.map { String(repeating: " ", count: max(0, 14 - $0.count)) + $0 }.joined()
            }
            func g(_ v: Double) -> String { String(format: "%.6g", v) }
            print(row("", ["MSE", "RMSE", "MAE"]))
            print(row("model", [g(mm.mse), g(mm.rmse), g(mm.mae)]))
            print(row("naive (last value)", [g(n.mse), g(n.rmse), g(n.mae)]))
            print(mm.mse < n.mse ? String(format: "the model's MSE is %.1f%% below the naive forecast's", 100 * (1 - mm.mse / n.mse))
                                 : "the model does not beat the naive forecast")
        } else {
            print(String(format: "accuracy %.4f (naive: same as previous %.4f), cross-entropy %.4f",
                         e.accuracy ?? 0, e.naiveAccuracy ?? 0, e.crossEntropy ?? 0))
        }
    }
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate text from a character model.",
        discussion: "Example:\n  elman-dist generate --checkpoint runs/story --prime 'Once upon' --length 200 --temperature 0.8")

    @OptionGroup var model: CheckpointArgument
    @Option(help: "Text to start from.") var prime = ""
    @Option(help: "Characters to generate.") var length = 200
    @Option(help: "Sampling temperature; 0 picks the most likely character.") var temperature = 1.0
    @Option(help: "Sampling seed.") var seed: UInt64 = 0

    func run() throws {
        let m = try model.load()
        do { print(try m.generate(prime: prime, length: length, temperature: temperature, seed: seed)) } catch {
            throw RuntimeFailure("\(error)")
        }
    }
}
