/// Data that cannot be used, with a one-line reason naming the file, line and column where known.
public struct DataError: Error, CustomStringConvertible, Equatable {
    public var message: String
    /// Whether the problem is in what the user asked for (a setting), not in the data: the tool
    /// exits 64 (EX_USAGE) for it.
    public var isUsage = false
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// A problem with a setting the user gave (exit 64).
    public static func usage(_ message: String) -> DataError {
        var e = DataError(message)
        e.isUsage = true
        return e
    }
}
