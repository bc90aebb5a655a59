#if canImport(Glibc)
import Glibc
#endif

/// Stop requests from outside: the first SIGINT, SIGTERM or SIGHUP (a closed terminal) asks
/// training to stop after the current step and write a checkpoint; a second one exits at
/// once. A closed standard output or error (SIGPIPE: `train … | head`) asks the same and never
/// exits by itself, since every later write to the closed pipe raises it again.
public enum StopSignal {
    nonisolated(unsafe) static var requested: sig_atomic_t = 0

    /// Installs the handlers.
    public static func install() {
        let handler: @convention(c) (Int32) -> Void = { sig in
            if StopSignal.requested != 0 { _exit(128 + sig) }
            StopSignal.requested = 1
        }
        let closedOutput: @convention(c) (Int32) -> Void = { _ in StopSignal.requested = 1 }
        for sig in [SIGINT, SIGTERM, SIGHUP] { signal(sig, handler) }
        signal(SIGPIPE, closedOutput)
        // A parent may have blocked them (some process launchers do); unblock them here, on the
        // thread that trains, so the signal is delivered to it.
        var set = sigset_t()
        sigemptyset(&set)
        for sig in [SIGINT, SIGTERM, SIGHUP, SIGPIPE] { sigaddset(&set, sig) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Whether a stop was asked for.
    public static var isRequested: Bool { requested != 0 }
}
