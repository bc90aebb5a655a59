#if canImport(Glibc)
import Glibc
#endif

/// SIGINT/SIGTERM handling: the first signal asks training to stop after the current step
/// (and write a checkpoint); a second one exits at once.
public enum StopSignal {
    nonisolated(unsafe) static var requested: sig_atomic_t = 0

    /// Installs the handlers.
    public static func install() {
        let handler: @convention(c) (Int32) -> Void = { sig in
            if StopSignal.requested != 0 { _exit(128 + sig) }
            StopSignal.requested = 1
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
        // A parent may have blocked them (some process launchers do); unblock them here, on the
        // thread that trains, so the signal is delivered to it.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Whether a stop was asked for.
    public static var isRequested: Bool { requested != 0 }
}
