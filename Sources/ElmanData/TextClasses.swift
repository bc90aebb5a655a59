import ElmanFiles

#if canImport(Glibc)
import Glibc
#endif

/// The characters of a text as class indices, one byte each when the vocabulary has at most
/// 256 characters (two otherwise): a 20 MB text is 20 MB in memory, not one String per character.
public enum ClassIndices: Sendable, Equatable {
    case narrow([UInt8])
    case wide([UInt16])

    /// Number of characters.
    public var count: Int {
        switch self {
        case let .narrow(a): a.count
        case let .wide(a): a.count
        }
    }

    /// The class of character `i`.
    @inline(__always)
    public subscript(i: Int) -> Int {
        switch self {
        case let .narrow(a): Int(a[i])
        case let .wide(a): Int(a[i])
        }
    }

    /// Bytes per character.
    public var width: Int {
        if case .narrow = self { 1 } else { 2 }
    }
}

/// Reads a UTF-8 text file as Unicode scalars, in two streaming passes with a 1 MiB buffer:
/// the first finds the vocabulary, the second writes class indices. Peak memory is the
/// indices alone.
enum TextReader {
    static let chunk = 1 << 20

    /// The classes of the file's characters and the sorted vocabulary (or `fixed`, from a
    /// checkpoint, in which every character must appear).
    static func read(_ path: String, vocabulary fixed: [String]?) throws(DataError) -> (ClassIndices, [String]) {
        var vocabulary: [String]
        var classOf: [Int32]  // scalar value → class, −1 when not in the vocabulary
        if let fixed {
            vocabulary = fixed
            var scalars: [UInt32] = []
            for entry in fixed {
                guard entry.unicodeScalars.count == 1, let s = entry.unicodeScalars.first else {
                    throw DataError("the model's vocabulary entry \(entry.debugDescription) is not one character")
                }
                scalars.append(s.value)
            }
            classOf = table(scalars)
        } else {
            var seen = [Bool](repeating: false, count: 0x11_0000)
            var count = 0
            try scan(path) { (s: UInt32) throws(DataError) in
                seen[Int(s)] = true
                count += 1
            }
            guard count >= 2 else { throw DataError("\(path): needs at least 2 characters of text") }
            let scalars = seen.indices.filter { seen[$0] }.map(UInt32.init)
            vocabulary = scalars.compactMap { Unicode.Scalar($0).map { String(Character($0)) } }.sorted()
            guard vocabulary.count <= Int(UInt16.max) else {
                throw DataError("\(path): \(vocabulary.count) distinct characters; at most \(UInt16.max) are supported")
            }
            classOf = table(vocabulary.compactMap { $0.unicodeScalars.first?.value })
        }
        let narrow = vocabulary.count <= 256
        var bytes: [UInt8] = [], words: [UInt16] = []
        try scan(path) { (s: UInt32) throws(DataError) in
            let k = Int(s) < classOf.count ? classOf[Int(s)] : -1
            guard k >= 0 else {
                let c = Unicode.Scalar(s).map { String(Character($0)).debugDescription } ?? "U+\(String(s, radix: 16))"
                throw DataError("\(path): character \(c) is not in the model's vocabulary")
            }
            if narrow { bytes.append(UInt8(k)) } else { words.append(UInt16(k)) }
        }
        let classes: ClassIndices = narrow ? .narrow(bytes) : .wide(words)
        guard classes.count >= 2 else { throw DataError("\(path): needs at least 2 characters of text") }
        return (classes, vocabulary)
    }

    /// A lookup table: class k for scalar `scalars[k]`, −1 elsewhere.
    private static func table(_ scalars: [UInt32]) -> [Int32] {
        var t = [Int32](repeating: -1, count: Int(scalars.max() ?? 0) + 1)
        for (k, s) in scalars.enumerated() { t[Int(s)] = Int32(k) }
        return t
    }

    /// Calls `visit` with every Unicode scalar of the file, reading it in chunks.
    private static func scan(_ path: String, _ visit: (UInt32) throws(DataError) -> Void) throws(DataError) {
        // The same messages as any other source for a missing, unreadable or odd path.
        let file: OpenFile
        do { file = try Files.openRegular(path).file } catch { throw DataError(error.message) }
        var buffer = [UInt8](repeating: 0, count: chunk + 4)
        var carried = 0  // bytes of an incomplete sequence kept from the previous chunk
        var offset = 0  // file offset of buffer[0]
        while true {
            let read = buffer.withUnsafeMutableBytes { raw in
                Result { () throws(FileError) in
                    try file.read(into: raw.baseAddress.map { $0 + carried }, count: chunk, path: path)
                }
            }
            let n: Int
            switch read {
            case let .success(count): n = count
            case let .failure(error): throw DataError(error.message)
            }
            let end = carried + n
            let atEOF = n == 0
            var i = 0
            var failure: DataError? = nil
            buffer.withUnsafeBufferPointer { bytes in
                while i < end && failure == nil {
                    switch UTF8Scalar.decode(bytes, at: i, end: end) {
                    case let .scalar(value, length):
                        do throws(DataError) { try visit(value) } catch { failure = error }
                        i += length
                    case .incomplete:
                        if atEOF { failure = DataError("\(path): not UTF-8 text (truncated at byte \(offset + i))") }
                        return
                    case let .invalid(at):
                        failure = DataError("\(path): not UTF-8 text (byte \(offset + at))")
                    }
                }
            }
            if let failure { throw failure }
            if atEOF { return }
            // Keep the incomplete tail for the next chunk.
            carried = end - i
            for k in 0..<carried { buffer[k] = buffer[i + k] }
            offset += i
        }
    }
}
