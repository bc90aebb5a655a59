import ElmanFiles

#if canImport(Glibc)
import Glibc
#endif

/// Signals from a terminal, a launcher or a scheduler, handled from the process's first
/// instruction to its last.
///
/// - Before training's loop runs (parsing, loading data, inference commands) nothing would be
///   lost by stopping: a signal removes the output file being written, if any, and exits at
///   once with 128 + the signal's number.
/// - While training's loop runs (`deferStops()`), the first signal asks it to stop after the
///   current step and write a checkpoint (exit 0); a second one exits at once.
///
/// The signals: SIGINT, SIGTERM, SIGHUP (a closed terminal), and what schedulers send before
/// they stop or requeue a job: SIGUSR1 and SIGUSR2 (Slurm's `--signal`, LSF, PBS), SIGXCPU (a
/// CPU-time limit) and SIGALRM. A closed standard output or error (SIGPIPE: `train … | head`)
/// asks the loop to stop the same way and never exits by itself, since every later write to
/// the closed pipe raises it again; outside the loop it ends the process like the others.
enum StopSignal {
    nonisolated(unsafe) static var requested: sig_atomic_t = 0
    nonisolated(unsafe) static var deferring: sig_atomic_t = 0
    /// Set by SIGPIPE: a reader closed our output (`train | head`), on purpose.
    nonisolated(unsafe) static var outputClosed: sig_atomic_t = 0

    /// The signals that stop a run.
    static let stopping = [SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGXCPU, SIGALRM]

    /// Installs the handlers, in immediate mode. Called first thing, and again after MPI starts
    /// (which may install handlers of its own).
    static func install() {
        let handler: @convention(c) (Int32) -> Void = { sig in
            if StopSignal.deferring == 0 || StopSignal.requested != 0 {
                PendingOutput.removeForSignal()
                _exit(128 + sig)
            }
            StopSignal.requested = 1
        }
        let closedOutput: @convention(c) (Int32) -> Void = { sig in
            StopSignal.outputClosed = 1
            if StopSignal.deferring == 0 {
                PendingOutput.removeForSignal()
                _exit(128 + sig)
            }
            StopSignal.requested = 1
        }
        for sig in stopping { signal(sig, handler) }
        signal(SIGPIPE, closedOutput)
        // A parent may have blocked them (some process launchers do); unblock them here, on the
        // thread that trains, so the signal is delivered to it.
        var set = sigset_t()
        sigemptyset(&set)
        for sig in stopping + [SIGPIPE] { sigaddset(&set, sig) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// From now on a first signal asks for a stop instead of exiting (training's loop runs).
    static func deferStops() { deferring = 1 }

    /// Asks for a stop as a signal would (a failed metrics write).
    static func request() { requested = 1 }

    /// Whether a stop was asked for.
    static var isRequested: Bool { requested != 0 }
}
