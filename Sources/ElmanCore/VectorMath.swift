#if canImport(Glibc)
import Glibc
#endif

/// Vectorised elementwise kernels (16 floats at a time) for activations and their derivatives.
///
/// `tanh` is computed here rather than by libm so that a whole (B, H) block is done in
/// SIMD registers; its error is below 2 ulp over all of Float (see `VectorMathTests`).
/// A tail shorter than 16 is padded into a vector and run through the same code, so an
/// element's result never depends on where it sits in the buffer.
public enum VectorMath {
    public typealias V = SIMD16<Float>
    static let width = V.scalarCount

    // MARK: Bit-level helpers
    //
    // Swift's SIMD masks (`.<`, `replacing(with:where:)`, `clamped`) compile to per-lane loops;
    // these integer forms compile to plain vector instructions.

    typealias I = SIMD16<Int32>

    @inline(__always) static func bits(_ v: V) -> I { unsafeBitCast(v, to: I.self) }
    @inline(__always) static func float(_ i: I) -> V { unsafeBitCast(i, to: V.self) }
    /// `a` where `mask` is all ones, `b` where it is zero.
    @inline(__always) static func select(_ mask: I, _ a: V, _ b: V) -> V { float((bits(a) & mask) | (bits(b) & ~mask)) }
    /// All ones where the integer `i` is negative.
    @inline(__always) static func negativeMask(_ i: I) -> I { i &>> 31 }

    // MARK: exp

    /// e^x for |x| ≤ 87: Cody–Waite reduction x = n·ln2 + r, |r| ≤ ln2/2, a degree-7 Taylor
    /// polynomial for e^r, and 2^n put in the exponent bits. Only vector arithmetic: no
    /// per-element libm call or conversion. Callers keep x in range.
    @inline(__always)
    static func expInRange(_ x: V) -> V {
        // n = round(x / ln2): adding 1.5·2²³ rounds to an integer in one vector add (Swift's
        // .rounded() on a vector calls libm per element); the sum's low bits hold n.
        let shifted = x * 1.442_695_04 + 12_582_912
        let n = shifted - 12_582_912
        let r = x - n * 0.693_359_375 - n * -2.121_944_4e-4
        var p = V(repeating: 1.0 / 5040)
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        // 2^n without a float→int conversion: shifted + 127 = 1.5·2²³ + n + 127 holds the
        // integer n + 127 in its low mantissa bits.
        let biased = bits(shifted + 127) &- 0x4B40_0000
        return p * float(biased &<< 23)
    }

    // MARK: tanh

    /// tanh(x): an odd polynomial x + x³·Q(x²) for |x| < 0.625 (fitted on Chebyshev nodes,
    /// under 1 ulp), and 1 − 2/(e^{2|x|} + 1) with the sign restored above that. NaN stays NaN.
    @inline(__always)
    static func tanh(_ x: V) -> V {
        let xb = bits(x)
        let sign = xb & Int32.min
        let ab = xb & Int32.max  // |x| as bits; for |x| ≥ 0 bit order is value order
        // Small |x|.
        let u = x * x
        var q = V(repeating: 0.002_138_226_293_027_401)
        q = q * u - 0.008_171_788_416_802_883
        q = q * u + 0.021_698_210_388_422_012
        q = q * u - 0.053_946_252_912_282_944
        q = q * u + 0.133_332_014_083_862_3
        q = q * u - 0.333_333_313_465_118_4
        let small = x + (x * u) * q
        // Large |x|: tanh(9.1) rounds to 1 in Float, so clamping there changes nothing.
        let cap = bits(V(repeating: 9.1))
        let a = select(negativeMask(ab &- cap), float(ab), float(cap))  // min(|x|, 9.1)
        let e = expInRange(a + a)
        let large = float(bits(1 - 2 / (e + 1)) | sign)
        // |x| ≥ 0.625 takes the large branch; NaN (bits above +∞) passes through.
        let useLarge = negativeMask(bits(V(repeating: 0.625)) &- 1 &- ab)
        let result = select(useLarge, large, small)
        return select(negativeMask(0x7F80_0000 &- ab), x, result)
    }

