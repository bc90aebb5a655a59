/// An error that every rank reaches at the same point with the same values (bad data,
/// a NaN loss after the all-reduce): only rank 0 needs to print it.
public struct SharedFailure: Error, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// A failure agreed on by all ranks in a collective check; this rank reports it.
public struct AgreedFailure: Error, CustomStringConvertible {
    /// The error this rank met.
    public var underlying: any Error
    /// Whether every rank failed (so rank 0 alone reports it, without naming a rank).
    public var everyRank: Bool
    public var description: String { "\(underlying)" }
}

/// Another rank failed during a collective check; it has printed why.
public struct PeerFailure: Error, CustomStringConvertible {
    public var ranks: [Int]
    public init(ranks: [Int]) { self.ranks = ranks }
    public var description: String { "rank \(ranks.map(String.init).joined(separator: ", ")) failed" }
}

extension Communicator {
    /// Runs `body` on every rank and agrees on the outcome, so that a failure on some ranks
    /// ends all of them cleanly instead of leaving the rest waiting in the next collective.
    ///
    /// When every rank failed, rank 0 reports (`AgreedFailure` with `everyRank`) and the others
    /// throw `PeerFailure`; otherwise each failing rank reports and the rest throw `PeerFailure`.
    public func agree<T>(_ body: () throws -> T) throws -> T {
        var result: Result<T, any Error>
        do { result = .success(try body()) } catch { result = .failure(error) }
        let failed: UInt64 = if case .failure = result { 1 } else { 0 }
        let flags = try allGather([failed])
        let failing = flags.enumerated().filter { $0.element != 0 }.map(\.offset)
        switch result {
        case let .failure(e):
            if e is PeerFailure || e is AgreedFailure || e is SharedFailure { throw e }
            let everyRank = failing.count == size
            if everyRank && rank != 0 { throw PeerFailure(ranks: failing) }
            throw AgreedFailure(underlying: e, everyRank: everyRank)
        case let .success(v):
            if !failing.isEmpty { throw PeerFailure(ranks: failing) }
            return v
        }
    }
}
