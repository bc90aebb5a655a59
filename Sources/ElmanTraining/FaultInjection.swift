#if canImport(Glibc)
import Glibc
#endif

/// Faults the test suite injects through the environment, to prove how training reacts.
///
/// `ELMAN_DIST_TEST_NAN_GRADIENT=STEP:RANK` makes RANK's gradient NaN at STEP (1-based);
/// `ELMAN_DIST_TEST_DRIFT=STEP:RANK` nudges one of RANK's parameters after STEP.
/// Both are read once; without them nothing changes.
struct FaultInjection {
    var nanGradient: (step: Int, rank: Int)?
    var drift: (step: Int, rank: Int)?

    static let fromEnvironment = FaultInjection(
        nanGradient: parse("ELMAN_DIST_TEST_NAN_GRADIENT"), drift: parse("ELMAN_DIST_TEST_DRIFT"))

    private static func parse(_ name: String) -> (Int, Int)? {
        guard let raw = getenv(name) else { return nil }
        let parts = String(cString: raw).split(separator: ":").compactMap { Int($0) }
        return parts.count == 2 ? (parts[0], parts[1]) : nil
    }
}
