import ElmanCore
import ElmanTraining

/// Work counts and the machine's matrix-multiply ceiling, for benchmarks.
enum Roofline {
    /// Floating-point operations of the GEMMs in one forward + backward pass (2·m·n·k each).
    static func flopsPerStep(_ c: ModelConfig, batch B: Int, steps T: Int) -> Double {
        let H = Double(c.hiddenSize), O = Double(c.outputSize), TB = Double(T * B)
        var flops = 0.0
        for l in 0..<c.layers {
            let I = Double(c.inputSize(ofLayer: l))
            flops += 2 * TB * H * I  // x · W_ihᵀ
            flops += 2 * TB * H * H  // h_{t-1} · W_hhᵀ over all steps
            flops += 2 * TB * H * I  // dW_ih
            flops += 2 * TB * H * H  // dW_hh
            flops += 2 * TB * H * H  // dh_{t-1} = dpre · W_hh
            if l > 0 { flops += 2 * TB * H * I }  // dx = dpre · W_ih
        }
        let rows = c.head == .every ? TB : Double(B)
        flops += 3 * 2 * rows * H * O  // head forward, dW_fc, dh
        return flops
    }

    /// Measured single-precision GEMM throughput (GFLOP/s) of the linked BLAS for m×n×k.
    static func sgemmGFLOPs(m: Int, n: Int, k: Int, seconds: Double = 0.5) -> Double {
        let a = FloatBuffer(count: m * k), b = FloatBuffer(count: k * n), c = FloatBuffer(count: m * n)
        for i in 0..<a.count { a[i] = Float(i % 7) * 0.01 }
        for i in 0..<b.count { b[i] = Float(i % 5) * 0.01 }
        func once() {
            BLAS.gemm(
                m: m, n: n, k: k, a: a.baseAddress, lda: k, b: b.baseAddress, ldb: n, beta: 0, c: c.baseAddress, ldc: n)
        }
        once()
        var calls = 0
        let clock = ContinuousClock(), start = clock.now
        var elapsed = 0.0
        repeat {
            once()
            calls += 1
            elapsed = (clock.now - start).seconds
        } while elapsed < seconds
        return 2 * Double(m) * Double(n) * Double(k) * Double(calls) / elapsed / 1e9
    }
}
