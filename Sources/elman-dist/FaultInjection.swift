import ElmanCore
import ElmanDistributed
import ElmanTraining

#if canImport(Glibc)
import Glibc
#endif

/// Faults the test suite injects through the environment, to prove how training reacts.
///
/// `ELMAN_DIST_TEST_NAN_GRADIENT=STEP:RANK` makes RANK's gradient NaN at STEP (1-based);
/// `ELMAN_DIST_TEST_DRIFT=STEP:RANK` nudges one of RANK's parameters after STEP.
/// Without them `fromEnvironment` is nil and nothing watches the loop.
final class FaultInjection: StepObserver {
    let nanGradient: (step: Int, rank: Int)?
    let drift: (step: Int, rank: Int)?

    private init(nanGradient: (Int, Int)?, drift: (Int, Int)?) {
        self.nanGradient = nanGradient
        self.drift = drift
    }

    /// The faults the environment asks for, or nil when it asks for none.
    static var fromEnvironment: FaultInjection? {
        let nan = parse("ELMAN_DIST_TEST_NAN_GRADIENT"), drift = parse("ELMAN_DIST_TEST_DRIFT")
        return nan == nil && drift == nil ? nil : FaultInjection(nanGradient: nan, drift: drift)
    }

    func step(_ step: Int, reached point: StepPoint, network: ElmanNetwork, comm: Communicator) {
        switch point {
        case .computed where nanGradient?.step == step + 1 && nanGradient?.rank == comm.rank:
            network.gradients[0] = .nan
        case .updated where drift?.step == step + 1 && drift?.rank == comm.rank:
            network.parameters[0] += 1e-3
        default:
            break
        }
    }

    /// `ELMAN_DIST_CHECKPOINT_DELAY_MS`: milliseconds each checkpoint file waits on disk under
    /// its temporary name, so a test can kill the process mid-write; nil when unset.
    static var checkpointDelay: (@Sendable () -> Void)? {
        guard let raw = getenv("ELMAN_DIST_CHECKPOINT_DELAY_MS"), let ms = UInt32(String(cString: raw)), ms > 0 else {
            return nil
        }
        return { usleep(ms * 1000) }
    }

    private static func parse(_ name: String) -> (Int, Int)? {
        guard let raw = getenv(name) else { return nil }
        let parts = String(cString: raw).split(separator: ":").compactMap { Int($0) }
        return parts.count == 2 ? (parts[0], parts[1]) : nil
    }
}
