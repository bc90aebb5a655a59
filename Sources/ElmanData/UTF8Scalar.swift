/// Strict UTF-8 decoding of one scalar from bytes, shared by the text and CSV readers.
///
/// Hand-written because both read files without first copying them into a `String` (which
/// would double their memory): the text reader streams, the CSV reader scans its bytes in place.
enum UTF8Scalar {
    /// What the bytes at `i` hold.
    enum Decoded {
        /// A scalar of `length` bytes.
        case scalar(UInt32, length: Int)
        /// A sequence that continues past `end`.
        case incomplete
        /// Not UTF-8 at byte `at` (overlong, surrogate, out of range or a bad continuation byte).
        case invalid(at: Int)
    }

    /// Decodes the scalar starting at `bytes[i]`, reading no further than `end`.
    @inline(__always)
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int, end: Int) -> Decoded {
        let b0 = bytes[i]
        if b0 < 0x80 { return .scalar(UInt32(b0), length: 1) }
        let length = b0 >> 5 == 0b110 ? 2 : b0 >> 4 == 0b1110 ? 3 : b0 >> 3 == 0b11110 ? 4 : 0
        guard length > 0 else { return .invalid(at: i) }
        guard i + length <= end else { return .incomplete }
        var value = UInt32(b0) & (0x7F >> UInt32(length))
        for k in 1..<length {
            let b = bytes[i + k]
            guard b >> 6 == 0b10 else { return .invalid(at: i + k) }
            value = value << 6 | UInt32(b & 0x3F)
        }
        let minimum: UInt32 = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x1_0000
        guard value >= minimum, value <= 0x10_FFFF, !(0xD800...0xDFFF).contains(value) else { return .invalid(at: i) }
        return .scalar(value, length: length)
    }

    /// The offset of the first byte that is not UTF-8, or nil when all of `bytes` is.
    static func firstInvalid(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        var i = 0
        let end = bytes.count
        while i < end {
            // ASCII, 32 bytes at a time (four words or-ed, one test), then eight: the common
            // case of a numeric CSV (a 248 MB file's check 7% of its load at eight a time).
            let high: UInt64 = 0x8080_8080_8080_8080
            while i + 32 <= end {
                let p = UnsafeRawPointer(base + i)
                let any =
                    p.loadUnaligned(as: UInt64.self) | p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                    | p.loadUnaligned(fromByteOffset: 16, as: UInt64.self) | p.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
                guard any & high == 0 else { break }
                i += 32
            }
            while i + 8 <= end, UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self) & high == 0 {
                i += 8
            }
            guard i < end else { break }
            switch decode(bytes, at: i, end: end) {
            case let .scalar(_, length): i += length
            case .incomplete: return i
            case let .invalid(at): return at
            }
        }
        return nil
    }
}
