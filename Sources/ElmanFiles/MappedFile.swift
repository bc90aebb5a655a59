#if canImport(Glibc)
import Glibc
#endif

/// A regular file's bytes mapped read-only (`@unchecked Sendable`: the bytes never change, and
/// only `release(before:)` keeps state, called by one reader), for reading a large file front to back without
/// holding all of it in memory: pages already read can be handed back (`release(before:)`).
///
/// A 130 MB CSV read into an array stayed resident while it was parsed: 207 MiB peak to load
/// 5 M rows, of which the file was 130 MB. Mapped and released as the parser moves on, only
/// the part being read is resident.
public final class MappedFile: @unchecked Sendable {
    /// The file's contents (empty for an empty file); valid while this object lives.
    public let bytes: UnsafeBufferPointer<UInt8>
    private let base: UnsafeMutableRawPointer?
    private var released = 0
    private static let page = Int(sysconf(Int32(_SC_PAGESIZE)))

    init(path: String, limit: Int) throws(FileError) {
        let (file, size) = try Files.openRegular(path, limit: limit)
        let fd = file.descriptor  // closed when `file` goes; the mapping stays valid after that
        guard size > 0 else {
            base = nil
            bytes = UnsafeBufferPointer(start: nil, count: 0)
            return
        }
        let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let mapped, mapped != MAP_FAILED else { throw FileError("\(path): cannot map (\(Files.reason(errno)))") }
        madvise(mapped, size, MADV_SEQUENTIAL)
        base = mapped
        bytes = UnsafeBufferPointer(start: mapped.assumingMemoryBound(to: UInt8.self), count: size)
    }

    /// Hands the whole pages before byte `offset` back to the kernel; reading them again
    /// reads the file again.
    public func release(before offset: Int) {
        guard let base else { return }
        let end = min(offset, bytes.count) / Self.page * Self.page
        guard end > released else { return }
        madvise(base + released, end - released, MADV_DONTNEED)
        released = end
    }

    /// Hands back the whole pages inside `range` (a stretch read by one of several threads:
    /// safe to call from each for its own stretch, as it keeps no state).
    public func release(_ range: Range<Int>) {
        guard let base else { return }
        let lower = (range.lowerBound + Self.page - 1) / Self.page * Self.page
        let upper = min(range.upperBound, bytes.count) / Self.page * Self.page
        guard upper > lower else { return }
        madvise(base + lower, upper - lower, MADV_DONTNEED)
    }

    /// Starts a new front-to-back pass: pages read again are handed back again.
    public func rewind() { released = 0 }

    deinit {
        if let base { munmap(base, bytes.count) }
    }
}

extension Files {
    /// The regular file at `path` mapped read-only, refusing one larger than `limit` bytes.
    public static func map(_ path: String, limit: Int = .max) throws(FileError) -> MappedFile {
        try MappedFile(path: path, limit: limit)
    }
}
