import CMPI

#if canImport(Glibc)
import Glibc
#endif

/// `Communicator` over MPI's world communicator.
///
/// Started under `mpirun` it joins the job; started alone it is an MPI singleton of size 1.
/// Errors return codes (MPI_ERRORS_RETURN) that become `CommunicatorError`s naming the call,
/// so the caller can print a message that names the rank before it aborts the job.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    public let localSize: Int
    private let comm: MPI_Comm

    /// Initialises MPI (once per process) and the world communicator.
    public init() throws(CommunicatorError) {
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        if initialized == 0 {
            let rc = MPI_Init(nil, nil)
            guard rc == MPI_SUCCESS else { throw CommunicatorError("MPI_Init failed with code \(rc)") }
        }
        comm = MPI_COMM_WORLD
        MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN)
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(comm, &r)
        MPI_Comm_size(comm, &s)
        rank = Int(r)
        size = Int(s)
        // Ranks on this node: OpenMPI says so in the environment; otherwise count via a shared-memory split.
        if let v = getenv("OMPI_COMM_WORLD_LOCAL_SIZE"), let n = Int(String(cString: v)), n > 0 {
            localSize = n
        } else {
            var local: MPI_Comm? = nil
            var n: Int32 = 1
            if MPI_Comm_split_type(comm, Int32(MPI_COMM_TYPE_SHARED), r, MPI_INFO_NULL, &local) == MPI_SUCCESS {
                MPI_Comm_size(local, &n)
                MPI_Comm_free(&local)
            }
            localSize = Int(n)
        }
    }

    /// Shuts MPI down; call once when the program ends normally.
    public func finalize() {
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if finalized == 0 { MPI_Finalize() }
    }

    private func check(_ rc: Int32, _ what: String) throws(CommunicatorError) {
        guard rc != MPI_SUCCESS else { return }
        var buffer = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        MPI_Error_string(rc, &buffer, &length)
        let text = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        throw CommunicatorError("\(what) failed on rank \(rank): \(text)")
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws(CommunicatorError) {
        guard size > 1, let base = buffer.baseAddress else { return }
        try check(MPI_Allreduce(MPI_IN_PLACE, base, Int32(buffer.count), MPI_FLOAT, MPI_SUM, comm), "MPI_Allreduce")
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws(CommunicatorError) {
        guard size > 1, let base = buffer.baseAddress else { return }
        try check(MPI_Allreduce(MPI_IN_PLACE, base, Int32(buffer.count), MPI_DOUBLE, MPI_SUM, comm), "MPI_Allreduce")
    }

    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws(CommunicatorError) {
        guard size > 1, let base = buffer.baseAddress else { return }
        try check(MPI_Bcast(base, Int32(buffer.count), MPI_BYTE, Int32(root), comm), "MPI_Bcast")
    }

    public func allGather(_ values: [UInt64]) throws(CommunicatorError) -> [UInt64] {
        guard size > 1 else { return values }
        var out = [UInt64](repeating: 0, count: values.count * size)
        var send = values
        let rc = send.withUnsafeMutableBufferPointer { s in
            out.withUnsafeMutableBufferPointer { o in
                MPI_Allgather(
                    s.baseAddress, Int32(values.count), MPI_UINT64_T,
                    o.baseAddress, Int32(values.count), MPI_UINT64_T, comm)
            }
        }
        try check(rc, "MPI_Allgather")
        return out
    }

    public func barrier() throws(CommunicatorError) {
        try check(MPI_Barrier(comm), "MPI_Barrier")
    }

    public func abort(code: Int32) -> Never {
        MPI_Abort(comm, code)
        exit(code)
    }
}
