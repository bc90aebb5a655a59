import Foundation
import Testing

/// Which OpenBLAS kernels the binary runs: never a generic fallback on a CPU OpenBLAS does not know.
@Suite("BLAS kernels")
struct BLASKernelTests {
    /// The kernel set `bench --gemm` names ("kernels=SkylakeX").
    func kernels(_ environment: [String: String]) throws -> String {
        let r = try Harness.run(["bench", "--gemm"], environment: environment)
        #expect(r.status == 0, "\(r.stderr)")
        let named = r.stdout.split(separator: "\n").first?.split(separator: " ").first { $0.hasPrefix("kernels=") }
        return named.map { String($0.dropFirst("kernels=".count)).trimmingCharacters(in: .punctuationCharacters) } ?? ""
    }

    @Test("without OPENBLAS_CORETYPE the kernels are this CPU's, not OpenBLAS's generic fallback")
    func knownKernels() throws {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil else { return }
        let chosen = try kernels([:])
        #expect(!chosen.isEmpty && !["Prescott", "Core2", "Nehalem", "Penryn", "Dunnington", "Atom"].contains(chosen), "\(chosen)")
    }

    @Test("started again for its kernels, the process keeps its name (pgrep, ps and Slurm find it)")
    func processName() throws {
        // The name a process has a second into `bench --gemm`, after any restart.
        let r = try Harness.Running(
            "/bin/sh", ["-c", "\"$0\" bench --gemm >/dev/null & sleep 1; cat /proc/$!/comm; wait", Harness.binary]
        ).wait()
        #expect(r.stdout == "elman-dist\n", "\(r.stdout)")
    }

    @Test("OpenBLAS's idle pool, stopped as the process starts, starts again for a product on every core")
    func poolStartsAgain() throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        // `bench --gemm` multiplies on every core: with the pool gone and not started again it
        // would hang or fail; its first line names the threads the product ran on.
        let r = try Harness.run(["bench", "--gemm"], environment: ["OPENBLAS_NUM_THREADS": "\(cores)"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("sgemm 1024×1024×1024 threads=\(cores) "), "\(r.stdout.prefix(200))")
    }

    @Test("a user's OPENBLAS_CORETYPE is kept, even a slower one")
    func userChoiceKept() throws {
        #expect(try kernels(["OPENBLAS_CORETYPE": "Prescott"]) == "Prescott")
    }
}
