/// Matrix products too small for OpenBLAS to pay: a register-blocked kernel of our own.
///
/// Hand-written because OpenBLAS 0.3.21 takes one process-wide lock for a work buffer on every
/// sgemm and sgemv call. With one replica of the network per core (`Trainer`), the replicas'
/// per-time-step products contend for it: at I/H/T/B = 1/32/16/64 a step cost 0.07 ms in some
/// runs and 0.12–0.32 ms in others, ~29 futex calls a step (`perf record -e
/// syscalls:sys_enter_futex`: `__lll_lock_wait` under `sgemm_`). Products up to `limit`
/// multiply-adds run here, lock-free, in every thread.
enum SmallGEMM {
    /// m·n·k below which products run here (32×32×32 per-step products and the like). From it
    /// on OpenBLAS's packed kernels win: with the limit at 32·128·128 a 8/128/32/64 step took
    /// 2.2–2.3 ms instead of 1.26–1.29 (`bench`, three runs each); at the limit itself, the
    /// 16×128×128 recurrent product of micro-batches of 16, 8/128/32/64 ran at 12.6k seq/s
    /// here against 27.4k in OpenBLAS's SkylakeX kernels.
    static let limit = 64 * 64 * 64

    /// Whether `gemm` with these operands runs here.
    @inline(__always)
    static func handles(transposeA: Bool, m: Int, n: Int, k: Int, alpha: Float) -> Bool {
        !transposeA && alpha == 1 && m * n * k < limit
    }

    /// C (m, n) = A (m, k) · op(B) + β·C, row-major; op(B) is B (k, n) or, with `transposeB`,
    /// B (n, k) transposed (copied to (k, n) first: at most `limit` / m elements, on the stack).
    ///
    /// The copy is repeated for W_hh at every time step, and still wins: a kernel of dot
    /// products over B's rows, with no copy, made a 1/32/16/64 step 0.183 ms instead of 0.113
    /// (`bench --threads 1`, four runs each; the horizontal sums cost more than the copy).
    static func gemm(
        transposeB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
        ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard transposeB else {
            return kernel(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: k * n) { bt in
            // bt (k, n) = Bᵀ, B (n, k)
            guard let t = bt.baseAddress else { return }
            for j in 0..<n {
                for p in 0..<k { t[p * n + j] = b[j * ldb + p] }
            }
            kernel(m: m, n: n, k: k, a: a, lda: lda, b: t, ldb: n, beta: beta, c: c, ldc: ldc)
        }
    }

    /// C (m, n) = A (m, k) · B (k, n) + β·C: blocks of 4 rows × 16 columns of C held in eight
    /// 8-wide registers across the k sum; edges one row and one column at a time.
    private static func kernel(
        m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        typealias V = SIMD8<Float>
        @inline(__always) func load(_ p: UnsafePointer<Float>) -> V {
            UnsafeRawPointer(p).loadUnaligned(as: V.self)
        }
        @inline(__always) func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
            UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
        }
        @inline(__always) func initial(_ p: UnsafeMutablePointer<Float>) -> V {
            beta == 0 ? V() : V(repeating: beta) * load(p)
        }
        let n16 = n - n % 16, m4 = m - m % 4
        var i = 0
        while i < m4 {
            var j = 0
            while j < n16 {
                let c0 = c + i * ldc + j, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc
                var s00 = initial(c0), s01 = initial(c0 + 8), s10 = initial(c1), s11 = initial(c1 + 8)
                var s20 = initial(c2), s21 = initial(c2 + 8), s30 = initial(c3), s31 = initial(c3 + 8)
                let a0 = a + i * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda
                for p in 0..<k {
                    let bp = b + p * ldb + j
                    let b0 = load(bp), b1 = load(bp + 8)
                    let x0 = V(repeating: a0[p]), x1 = V(repeating: a1[p])
                    let x2 = V(repeating: a2[p]), x3 = V(repeating: a3[p])
                    s00.addProduct(x0, b0)
                    s01.addProduct(x0, b1)
                    s10.addProduct(x1, b0)
                    s11.addProduct(x1, b1)
                    s20.addProduct(x2, b0)
                    s21.addProduct(x2, b1)
                    s30.addProduct(x3, b0)
                    s31.addProduct(x3, b1)
                }
                store(s00, c0)
                store(s01, c0 + 8)
                store(s10, c1)
                store(s11, c1 + 8)
                store(s20, c2)
                store(s21, c2 + 8)
                store(s30, c3)
                store(s31, c3 + 8)
                j += 16
            }
            i += 4
        }
        // Edges: the columns past the last full block of 16 in every row, then the rows past
        // the last full block of 4.
        @inline(__always) func element(_ r: Int, _ col: Int) {
            var s: Float = 0
            for p in 0..<k { s = s.addingProduct(a[r * lda + p], b[p * ldb + col]) }
            let out = c + r * ldc + col
            out.pointee = beta == 0 ? s : beta * out.pointee + s
        }
        for r in 0..<m4 {
            for col in n16..<n { element(r, col) }
        }
        for r in m4..<m {
            for col in 0..<n { element(r, col) }
        }
    }

    /// y (cols) = Aᵀ · x + β·y for A (rows, cols) row-major: column sums weighted by x (the
    /// bias gradients, x all ones). Row by row into a column-sized sum that stays in L1.
    static func gemvTransposed(
        rows: Int, cols: Int, a: UnsafePointer<Float>, x: UnsafePointer<Float>, beta: Float,
        y: UnsafeMutablePointer<Float>
    ) {
        typealias V = SIMD8<Float>
        let c8 = cols - cols % 8
        withUnsafeTemporaryAllocation(of: Float.self, capacity: cols) { buffer in
            guard let sum = buffer.baseAddress else { return }
            sum.initialize(repeating: 0, count: cols)
            for r in 0..<rows {
                let row = a + r * cols, w = x[r], wv = V(repeating: w)
                var j = 0
                while j < c8 {
                    let acc = UnsafeMutableRawPointer(sum + j)
                    var v = acc.loadUnaligned(as: V.self)
                    v.addProduct(wv, UnsafeRawPointer(row + j).loadUnaligned(as: V.self))
                    acc.storeBytes(of: v, as: V.self)
                    j += 8
                }
                for col in c8..<cols { sum[col] = sum[col].addingProduct(w, row[col]) }
            }
            for col in 0..<cols { y[col] = beta == 0 ? sum[col] : beta * y[col] + sum[col] }
        }
    }
}
