/// A checkpoint that cannot be read, written or used, with a one-line reason.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
