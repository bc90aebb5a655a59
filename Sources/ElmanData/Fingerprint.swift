import Dispatch

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

/// A fingerprint whose last part is hashed when its value is first read, once, on whichever
/// thread reads it first (the others wait for it).
///
/// FNV-1a is one chain of multiplies, 4 cycles a byte: the values of a 10M-row panel took
/// 0.12 s, on one core. Deferred, a run hashes them on one core while it orders its first
/// epoch's windows on the other (`Trainer`).
final class PendingFingerprint: @unchecked Sendable {
    private let queue = DispatchQueue(label: "elman-dist.fingerprint")
    private var start: Fingerprint
    private var finish: (@Sendable (inout Fingerprint) -> Void)?
    private var result: UInt64?

    /// `finish` mixes the rest into `start` (the part hashed already).
    init(_ start: Fingerprint, finish: @escaping @Sendable (inout Fingerprint) -> Void) {
        self.start = start
        self.finish = finish
    }

    /// The fingerprint, hashed now if no one has read it yet.
    var value: UInt64 {
        queue.sync {
            if let result { return result }
            finish?(&start)
            finish = nil  // drops its hold on the values
            result = start.value
            return start.value
        }
    }
}
