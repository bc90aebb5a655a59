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

    /// Seconds a collective may wait for every rank; nil waits for ever.
    ///
    /// With a deadline every collective is started non-blocking and tested until it completes
    /// or the deadline passes. Ranks waiting in a collective answer pings on a separate
    /// communicator; when time runs out rank 0 pings every rank, names those that do not
    /// answer (stopped, hung, or still far from the collective), tells the others it will
    /// report, and every rank throws a `CommunicatorError` with `timeout` set. The caller then
    /// ends the job (`abort`). Nothing is sent while collectives complete in time.
    public var deadline: Double?
    /// A duplicate of the world communicator for arrival tokens and verdicts, so they never
    /// mix with the collectives.
    private var probe: MPI_Comm?
    /// A duplicate of the world communicator for started sums: MPI orders the collectives of
    /// one communicator, so started maxima (on the world) and started sums (here) may
    /// interleave differently on different ranks, as each rank's backward reaches them.
    private var sums: MPI_Comm
    /// Buffers of the one-word ping, pong and verdict messages (one a rank, one spare).
    private let tokens: UnsafeMutablePointer<UInt64>

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
        tokens = .allocate(capacity: max(1, Int(s)) + 1)
        var duplicate: MPI_Comm? = nil
        if s > 1, MPI_Comm_dup(comm, &duplicate) == MPI_SUCCESS { probe = duplicate }
        var forSums: MPI_Comm? = nil
        if s > 1, MPI_Comm_dup(comm, &forSums) == MPI_SUCCESS, let forSums {
            MPI_Comm_set_errhandler(forSums, MPI_ERRORS_RETURN)
            sums = forSums
        } else {
            sums = comm
        }
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
        try collective("the all-reduce") { request in
            MPI_Iallreduce(MPI_IN_PLACE, base, Int32(buffer.count), MPI_FLOAT, MPI_SUM, comm, &request)
        }
    }

    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws(CommunicatorError) {
        guard size > 1, let base = buffer.baseAddress else { return }
        try collective("the all-reduce") { request in
            MPI_Iallreduce(MPI_IN_PLACE, base, Int32(buffer.count), MPI_DOUBLE, MPI_SUM, comm, &request)
        }
    }

    public func allReduceMax(_ buffer: UnsafeMutableBufferPointer<Double>) throws(CommunicatorError) {
        guard size > 1, let base = buffer.baseAddress else { return }
        try collective("the all-reduce") { request in
            MPI_Iallreduce(MPI_IN_PLACE, base, Int32(buffer.count), MPI_DOUBLE, MPI_MAX, comm, &request)
        }
    }

    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws(CommunicatorError) {
        guard size > 1, let base = buffer.baseAddress else { return }
        try collective("the broadcast") { request in
            MPI_Ibcast(base, Int32(buffer.count), MPI_BYTE, Int32(root), comm, &request)
        }
    }

    public func allGather(_ values: [UInt64]) throws(CommunicatorError) -> [UInt64] {
        guard size > 1 else { return values }
        let out = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: values.count * size)
        let send = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: max(1, values.count))
        defer {
            out.deallocate()
            send.deallocate()
        }
        _ = send.initialize(from: values)
        try collective("the all-gather") { request in
            MPI_Iallgather(
                send.baseAddress, Int32(values.count), MPI_UINT64_T, out.baseAddress, Int32(values.count), MPI_UINT64_T,
                comm, &request)
        }
        return Array(out)
    }

    public func barrier() throws(CommunicatorError) {
        try collective("the barrier") { request in MPI_Ibarrier(comm, &request) }
    }

    /// Reductions started by `startAllReduce` and not yet waited for, in the order they
    /// started, and whether each is complete (a completed request reads MPI_REQUEST_NULL).
    private var pending: [(request: MPI_Request?, done: Bool)] = []

    public func startAllReduce(_ buffer: UnsafeMutableBufferPointer<Double>, _ op: Reduction) throws(CommunicatorError)
        -> Int
    {
        var request: MPI_Request? = nil
        if size > 1, let base = buffer.baseAddress {
            try check(
                MPI_Iallreduce(
                    MPI_IN_PLACE, base, Int32(buffer.count), MPI_DOUBLE, op == .sum ? MPI_SUM : MPI_MAX, op == .sum ? sums : comm,
                    &request),
                "the all-reduce")
        }
        pending.append((request, request == nil))
        return pending.count - 1
    }

    public func isComplete(_ number: Int) throws(CommunicatorError) -> Bool {
        // Testing a request is what lets OpenMPI's progress engine send and receive for it.
        for i in pending.indices where !pending[i].done {
            var done: Int32 = 0
            try check(MPI_Test(&pending[i].request, &done, nil), "the all-reduce")
            pending[i].done = done != 0
        }
        return pending[number].done
    }

    public func wait(for number: Int) throws(CommunicatorError) {
        guard !pending[number].done else { return }
        try complete(&pending[number].request, "the all-reduce")
        pending[number].done = true
    }

    public func finishReductions() throws(CommunicatorError) {
        defer { pending.removeAll(keepingCapacity: true) }
        for i in pending.indices where !pending[i].done { try complete(&pending[i].request, "the all-reduce") }
    }

    /// Starts a non-blocking collective with `start` and waits for it, within `deadline` when set.
    private func collective(_ what: String, _ start: (inout MPI_Request?) -> Int32) throws(CommunicatorError) {
        var request: MPI_Request? = nil
        try check(start(&request), what)
        try complete(&request, what)
    }

    /// Waits for a started collective, within `deadline` when set: past it, the ranks that did
    /// not arrive are named (see the type's documentation).
    private func complete(_ request: inout MPI_Request?, _ what: String) throws(CommunicatorError) {
        frozen = false
        guard let deadline, let probe else {
            try check(MPI_Wait(&request, nil), what)
            return
        }
        if try poll(&request, seconds: deadline, what) { return }
        // Time is up. A rank that was itself frozen (stopped, swapped out) is the late one: it
        // says nothing and lets the job end.
        if frozen { throw timeout(what, missing: [], reports: false) }
        // Rank 0 names the ranks that do not answer a ping, and tells the others it reports.
        if rank == 0 {
            var pongs: [MPI_Request?] = Array(repeating: nil, count: size)
            for r in 1..<size {
                var ping: MPI_Request? = nil
                MPI_Isend(tokens, 1, MPI_UINT64_T, Int32(r), Tag.ping, probe, &ping)
                MPI_Irecv(tokens + r, 1, MPI_UINT64_T, Int32(r), Tag.pong, probe, &pongs[r])
            }
            // Every live rank answers within milliseconds; two seconds in all for the answers.
            let clock = ContinuousClock(), asked = clock.now
            var missing: [Int] = []
            for r in 1..<size {
                let spent = (clock.now - asked).components
                let left = max(0, 2 - Double(spent.seconds) - Double(spent.attoseconds) * 1e-18)
                if !(try poll(&pongs[r], seconds: left, what)) { missing.append(r) }
            }
            for r in 1..<size where !missing.contains(r) {
                var verdict: MPI_Request? = nil
                MPI_Isend(tokens, 1, MPI_UINT64_T, Int32(r), Tag.verdict, probe, &verdict)
            }
            throw timeout(what, missing: missing, reports: true)
        }
        // Another rank: rank 0 reports if it is alive; if no word comes, rank 0 is the one missing.
        var verdict: MPI_Request? = nil
        MPI_Irecv(tokens + size, 1, MPI_UINT64_T, 0, Tag.verdict, probe, &verdict)
        let heard = try poll(&verdict, seconds: min(deadline, 10), what)
        throw timeout(what, missing: heard ? [] : [0], reports: !heard && !frozen)
    }

    /// Tags of the messages on `probe`.
    private enum Tag {
        static let verdict: Int32 = 7002
        static let ping: Int32 = 7003
        static let pong: Int32 = 7004
    }

    /// Set when this process went unscheduled for seconds while waiting: it was stopped.
    private var frozen = false

    /// Tests `request` until it completes (true) or `seconds` pass (false). Between tests it
    /// answers rank 0's pings, sleeps a little once the wait is long (leaving the core to the
    /// other ranks), and notices when it was itself frozen.
    private func poll(_ request: inout MPI_Request?, seconds: Double, _ what: String) throws(CommunicatorError) -> Bool
    {
        let clock = ContinuousClock(), start = clock.now
        let limit = Duration.milliseconds(Int64(seconds * 1000))
        var spins = 0
        var last = start
        while true {
            var done: Int32 = 0
            try check(MPI_Test(&request, &done, nil), what)
            if done != 0 { return true }
            let now = clock.now
            if now - last > .seconds(2) { frozen = true }
            last = now
            if now - start > limit { return false }
            spins += 1
            // Spin first: a step's two collectives (maxima, then sums) each wait for the
            // slowest rank, and a 100 µs sleep as soon as 1,000 tests had passed cost 6% of a
            // 8/128/32/64 step on 2 ranks. Then yield the core (to a rank sharing it), then sleep.
            if spins > 1000 {
                answerPing()
                if spins > 20000 { usleep(100) } else { sched_yield() }
            }
        }
    }

    /// Answers a ping from rank 0 (sent when a collective timed out), if one is waiting.
    private func answerPing() {
        guard rank != 0, let probe else { return }
        var waiting: Int32 = 0
        MPI_Iprobe(0, Tag.ping, probe, &waiting, nil)
        guard waiting != 0 else { return }
        MPI_Recv(tokens + size, 1, MPI_UINT64_T, 0, Tag.ping, probe, nil)
        var pong: MPI_Request? = nil
        MPI_Isend(tokens + size, 1, MPI_UINT64_T, 0, Tag.pong, probe, &pong)
    }

    private func timeout(_ what: String, missing: [Int], reports: Bool) -> CommunicatorError {
        let who = missing.map(String.init).joined(separator: ", ")
        let seconds = deadline.map { $0 == $0.rounded() ? String(Int($0)) : String($0) } ?? "?"
        return CommunicatorError(
            missing.isEmpty
                ? "\(what) timed out on rank \(rank); rank 0 reports"
                : "rank \(who) did not reach \(what) within \(seconds) s",
            timeout: .init(missing: missing, reports: reports))
    }

    public func abort(code: Int32) -> Never {
        MPI_Abort(comm, code)
        exit(code)
    }
}
