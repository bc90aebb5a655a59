import ArgumentParser
import CBLAS
import CProcess
import ElmanCheckpoint
import ElmanData
import ElmanDistributed
import ElmanFiles
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writes one line to standard error. A write that fails (`2> /dev/full`) cannot be reported
/// there; it is remembered, and the command then exits non-zero (`standardErrorFailed`).
/// (FileHandle's write would trap on the failure instead.)
func printError(_ message: String) {
    let bytes = Array((message + "\n").utf8)
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeBytes { Glibc.write(STDERR_FILENO, $0.baseAddress.map { $0 + done }, bytes.count - done) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else {
            standardErrorFailed = true
            return
        }
        done += n
    }
}

/// Whether a line written to standard error was lost.
nonisolated(unsafe) var standardErrorFailed = false

/// Flushes C's standard output (what `print` writes to), so progress shows at once in a pipe.
func flushOutput() { fflush(nil) }

/// A failure already reported; exit with `code` without printing more.
struct Reported: Error {
    var code: Int32
}

/// A command's failure with its message (rendered by `Diagnostics` like any other error);
/// `isUsage` for a problem with what the user asked for (exit 64), such as a bad config file.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    var isUsage = false
    init(_ description: String) { self.description = description }
    init(usage description: String) {
        self.description = description
        isUsage = true
    }
}

/// Whether a launcher (mpirun, srun, a PMI server, a Slurm job) started this process.
///
/// Without one the world is this process alone, and MPI is not started: its singleton start
/// (a helper daemon spawned and joined) cost 0.3 s of every plain `elman-dist train` here, a
/// quarter of loading and stepping through 5M rows. Inside a Slurm job MPI starts as before.
func startedByLauncher() -> Bool {
    let markers = [
        "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMIX_NAMESPACE", "PMI_RANK", "PMI_SIZE", "PMI_FD", "MPI_LOCALNRANKS",
        "HYDRA_CONTROL_FD", "SLURM_PROCID", "SLURM_JOB_ID",
    ]
    return markers.contains { getenv($0) != nil }
}

/// Runs `body` on an MPI world (of this process alone without a launcher) and turns every
/// failure into a one-line message and a non-zero exit on all ranks, never a hang.
///
/// - Failures all ranks agree on (bad input, a NaN loss) end every rank cleanly; rank 0 prints.
/// - A failure on one rank alone prints "rank R: …" and aborts the job (MPI_Abort).
/// - A collective that times out (`deadline`, seconds) ends the job: the rank that knows who
///   did not arrive prints one line, and every live rank aborts, taking the hung one with it.
func runDistributed(deadline: Double? = nil, _ body: (Communicator) throws -> Void) throws {
    let comm: Communicator
    var mpi: MPICommunicator? = nil
    if startedByLauncher() {
        do { mpi = try MPICommunicator() } catch { throw CommandFailure("cannot start MPI: \(error)") }
        mpi?.deadline = deadline
    }
    comm = mpi ?? LocalCommunicator()
    let prefix = comm.size > 1 ? "error: rank \(comm.rank): " : "error: "
    defer {
        flushOutput()
        mpi?.finalize()
    }
    do {
        try body(comm)
    } catch let e as CommunicatorError where e.timeout != nil {
        if e.timeout?.reports == true { printError("error: " + Diagnostics.message(e)) }
        flushOutput()
        // The reporting rank's abort ends the job; the others give it a moment to do so first.
        if e.timeout?.reports != true { sleep(2) }
        comm.abort(code: 1)
    } catch is PeerFailure {
        throw Reported(code: 1)
    } catch let e as SharedFailure {
        if comm.isRoot { printError("error: " + Diagnostics.message(e)) }
        throw Reported(code: 1)
    } catch let e as AgreedFailure {
        printError((e.everyRank ? "error: " : prefix) + Diagnostics.message(e))
        throw Reported(code: Diagnostics.exitCode(e))
    } catch {
        printError(prefix + Diagnostics.message(error))
        flushOutput()
        if comm.size > 1 { comm.abort(code: 1) }
        throw Reported(code: Diagnostics.exitCode(error))
    }
}

/// A checkpoint argument: a file, or a directory meaning its latest (to resume or inspect).
func resolveCheckpointArgument(_ argument: String) throws -> String {
    try resolveCheckpoint(argument)
}

