import CBLAS

/// The one place ElmanCore calls CBLAS. All matrices are row-major.
public enum BLAS {
    /// C = alpha · op(A) · op(B) + beta · C, with op(A) (m, k), op(B) (k, n), C (m, n).
    ///
    /// `lda`, `ldb`, `ldc` are the row strides of A, B and C as stored (before op).
    @inline(__always)
    public static func gemm(
        transposeA: Bool = false, transposeB: Bool = false,
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m > 1 && n > 1 && SmallGEMM.handles(transposeA: transposeA, m: m, n: n, k: k, alpha: alpha) {
            return SmallGEMM.gemm(
                transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
        // A product with one row or one column is a matrix-vector product: OpenBLAS 0.3.21's
        // sgemm packs both operands even then, which made a one-lane step (a stateful model's
        // validation, a forecast) several times slower than sgemv.
        if m == 1 {
            // c (1, n) = a (1, k) · op(B) (k, n):  cᵀ = op(B)ᵀ · aᵀ
            cblas_sgemv(
                CblasRowMajor, transposeB ? CblasNoTrans : CblasTrans,
                blasint(transposeB ? n : k), blasint(transposeB ? k : n), alpha,
                b, blasint(ldb), a, blasint(transposeA ? lda : 1), beta, c, 1)
            return
        }
        if n == 1 {
            // c (m, 1) = op(A) (m, k) · b (k, 1)
            cblas_sgemv(
                CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
                blasint(transposeA ? k : m), blasint(transposeA ? m : k), alpha,
                a, blasint(lda), b, blasint(transposeB ? 1 : ldb), beta, c, blasint(ldc))
            return
        }
        cblas_sgemm(
            CblasRowMajor,
            transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha,
            a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// y = Aᵀ · x + beta · y with A (rows, cols) row-major: column sums when x is all ones.
    @inline(__always)
    static func gemvTransposed(
        rows: Int, cols: Int, a: UnsafePointer<Float>, x: UnsafePointer<Float>, beta: Float,
        y: UnsafeMutablePointer<Float>
    ) {
        // Ours, not sgemv: OpenBLAS locks a process-wide buffer on every call (see SmallGEMM).
        SmallGEMM.gemvTransposed(rows: rows, cols: cols, a: a, x: x, beta: beta, y: y)
    }

    /// Sets OpenBLAS's thread count for this process.
    static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }

    /// OpenBLAS's current thread count.
    static var threads: Int { Int(openblas_get_num_threads()) }
}

/// BLAS threading, for the layers above the core (which choose one thread count per rank).
public enum BLASThreads {
    /// Sets how many threads every BLAS call of this process may use (at least 1).
    public static func set(_ n: Int) { BLAS.setThreads(max(1, n)) }
    /// How many threads BLAS calls use now.
    public static var current: Int { BLAS.threads }

    /// Stops OpenBLAS's idle thread pool; returns whether this BLAS could. A product that asks
    /// for threads later (`bench --gemm`) starts it again.
    ///
    /// OpenBLAS starts a thread for every other core when it loads, before `main`, and each
    /// spins in `sched_yield` for its first ~0.1 s; elman-dist's products run one thread each
    /// (`Trainer.parallelism`), so the spinning only took a core from the CSV parse: 7% of a
    /// 5M × 3 file's load and one step (`perf record`; 0.89 -> 0.82 s). Setting
    /// OPENBLAS_NUM_THREADS and executing the binary again did the same at 11 ms a command.
    @discardableResult
    public static func stopIdlePool() -> Bool { elman_blas_stop_thread_pool() != 0 }
}