    // MARK: Kernels over buffers

    /// Applies `activation` in place to (rows, width) floats at `x` after adding `bias` (width) to every row.
    // h = f(pre + b): x holds pre on entry, h on exit.
    public static func activate(
        _ activation: Activation, _ x: UnsafeMutablePointer<Float>, rows: Int, width: Int, bias: UnsafePointer<Float>
    ) {
        for r in 0..<rows {
            let row = x + r * width
            switch activation {
            case .tanh: zip(row, bias, count: width) { pre, b in tanh(pre + b) }
            // relu: clears negatives and −0
            case .relu:
                zip(row, bias, count: width) { pre, b in
                    let v = pre + b; return float(bits(v) & ~negativeMask(bits(v)))
                }
            }
        }
    }

    /// Multiplies `grad` in place by f'(pre), expressed through the output h = f(pre).
    // Differentiates h = f(pre): dpre = dh ⊙ (1 − h²) for tanh, dh ⊙ [h > 0] for relu.
    public static func multiplyByDerivative(
        _ activation: Activation, output h: UnsafePointer<Float>,
        grad: UnsafeMutablePointer<Float>, count: Int
    ) {
        switch activation {
        case .tanh: zip(grad, h, count: count) { g, h in g * (1 - h * h) }
        // h = relu(pre) ≥ 0 and its bits are positive exactly when h > 0.
        case .relu: zip(grad, h, count: count) { g, h in float(bits(g) & negativeMask(0 &- bits(h))) }
        }
    }

    /// tanh of a single value through the same vector code (for tests and scalar callers).
    public static func tanh(_ x: Float) -> Float { tanh(V(repeating: x))[0] }

    /// log Σ e^{x_i} over `count` floats at `x` (count ≥ 1): the maximum, then the exponentials
    /// 16 at a time. The loss of a class prediction, forward only (validation, evaluation).
    public static func logSumExp(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var m = x[0]
        for j in 1..<count where x[j] > m { m = x[j] }
        guard m.isFinite else { return m }
        // e^{x − m} with x − m raised to −87 where below (e^−87 ≈ 1.6e−38 adds nothing to a sum ≥ 1).
        let floor = V(repeating: -87), shift = V(repeating: m)
        @inline(__always) func exps(_ d: V) -> V { expInRange(select(negativeMask(bits(d - floor)), floor, d)) }
        let raw = UnsafeRawPointer(x)
        var acc = V(repeating: 0)
        var i = 0
        while i + width <= count {
            acc += exps(raw.loadUnaligned(fromByteOffset: i * 4, as: V.self) - shift)
            i += width
        }
        var sum = acc.sum()
        if i < count {
            var tail = floor
            for j in 0..<count - i { tail[j] = x[i + j] - m }
            let e = exps(tail)
            for j in 0..<count - i { sum += e[j] }
        }
        return m + logf(sum)
    }

    /// e^x of a single value through the same vector code (clamped to ±87).
    public static func exp(_ x: Float) -> Float { expInRange(V(repeating: min(max(x, -87), 87)))[0] }

    // MARK: Loops

    @inline(__always)
    static func zip(
        _ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int, _ f: (V, V) -> V
    ) {
        var i = 0
        let rx = UnsafeMutableRawPointer(x), ry = UnsafeRawPointer(y)
        while i + width <= count {
            let a = rx.loadUnaligned(fromByteOffset: i * 4, as: V.self)
            let b = ry.loadUnaligned(fromByteOffset: i * 4, as: V.self)
            rx.storeBytes(of: f(a, b), toByteOffset: i * 4, as: V.self)
            i += width
        }
        if i < count {
            var a = V(repeating: 0), b = V(repeating: 0)
            for j in 0..<count - i { a[j] = x[i + j]; b[j] = y[i + j] }
            let r = f(a, b)
            for j in 0..<count - i { x[i + j] = r[j] }
        }
    }
}
