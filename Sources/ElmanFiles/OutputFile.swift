#if canImport(Glibc)
import Glibc
#endif

/// A file a command writes because the user named it (`--out`, `--metrics`, a plot, an export),
/// written so that it never destroys anything the user did not ask to replace.
///
/// The rules, checked when it is opened:
/// - an empty or blank path is refused;
/// - an existing regular file is refused unless `replace` (the user's `--force`);
/// - a path that is one of the run's `inputs` (the same file, by device and inode) is refused
///   even with `replace`, and so is a name a checkpoint directory manages (`step-*.safetensors`,
///   `best.safetensors`, `latest`, `.lock`) inside a checkpoint directory;
/// - a symbolic link is refused: replacing it would replace the link, writing through it would
///   write somewhere the user did not name;
/// - a character device or a FIFO is written through, never replaced by a regular file (a
///   FIFO nobody reads is refused at once instead of blocking); other special files are refused.
///
/// A regular file is written under a temporary name beside it and takes its name only at
/// `commit()` (after fsync), so a failure or a signal leaves whatever was there before. The
/// temporary name is registered with `PendingOutput`, so a signal handler can remove it.
public final class OutputFile {
    public let path: String
    private let fd: Int32
    /// The temporary name, for a regular file; nil when writing through a device or FIFO.
    private let temporary: String?
    private let replace: Bool
    private var buffer: [UInt8] = []
    private var finished = false

    /// Opens `path` for writing under the rules above; `flag` names the option in messages.
    public init(path: String, flag: String, replace: Bool, inputs: [String] = []) throws(FileError) {
        self.path = path
        self.replace = replace
        switch try OutputFile.check(path, flag: flag, replace: replace, inputs: inputs) {
        case .passThrough:
            fd = try OutputFile.openPassThrough(path)
            temporary = nil
        case .missing, .regular:
            let directory = Files.parent(of: path)
            let name = path.split(separator: "/").last.map(String.init) ?? path
            let temp = directory + "/." + name + ".tmp-\(getpid())"
            let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw FileError("cannot write \(path): \(Files.reason(errno))") }
            self.fd = fd
            temporary = temp
            PendingOutput.register(temp)
        }
    }

    /// What is at an output path that passed the rules.
    public enum Existing: Equatable, Sendable {
        /// Nothing yet.
        case missing
        /// A regular file (the caller may replace or append to it).
        case regular
        /// A character device or a FIFO, to be written through.
        case passThrough
    }

    /// Checks `path` against the rules above without opening it. `replace` allows an existing
    /// regular file (or, for a caller that appends, vouches for it).
    public static func check(
        _ path: String, flag: String, replace: Bool, inputs: [String] = []
    ) throws(FileError) -> Existing {
        guard !path.allSatisfy(\.isWhitespace) else { throw FileError("\(flag) is empty: name a file to write") }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if checkpointName(path) != nil {
                throw FileError("\(path) is a name the checkpoint directory \(Files.parent(of: path)) manages; choose another")
            }
            return .missing
        }
        let type = info.st_mode & S_IFMT
        if type == S_IFLNK {
            throw FileError("\(path) is a symbolic link; name the file it points to (\(flag) does not follow links)")
        }
        if type == S_IFDIR { throw FileError("\(path) is a directory; \(flag) names a file") }
        if let input = input(matching: info, in: inputs) {
            throw FileError(
                "\(path) is \(input == path ? "an input" : "the input \(input)") of this command; \(flag) must name another file")
        }
        if type == S_IFCHR || type == S_IFIFO { return .passThrough }
        guard type == S_IFREG else {
            throw FileError("\(path) is a special file; \(flag) writes regular files, devices and FIFOs")
        }
        if let managed = checkpointName(path) {
            throw FileError("\(path) is a checkpoint directory's \(managed); \(flag) must name a file outside its checkpoints")
        }
        guard replace else { throw FileError("\(path) exists; give --force to replace it") }
        return .regular
    }

    /// Opens a device or FIFO for writing. O_NONBLOCK makes a FIFO without a reader fail with
    /// ENXIO instead of waiting for one; writes then block as usual.
    static func openPassThrough(_ path: String) throws(FileError) -> Int32 {
        let fd = open(path, O_WRONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            throw FileError(
                errno == ENXIO ? "\(path) is a FIFO that no process reads" : "cannot write \(path): \(Files.reason(errno))")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return fd
    }

    deinit {
        if !finished { discard() }
    }

    /// Appends `bytes`; they reach the file in blocks of 64 KiB and at `commit()`.
    public func write(_ bytes: some Sequence<UInt8>) throws(FileError) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { try flush() }
    }

    /// Appends `text` as UTF-8.
    public func write(_ text: String) throws(FileError) { try write(text.utf8) }

    /// Writes what is buffered and gives the file its name: a regular file is fsynced and
    /// renamed into place (linked, when it must not replace a file that appeared meanwhile).
    public func commit() throws(FileError) {
        defer { finished = true }
        do throws(FileError) {
            try flush()
            if let temporary {
                guard fsync(fd) == 0 else { throw FileError("writing \(path) failed: \(Files.reason(errno))") }
                close(fd)
                if replace {
                    guard rename(temporary, path) == 0 else { throw FileError("cannot write \(path): \(Files.reason(errno))") }
                } else {
                    // link() never replaces: a file that appeared since the check is kept.
                    guard link(temporary, path) == 0 else {
                        throw FileError(
                            errno == EEXIST
                                ? "\(path) appeared while it was written; give --force to replace it"
                                : "cannot write \(path): \(Files.reason(errno))")
                    }
                    unlink(temporary)
                }
                PendingOutput.clear()
                Files.syncDirectory(of: path)
            } else {
                guard close(fd) == 0 else { throw FileError("writing \(path) failed: \(Files.reason(errno))") }
            }
        } catch {
            if let temporary {
                unlink(temporary)
                PendingOutput.clear()
            }
            throw error
        }
    }

    /// Gives up: the temporary file is removed and the path keeps what it had.
    public func discard() {
        guard !finished else { return }
        finished = true
        if let temporary {
            close(fd)
            unlink(temporary)
            PendingOutput.clear()
        } else {
            close(fd)
        }
    }

    private func flush() throws(FileError) {
        guard !buffer.isEmpty else { return }
        let failure = buffer.withUnsafeBytes { raw in
            Files.writeAll(fd, raw)
        }
        buffer.removeAll(keepingCapacity: true)
        guard failure == 0 else { throw FileError("writing \(path) failed: \(Files.reason(failure))") }
    }

    /// The input whose file `info` describes, if any.
    private static func input(matching info: stat, in inputs: [String]) -> String? {
        inputs.first { input in
            var other = stat()
            return stat(input, &other) == 0 && other.st_dev == info.st_dev && other.st_ino == info.st_ino
        }
    }

    /// What `path` is to the checkpoint directory it lies in ("checkpoint", "latest pointer", …),
    /// or nil when its directory is no checkpoint directory or the name is not one it manages.
    static func checkpointName(_ path: String) -> String? {
        let directory = Files.parent(of: path)
        guard Files.kind(directory + "/latest") == .file || Files.kind(directory + "/.lock") == .file else { return nil }
        let name = path.split(separator: "/").last.map(String.init) ?? path
        switch name {
        case "latest": return "latest pointer"
        case ".lock": return "lock file"
        case "best.safetensors": return "best checkpoint"
        case _ where name.hasPrefix("step-") && name.hasSuffix(".safetensors"): return "checkpoint"
        default: return nil
        }
    }
}

