import ElmanFiles
import ElmanRun
import ElmanTraining
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// How progress lines are shown (`train --progress`).
enum ProgressMode: String, CaseIterable {
    /// One line rewritten in place every step: only when rank 0 runs alone with a terminal on
    /// standard output (otherwise plain).
    case live
    /// A line every `--log-every` steps.
    case plain
    /// No progress lines (messages, warnings and the final line still show).
    case none
}

/// Shows rank 0's training events: a live line on a terminal, plain lines in a pipe, and
/// one JSON object per logged step in the metrics file.
final class ProgressPrinter {
    private let quiet: Bool
    private let live: Bool
    private let lines: Bool
    private var metrics: AppendFile?
    private var liveLineOpen = false
    /// What a sample is in the rate: "seq" (windows) or "rows" (stateful lanes' rows).
    private var unit = "seq"
    private let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .throw
        return e
    }()

    /// Opens the metrics file on rank 0 under `OutputFile`'s rules (an existing file needs
    /// `force`, never an input); a resumed run (`resuming`) appends to an existing metrics file.
    /// Other ranks show nothing.
    init(
        options: TrainingOptions, mode: ProgressMode, isRoot: Bool, ranks: Int, resuming: Bool, force: Bool,
        inputs: [String]
    ) throws {
        quiet = options.quiet || !isRoot
        // mpirun gives ranks a pseudo-terminal even when its own output is a pipe, so a live
        // line needs rank 0 alone; it also needs a terminal type, which a pipe's environment rarely claims.
        let term = getenv("TERM").map { String(cString: $0) } ?? ""
        live = mode == .live && !quiet && ranks == 1 && isatty(STDOUT_FILENO) == 1 && !term.isEmpty && term != "dumb"
        lines = mode != .none
        guard isRoot, let path = options.metricsPath else { return }
        let append = resuming && Self.isMetricsFile(path)
        metrics = try AppendFile(path: path, flag: "--metrics", replace: force, append: append, inputs: inputs)
    }

    /// Whether `path` is a metrics file this tool wrote: its first line is a JSON object with a step.
    static func isMetricsFile(_ path: String) -> Bool {
        // Mapped: only the first page is read, however long the file has grown.
        guard Files.kind(path) == .file, let file = try? Files.map(path) else { return false }
        let head = file.bytes.prefix(4096)
        let first = head.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).first ?? []
        return (try? JSONDecoder().decode(StepOnly.self, from: Data(first))) != nil
    }

    private struct StepOnly: Decodable { var step: Int }

    /// Why the metrics file could not be written, once it could not: training then stops after
    /// the step, and the command fails with this.
    private(set) var metricsFailure: String?

    /// Shows one event.
    func show(_ event: TrainingEvent) {
        switch event {
        case let .started(o) where o.firstStep > o.totalSteps:
            // Said even with --quiet: a command that does nothing must not look like one that worked.
            finish()
            print(
                "nothing to do: the checkpoint is at step \(o.firstStep - 1) and the run ends at step \(o.totalSteps); give a larger --steps to continue"
            )
        case let .started(o):
            unit = o.lanes == nil ? "seq" : "rows"
            let data =
                if let lanes = o.lanes {
                    "\(o.trainWindows) training / \(o.validationWindows) validation rows, stateful in \(lanes.count) "
                        + "lanes of \(lanes.length) rows (\(lanes.droppedRows) training rows dropped)"
                } else {
                    "\(o.trainWindows) training / \(o.validationWindows) validation windows, batch \(o.batchSize)"
                }
            say(
                "training \(o.layers)×\(o.hidden) \(o.activation) RNN, \(o.parameters) parameters, \(data) "
                    + "on \(o.ranks) rank\(o.ranks == 1 ? "" : "s"), steps \(o.firstStep)…\(o.totalSteps)"
                    + (o.overlapsReduction ? ", gradients all-reduced layer by layer during backward" : ""))
        case let .note(text):
            say(Diagnostics.flags(in: text))
        case let .stepDone(report):
            if report.logged { record(MetricsLine(report)) }
            if lines && (report.logged || live) { progress(line(report), persist: report.logged) }
        case let .skipped(step, reason):
            say("step \(step): \(reason); update skipped on every rank")
            record(SkippedLine(step: step, skipped: "non-finite"))
        case let .checkpointWritten(path):
            say("checkpoint \(path)")
        case let .stoppedEarly(patience, best):
            say("early stop: validation loss has not improved for \(patience) validations (best \(formatLoss(best)))")
        case let .stopRequested(step):
            say("stop requested: finishing at step \(step)")
        case let .warning(text):
            // Shown even with --quiet: it is about whether the result can be trusted.
            finish()
            printError("warning: " + Diagnostics.flags(in: text))
        }
    }

    /// Closes an open live line.
    func finish() {
        if liveLineOpen {
            print("")
            liveLineOpen = false
        }
        flushOutput()
    }

    /// "epoch 3 step 120/400 loss 0.01234 val 0.02345 1234 seq/s ETA 0:12"
    private func line(_ r: StepReport) -> String {
        var text = "epoch \(r.epoch) step \(r.step)/\(r.totalSteps) loss \(formatLoss(r.loss))"
        if let v = r.lastValidationLoss { text += " val \(formatLoss(v))" }
        return text + String(format: " %.0f \(unit)/s", r.samplesPerSecond) + " ETA "
            + formatDuration(max(0, r.remaining))
    }

    private func say(_ text: String) {
        guard !quiet else { return }
        finish()
        print(text)
        flushOutput()
    }

    /// Rewrites one line on a terminal, or prints a line when `persist`.
    private func progress(_ text: String, persist: Bool) {
        guard !quiet else { return }
        if live {
            print("\r\u{1B}[2K" + text, terminator: persist ? "\n" : "")
            liveLineOpen = !persist
        } else {
            print(text)
        }
        flushOutput()
    }

    /// Appends a metrics line; a failure (a full disk) is said once and stops the run after its step.
    private func record<T: Encodable>(_ value: T) {
        guard let metrics, metricsFailure == nil else { return }
        do {
            try metrics.append(Array(try encoder.encode(value)) + [UInt8(ascii: "\n")])
        } catch {
            metricsFailure = "\(error)"
            StopSignal.request()
            finish()
            printError("error: --metrics: \(error); stopping after this step")
        }
    }
}

