#if canImport(Glibc)
import Glibc
#endif

/// An open file descriptor that closes itself when released: no path through the code, thrown
/// errors included, can leak one or close it twice.
public final class OpenFile {
    /// The descriptor, valid while this object lives.
    public let descriptor: Int32

    init(_ descriptor: Int32) { self.descriptor = descriptor }

    deinit { close(descriptor) }

    /// Reads up to `count` bytes into `buffer`, retrying interrupted calls; 0 at the end.
    public func read(into buffer: UnsafeMutableRawPointer?, count: Int, path: String) throws(FileError) -> Int {
        while true {
            let n = Glibc.read(descriptor, buffer, count)
            if n >= 0 { return n }
            if errno != EINTR { throw FileError("\(path): \(Files.reason(errno))", path: path, code: errno) }
        }
    }
}

/// An exclusive lock on a file, held while this object lives (`flock`): the kernel releases it
/// when the process ends, however it ends, so a crash never leaves a stale lock.
public final class FileLock {
    private let file: OpenFile

    /// Takes the lock on `path` (created if missing) at once and writes `holder` into the file;
    /// when another process holds it, throws a `FileError` with code EWOULDBLOCK whose message
    /// is what that holder wrote.
    public init(path: String, holder: String) throws(FileError) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError("cannot lock \(path): \(Files.reason(errno))", path: path, code: errno) }
        let file = OpenFile(fd)
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var text = [UInt8](repeating: 0, count: 200)
            let n = pread(fd, &text, text.count, 0)
            // The holder's first line ("process 123 on node7").
            let who = String(decoding: text.prefix(max(0, n)), as: UTF8.self).split(separator: "\n").first
            throw FileError(who.map(String.init) ?? "", path: path, code: EWOULDBLOCK)
        }
        let bytes = Array(holder.utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, bytes, bytes.count, 0)
        self.file = file
    }
}

extension Files {
    /// Proves `directory` writable by creating and removing a file in it.
    public static func checkWritable(_ directory: String) throws(FileError) {
        let probe = directory + "/.write-probe-\(getpid())"
        let fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError(reason(errno), path: directory, code: errno) }
        close(fd)
        unlink(probe)
    }

    /// This machine's host name.
    public static var hostName: String {
        var host = [UInt8](repeating: 0, count: 256)
        gethostname(&host, host.count - 1)
        return String(decoding: host.prefix { $0 != 0 }, as: UTF8.self)
    }
}