/// A model argument: a file, or a directory meaning its best checkpoint by validation loss
/// when it has one, else its latest (what inference and export use after training).
func resolveModelArgument(_ argument: String) throws -> String {
    if Files.kind(argument) == .directory, Files.kind(argument + "/" + CheckpointDirectory.bestName) == .file {
        return argument + "/" + CheckpointDirectory.bestName
    }
    return try resolveCheckpoint(argument)
}

/// `--force`: shared by every command that writes a file the user names.
struct ForceFlag: ParsableArguments {
    @Flag(help: "Replace an existing output file (never one of the command's inputs or a checkpoint).")
    var force = false
}

/// Where a command's output goes: a file the user named (`--out`, under `OutputFile`'s rules:
/// nothing is replaced without `--force`, never an input), or standard output. Rows are
/// streamed as they come, so a long forecast holds nothing in memory and a signal stops it.
final class CommandOutput {
    private let file: OutputFile?

    init(path: String?, flag: String = "--out", force: Bool, inputs: [String]) throws {
        file = try path.map { path throws(FileError) in
            try OutputFile(path: path, flag: flag, replace: force, inputs: inputs)
        }
    }

    /// Writes `text` (standard output's failures are reported when the command ends).
    func write(_ text: String) throws {
        if let file { try file.write(text) } else { print(text, terminator: "") }
    }

    /// Gives the file its name; on standard output, flushes it.
    func commit() throws {
        if let file { try file.commit() } else { try checkStandardOutput() }
    }
}

/// Flushes standard output and fails, naming the reason, if anything written to it was lost
/// (`predict > /dev/full`): a lost result must not look like success.
func checkStandardOutput() throws {
    let code = elman_stdout_flush_error()
    // A closed pipe: the reader stopped reading (`train | head`), which training honours as a
    // stop request; nothing it wanted was lost.
    if code != 0 && code != EPIPE && StopSignal.outputClosed == 0 {
        throw CommandFailure("cannot write standard output: \(Files.reason(code))")
    }
}

/// The files a data request reads (the paths of CSV and text sources), for `OutputFile`'s inputs.
func inputPaths(_ source: DataSpec?) -> [String] {
    switch source {
    case let .csv(path)?, let .text(path)?: [path]
    default: []
    }
}

/// The kernels OpenBLAS runs.
enum BLASKernels {
    /// The kernel set OpenBLAS chose when it loaded ("Haswell", "SkylakeX", …): from the CPU,
    /// or from OPENBLAS_CORETYPE, which it reads only then.
    static var current: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }

    /// The kernel sets OpenBLAS falls back to on an x86_64 CPU it does not know.
    private static let fallbacks: Set<String> = ["Prescott", "Core2", "Nehalem", "Penryn", "Dunnington", "Atom"]

    /// Starts the process again with OPENBLAS_CORETYPE naming the kernels this CPU runs, when
    /// OpenBLAS fell back to generic ones and the user set none; returns if it need not (or
    /// cannot).
    ///
    /// OpenBLAS 0.3.21 (Debian 12's) does not know CPUs newer than itself: on a Sapphire
    /// Rapids Xeon it runs its Prescott (SSE3) kernels, sgemm 1024³ at 50 GFLOP/s on 2 threads
    /// against 217 with its SkylakeX ones (`bench --gemm`). It reads OPENBLAS_CORETYPE only
    /// when it loads, before `main`, so the variable is set and the binary executed again
    /// (same process, arguments and environment otherwise; under mpirun or srun as well,
    /// before MPI starts). A user's own OPENBLAS_CORETYPE is always kept.
    static func restartWithKnownKernels() {
        guard getenv("OPENBLAS_CORETYPE") == nil, fallbacks.contains(current) else { return }
        let core: String
        if elman_cpu_supports_avx512() != 0 {
            core = "SkylakeX"
        } else if elman_cpu_supports_core() != 0 {
            core = "Haswell"
        } else {
            return
        }
        // The binary's own path, not /proc/self/exe: the kernel names a process after the file
        // it executes, and `pgrep elman-dist`, `ps` and Slurm's accounting should still see it.
        var path = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard readlink("/proc/self/exe", &path, Int(PATH_MAX)) > 0 else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        execv(path, CommandLine.unsafeArgv)
        // The exec failed: go on with the kernels there are.
        unsetenv("OPENBLAS_CORETYPE")
    }
}
