import ElmanCore
import Foundation
import Testing

@Suite("Vectorised activations")
struct VectorMathTests {
    /// Distance in units of the last place of the Float reference.
    func ulps(_ a: Float, _ reference: Double) -> Double {
        let r = Float(reference)
        return abs(Double(a) - reference) / Double(r == 0 ? Float.leastNonzeroMagnitude : r.ulp)
    }

    @Test("tanh is within 2 ulp of libm's over the whole range")
    func tanhAccuracy() {
        var worst = 0.0
        var x: Float = 1e-6
        while x < 20 {
            for v in [x, -x] {
                worst = max(worst, ulps(VectorMath.tanh(v), Foundation.tanh(Double(v))))
            }
            x *= 1.0001
        }
        #expect(worst <= 2, "worst tanh error \(worst) ulp")
        #expect(VectorMath.tanh(0) == 0)
        #expect(VectorMath.tanh(100) == 1 && VectorMath.tanh(-100) == -1)
        #expect(VectorMath.tanh(.nan).isNaN)
    }

    @Test("exp is within 2 ulp of libm's on the range tanh uses")
    func expAccuracy() {
        var worst = 0.0
        var x: Float = -40
        while x < 40 {
            worst = max(worst, ulps(VectorMath.exp(x), Foundation.exp(Double(x))))
            x += 0.000_37
        }
        #expect(worst <= 2, "worst exp error \(worst) ulp")
    }

    @Test("buffer kernels treat a vector tail exactly like the body")
    func tailMatchesBody() {
        let values: [Float] = (0..<37).map { Float($0) * 0.17 - 3 }
        var buffer = values
        let zeros = [Float](repeating: 0, count: values.count)
        buffer.withUnsafeMutableBufferPointer {
            VectorMath.activate(.tanh, $0.baseAddress!, rows: 1, width: $0.count, bias: zeros)
        }
        for (v, r) in zip(values, buffer) { #expect(VectorMath.tanh(v) == r) }
        var relu = values
        relu.withUnsafeMutableBufferPointer {
            VectorMath.activate(.relu, $0.baseAddress!, rows: 1, width: $0.count, bias: zeros)
        }
        #expect(relu == values.map { max($0, 0) })
    }

    @Test("logSumExp matches a float64 log-sum-exp for every length from 1 to 70, large and negative logits included")
    func logSumExpAccuracy() {
        var rng = SeededGenerator(seed: 9)
        for count in 1...70 {
            for scale: Float in [1, 30, 300] {
                let x = (0..<count).map { _ in (rng.nextUnitFloat() - 0.5) * scale }
                let m = Double(x.max() ?? 0)
                let reference = m + Foundation.log(x.reduce(0.0) { $0 + Foundation.exp(Double($1) - m) })
                let got = x.withUnsafeBufferPointer { VectorMath.logSumExp($0.baseAddress!, count: count) }
                #expect(abs(Double(got) - reference) <= 1e-6 * max(1, abs(reference)), "count \(count), scale \(scale)")
            }
        }
    }

    @Test("the loss with and without its gradient equals a float64 reference, for MSE and cross-entropy")
    func lossAgainstFloat64() {
        var rng = SeededGenerator(seed: 4)
        let O = 23, rows = 9
        let logits = (0..<rows * O).map { _ in (rng.nextUnitFloat() - 0.5) * 8 }
        let classes = (0..<rows).map { _ in Float(rng.nextInt(below: O)) }
        let values = (0..<rows * O).map { _ in rng.nextUnitFloat() }
        // Independent references: Σ (p − t)², and Σ_r log Σ_j e^{z_rj} − z_r,cls in float64.
        let mse = zip(logits, values).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
        let ce = (0..<rows).reduce(0.0) { sum, r in
            let z = logits[r * O..<(r + 1) * O].map(Double.init)
            let m = z.max() ?? 0
            return sum + m + Foundation.log(z.reduce(0.0) { $0 + Foundation.exp($1 - m) }) - z[Int(classes[r])]
        }
        var gradient = [Float](repeating: 0, count: rows * O)
        for (loss, target, reference) in [(LossKind.crossEntropy, classes, ce), (LossKind.mse, values, mse)] {
            let (withGradient, alone) = logits.withUnsafeBufferPointer { p in
                target.withUnsafeBufferPointer { t in
                    gradient.withUnsafeMutableBufferPointer { g in
                        (
                            loss.sumAndGradient(prediction: p, target: t, outputs: O, gradient: g, scale: 1),
                            loss.sum(prediction: p, target: t, outputs: O)
                        )
                    }
                }
            }
            #expect(abs(withGradient - reference) <= 1e-5 * abs(reference), "\(loss): \(withGradient) vs \(reference)")
            #expect(abs(alone - reference) <= 1e-5 * abs(reference), "\(loss): \(alone) vs \(reference)")
        }
    }
}