/// One line of the metrics file; its keys are documented in the README and stay stable.
struct MetricsLine: Codable, Equatable {
    var step: Int
    var epoch: Int
    var loss: Double?
    var valLoss: Double?
    var valSeconds: Double?
    var lr: Double
    var gradNorm: Double?
    var samplesPerSec: Double
    var elapsed: Double

    enum CodingKeys: String, CodingKey {
        case step, epoch, loss, lr, elapsed
        case valLoss = "val_loss", valSeconds = "val_seconds", gradNorm = "grad_norm"
        case samplesPerSec = "samples_per_sec"
    }

    init(_ r: StepReport) {
        step = r.step
        epoch = r.epoch
        // JSON has no NaN: a non-finite value is left out, as the key of a value not measured.
        loss = r.loss.isFinite ? r.loss : nil
        valLoss = r.validationLoss.flatMap { $0.isFinite ? $0 : nil }
        valSeconds = r.validationSeconds
        lr = r.learningRate
        gradNorm = r.gradientNorm.isFinite ? r.gradientNorm : nil
        samplesPerSec = r.samplesPerSecond
        elapsed = r.elapsed
    }
}

/// The metrics line of a skipped step.
struct SkippedLine: Codable {
    var step: Int
    var skipped: String
}

/// "1:02:03" or "4:05".
func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    let s = Int(seconds.rounded())
    return s >= 3600
        ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
}

/// Five decimals, or scientific for very small or large values.
func formatLoss(_ v: Double) -> String {
    guard v.isFinite else { return "\(v)" }
    return (abs(v) < 1e-3 && v != 0) || abs(v) >= 1e5 ? String(format: "%.3e", v) : String(format: "%.5f", v)
}