/// The one temporary output file being written, so that a signal handler can remove it
/// before the process exits (`removeForSignal`, async-signal-safe: one `unlink`).
public enum PendingOutput {
    nonisolated(unsafe) private static var path: UnsafeMutablePointer<CChar>? = nil

    static func register(_ temp: String) {
        clear()
        path = strdup(temp)
    }

    static func clear() {
        let old = path
        path = nil
        free(old)
    }

    /// Removes the pending temporary file, if any. Safe to call from a signal handler.
    public static func removeForSignal() {
        if let path { unlink(path) }
    }
}

/// A file written line by line as a run goes (`train --metrics`), under `OutputFile`'s rules:
/// created new, or replaced with `replace`, or appended to when `append` (a resumed run's own file).
public final class AppendFile {
    public let path: String
    private let fd: Int32

    /// Opens `path`; with `append`, an existing regular file is extended rather than refused.
    public init(path: String, flag: String, replace: Bool, append: Bool, inputs: [String] = []) throws(FileError) {
        self.path = path
        switch try OutputFile.check(path, flag: flag, replace: replace || append, inputs: inputs) {
        case .passThrough:
            fd = try OutputFile.openPassThrough(path)
        case .missing, .regular:
            let mode = append ? O_APPEND : (replace ? O_TRUNC : O_EXCL)
            let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | mode, 0o644)
            guard fd >= 0 else {
                throw FileError(
                    errno == EEXIST ? "\(path) exists; give --force to replace it" : "cannot write \(path): \(Files.reason(errno))")
            }
            self.fd = fd
        }
    }

    deinit { close(fd) }

    /// Writes `bytes` at the end of the file at once.
    public func append(_ bytes: [UInt8]) throws(FileError) {
        let failure = bytes.withUnsafeBytes { Files.writeAll(fd, $0) }
        guard failure == 0 else { throw FileError("writing \(path) failed: \(Files.reason(failure))") }
    }
}
