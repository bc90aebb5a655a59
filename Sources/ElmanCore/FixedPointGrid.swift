/// A fixed-point grid for exact, order-free sums of float32 values: every addend is rounded to
/// an integer multiple of 2^−s, held as a `Double` whose value is that integer.
///
/// Integers below 2^53 add exactly in `Double`, in any order and any grouping, so the sum of
/// n addends on the grid does not depend on which rank or thread added which, provided no
/// partial sum reaches 2^53 in magnitude. The grid is chosen so that none can: with every
/// addend at most `maximum` in magnitude and n addends, s is the largest exponent with
/// n · maximum · 2^s ≤ 2^51 (one spare bit for rounding), so an addend keeps 51 − ⌈log2 n⌉ bits
/// below the largest one (47 for 16 micro-batches: float32 values within 2^−23 of the largest
/// are exact; smaller ones are rounded, the same way everywhere).
///
///     let grid = FixedPointGrid(maximum: 3.5, addends: 8)     // agreed by every rank
///     grid.accumulate(x, into: sum)                          // sum[i] += round(x[i] · 2^s)
///     grid.values(of: sum, into: out)                        // out[i] = Float(sum[i] · 2^−s)
///
/// Non-finite addends stay non-finite through the sum (a NaN or an infinity), so a caller's
/// finiteness check on the result still sees them.
public struct FixedPointGrid: Equatable, Sendable {
    /// s: the grid's spacing is 2^−s.
    public let exponent: Int

    /// The finest grid on which `addends` values of magnitude at most `maximum` sum exactly.
    /// A zero or non-finite `maximum` gives s = 0 (zeros sum exactly on any grid; a
    /// non-finite value poisons the sum whatever the grid).
    public init(maximum: Double, addends: Int) {
        guard maximum > 0, maximum.isFinite else {
            exponent = 0
            return
        }
        // ⌈log2(addends)⌉: the bits the count of addends adds to the largest one.
        let countBits = addends <= 1 ? 0 : Int.bitWidth - (addends - 1).leadingZeroBitCount
        // maximum < 2^(e+1): then n · maximum · 2^s < 2^(countBits + e + 1 + s) ≤ 2^51.
        exponent = 51 - countBits - (Int(maximum.exponent) + 1)
    }

    /// 2^s (or 2^−s): exact powers of two, so multiplying by them never rounds (short of
    /// overflow or subnormals, which are as deterministic).
    private var scale: Double { Double(sign: .plus, exponent: exponent, significand: 1) }
    private var inverse: Double { Double(sign: .plus, exponent: -exponent, significand: 1) }

    /// 1.5 · 2^52: adding it to a double of magnitude below 2^51 rounds it to an integer (to
    /// nearest, ties to even) and subtracting it back leaves that integer. It is the rounding
    /// that vectorises on baseline x86-64 (SSE2 has no packed round instruction).
    private static let rounder = 6_755_399_441_055_744.0

    /// sum[i] += round(x[i] · 2^s) for every i: x (n) float32, sum (n) grid integers as doubles.
    @inline(__always)
    public func accumulate(_ x: UnsafePointer<Float>, into sum: UnsafeMutablePointer<Double>, count n: Int) {
        let scale = self.scale, r = Self.rounder
        for i in 0..<n { sum[i] += (Double(x[i]) * scale + r) - r }
    }

    /// out[i] = Float(sum[i] · 2^−s): the exact sum, rounded once to float32.
    @inline(__always)
    public func values(of sum: UnsafePointer<Double>, into out: UnsafeMutablePointer<Float>, count n: Int) {
        let inverse = self.inverse
        for i in 0..<n { out[i] = Float(sum[i] * inverse) }
    }

    /// The largest magnitude among x (n) float32 (a NaN counts as larger than any number:
    /// the grid then poisons the sum, as the NaN would).
    ///
    /// On bit patterns: with the sign bit cleared, IEEE order is the order of the patterns as
    /// integers, and integer vector arithmetic compiles to plain vector instructions where
    /// Swift's float comparisons and `pointwiseMax` run lane by lane (a scalar loop of
    /// compares cost 1.1% of a 8/128/32/64 step, `pointwiseMax` 9%).
    public static func maximum(_ x: UnsafePointer<Float>, count n: Int) -> Float {
        typealias I = SIMD16<Int32>
        let magnitude = I(repeating: 0x7FFF_FFFF)
        var lanes = I(repeating: 0)
        let raw = UnsafeRawPointer(x)
        var i = 0
        while i + 16 <= n {
            let v = raw.loadUnaligned(fromByteOffset: i * MemoryLayout<Float>.stride, as: I.self) & magnitude
            // All ones where lanes < v (both below 2³¹, so the difference cannot overflow).
            let less = (lanes &- v) &>> 31
            lanes = (v & less) | (lanes & ~less)
            i += 16
        }
        var m: Int32 = 0
        for k in 0..<16 { m = Swift.max(m, lanes[k]) }
        while i < n {
            m = Swift.max(m, Int32(bitPattern: x[i].bitPattern) & 0x7FFF_FFFF)
            i += 1
        }
        return Float(bitPattern: UInt32(bitPattern: m))
    }
}
