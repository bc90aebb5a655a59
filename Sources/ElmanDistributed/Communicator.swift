#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The collective operations data-parallel training needs, independent of how they travel.
///
/// `MPICommunicator` moves them over MPI; `LocalCommunicator` is the world of one process.
/// Every method is collective: all ranks call it in the same order with the same sizes.
public protocol Communicator: AnyObject {
    /// This process's rank, 0 ..< size.
    var rank: Int { get }
    /// Number of ranks.
    var size: Int { get }
    /// Ranks that share this node (for choosing BLAS threads).
    var localSize: Int { get }

    /// Element-wise sum over all ranks, in place.
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws(CommunicatorError)
    /// Element-wise sum over all ranks, in place.
    func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws(CommunicatorError)
    /// Element-wise maximum over all ranks, in place.
    func allReduceMax(_ buffer: UnsafeMutableBufferPointer<Double>) throws(CommunicatorError)
    /// Starts an element-wise sum or maximum over all ranks of `buffer`, in place, and returns
    /// at once with the reduction's number (0, 1, … in the order they started since the last
    /// `finishReductions`).
    ///
    /// `buffer` must stay untouched until the reduction is complete. Every rank starts the same
    /// sums in the same order, and the same maxima in the same order; a sum and a maximum may
    /// start in either order (they travel apart). The default reduces at once.
    func startAllReduce(_ buffer: UnsafeMutableBufferPointer<Double>, _ op: Reduction) throws(CommunicatorError)
        -> Int
    /// Whether started reduction `number` is complete; testing moves every started one along
    /// (MPI progresses only inside its calls).
    func isComplete(_ number: Int) throws(CommunicatorError) -> Bool
    /// Waits until started reduction `number` is complete (within the deadline, when one is set).
    func wait(for number: Int) throws(CommunicatorError)
    /// Waits until every started reduction is complete.
    func finishReductions() throws(CommunicatorError)
    /// Copies `root`'s bytes into every rank's buffer.
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws(CommunicatorError)
    /// Every rank's `values` (same count on all), concatenated in rank order.
    func allGather(_ values: [UInt64]) throws(CommunicatorError) -> [UInt64]
    /// Waits until every rank has arrived.
    func barrier() throws(CommunicatorError)
    /// Ends every rank of the job at once with `code` (the message is already printed).
    func abort(code: Int32) -> Never
}

/// A failed collective operation.
public struct CommunicatorError: Error, CustomStringConvertible, Equatable {
    public var message: String
    /// Set when the operation ran out of time because some rank did not arrive.
    public var timeout: Timeout?

    public init(_ message: String, timeout: Timeout? = nil) {
        self.message = message
        self.timeout = timeout
    }
    public var description: String { message }

    /// A collective whose deadline passed.
    public struct Timeout: Equatable, Sendable {
        /// The ranks known not to have arrived (empty when another rank knows and reports).
        public var missing: [Int]
        /// Whether this rank is the one that reports the failure (one message for the job).
        public var reports: Bool
    }
}

/// The element-wise operation of a reduction.
public enum Reduction: Sendable {
    case sum, max
}

extension Communicator {
    public func startAllReduce(_ buffer: UnsafeMutableBufferPointer<Double>, _ op: Reduction) throws(CommunicatorError)
        -> Int
    {
        switch op {
        case .sum: try allReduceSum(buffer)
        case .max: try allReduceMax(buffer)
        }
        return 0
    }
    public func isComplete(_ number: Int) throws(CommunicatorError) -> Bool { true }
    public func wait(for number: Int) throws(CommunicatorError) {}
    public func finishReductions() throws(CommunicatorError) {}

    /// Whether this rank logs, prints and writes files.
    public var isRoot: Bool { rank == 0 }

    /// Broadcasts an array of floats from `root` (all ranks pass arrays of the same count).
    public func broadcast(_ values: inout [Float], root: Int = 0) throws(CommunicatorError) {
        var failure: CommunicatorError?
        values.withUnsafeMutableBytes { raw in
            do throws(CommunicatorError) { try broadcast(raw, root: root) } catch { failure = error }
        }
        if let failure { throw failure }
    }

}

/// The world of one process: every collective is the identity.
public final class LocalCommunicator: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public var localSize: Int { 1 }
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws(CommunicatorError) {}
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Double>) throws(CommunicatorError) {}
    public func allReduceMax(_ buffer: UnsafeMutableBufferPointer<Double>) throws(CommunicatorError) {}
    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) throws(CommunicatorError) {}
    public func allGather(_ values: [UInt64]) throws(CommunicatorError) -> [UInt64] { values }
    public func barrier() throws(CommunicatorError) {}
    public func abort(code: Int32) -> Never { exit(code) }
}
