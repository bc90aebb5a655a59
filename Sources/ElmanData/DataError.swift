/// Data that cannot be used, with a one-line reason naming the file, line and column where known.
public struct DataError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
