import ArgumentParser
import ElmanCheckpoint
import ElmanDistributed
import ElmanTraining
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writes one line to standard error.
func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// A failure already reported; exit with `code` without printing more.
struct Reported: Error {
    var code: Int32
}

/// Runs `body` on an MPI world (a singleton of size 1 without mpirun) and turns every
/// failure into a one-line message and a non-zero exit on all ranks, never a hang.
///
/// - Failures all ranks agree on (bad input, a NaN loss) end every rank cleanly; rank 0 prints.
/// - A failure on one rank alone prints "rank R: …" and aborts the job (MPI_Abort).
func runDistributed(_ body: (Communicator) throws -> Void) throws {
    let comm: MPICommunicator
    do { comm = try MPICommunicator() } catch { throw RuntimeFailure("cannot start MPI: \(error)") }
    let prefix = comm.size > 1 ? "error: rank \(comm.rank): " : "error: "
    do {
        try body(comm)
        flushOutput()
        comm.finalize()
    } catch let e as PeerFailure {
        _ = e
        flushOutput()
        comm.finalize()
        throw Reported(code: 1)
    } catch let e as SharedFailure {
        if comm.isRoot { printError("error: \(e.message)") }
        flushOutput()
        comm.finalize()
        throw Reported(code: 1)
    } catch let e as AgreedFailure {
        printError((e.everyRank ? "error: " : prefix) + e.description)
        flushOutput()
        comm.finalize()
        throw Reported(code: 1)
    } catch {
        printError(prefix + "\(error)")
        flushOutput()
        if comm.size > 1 { comm.abort(code: 1) }
        comm.finalize()
        throw Reported(code: 1)
    }
}

/// A plain failure with a message.
struct RuntimeFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// A checkpoint argument: a file, or a directory meaning its latest.
func resolveCheckpointArgument(_ argument: String) throws -> String {
    do { return try resolveCheckpoint(argument) } catch { throw RuntimeFailure(error.message) }
}
