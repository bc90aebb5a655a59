import ElmanCore
import TestSupport
import Testing

/// `BLAS.gemm` against a plain triple loop, including the one-row and one-column shapes it
/// sends to sgemv.
@Suite("BLAS")
struct BLASTests {
    @Test(
        "gemm equals the triple loop for every transpose, with one row, one column, or neither",
        arguments: [(1, 7, 5), (6, 1, 5), (4, 3, 5), (1, 1, 3)])
    func gemmMatchesLoops(_ shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        var rng = SeededGenerator(seed: 5)
        func random(_ count: Int) -> [Float] { (0..<count).map { _ in rng.nextUnitFloat() - 0.5 } }
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                // Stored with a row stride larger than the row, as the network's views are.
                let lda = (transposeA ? m : k) + 2, ldb = (transposeB ? k : n) + 1, ldc = n + 3
                let a = random((transposeA ? k : m) * lda), b = random((transposeB ? n : k) * ldb)
                let c0 = random(m * ldc)
                var c = c0
                c.withUnsafeMutableBufferPointer { cb in
                    BLAS.gemm(
                        transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda,
                        b: b, ldb: ldb, beta: 2, c: cb.baseAddress!, ldc: ldc)
                }
                var expected = c0
                for i in 0..<m {
                    for j in 0..<n {
                        var sum: Float = 0
                        for p in 0..<k {
                            sum +=
                                (transposeA ? a[p * lda + i] : a[i * lda + p])
                                * (transposeB ? b[j * ldb + p] : b[p * ldb + j])
                        }
                        expected[i * ldc + j] = 0.5 * sum + 2 * c0[i * ldc + j]
                    }
                }
                expectClose(
                    c, expected, "gemm m=\(m) n=\(n) k=\(k) tA=\(transposeA) tB=\(transposeB)",
                    relative: 1e-5, absolute: 1e-6)
            }
        }
    }

    /// Products small enough for the lock-free kernel (alpha 1, no transposed A): full 4×16
    /// blocks, edge rows and columns, and both layouts of B.
    @Test(
        "the small-product kernel equals the triple loop on blocks and edges, with and without beta",
        arguments: [(4, 16, 5), (9, 35, 7), (32, 32, 32), (5, 17, 64), (2, 3, 1)])
    func smallProductsMatchLoops(_ shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        var rng = SeededGenerator(seed: 9)
        func random(_ count: Int) -> [Float] { (0..<count).map { _ in rng.nextUnitFloat() - 0.5 } }
        for transposeB in [false, true] {
            for beta: Float in [0, 1.5] {
                let lda = k + 1, ldb = (transposeB ? k : n) + 3, ldc = n + 2
                let a = random(m * lda), b = random((transposeB ? n : k) * ldb), c0 = random(m * ldc)
                var c = c0
                c.withUnsafeMutableBufferPointer { cb in
                    BLAS.gemm(
                        transposeB: transposeB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta,
                        c: cb.baseAddress!, ldc: ldc)
                }
                var expected = c0
                for i in 0..<m {
                    for j in 0..<n {
                        var sum = 0.0
                        for p in 0..<k {
                            sum += Double(a[i * lda + p]) * Double(transposeB ? b[j * ldb + p] : b[p * ldb + j])
                        }
                        expected[i * ldc + j] = Float(sum + Double(beta) * Double(c0[i * ldc + j]))
                    }
                }
                expectClose(
                    c, expected, "m=\(m) n=\(n) k=\(k) tB=\(transposeB) beta=\(beta)", relative: 1e-5, absolute: 1e-6)
            }
        }
    }
}
