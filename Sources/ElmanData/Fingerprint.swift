/// A 64-bit FNV-1a hash, for fingerprints that ranks compare to agree on data and configuration.
public struct Fingerprint: Sendable {
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    public init() {}

    /// Mixes in raw bytes.
    public mutating func combine(bytes: UnsafeRawBufferPointer) {
        var h = value
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        value = h
    }

    /// Mixes in an array of trivial values.
    public mutating func combine<T: BitwiseCopyable>(_ values: [T]) {
        combine(values.count)
        values.withUnsafeBytes { combine(bytes: $0) }
    }

    /// Mixes in an integer.
    public mutating func combine(_ v: Int) { withUnsafeBytes(of: Int64(v).littleEndian) { combine(bytes: $0) } }

    /// Mixes in a string.
    public mutating func combine(_ s: String) {
        let u = Array(s.utf8)
        combine(u.count)
        u.withUnsafeBytes { combine(bytes: $0) }
    }
}

extension UInt64 {
    /// 16 lowercase hex digits: how fingerprints are written in checkpoints and messages.
    public var hex16: String {
        let s = String(self, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
