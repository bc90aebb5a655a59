import Foundation

/// Mutations per fuzz test: the default keeps the suite quick; ELMAN_DIST_FUZZ_ITERATIONS
/// runs longer campaigns (see the README).
public func fuzzIterations(_ standard: Int) -> Int {
    ProcessInfo.processInfo.environment["ELMAN_DIST_FUZZ_ITERATIONS"].flatMap(Int.init) ?? standard
}
