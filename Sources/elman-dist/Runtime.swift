import ArgumentParser
import CBLAS
import ElmanCheckpoint
import ElmanDistributed
import ElmanFiles
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writes one line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Flushes C's standard output (what `print` writes to), so progress shows at once in a pipe.
func flushOutput() { fflush(nil) }

/// A failure already reported; exit with `code` without printing more.
struct Reported: Error {
    var code: Int32
}

/// A command's failure with its message (rendered by `Diagnostics` like any other error).
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body` on an MPI world (a singleton of size 1 without mpirun) and turns every
/// failure into a one-line message and a non-zero exit on all ranks, never a hang.
///
/// - Failures all ranks agree on (bad input, a NaN loss) end every rank cleanly; rank 0 prints.
/// - A failure on one rank alone prints "rank R: …" and aborts the job (MPI_Abort).
/// - A collective that times out (`deadline`, seconds) ends the job: the rank that knows who
///   did not arrive prints one line, and every live rank aborts, taking the hung one with it.
func runDistributed(deadline: Double? = nil, _ body: (Communicator) throws -> Void) throws {
    let comm: MPICommunicator
    do { comm = try MPICommunicator() } catch { throw CommandFailure("cannot start MPI: \(error)") }
    comm.deadline = deadline
    let prefix = comm.size > 1 ? "error: rank \(comm.rank): " : "error: "
    defer {
        flushOutput()
        comm.finalize()
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
        throw Reported(code: 1)
    } catch {
        printError(prefix + Diagnostics.message(error))
        flushOutput()
        if comm.size > 1 { comm.abort(code: 1) }
        throw Reported(code: 1)
    }
}

/// A checkpoint argument: a file, or a directory meaning its latest.
func resolveCheckpointArgument(_ argument: String) throws -> String {
    try resolveCheckpoint(argument)
}

/// Writes a command's output file (`--out`) whole, or standard output when `path` is nil.
func writeOutput(_ text: String, to path: String?) throws {
    guard let path else { return print(text, terminator: "") }
    try Files.writeAtomically(Array(text.utf8), to: path)
}

/// The kernels OpenBLAS runs.
enum BLASKernels {
    /// The kernel set OpenBLAS chose when it loaded ("Haswell", "SkylakeX", …): from the CPU,
    /// or from OPENBLAS_CORETYPE, which it reads only then.
    static var current: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }
}
