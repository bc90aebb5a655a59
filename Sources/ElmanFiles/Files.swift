#if canImport(Glibc)
import Glibc
#endif

/// A file that cannot be read or written, with a one-line reason naming the path.
public struct FileError: Error, CustomStringConvertible, Equatable {
    public var message: String
    /// The file concerned, when the failure is about one.
    public var path: String?
    /// The errno of the call that failed, when one did.
    public var code: Int32?
    public init(_ message: String, path: String? = nil, code: Int32? = nil) {
        self.message = message
        self.path = path
        self.code = code
    }
    public var description: String { message }
}

/// Whole-file reads and crash-safe writes: the one place elman-dist touches file contents.
///
/// Plain POSIX calls rather than Foundation: they give `errno` for every failure, so each
/// message says why (no such file, a directory, permission denied), and they read a
/// 100 MB file without an intermediate `Data` copy.
public enum Files {
    /// The bytes of the regular file at `path`, refusing one larger than `limit` bytes.
    public static func read(_ path: String, limit: Int = .max) throws(FileError) -> [UInt8] {
        let (file, size) = try openRegular(path, limit: limit)
        var bytes = [UInt8](repeating: 0, count: size)
        let (filled, failure) = bytes.withUnsafeMutableBytes { raw in
            transfer(raw.count) { done in
                Glibc.read(file.descriptor, raw.baseAddress.map { $0 + done }, raw.count - done)
            }
        }
        guard failure == 0 else { throw FileError("\(path): \(reason(failure))", path: path, code: failure) }
        if filled < bytes.count { bytes.removeLast(bytes.count - filled) }
        return bytes
    }

    /// Opens the regular file at `path` for reading and returns it with its size, refusing a
    /// directory, a device, a FIFO or a file larger than `limit` bytes.
    public static func openRegular(_ path: String, limit: Int = .max) throws(FileError) -> (file: OpenFile, size: Int) {
        // O_NONBLOCK: opening a FIFO that nobody writes would otherwise block for good, before
        // fstat can refuse it. A regular file ignores the flag.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            throw FileError("\(path): cannot open (\(reason(errno).lowercased()))", path: path, code: errno)
        }
        let file = OpenFile(fd)
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileError("\(path): \(reason(errno))", path: path, code: errno) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw FileError(
                "\(path): " + ((info.st_mode & S_IFMT) == S_IFDIR ? "is a directory" : "not a regular file"), path: path)
        }
        guard Int(info.st_size) <= limit else {
            throw FileError(
                "\(path): larger than " + (limit >= 1 << 20 ? "\(limit >> 20) MiB" : "\(limit) bytes")
                    + " (\(Int(info.st_size)) bytes)", path: path)
        }
        return (file, Int(info.st_size))
    }

    /// The file at `path` as UTF-8 text (invalid sequences are an error, not replaced).
    public static func readText(_ path: String, limit: Int = .max) throws(FileError) -> String {
        let bytes = try read(path, limit: limit)
        guard let text = String(validating: bytes, as: UTF8.self) else { throw FileError("\(path): not UTF-8 text") }
        return text
    }

    /// Whether something exists at `path`, and whether it is a directory.
    public static func kind(_ path: String) -> Kind {
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing }
        return (info.st_mode & S_IFMT) == S_IFDIR ? .directory : .file
    }

    /// What `kind(_:)` finds.
    public enum Kind: Equatable, Sendable { case missing, file, directory }

    /// Writes `bytes` to `path` so that a crash at any instant leaves either the old file or the
    /// new one, never a torn one: temporary file beside it → write → fsync → rename → fsync(dir).
    ///
    /// - Parameter beforeRename: runs after the data is on disk, before it takes the final name
    ///   (a seam for tests that kill the process mid-write).
    public static func writeAtomically(
        _ bytes: [UInt8], to path: String, beforeRename: () -> Void = {}
    ) throws(FileError) {
        let directory = parent(of: path)
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let temp = directory + "/." + name + ".tmp-\(getpid())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError("cannot write \(path): \(reason(errno))") }
        var failure = bytes.withUnsafeBytes { raw in writeAll(fd, raw) }
        if failure == 0 && fsync(fd) != 0 { failure = errno }
        close(fd)
        guard failure == 0 else {
            unlink(temp)
            throw FileError("writing \(path) failed: \(reason(failure))")
        }
        beforeRename()
        guard rename(temp, path) == 0 else {
            let why = reason(errno)
            unlink(temp)
            throw FileError("cannot move \(temp) to \(path): \(why)")
        }
        syncDirectory(of: path)
    }

    /// Fsyncs the directory holding `path`, so a rename into it survives a crash.
    static func syncDirectory(of path: String) {
        let dfd = open(parent(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }

    /// Writes all of `raw` to `fd`, retrying interrupted and short writes; the errno of a failure, or 0.
    static func writeAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer) -> Int32 {
        transfer(raw.count) { done in Glibc.write(fd, raw.baseAddress.map { $0 + done }, raw.count - done) }.failure
    }

    /// Calls `io(bytesDone)` until `count` bytes have moved or it returns 0 (end of file),
    /// retrying interrupted calls. Returns the bytes moved and the errno of a failure (0 if none).
    private static func transfer(_ count: Int, _ io: (Int) -> Int) -> (done: Int, failure: Int32) {
        var done = 0
        while done < count {
            let n = io(done)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return (done, errno) }
            if n == 0 { break }
            done += n
        }
        return (done, 0)
    }

    /// Creates the directory `path` and any missing parents (`mkdir -p`). A directory that
    /// appears meanwhile, created by another process, is fine.
    public static func makeDirectories(_ path: String) throws(FileError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += (prefix.isEmpty || prefix.hasSuffix("/") ? "" : "/") + component
            guard mkdir(prefix, 0o755) != 0 else { continue }
            let code = errno
            guard code == EEXIST, kind(prefix) == .directory else {
                throw FileError("cannot create directory \(prefix): \(reason(code == EEXIST ? ENOTDIR : code))")
            }
        }
    }

    /// The directory part of `path` ("." for a bare name).
    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// strerror's text for an errno value.
    public static func reason(_ code: Int32) -> String { String(cString: strerror(code)) }
}
