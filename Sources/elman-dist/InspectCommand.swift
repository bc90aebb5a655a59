import ArgumentParser
import ElmanCheckpoint
import ElmanCore
import ElmanInference
import ElmanRun
import ElmanFiles
import Foundation

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a checkpoint's format, settings, progress and tensors, verifying every checksum.",
        discussion: "Exits non-zero when the file is damaged.\n\nExample:\n  elman-dist inspect runs/temps")

    @Argument(help: "A checkpoint file, or a checkpoint directory (its latest).") var checkpoint: String

    func run() throws {
        let path = try resolveCheckpointArgument(checkpoint)
        let bytes = try Files.read(path)
        let file: SafeTensorsFile
        let ckpt: Checkpoint
        do {
            file = try SafeTensorsFile(bytes: bytes)
            ckpt = try Checkpoint(file: file)
        } catch let e as SafeTensorsError {
            throw CommandFailure("\(path): not a valid safetensors file: \(e)")
        } catch {
            throw CommandFailure("\(path): \(error)")
        }
        print("file            \(path) (\(bytes.count) bytes)")
        print("format          \(file.metadata["format"] ?? "?") version \(file.metadata["format_version"] ?? "?")")
        let m = ckpt.model
        print(
            "model           \(m.layers) × \(m.hiddenSize) \(m.activation.rawValue), input \(m.inputSize), output \(m.outputSize), head \(m.head.rawValue)"
        )
        let o = ckpt.optimizer
        print(
            "optimizer       \(o.kind.rawValue) lr \(o.learningRate) wd \(o.weightDecay) step \(ckpt.optimizerState.step)"
        )
        if let p = try? ckpt.progress {
            print(
                "progress        step \(p.step), epoch \(p.epoch + 1), batch \(p.batchInEpoch) of the epoch, written at world size \(p.worldSize)"
            )
            if let v = p.lastValidationLoss { print("validation      last \(v), best \(p.bestValidationLoss ?? v)") }
        }
        if let t = try? ckpt.trainingOptions {
            print(
                "training        seq-len \(t.seqLen), batch \(t.batchSize), seed \(t.seed), loss \(t.loss.rawValue), steps \(t.steps.map(String.init) ?? "\(t.epochs) epochs")"
            )
            print(
                "reduction       "
                    + (t.microBatch.map {
                        "deterministic: micro-batches of \($0), the same bits at any world size and thread count"
                    } ?? "one micro-batch per core: other world sizes agree to rounding"))
        }
        if let d = try? ckpt.dataRecord {
            print(
                "data            \(d.options.source) target \(d.targetName), features \(d.featureNames.joined(separator: ",")), fingerprint \(d.fingerprint)"
            )
            print(
                "pipeline        "
                    + [
                        d.options.filter.map { "where \($0)" } ?? "every row",
                        "missing \(d.options.missing.rawValue)",
                        d.options.season.map { "seasonal changes (lag \($0))" }
                            ?? (d.options.difference ? "changes (differenced)" : "levels"),
                    ].joined(separator: ", "))
            print(
                "scaling         \(d.normalization.kind.rawValue)"
                    + (d.panel == nil ? "" : ", each series on its own training rows")
                    + (d.vocabulary.map { ", vocabulary \($0.count) characters" } ?? ""))
            if let panel = d.panel {
                let column = d.options.series.map { "column \($0)" } ?? "columns of a wide file"
                let shown = panel.ids.prefix(6).joined(separator: ", ")
                print("panel           \(panel.count) series (\(column)): \(shown)\(panel.count > 6 ? ", …" : "")")
            }
            if let time = d.options.timeColumn {
                print(
                    "time            column \(time)"
                        + (d.options.calendar.map { ", calendar " + $0.map(\.rawValue).joined(separator: ",") } ?? ""))
            }
        }
        print("checksums       all \(file.tensors.count) tensors verified (CRC-32C)")
        print("")
        print("tensor".padding(toLength: 44, withPad: " ", startingAt: 0) + "dtype  shape")
        for t in file.tensors {
            print(
                t.name.padding(toLength: 44, withPad: " ", startingAt: 0)
                    + t.dtype.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0) + "\(t.shape)")
        }
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a checkpoint's model tensors alone, under PyTorch's names, for load_state_dict.",
        discussion: """
            Example:
              elman-dist export runs/temps --out temps.safetensors
              # python: model.load_state_dict(safetensors.torch.load_file("temps.safetensors"))
            """)

    @Argument(help: "A checkpoint file, or a checkpoint directory (its best by validation loss, else its latest).")
    var checkpoint: String
    @Option(help: "The safetensors file to write (an existing file needs --force).") var out: String
    @OptionGroup var overwrite: ForceFlag

    func run() throws {
        let path = try resolveModelArgument(checkpoint)
        let ckpt: Checkpoint
        do { ckpt = try Checkpoint.load(path: path) } catch { throw CommandFailure("\(path): \(error)") }
        // Checked before the work, so a refusal costs nothing.
        let output = try OutputFile(path: out, flag: "--out", replace: overwrite.force, inputs: [path])
        var writer = SafeTensorsWriter()
        for slot in ElmanCore.ParameterLayout(ckpt.model).slots {
            writer.add(slot.name, shape: slot.shape, values: Array(ckpt.parameters[slot.range]))
        }
        writer.metadata = ["elman_dist_model": try ExportedModel(ckpt).json()]
        try output.write(writer.serialized())
        try output.commit()
        print("wrote \(out): \(ParameterLayout(ckpt.model).slots.count) tensors (rnn.*, fc.*) from \(path)")
    }
}

/// The `elman_dist_model` metadata of an exported file: what PyTorch needs to rebuild the
/// modules and to use them on raw data (the data pipeline and its scaling). Keys in the README.
struct ExportedModel: Encodable {
    struct Scaling: Encodable {
        var shift, scale: Double
    }
    var inputSize, hiddenSize, outputSize, numLayers: Int
    var nonlinearity, head: String
    var seqLen: Int?
    var stateful: Bool?
    var target: String?
    var features: [String]?
    var difference: Bool?
    /// A model of seasonal changes: its period (add its output to the value this many steps back).
    var season: Int?
    /// normalised = (value − shift) / scale, per feature; the target's is undone on the output.
    var featureScaling: [Scaling]?
    var targetScaling: Scaling?
    var vocabulary: [String]?

    enum CodingKeys: String, CodingKey {
        case nonlinearity, head, stateful, target, features, difference, season, vocabulary
        case inputSize = "input_size", hiddenSize = "hidden_size", outputSize = "output_size", numLayers = "num_layers"
        case seqLen = "seq_len", featureScaling = "feature_scaling", targetScaling = "target_scaling"
    }

    init(_ c: Checkpoint) {
        let m = c.model
        inputSize = m.inputSize
        hiddenSize = m.hiddenSize
        outputSize = m.outputSize
        numLayers = m.layers
        nonlinearity = m.activation.rawValue
        head = m.head.rawValue
        if let t = try? c.trainingOptions {
            seqLen = t.seqLen
            stateful = t.stateful
        }
        if let d = try? c.dataRecord {
            target = d.targetName
            features = d.featureNames
            difference = d.options.difference
            season = d.options.season
            vocabulary = d.vocabulary
            if d.vocabulary == nil {
                featureScaling = d.normalization.features.map { Scaling(shift: $0.shift, scale: $0.scale) }
                targetScaling = Scaling(shift: d.normalization.target.shift, scale: d.normalization.target.scale)
            }
        }
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
