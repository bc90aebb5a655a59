import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Rank 0's voice: progress lines (live on a terminal, plain in a pipe) and the metrics file.
final class TrainingLog {
    let enabled: Bool
    let quiet: Bool
    let live: Bool
    private var metrics: FileHandle?
    private var liveLineOpen = false

    init(enabled: Bool, quiet: Bool, metricsPath: String?, appendMetrics: Bool) throws(TrainingError) {
        self.enabled = enabled
        self.quiet = quiet
        // mpirun gives ranks a pseudo-terminal even when its own output is a pipe; a live
        // line also needs a terminal type, which a pipe's environment rarely claims.
        let term = getenv("TERM").map { String(cString: $0) } ?? ""
        live = enabled && isatty(STDOUT_FILENO) == 1 && !term.isEmpty && term != "dumb"
        guard enabled, let path = metricsPath else { return }
        if !appendMetrics || !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw TrainingError("cannot create metrics file \(path)")
            }
        }
        guard let h = FileHandle(forWritingAtPath: path) else { throw TrainingError("cannot write metrics file \(path)") }
        h.seekToEndOfFile()
        metrics = h
    }

    /// A message that always shows (unless quiet).
    func say(_ line: String) {
        guard enabled, !quiet else { return }
        endLive()
        print(line)
        flushOutput()
    }

    /// A progress update: rewrites one line on a terminal, or prints a line when `persist`.
    func progress(_ line: String, persist: Bool) {
        guard enabled, !quiet else { return }
        if live {
            print("\r\u{1B}[2K" + line, terminator: persist ? "\n" : "")
            liveLineOpen = !persist
            flushOutput()
        } else if persist {
            print(line)
            flushOutput()
        }
    }

    /// One JSON object per line.
    func record(_ fields: [(String, Any?)]) {
        guard let metrics else { return }
        let parts = fields.compactMap { key, value -> String? in
            guard let value else { return nil }
            switch value {
            case let d as Double: return "\"\(key)\":" + (d.isFinite ? "\(d)" : "null")
            case let i as Int: return "\"\(key)\":\(i)"
            default: return "\"\(key)\":\"\(value)\""
            }
        }
        metrics.write(Data(("{" + parts.joined(separator: ",") + "}\n").utf8))
    }

    func endLive() {
        if liveLineOpen { print(""); liveLineOpen = false }
    }

    deinit { try? metrics?.close() }
}

/// "1:02:03" or "4:05".
func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "?" }
    let s = Int(seconds.rounded())
    return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
}

/// Four significant digits, or scientific for very small or large values.
func formatLoss(_ v: Double) -> String {
    guard v.isFinite else { return "\(v)" }
    return (abs(v) < 1e-3 && v != 0) || abs(v) >= 1e5 ? String(format: "%.3e", v) : String(format: "%.5f", v)
}

/// Flushes C's standard output (what `print` writes to), so progress shows at once in a pipe.
public func flushOutput() { fflush(nil) }
