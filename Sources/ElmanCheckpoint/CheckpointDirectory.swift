import ElmanFiles
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A directory of checkpoints named by step, with a `latest` pointer that always names a complete file.
///
///     DIR/step-00001200.safetensors   one per checkpoint, the newest `keep` kept
///     DIR/best.safetensors            the best by validation loss, kept apart
///     DIR/latest                      a text file naming the newest complete checkpoint
///
/// Every file is written to a temporary name in DIR, fsynced, renamed into place, and the
/// directory fsynced, before `latest` is moved the same way: a crash at any instant leaves
/// the previous checkpoint and `latest` valid.
public struct CheckpointDirectory: Sendable {
    public let path: String
    /// Name of the pointer file.
    public static let latestName = "latest"
    public static let bestName = "best.safetensors"

    public init(path: String) { self.path = path }

    /// File name for `step`.
    public static func fileName(step: Int) -> String {
        let digits = String(step)
        return "step-" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits + ".safetensors"
    }

    /// The step a step file's name gives (`…/step-00001200.safetensors` → 1200), if it is one.
    public static func step(ofFile path: String) -> Int? {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        guard name.hasPrefix("step-"), name.hasSuffix(".safetensors") else { return nil }
        return Int(name.dropFirst(5).dropLast(12))
    }

    /// Creates the directory (and its parents) if needed and proves it writable, before any training step.
    public func prepare() throws(CheckpointError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw CheckpointError("checkpoint directory \(path) is a file") }
        } else {
            do { try Files.makeDirectories(path) } catch {
                throw CheckpointError("checkpoint directory \(path): \(error)")
            }
        }
        do { try Files.checkWritable(path) } catch {
            throw CheckpointError("checkpoint directory \(path) is not writable: \(error.message)")
        }
    }

    /// Writes `bytes` as the checkpoint of `step`, moves `latest` to it, and keeps the newest `keep`.
    ///
    /// - Returns: the path written.
    /// `beforeRename` runs once each file is on disk, before it takes its name (a seam for tests
    /// that kill the process mid-write).
    @discardableResult
    public func write(
        _ bytes: [UInt8], step: Int, keep: Int, beforeRename: () -> Void = {}
    ) throws(CheckpointError) -> String {
        let name = Self.fileName(step: step)
        // Make room first (never removing the file latest names), so the disk holds at most `keep`.
        prune(keep: keep - 1)
        try writeAtomically(bytes, name: name, beforeRename: beforeRename)
        try writeAtomically(Array((name + "\n").utf8), name: Self.latestName, beforeRename: beforeRename)
        prune(keep: keep)
        return path + "/" + name
    }

    /// Writes `bytes` as the best checkpoint.
    public func writeBest(_ bytes: [UInt8], beforeRename: () -> Void = {}) throws(CheckpointError) {
        try writeAtomically(bytes, name: Self.bestName, beforeRename: beforeRename)
    }

    /// The newest complete checkpoint: the one `latest` names; without a `latest` file (a run
    /// stopped before its first step checkpoint, which may have written `best.safetensors`), the
    /// newest step file, else the best one.
    public func newest() throws(CheckpointError) -> String {
        guard Files.kind(path + "/" + Self.latestName) == .missing else { return try latest() }
        if let step = stepFiles().last { return path + "/" + step }
        if Files.kind(path + "/" + Self.bestName) == .file { return path + "/" + Self.bestName }
        throw CheckpointError("no checkpoint in \(path) (no 'latest', step or best file)")
    }

    /// The path `latest` names, checked to exist.
    public func latest() throws(CheckpointError) -> String {
        let pointer = path + "/" + Self.latestName
        guard Files.kind(pointer) != .missing else { throw CheckpointError("no checkpoint in \(path) (no 'latest' file)") }
        let data: [UInt8]
        do { data = try Files.read(pointer, limit: 4096) } catch {
            throw CheckpointError("\(pointer) is not a checkpoint pointer: \(error.message.replacingOccurrences(of: pointer + ": ", with: ""))")
        }
        let name = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, !name.contains("/"), name.hasSuffix(".safetensors") else {
            throw CheckpointError("\(pointer) does not name a checkpoint file")
        }
        let file = path + "/" + name
        guard FileManager.default.fileExists(atPath: file) else {
            throw CheckpointError("\(pointer) names \(name), which is missing")
        }
        return file
    }

    /// Step checkpoints present, oldest first.
    public func stepFiles() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.filter { $0.hasPrefix("step-") && $0.hasSuffix(".safetensors") }.sorted()
    }

    /// Removes all but the newest `keep` step files (never the one `latest` names).
    func prune(keep: Int) {
        let current = (try? latest()).map { ($0 as NSString).lastPathComponent }
        let files = stepFiles()
        for name in files.dropLast(max(0, keep)) where name != current { unlink(path + "/" + name) }
    }

    /// Writes `name` in the directory crash-safely (see `Files.writeAtomically`).
    func writeAtomically(_ bytes: [UInt8], name: String, beforeRename: () -> Void) throws(CheckpointError) {
        do {
            try Files.writeAtomically(bytes, to: path + "/" + name, beforeRename: beforeRename)
        } catch {
            let previous = (try? latest()) != nil ? "the previous checkpoint is intact" : "no earlier checkpoint exists"
            throw CheckpointError(error.message + "; " + previous)
        }
    }
}

/// Resolves a checkpoint argument: a file, or a directory meaning its latest.
public func resolveCheckpoint(_ argument: String) throws(CheckpointError) -> String {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
        throw CheckpointError("\(argument): no such file or directory")
    }
    return isDirectory.boolValue ? try CheckpointDirectory(path: argument).newest() : argument
}

/// An exclusive lock on a checkpoint directory, held while a run lives (`flock` on `DIR/.lock`):
/// the kernel releases it when the process ends, however it ends, so a crashed run never
/// leaves a stale lock. The file records the holder for the message another process gets.
public final class DirectoryLock {
    private let lock: FileLock

    /// Takes the lock at once or throws, naming the process that holds it.
    public init(directory: String) throws(CheckpointError) {
        do {
            lock = try FileLock(path: directory + "/.lock", holder: "process \(getpid()) on \(Files.hostName)\n")
        } catch where error.code == EWOULDBLOCK {
            throw CheckpointError(
                "checkpoint directory \(directory) is in use by another run (\(error.message.isEmpty ? "holder unknown" : error.message)); wait for it to end or choose another `checkpointDir`"
            )
        } catch {
            throw CheckpointError("cannot lock checkpoint directory \(directory): \(error.code.map(Files.reason) ?? error.message)")
        }
    }
}

extension CheckpointDirectory {
    /// Refuses a directory that holds checkpoints of another run: a fresh run would otherwise
    /// delete its step files and replace its best model. `runID` is this run's identity and
    /// `readRunID` reads the identity a checkpoint file records (nil when it records none).
    public func checkOwnership(runID: String, readRunID: (String) -> String?) throws(CheckpointError) {
        let existing =
            (try? latest()) ?? stepFiles().last.map { path + "/" + $0 }
            ?? (Files.kind(path + "/" + Self.bestName) == .file ? path + "/" + Self.bestName : nil)
        guard let existing else { return }
        guard readRunID(existing) != runID else { return }
        let name = existing.split(separator: "/").last.map(String.init) ?? existing
        throw CheckpointError(
            "checkpoint directory \(path) holds another run's checkpoints (\(name)); continue that run with `resume` latest, or choose another `checkpointDir`"
        )
    }
}
