import Foundation
import TestSupport
import Testing

/// Whether PyTorch and safetensors can be imported by python3 here (CI does not install them:
/// PyPI's torch brings 3 GB of CUDA libraries).
private let torchMissing: String? = {
    let r = Harness.shell("python3 -c 'import torch, safetensors'")
    return r == 0 ? nil : "needs python3 with torch and safetensors (pip install torch safetensors)"
}()

/// The README's PyTorch snippet is what users take into production: run as written, it must
/// forecast what elman-dist forecasts, for a model of levels and for a model of changes.
@Suite("PyTorch round trip", .enabled(if: torchMissing == nil, Comment(rawValue: torchMissing ?? "")))
struct PyTorchRoundTripTests {
    @Test("the README's PyTorch block, run verbatim, forecasts what predict does (levels and changes, to 1e-4)")
    func readmeSnippet() throws {
        let script = Harness.root.appendingPathComponent("Tests/scripts/torch_roundtrip.py").path
        let r = try Harness.Running("/usr/bin/env", ["python3", script, Harness.binary]).wait(timeout: 300)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("levels: README snippet") && r.stdout.contains("changes: README snippet"))
    }
}
